import type { RawMessage } from '../../connection/kafka-client.js';
import type { BaseConsumer } from '../../consumer/base-consumer.js';
import { Message } from '../../consumer/message.js';
import { Messages } from '../../consumer/messages.js';
import type { ErrorType, JobKind, PartitionEvent } from '../../instrumentation/karafka-events.js';
import type { KarafkaMonitor } from '../../instrumentation/karafka-monitor.js';
import type { Route } from '../../routing/route.js';
import type { JobRegistry } from '../job-registry.js';

export function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * The user-code jobs of one partition (consume, revoked, shutdown): each registered for liveness
 * and forced-stop reports while it runs, and instrumented as Karafka's events.
 */
export class PartitionJobs {
  constructor(
    private readonly route: Route,
    private readonly event: PartitionEvent,
    private readonly jobs: JobRegistry,
    private readonly monitor: KarafkaMonitor,
  ) {}

  /** Runs `consume()` on the chunk; resolves with what it threw, if it threw. */
  async consume(
    consumer: () => Promise<BaseConsumer>,
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
        monitor.instrument('consumer.consumed', { ...event(), durationMs: Date.now() - startedAt });
      return undefined;
    } catch (error) {
      return toError(error);
    } finally {
      this.jobs.finish(id);
    }
  }

  /** Runs the `revoked()` or `shutdown()` hook (the job runs, and is instrumented, even without one). */
  async hook(kind: 'revoked' | 'shutdown', consumer: BaseConsumer): Promise<void> {
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
