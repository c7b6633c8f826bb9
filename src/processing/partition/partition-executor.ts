import type { FetchedBatch, RawMessage, TopicPartition } from '../../connection/kafka-client.js';
import { pauseTimeout } from '../backoff.js';
import { deadLettersNow, marksAfterConsume, marksAfterDispatch, retryOffset } from './after-consume.js';
import { ConsumerInstance } from './consumer-instance.js';
import { FetchPauses } from './fetch-pauses.js';
import { PartitionContext, type ConsumerRequest, type ContextOwner } from './partition-context.js';
import type { PartitionEnvironment } from './partition-environment.js';
import { PartitionJobs } from './partition-jobs.js';
import { PartitionPosition } from './partition-position.js';
import { PartitionTransactions } from './partition-transactions.js';
import { PauseTracker } from './pause-tracker.js';
import { PrefetchBuffer } from './prefetch-buffer.js';
import { RetryCounter } from './retry-counter.js';

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
  private readonly position = new PartitionPosition();
  private readonly transactions: PartitionTransactions;
  private running?: Promise<void>;
  private scheduled = false;
  private suspended = false;
  private retired = false;
  private closed = false;

  constructor(
    private readonly env: PartitionEnvironment,
    partition: TopicPartition,
    /** Resolves when a previous owner of this partition in this process finished its last job. */
    private readonly predecessor: Promise<void> = Promise.resolve(),
  ) {
    this.topic = partition.topic;
    this.partition = partition.partition;
    this.transactions = new PartitionTransactions(env, partition, this.position, () => this.isRevoked());
    this.context = new PartitionContext(partition, env.route.groupId, this, this.transactions);
    this.jobs = new PartitionJobs(env, partition);
    this.consumer = new ConsumerInstance(env.route, this.context, this.jobs);
    const position = [{ topic: this.topic, partition: this.partition }];
    this.pauses = new FetchPauses({
      pause: () => this.env.client()?.pause(position),
      resume: () => this.env.client()?.resume(position),
    });
    this.buffer = new PrefetchBuffer(env.budget, this.pauses);
  }

  /** Position and high watermark, for the statistics event. */
  snapshot(): { offset?: number; highWatermark: number } {
    return { offset: this.position.next, highWatermark: this.position.highWatermark };
  }

  accept(batch: FetchedBatch): void {
    if (this.closed || this.suspended || this.backoff.paused) return;
    const messages = this.position.admit(batch);
    if (messages.length === 0) return;
    this.consumer.received = true;
    this.buffer.push(messages);
    this.schedule();
  }

  mark(next: number): boolean {
    if (this.retired) return false;
    if (this.position.mark(next)) {
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
    this.seekTo(request.offset);
  }

  resumeNow(): void {
    if (this.backoff.cancel()) this.refetch();
  }

  /** Revoked for now or for good: its marks may not be committed. */
  isRevoked(): boolean {
    return this.retired || this.suspended;
  }

  /** Revoked by the client, maybe to come back in the same rebalance: buffered data is gone, the job in flight goes on. */
  suspend(): void {
    this.suspended = true;
    this.buffer.drop();
    this.position.dropped();
  }

  /** Assigned again after `suspend()`: the client forgot its pause and position, so both are set again. */
  reinstate(): void {
    this.suspended = false;
    this.pauses.reapply();
    this.seekTo(this.position.fetchFrom);
  }

  /** Lost for good: nothing more is committed for it; after the job in flight, `revoked()` runs. */
  async retire(): Promise<void> {
    this.retired = true;
    this.env.committer.forget({ topic: this.topic, partition: this.partition });
    await this.settle();
    await this.consumer.hook('revoked');
  }

  /** Takes no more work (quiet, stop or retire), waits for the job in flight, closes its transactional producer. */
  async settle(): Promise<void> {
    this.closed = true;
    if (!this.retired) this.pauses.set('closed', true);
    this.backoff.cancel();
    this.buffer.close();
    await this.running;
    await this.transactions.close();
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
    this.position.took(chunk);
    this.running = this.predecessor
      .then(() =>
        this.retired
          ? undefined
          : this.jobs.around(chunk, this.retries.attemptAt(chunk[0].offset), () => this.consumeChunk(chunk)),
      )
      .finally(() => {
        this.position.jobEnded();
        this.running = undefined;
      });
    await this.running;
    this.schedule();
  }

  private async consumeChunk(chunk: RawMessage[]): Promise<void> {
    const first = chunk[0].offset;
    this.context.begin(this.retries.attemptAt(first));
    const failure = await this.jobs.consume(
      () => this.consumer.get(),
      chunk,
      this.context.attempt,
      this.position.highWatermark,
    );
    const request = this.context.end();
    if (this.retired) return;
    if (failure) return this.handleFailure(chunk, failure);
    const last = chunk[chunk.length - 1].offset;
    if (marksAfterConsume(this.env.route, request !== undefined)) this.mark(last + 1);
    this.retries.reset();
    this.position.processed(last);
    void this.env.committer.flush();
    if (request) this.apply(request);
  }

  private async handleFailure(chunk: RawMessage[], error: Error): Promise<void> {
    const { route } = this.env;
    const retryFrom = retryOffset(chunk[0].offset, this.position.marked);
    const failed = chunk.find((message) => message.offset >= retryFrom);
    const attempts = this.retries.failedAt(retryFrom);
    this.jobs.failed('consumer.consume.error', error, failed?.offset ?? retryFrom);
    void this.env.committer.flush();
    if (!failed || !deadLettersNow(route, attempts)) {
      return this.pauseAt(retryFrom, pauseTimeout(route.pause, attempts), true);
    }
    if (!(await this.jobs.deadLetter(this.env.deadLetters, failed, attempts, error, () => this.retired))) {
      if (!this.closed) this.pauseAt(failed.offset, pauseTimeout(route.pause, attempts), true);
      return;
    }
    if (this.retired) return;
    if (marksAfterDispatch(route, failed.offset, this.position.marked)) this.mark(failed.offset + 1);
    void this.env.committer.flush();
    if (this.closed) return;
    this.moveTo(failed.offset + 1);
    this.refetch();
  }

  /** Processing goes on from `offset`: what is buffered is dropped, the retry count starts again. */
  private moveTo(offset: number): void {
    this.position.moveTo(offset);
    this.buffer.drop();
    this.retries.reset();
  }

  /** Drops what is buffered, stops fetching, and fetches again from `offset` after `timeoutMs`. */
  private pauseAt(offset: number, timeoutMs: number, retry: boolean): void {
    if (this.closed) return;
    this.position.moveTo(offset);
    this.buffer.drop();
    this.pauses.set('backoff', true);
    this.jobs.paused(offset, timeoutMs, this.context.attempt);
    this.backoff.pause(timeoutMs, () => {
      if (this.closed) return;
      if (retry) this.jobs.retrying(offset, this.context.attempt);
      this.refetch();
    });
  }

  /** The client fetches this partition again from the first offset not processed. */
  private refetch(): void {
    if (this.closed) return;
    this.seekTo(this.position.next);
    this.pauses.set('backoff', false);
  }

  private seekTo(offset: number | undefined): void {
    if (offset !== undefined)
      this.env.client()?.seek({ topic: this.topic, partition: this.partition, offset });
  }
}
