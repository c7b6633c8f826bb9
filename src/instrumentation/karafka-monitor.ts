import { Injectable, Logger } from '@nestjs/common';
import type { RawMessage } from '../connection/kafka-client.js';
import type { JobKind, KarafkaEventMap, KarafkaEventName, PartitionEvent } from './karafka-events.js';

export type KarafkaEventHandler<E extends KarafkaEventName> = (
  payload: KarafkaEventMap[E],
  event: E,
) => unknown;

/**
 * Runs a consumer job (`consume` with its messages and attempt, `revoked`, `shutdown`) inside
 * what a tracer needs around it: the job runs when `run` is called, and resolves as it does.
 */
export type JobWrapper = <T>(
  event: PartitionEvent,
  job: JobKind,
  messages: readonly RawMessage[] | undefined,
  attempt: number,
  run: () => Promise<T>,
) => Promise<T>;

/**
 * Karafka.monitor: the engine publishes here, you subscribe. A subscriber that throws (or
 * rejects) is logged and never disturbs processing.
 */
@Injectable()
export class KarafkaMonitor {
  private readonly logger = new Logger('KarafkaMonitor');
  private readonly handlers = new Map<KarafkaEventName, Set<KarafkaEventHandler<never>>>();
  private wrapper?: JobWrapper;

  /** @internal Sets the wrapper of every consumer job (tracing); Karafka's `instrument` with a block. */
  wrapJobs(wrapper: JobWrapper | undefined): void {
    this.wrapper = wrapper;
  }

  /** @internal Runs a consumer job in the wrapper, if one is set; else runs it as it is. */
  aroundJob<T>(
    event: PartitionEvent,
    job: JobKind,
    messages: readonly RawMessage[] | undefined,
    attempt: number,
    run: () => Promise<T>,
  ): Promise<T> {
    return this.wrapper ? this.wrapper(event, job, messages, attempt, run) : run();
  }

  /** Subscribes to one event; returns a function that unsubscribes. */
  subscribe<E extends KarafkaEventName>(event: E, handler: KarafkaEventHandler<E>): () => void {
    const set = this.handlers.get(event) ?? new Set();
    this.handlers.set(event, set);
    set.add(handler as KarafkaEventHandler<never>);
    return () => set.delete(handler as KarafkaEventHandler<never>);
  }

  /** True when someone listens: lets hot paths skip building a payload. */
  listens(event: KarafkaEventName): boolean {
    return (this.handlers.get(event)?.size ?? 0) > 0;
  }

  /** Publishes an event to its subscribers, synchronously, in subscription order. */
  instrument<E extends KarafkaEventName>(event: E, payload: KarafkaEventMap[E]): void {
    const set = this.handlers.get(event);
    if (!set) return;
    for (const handler of set) {
      try {
        const result = (handler as KarafkaEventHandler<E>)(payload, event);
        if (result instanceof Promise) result.catch((error: unknown) => this.subscriberFailed(event, error));
      } catch (error) {
        this.subscriberFailed(event, error);
      }
    }
  }

  private subscriberFailed(event: KarafkaEventName, error: unknown): void {
    this.logger.warn(`a subscriber of "${event}" failed: ${(error as Error)?.message ?? String(error)}`);
  }
}
