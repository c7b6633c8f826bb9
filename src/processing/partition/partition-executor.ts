import type { Logger } from '@nestjs/common';
import type {
  ConsumerClient,
  FetchedBatch,
  RawMessage,
  TopicPartition,
} from '../../connection/kafka-client.js';
import type { PartitionEvent } from '../../instrumentation/karafka-events.js';
import type { KarafkaMonitor } from '../../instrumentation/karafka-monitor.js';
import type { Route } from '../../routing/route.js';
import { pauseTimeout } from '../backoff.js';
import type { DeadLetterDispatcher } from '../dead-letter-dispatcher.js';
import type { JobRegistry } from '../job-registry.js';
import type { OffsetCommitter } from '../offset-committer.js';
import { PARTITION_PREFETCH_BYTES, type PrefetchBudget } from '../prefetch-budget.js';
import type { WorkerPool } from '../worker-pool.js';
import { deadLettersNow, marksAfterConsume, marksAfterDispatch, retryOffset } from './after-consume.js';
import { ConsumerInstance } from './consumer-instance.js';
import { FetchPauses } from './fetch-pauses.js';
import { PartitionContext, type ConsumerRequest, type ContextOwner } from './partition-context.js';
import { PartitionJobs } from './partition-jobs.js';
import { PauseTracker } from './pause-tracker.js';
import { PrefetchBuffer } from './prefetch-buffer.js';
import { RetryCounter } from './retry-counter.js';

export interface PartitionEnvironment {
  route: Route;
  subscriptionGroup: string;
  client(): ConsumerClient | undefined;
  pool: WorkerPool;
  jobs: JobRegistry;
  monitor: KarafkaMonitor;
  committer: OffsetCommitter;
  deadLetters: DeadLetterDispatcher;
  budget: PrefetchBudget;
  logger: Logger;
}

/**
 * Karafka's coordinator for one assigned topic-partition: its consumer instance, its prefetch,
 * its position and marks, and the after-consume strategy; one job at a time, in offset order,
 * through the shared worker pool. It lives while this member owns the partition, through
 * rebalances that keep it (suspend, then reinstate).
 */
export class PartitionExecutor implements ContextOwner {
  readonly topic: string;
  readonly partition: number;
  private readonly context: PartitionContext;
  private readonly jobs: PartitionJobs;
  private readonly buffer: PrefetchBuffer;
  private readonly pauses: FetchPauses;
  private readonly backoff = new PauseTracker();
  private readonly retries = new RetryCounter();
  private readonly consumer: ConsumerInstance;
  private readonly event: PartitionEvent;
  private highWatermark = -1;
  /** First offset not processed: where a retry starts. */
  private nextOffset?: number;
  /** The offset the next fetched message should have: past what is buffered or in flight. */
  private takenUpTo?: number;
  private markedOffset?: number;
  private running?: Promise<void>;
  private scheduled = false;
  private suspended = false;
  private retired = false;
  private closed = false;
  private cancelBudgetWait?: () => void;

  constructor(
    private readonly env: PartitionEnvironment,
    partition: TopicPartition,
    /** Resolves when a previous owner of this partition in this process finished its last job. */
    private readonly predecessor: Promise<void> = Promise.resolve(),
  ) {
    this.topic = partition.topic;
    this.partition = partition.partition;
    this.event = {
      subscriptionGroup: env.subscriptionGroup,
      groupId: env.route.groupId,
      topic: this.topic,
      partition: this.partition,
      consumerClass: env.route.consumerClass,
    };
    this.context = new PartitionContext(this.topic, this.partition, env.route.groupId, this);
    this.jobs = new PartitionJobs(env.route, this.event, env.jobs, env.monitor);
    this.consumer = new ConsumerInstance(env.route, this.context, this.jobs);
    this.buffer = new PrefetchBuffer(env.budget);
    const position = [{ topic: this.topic, partition: this.partition }];
    this.pauses = new FetchPauses({
      pause: () => this.env.client()?.pause(position),
      resume: () => this.env.client()?.resume(position),
    });
  }

  /** Position and high watermark, for the statistics event. */
  snapshot(): { offset?: number; highWatermark: number } {
    return { offset: this.nextOffset, highWatermark: this.highWatermark };
  }

  /** Whether marks of this partition may be committed now. */
  get owned(): boolean {
    return !this.suspended && !this.retired;
  }

