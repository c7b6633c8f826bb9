import type { RawMessage, TopicPartition } from '../../connection/kafka-client.js';
import type { BaseConsumer } from '../../consumer/base-consumer.js';
import { Message } from '../../consumer/message.js';
import { Messages } from '../../consumer/messages.js';
import type { ErrorType, JobKind, PartitionEvent } from '../../instrumentation/karafka-events.js';
import type { KarafkaMonitor } from '../../instrumentation/karafka-monitor.js';
import type { Route } from '../../routing/route.js';
import type { DeadLetterDispatcher } from '../dead-letter-dispatcher.js';
import type { JobRegistry } from '../job-registry.js';
import type { BuiltConsumer } from './consumer-instance.js';
import type { PartitionEnvironment } from './partition-environment.js';

export function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * The user-code jobs of one partition (consume, revoked, shutdown): each registered
 * for liveness and forced-stop reports while it runs; and the partition's instrumentation, as
 * Karafka's events.
 */
export class PartitionJobs {
  private readonly route: Route;
  private readonly jobs: JobRegistry;
  private readonly monitor: KarafkaMonitor;
  private readonly event: PartitionEvent;

  constructor(env: PartitionEnvironment, { topic, partition }: TopicPartition) {
    this.route = env.route;
    this.jobs = env.jobs;
    this.monitor = env.monitor;
    // What every event of this partition carries; it never changes, so it is built once.
    this.event = {
      subscriptionGroup: env.subscriptionGroup,
      groupId: env.route.groupId,
      topic,
      partition,
      consumerClass: env.route.consumerClass,
    };
  }

  /** Runs `consume()` on the chunk; resolves with what it threw, if it threw. */
  async consume(
    consumer: () => Promise<BuiltConsumer>,
    chunk: RawMessage[],
    attempt: number,
    highWatermark: number,
  ): Promise<Error | undefined> {
    const { route, monitor } = this;
    const first = chunk[0].offset;
    const last = chunk[chunk.length - 1].offset;
    // Payloads are built only for subscribers: this runs once per chunk, on the hottest path.
    const event = () => ({
      ...this.event,
      job: 'consume' as JobKind,
      firstOffset: first,
      lastOffset: last,
      size: chunk.length,
      attempt,
    });
    const id = this.start('consume', first, last);
    if (monitor.listens('consumer.consume')) monitor.instrument('consumer.consume', event());
    const startedAt = Date.now();
    try {
      const instance = await consumer();
      const messages = chunk.map(
        (raw) => new Message(this.event.topic, this.event.partition, raw, route.deserializer),
      );
      await instance.consume(new Messages(messages, this.event.topic, this.event.partition, highWatermark));
      if (monitor.listens('consumer.consumed'))
        monitor.instrument('consumer.consumed', {
          ...event(),
          durationMs: Date.now() - startedAt,
          lastTimestamp: chunk[chunk.length - 1].timestamp,
        });
      return undefined;
    } catch (error) {
      return toError(error);
    } finally {
      this.jobs.finish(id);
    }
  }

  /** Runs `job` (a consume job with its messages and attempt) inside the monitor's job wrapper (tracing). */
  around<T>(messages: readonly RawMessage[], attempt: number, job: () => Promise<T>): Promise<T> {
    return this.monitor.aroundJob(this.event, 'consume', messages, attempt, job);
  }

  /** Runs the `revoked()` or `shutdown()` hook (the job runs, and is instrumented, even without one). */
  hook(kind: 'revoked' | 'shutdown', consumer: BaseConsumer): Promise<void> {
    return this.monitor.aroundJob(this.event, kind, undefined, 1, () => this.runHook(kind, consumer));
  }

  private async runHook(kind: 'revoked' | 'shutdown', consumer: BaseConsumer): Promise<void> {
    const { monitor } = this;
    const event = { ...this.event, job: kind };
    const id = this.start(kind);
    monitor.instrument(kind === 'revoked' ? 'consumer.revoke' : 'consumer.shutting_down', event);
    const startedAt = Date.now();
    try {
      await consumer[kind]?.();
      monitor.instrument(kind === 'revoked' ? 'consumer.revoked' : 'consumer.shutdown', {
        ...event,
        durationMs: Date.now() - startedAt,
      });
    } catch (error) {
      this.failed(kind === 'revoked' ? 'consumer.revoked.error' : 'consumer.shutdown.error', error);
    } finally {
      this.jobs.finish(id);
    }
  }

  /**
   * Sends the failing message to the route's DLQ; resolves true once the broker has the copy
   * (the event is published unless the partition was lost meanwhile), false when the dispatch
   * failed (reported as `error.occurred`).
   */
  async deadLetter(
    dispatcher: DeadLetterDispatcher,
    failed: RawMessage,
    attempts: number,
    error: Error,
    lost: () => boolean,
  ): Promise<boolean> {
    const dlq = this.route.deadLetterQueue!;
    try {
      await dispatcher.dispatch(dlq.topic, failed, {
        topic: this.event.topic,
        partition: this.event.partition,
        groupId: this.route.groupId,
        attempts,
        error,
      });
    } catch (dispatchError) {
      this.failed('dead_letter_queue.dispatch.error', dispatchError, failed.offset);
      return false;
    }
    if (!lost())
      this.monitor.instrument('dead_letter_queue.dispatched', {
        ...this.event,
        offset: failed.offset,
        deadLetterTopic: dlq.topic,
        attempt: attempts,
        error,
      });
    return true;
  }

  paused(offset: number, timeoutMs: number, attempt: number): void {
    this.monitor.instrument('consumer.consuming.pause', { ...this.event, offset, timeoutMs, attempt });
  }

  retrying(offset: number, attempt: number): void {
    this.monitor.instrument('consumer.consuming.retry', { ...this.event, offset, attempt });
  }

  /** Reports a failure of this partition's work as `error.occurred`. */
  failed(type: ErrorType, error: unknown, offset?: number): void {
    this.monitor.instrument('error.occurred', {
      ...this.event,
      type,
      error: toError(error),
      fatal: false,
      offset,
    });
  }

  private start(kind: JobKind, firstOffset?: number, lastOffset?: number): number {
    return this.jobs.start({
      kind,
      consumerClass: this.route.consumerClass,
      subscriptionGroup: this.event.subscriptionGroup,
      topic: this.event.topic,
      partition: this.event.partition,
      firstOffset,
      lastOffset,
    });
  }
}
