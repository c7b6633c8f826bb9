import { Injectable, Logger } from '@nestjs/common';
import type { KarafkaEventMap, KarafkaEventName } from './karafka-events.js';

export type KarafkaEventHandler<E extends KarafkaEventName> = (
  payload: KarafkaEventMap[E],
  event: E,
) => unknown;

/**
 * Karafka.monitor: the engine publishes here, you subscribe. A subscriber that throws (or
 * rejects) is logged and never disturbs processing.
 */
@Injectable()
export class KarafkaMonitor {
  private readonly logger = new Logger('KarafkaMonitor');
  private readonly handlers = new Map<KarafkaEventName, Set<KarafkaEventHandler<never>>>();

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