  accept(batch: FetchedBatch): void {
    if (this.closed || this.suspended || this.backoff.paused) return;
    let messages = batch.messages;
    if (batch.resetFrom !== undefined) {
      const to = messages[0].offset;
      this.env.logger.warn(
        `${this.topic}/${this.partition}: offset ${batch.resetFrom} is out of range; the client reset it to ${to} (initialOffset / auto.offset.reset)`,
      );
      this.nextOffset = this.takenUpTo = to;
    } else if (this.takenUpTo !== undefined && messages[0].offset < this.takenUpTo) {
      const from = this.takenUpTo;
      messages = messages.filter((message) => message.offset >= from);
      if (messages.length === 0) return;
    }
    this.consumer.received = true;
    this.highWatermark = Math.max(this.highWatermark, batch.highWatermark);
    this.buffer.push(messages);
    this.takenUpTo = messages[messages.length - 1].offset + 1;
    this.checkPrefetch();
    this.schedule();
  }

  // ContextOwner: what the consumer's `this.markAsConsumed`, `this.pause`… reach.

  mark(next: number): boolean {
    if (this.retired) return false;
    if (this.markedOffset === undefined || next > this.markedOffset) {
      this.markedOffset = next;
      this.env.committer.store({ topic: this.topic, partition: this.partition, offset: next });
      if (this.env.route.deadLetterQueue?.independent) this.retries.reset();
    }
    return true;
  }

  async markSync(next: number): Promise<boolean> {
    if (!this.mark(next)) return false;
    await this.env.committer.flush();
    return (
      !this.retired &&
      this.env.committer.isCommitted({ topic: this.topic, partition: this.partition, offset: next })
    );
  }

  apply(request: ConsumerRequest): void {
    if (this.closed) return;
    if (request.kind === 'pause')
      return this.pauseAt(request.offset, request.timeoutMs ?? this.env.route.pause.timeout, false);
    this.moveTo(request.offset);
    this.env.client()?.seek({ topic: this.topic, partition: this.partition, offset: request.offset });
  }

  resumeNow(): void {
    if (this.backoff.cancel()) this.refetch();
  }

  isRevoked(): boolean {
    return this.retired || this.suspended;
  }

  // Lifecycle, driven by the listener's partition map.

  /** Revoked by the client, maybe to come back in the same rebalance: buffered data is gone, the job in flight goes on. */
  suspend(): void {
    this.suspended = true;
    this.buffer.drop();
    this.takenUpTo = this.nextOffset ?? this.takenUpTo;
  }

  /** Assigned again after `suspend()`: the client forgot its pause and position, so both are set again. */
  reinstate(): void {
    this.suspended = false;
    this.pauses.reapply();
    const offset = this.takenUpTo ?? this.nextOffset;
    if (offset !== undefined)
      this.env.client()?.seek({ topic: this.topic, partition: this.partition, offset });
  }

  /** Lost for good: nothing more is committed for it; after the job in flight, `revoked()` runs. */
  async retire(): Promise<void> {
    this.retired = true;
    this.env.committer.forget({ topic: this.topic, partition: this.partition });
    await this.settle();
    await this.consumer.hook('revoked');
  }

  /** Takes no more work (quiet, stop or retire) and waits for the job in flight. */
  async settle(): Promise<void> {
    this.closed = true;
    if (!this.retired) this.pauses.set('closed', true);
    this.buffer.drop();
    this.backoff.cancel();
    this.cancelBudgetWait?.();
    await this.running;
  }

  /** Runs `shutdown()` on the consumer instance, when this partition ever received messages. */
  runShutdown(): Promise<void> {
    return this.consumer.hook('shutdown');
  }

  private get canWork(): boolean {
    return !this.closed && !this.suspended && !this.backoff.paused;
  }

  private schedule(): void {
    if (this.scheduled || this.running || !this.canWork || this.buffer.isEmpty) return;
    this.scheduled = true;
    this.env.pool.schedule(() => this.runNext());
  }

  private async runNext(): Promise<void> {
    this.scheduled = false;
    if (!this.canWork || this.buffer.isEmpty) return;
    const chunk = this.buffer.take(this.env.route.maxMessages);
    this.checkPrefetch();
    let done!: () => void;
    this.running = new Promise<void>((resolve) => (done = resolve));
    try {
      await this.predecessor;
      if (!this.retired) await this.consumeChunk(chunk);
    } finally {
      this.running = undefined;
      done();
    }
    this.schedule();
  }

