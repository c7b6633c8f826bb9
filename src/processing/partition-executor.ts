import type { ConsumerClient, FetchedBatch, RawMessage, TopicPartition } from '../connection/kafka-client.js';
import { CONSUMER_CONTEXT, type BaseConsumer, type ConsumerContext } from '../consumer/base-consumer.js';
import { Message } from '../consumer/message.js';
import { Messages } from '../consumer/messages.js';
import type { JobKind, PartitionEvent } from '../instrumentation/karafka-events.js';
import type { KarafkaMonitor } from '../instrumentation/karafka-monitor.js';
import type { Route } from '../routing/route.js';
import { pauseTimeout } from './backoff.js';
import type { DeadLetterDispatcher } from './dead-letter-dispatcher.js';
import type { JobRegistry } from './job-registry.js';
import type { OffsetCommitter } from './offset-committer.js';
import type { WorkerPool } from './worker-pool.js';

/** Fetched but unprocessed bytes per partition above which fetching that partition pauses. */
const PREFETCH_BYTES = 2 * 1024 * 1024;

export interface ExecutorEnvironment {
  route: Route;
  subscriptionGroup: string;
  client(): ConsumerClient | undefined;
  pool: WorkerPool;
  jobs: JobRegistry;
  monitor: KarafkaMonitor;
  committer: OffsetCommitter;
  deadLetters: DeadLetterDispatcher;
}

type Request = { kind: 'seek'; offset: number } | { kind: 'pause'; offset: number; timeoutMs: number };

function sizeOf(message: RawMessage): number {
  return (message.value?.length ?? 0) + (message.key?.length ?? 0) + 64;
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * One assigned topic-partition: its consumer instance, its fetched-but-unprocessed messages and
 * its position. Runs one job at a time, in offset order, through the shared worker pool. Fetched
 * batches are queued ahead (up to PREFETCH_BYTES) so fetching overlaps processing.
 */
export class PartitionExecutor implements ConsumerContext {
  readonly topic: string;
  readonly partition: number;
  readonly groupId: string;
  /** What every event of this partition carries; it never changes, so it is built once. */
  private readonly eventBase: PartitionEvent;
  attempt = 1;

  private instance?: Promise<BaseConsumer>;
  private queue: RawMessage[] = [];
  private cursor = 0;
  private queuedBytes = 0;
  private highWatermark = -1;
  /** First offset not processed yet: where a retry or a refetch starts. */
  private nextOffset?: number;
  /** After a seek, only a batch fetched at exactly this offset is fresh. */
  private expectedFetch?: number;
  /** Where the client fetches next for this partition, as far as this executor knows. */
  private fetchPosition?: number;
  private markedOffset?: number;
  private fetchPaused = false;
  private scheduled = false;
  private running?: Promise<void>;
  private inConsume = false;
  private request?: Request;
  private pauseTimer?: NodeJS.Timeout;
  private revokedFlag = false;
  private closed = false;
  /** Set once messages arrived: from then on revoked() and shutdown() run, as Karafka's executors do. */
  private received = false;

  constructor(
    private readonly env: ExecutorEnvironment,
    partition: TopicPartition,
    /** Resolves when a previous owner of this partition in this process finished its last job. */
    private readonly predecessor: Promise<void> = Promise.resolve(),
  ) {
    this.topic = partition.topic;
    this.partition = partition.partition;
    this.groupId = env.route.groupId;
    this.eventBase = {
      subscriptionGroup: env.subscriptionGroup,
      groupId: this.groupId,
      topic: this.topic,
      partition: this.partition,
      consumerClass: env.route.consumerClass,
    };
  }

  private get position(): TopicPartition {
    return { topic: this.topic, partition: this.partition };
  }

  /** Position and high watermark, for the statistics event. */
  snapshot(): { offset?: number; highWatermark: number } {
    return { offset: this.nextOffset, highWatermark: this.highWatermark };
  }

  /** Takes a fetched batch; false means "not now": the client's fetch position stays where it was. */
  accept(batch: FetchedBatch): boolean {
    if (batch.messages.length === 0) return false;
    if (this.closed || this.pauseTimer) {
      this.pauseFetching();
      return false;
    }
    if (this.expectedFetch !== undefined && batch.fetchedOffset !== this.expectedFetch) {
      // Fetched before our last seek: ask again, so the client converges on our position.
      this.env.client()?.seek({ ...this.position, offset: this.expectedFetch });
      return false;
    }
    this.expectedFetch = undefined;
    this.received = true;
    let messages = batch.messages;
    if (this.nextOffset !== undefined && messages[0].offset < this.nextOffset) {
      const from = this.nextOffset;
      messages = messages.filter((message) => message.offset >= from);
    }
    this.highWatermark = Math.max(this.highWatermark, batch.highWatermark);
    for (const message of messages) this.queuedBytes += sizeOf(message);
    // Never mutates the batch's array; what was already taken is dropped, so it can be collected.
    this.queue = this.cursor < this.queue.length ? this.queue.slice(this.cursor).concat(messages) : messages;
    this.cursor = 0;
    this.fetchPosition = batch.messages[batch.messages.length - 1].offset + 1;
    if (this.queuedBytes >= PREFETCH_BYTES) this.pauseFetching();
    this.schedule();
    return true;
  }

  // ConsumerContext, used by BaseConsumer's methods.

  markAsConsumed(message: Message<unknown>): boolean {
    return this.mark(message.offset + 1);
  }

  async markAsConsumedSync(message: Message<unknown>): Promise<boolean> {
    if (!this.mark(message.offset + 1)) return false;
    await this.env.committer.flush();
    return (
      !this.revokedFlag && this.env.committer.isCommitted({ ...this.position, offset: message.offset + 1 })
    );
  }

  pause(offset: number, timeoutMs = this.env.route.pause.timeout): void {
    const request: Request = { kind: 'pause', offset, timeoutMs };
    if (this.inConsume) this.request = request;
    else this.apply(request);
  }

  resume(): void {
    if (this.request?.kind === 'pause') this.request = undefined;
    if (!this.pauseTimer) return;
    clearTimeout(this.pauseTimer);
    this.pauseTimer = undefined;
    this.refetch();
  }

  seek(offset: number): void {
    const request: Request = { kind: 'seek', offset };
    if (this.inConsume) this.request = request;
    else this.apply(request);
  }

  isRevoked(): boolean {
    return this.revokedFlag;
  }

  // Lifecycle, driven by the subscription group listener.

  /** The partition was taken away: nothing more is committed for it; then `revoked()` runs. */
  async revoke(): Promise<void> {
    this.revokedFlag = true;
    this.env.committer.forget(this.position);
    await this.settle();
    await this.runHook('revoked');
  }

  /** Stops taking work (quiet or shutdown) and waits for the running job. */
  async settle(): Promise<void> {
    this.closed = true;
    this.dropQueue();
    clearTimeout(this.pauseTimer);
    this.pauseTimer = undefined;
    await this.running;
  }

  /** Runs `shutdown()` on the consumer instance, when this partition ever received messages. */
  runShutdown(): Promise<void> {
    return this.runHook('shutdown');
  }

  /** After a rebalance kept this partition: fetch on from where this executor is. */
  reposition(): void {
    const client = this.env.client();
    if (!client) return;
    if (this.fetchPaused || this.pauseTimer || this.closed) client.pause([this.position]);
    // The client reset its position to the committed offset; fetch on after what is queued.
    const offset = this.pauseTimer ? this.nextOffset : (this.fetchPosition ?? this.nextOffset);
    if (offset !== undefined) {
      this.expectedFetch = offset;
      client.seek({ ...this.position, offset });
    }
  }

  private mark(next: number): boolean {
    if (this.revokedFlag) return false;
    if (this.markedOffset === undefined || next > this.markedOffset) {
      this.markedOffset = next;
      this.env.committer.store({ ...this.position, offset: next });
      if (this.env.route.deadLetterQueue?.independent) this.attempt = 1;
    }
    return true;
  }

  private schedule(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    this.env.pool.schedule(() => this.runNext());
  }

  private async runNext(): Promise<void> {
    this.scheduled = false;
    if (this.closed || this.pauseTimer || this.cursor >= this.queue.length) return;
    const end = Math.min(this.cursor + this.env.route.maxMessages, this.queue.length);
    const chunk = this.queue.slice(this.cursor, end);
    this.cursor = end;
    if (this.cursor >= this.queue.length) this.dropQueue();
    else for (const message of chunk) this.queuedBytes -= sizeOf(message);
    let done!: () => void;
    this.running = new Promise<void>((resolve) => (done = resolve));
    try {
      await this.predecessor;
      await this.consumeChunk(chunk);
    } finally {
      this.running = undefined;
      done();
    }
    if (!this.closed) this.continueAfterJob();
  }

  private async consumeChunk(chunk: RawMessage[]): Promise<void> {
    const { route, monitor, jobs } = this.env;
    const first = chunk[0].offset;
    const last = chunk[chunk.length - 1].offset;
    const attempt = this.attempt;
    // Payloads are built only for subscribers: this runs once per chunk, on the hottest path.
    const event = () => ({
      ...this.eventBase,
      job: 'consume' as JobKind,
      firstOffset: first,
      lastOffset: last,
      size: chunk.length,
      attempt,
    });
    const id = jobs.start({
      kind: 'consume',
      consumerClass: route.consumerClass,
      subscriptionGroup: this.env.subscriptionGroup,
      topic: this.topic,
      partition: this.partition,
      firstOffset: first,
      lastOffset: last,
    });
    if (monitor.listens('consumer.consume')) monitor.instrument('consumer.consume', event());
    const startedAt = Date.now();
    let failure: Error | undefined;
    this.inConsume = true;
    try {
      const consumer = await this.consumer();
      const messages = chunk.map((raw) => new Message(this.topic, this.partition, raw, route.deserializer));
      await consumer.consume(new Messages(messages, this.topic, this.partition, this.highWatermark));
    } catch (error) {
      failure = toError(error);
    } finally {
      this.inConsume = false;
      jobs.finish(id);
    }
    if (this.revokedFlag) return;
    if (!failure) {
      if (monitor.listens('consumer.consumed'))
        monitor.instrument('consumer.consumed', { ...event(), durationMs: Date.now() - startedAt });
      // A consumer that paused or seeked asked to see those messages again: marking the batch
      // would commit past them (Karafka skips the mark after a manual pause too).
      if (!route.manualOffsetManagement && !this.request) this.mark(last + 1);
      this.attempt = 1;
      this.nextOffset = last + 1;
      void this.env.committer.flush();
      return;
    }
    await this.handleFailure(chunk, failure);
  }

  private async handleFailure(chunk: RawMessage[], error: Error): Promise<void> {
    const { route, monitor } = this.env;
    const first = chunk[0].offset;
    const retryFrom = Math.max(first, this.markedOffset ?? first);
    const failed = chunk.find((message) => message.offset >= retryFrom);
    monitor.instrument('error.occurred', {
      ...this.eventBase,
      type: 'consumer.consume.error',
      error,
      fatal: false,
      offset: failed?.offset ?? retryFrom,
    });
    void this.env.committer.flush();
    this.request = undefined;
    const dlq = route.deadLetterQueue;
    if (dlq && failed && this.attempt > dlq.maxRetries) {
      try {
        await this.env.deadLetters.dispatch(dlq.topic, failed, {
          topic: this.topic,
          partition: this.partition,
          groupId: this.groupId,
          attempts: this.attempt,
          error,
        });
      } catch (dispatchError) {
        monitor.instrument('error.occurred', {
          ...this.eventBase,
          type: 'dead_letter_queue.dispatch.error',
          error: toError(dispatchError),
          fatal: false,
          offset: failed.offset,
        });
        this.pauseAt(failed.offset, pauseTimeout(route.pause, this.attempt), true);
        return;
      }
      if (this.revokedFlag) return;
      monitor.instrument('dead_letter_queue.dispatched', {
        ...this.eventBase,
        offset: failed.offset,
        deadLetterTopic: dlq.topic,
        attempt: this.attempt,
        error,
      });
      this.mark(failed.offset + 1);
      void this.env.committer.flush();
      this.attempt = 1;
      this.nextOffset = failed.offset + 1;
      this.dropQueue();
      this.refetch();
      return;
    }
    this.attempt++;
    this.pauseAt(retryFrom, pauseTimeout(route.pause, this.attempt - 1), true);
  }

  private continueAfterJob(): void {
    const request = this.request;
    this.request = undefined;
    if (request) return this.apply(request);
    if (this.pauseTimer) return;
    if (this.cursor < this.queue.length) {
      if (this.fetchPaused && this.queuedBytes < PREFETCH_BYTES / 2) this.resumeFetching();
      return this.schedule();
    }
    if (this.fetchPaused) this.resumeFetching();
  }

  private apply(request: Request): void {
    if (this.closed) return;
    if (request.kind === 'seek') {
      this.nextOffset = request.offset;
      this.dropQueue();
      this.refetch();
      return;
    }
    this.pauseAt(request.offset, request.timeoutMs, false);
  }

  /** Drops what is queued, stops fetching, and fetches again from `offset` after `timeoutMs`. */
  private pauseAt(offset: number, timeoutMs: number, retry: boolean): void {
    this.nextOffset = offset;
    this.dropQueue();
    this.pauseFetching();
    this.env.monitor.instrument('consumer.consuming.pause', {
      ...this.eventBase,
      offset,
      timeoutMs,
      attempt: this.attempt,
    });
    clearTimeout(this.pauseTimer);
    this.pauseTimer = setTimeout(() => {
      this.pauseTimer = undefined;
      if (this.closed) return;
      if (retry)
        this.env.monitor.instrument('consumer.consuming.retry', {
          ...this.eventBase,
          offset,
          attempt: this.attempt,
        });
      this.refetch();
    }, timeoutMs);
  }

  /** Repositions the client at `nextOffset` and lets it fetch this partition again. */
  private refetch(): void {
    const client = this.env.client();
    if (!client || this.closed) return;
    if (this.nextOffset !== undefined) {
      this.expectedFetch = this.nextOffset;
      this.fetchPosition = this.nextOffset;
      client.seek({ ...this.position, offset: this.nextOffset });
    }
    this.fetchPaused = false;
    client.resume([this.position]);
  }

  private pauseFetching(): void {
    this.fetchPaused = true;
    this.env.client()?.pause([this.position]);
  }

  private resumeFetching(): void {
    this.fetchPaused = false;
    this.env.client()?.resume([this.position]);
  }

  private dropQueue(): void {
    this.queue = [];
    this.cursor = 0;
    this.queuedBytes = 0;
  }

  private consumer(): Promise<BaseConsumer> {
    this.instance ??= this.build().catch((error) => {
      this.instance = undefined;
      throw error;
    });
    return this.instance;
  }

  private async build(): Promise<BaseConsumer> {
    const consumer = await this.env.route.createConsumer();
    consumer[CONSUMER_CONTEXT] = this;
    if (consumer.initialized) {
      try {
        await consumer.initialized();
      } catch (error) {
        this.env.monitor.instrument('error.occurred', {
          ...this.eventBase,
          type: 'consumer.initialized.error',
          error: toError(error),
          fatal: false,
        });
        throw error;
      }
    }
    return consumer;
  }

  private async runHook(kind: 'revoked' | 'shutdown'): Promise<void> {
    if (!this.received) return;
    let consumer: BaseConsumer;
    try {
      consumer = await this.consumer();
    } catch {
      return;
    }
    // The job runs (and is instrumented) even without a user hook, as Karafka's empty defaults do.
    const hook = consumer[kind];
    const { monitor, jobs, route } = this.env;
    const event = { ...this.eventBase, job: kind };
    const id = jobs.start({
      kind,
      consumerClass: route.consumerClass,
      subscriptionGroup: this.env.subscriptionGroup,
      topic: this.topic,
      partition: this.partition,
    });
    monitor.instrument(kind === 'revoked' ? 'consumer.revoke' : 'consumer.shutting_down', event);
    const startedAt = Date.now();
    try {
      await hook?.call(consumer);
      monitor.instrument(kind === 'revoked' ? 'consumer.revoked' : 'consumer.shutdown', {
        ...event,
        durationMs: Date.now() - startedAt,
      });
    } catch (error) {
      monitor.instrument('error.occurred', {
        ...this.eventBase,
        type: kind === 'revoked' ? 'consumer.revoked.error' : 'consumer.shutdown.error',
        error: toError(error),
        fatal: false,
      });
    } finally {
      jobs.finish(id);
    }
  }
}