  private async consumeChunk(chunk: RawMessage[]): Promise<void> {
    const first = chunk[0].offset;
    this.context.begin(this.retries.attemptAt(first));
    const failure = await this.jobs.consume(
      () => this.consumer.get(),
      chunk,
      this.context.attempt,
      this.highWatermark,
    );
    const request = this.context.end();
    if (this.retired) return;
    if (failure) return this.handleFailure(chunk, failure);
    const last = chunk[chunk.length - 1].offset;
    if (marksAfterConsume(this.env.route, request !== undefined)) this.mark(last + 1);
    this.retries.reset();
    this.nextOffset = last + 1;
    void this.env.committer.flush();
    if (request) this.apply(request);
  }

  private async handleFailure(chunk: RawMessage[], error: Error): Promise<void> {
    const { route } = this.env;
    const retryFrom = retryOffset(chunk[0].offset, this.markedOffset);
    const failed = chunk.find((message) => message.offset >= retryFrom);
    const attempts = this.retries.failedAt(retryFrom);
    this.jobs.failed('consumer.consume.error', error, failed?.offset ?? retryFrom);
    void this.env.committer.flush();
    if (!failed || !deadLettersNow(route, attempts)) {
      return this.pauseAt(retryFrom, pauseTimeout(route.pause, attempts), true);
    }
    const dlq = route.deadLetterQueue!;
    try {
      await this.env.deadLetters.dispatch(dlq.topic, failed, {
        topic: this.topic,
        partition: this.partition,
        groupId: route.groupId,
        attempts,
        error,
      });
    } catch (dispatchError) {
      this.jobs.failed('dead_letter_queue.dispatch.error', dispatchError, failed.offset);
      if (!this.closed) this.pauseAt(failed.offset, pauseTimeout(route.pause, attempts), true);
      return;
    }
    if (this.retired) return;
    this.env.monitor.instrument('dead_letter_queue.dispatched', {
      ...this.event,
      offset: failed.offset,
      deadLetterTopic: dlq.topic,
      attempt: attempts,
      error,
    });
    if (marksAfterDispatch(route, failed.offset, this.markedOffset)) this.mark(failed.offset + 1);
    void this.env.committer.flush();
    if (this.closed) return;
    this.moveTo(failed.offset + 1);
    this.refetch();
  }

  /** Processing goes on from `offset`: what is buffered is dropped, the retry count starts again. */
  private moveTo(offset: number): void {
    this.nextOffset = this.takenUpTo = offset;
    this.buffer.drop();
    this.retries.reset();
    this.checkPrefetch();
  }

  /** Drops what is buffered, stops fetching, and fetches again from `offset` after `timeoutMs`. */
  private pauseAt(offset: number, timeoutMs: number, retry: boolean): void {
    if (this.closed) return;
    this.nextOffset = this.takenUpTo = offset;
    this.buffer.drop();
    this.checkPrefetch();
    this.pauses.set('backoff', true);
    this.env.monitor.instrument('consumer.consuming.pause', {
      ...this.event,
      offset,
      timeoutMs,
      attempt: this.context.attempt,
    });
    this.backoff.pause(timeoutMs, () => {
      if (this.closed) return;
      if (retry)
        this.env.monitor.instrument('consumer.consuming.retry', {
          ...this.event,
          offset,
          attempt: this.context.attempt,
        });
      this.refetch();
    });
  }

  /** The client fetches this partition again from `nextOffset`. */
  private refetch(): void {
    if (this.closed) return;
    if (this.nextOffset !== undefined)
      this.env.client()?.seek({ topic: this.topic, partition: this.partition, offset: this.nextOffset });
    this.pauses.set('backoff', false);
  }

  /** Pauses fetching while this partition's prefetch is full or the process budget is spent. */
  private checkPrefetch(): void {
    const bytes = this.buffer.bytes;
    if (bytes >= PARTITION_PREFETCH_BYTES) this.pauses.set('prefetch', true);
    else if (bytes < PARTITION_PREFETCH_BYTES / 2) this.pauses.set('prefetch', false);
    if (this.env.budget.spent && !this.closed && !this.cancelBudgetWait) {
      this.pauses.set('budget', true);
      this.cancelBudgetWait = this.env.budget.waitForRoom(() => {
        this.cancelBudgetWait = undefined;
        this.pauses.set('budget', false);
      });
    }
  }
}
