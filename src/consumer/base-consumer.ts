import type { ConsumerTransaction } from '../producer/karafka-transaction.js';
import type { Message } from './message.js';
import type { Messages } from './messages.js';

/** What the engine lends a consumer instance for the life of its assignment. */
export interface ConsumerContext {
  readonly topic: string;
  readonly partition: number;
  readonly groupId: string;
  /** 1 on the first try of a batch, 2 on the first retry, and so on. */
  readonly attempt: number;
  markAsConsumed(message: Message<unknown>): boolean;
  markAsConsumedSync(message: Message<unknown>): Promise<boolean>;
  pause(offset: number, timeoutMs?: number): void;
  resume(): void;
  seek(offset: number): void;
  isRevoked(): boolean;
  transaction<T>(work: (tx: ConsumerTransaction) => Promise<T>): Promise<T>;
}

export const CONSUMER_CONTEXT = Symbol('karafka.consumer.context');

/**
 * Base class of every `@Consumer` provider: one instance per assigned topic-partition, built by
 * Nest's injector (constructor injection works) and kept for the life of the assignment.
 *
 * @example
 * ```ts
 * @Consumer('orders')
 * export class OrdersConsumer extends BaseConsumer<Order> {
 *   async consume(messages: Messages<Order>) {
 *     for (const message of messages) await this.repo.save(message.payload);
 *   }
 * }
 * ```
 */
export abstract class BaseConsumer<T = unknown> {
  /** Set by the engine (or by the testing helpers) before any hook runs. */
  [CONSUMER_CONTEXT]?: ConsumerContext;

  /**
   * Processes one batch of one topic-partition. When it returns, the last message is marked as
   * consumed (unless the route uses `manualOffsetManagement`). When it throws, the partition is
   * paused and the batch is retried from the first unmarked message.
   */
  abstract consume(messages: Messages<T>): Promise<void> | void;

  /** Runs once, after the instance is built for a newly assigned partition, before the first `consume`. */
  initialized?(): Promise<void> | void;
  /** Runs when the partition was taken away (rebalance) after in-flight work finished. */
  revoked?(): Promise<void> | void;
  /** Runs when the process stops or goes quiet. */
  shutdown?(): Promise<void> | void;

  private get context(): ConsumerContext {
    const context = this[CONSUMER_CONTEXT];
    if (!context) {
      throw new Error(
        `${this.constructor.name} is not attached to a partition: its methods work inside consume/revoked/shutdown, or through nestjs-karafka's testing helpers`,
      );
    }
    return context;
  }

  get topic(): string {
    return this.context.topic;
  }

  get partition(): number {
    return this.context.partition;
  }

  /** 1 on the first try of a batch, 2 on the first retry after an error, and so on. */
  get attempt(): number {
    return this.context.attempt;
  }

  /** True when this batch is a retry after an error. */
  isRetrying(): boolean {
    return this.context.attempt > 1;
  }

  /**
   * Stores `message` as processed; its offset is committed soon after. Returns false when the
   * partition was revoked (the mark is not kept: another process owns it now).
   */
  markAsConsumed(message: Message<unknown>): boolean {
    return this.context.markAsConsumed(message);
  }

  /** Like {@link markAsConsumed}, but resolves once the offset is committed (true) or lost ownership (false). */
  markAsConsumedSync(message: Message<unknown>): Promise<boolean> {
    return this.context.markAsConsumedSync(message);
  }

  /**
   * Pauses this partition; after `timeoutMs` (default: the route's pause timeout) it is fetched
   * again from `offset`. The rest of the current batch is not processed.
   */
  pause(offset: number, timeoutMs?: number): void {
    this.context.pause(offset, timeoutMs);
  }

  /** Ends a pause now. */
  resume(): void {
    this.context.resume();
  }

  /** Continues this partition from `offset` (after the current `consume` returns). */
  seek(offset: number): void {
    this.context.seek(offset);
  }

  /** True once the partition was taken away from this process. */
  isRevoked(): boolean {
    return this.context.isRevoked();
  }

  /**
   * Consume-transform-produce exactly once: what `work` produces through `tx` and the offset it
   * marks with `tx.markAsConsumed` are committed atomically (Kafka's `sendOffsetsToTransaction`),
   * or aborted together when it throws (the error is rethrown: the batch is retried). Runs on the
   * partition's own transactional producer (transactional id `<transactional.id or karafka>-<group>-<topic>-<partition>`,
   * which fences a previous owner's). Mark the batch's last message inside: the engine then commits
   * nothing more for it. See docs/transactions.md for what exactly-once covers.
   *
   * @example
   * ```ts
   * async consume(messages: Messages<Order>) {
   *   await this.transaction(async (tx) => {
   *     for (const message of messages) await tx.produce({ topic: 'orders.priced', key: message.key, payload: price(message.payload) });
   *     tx.markAsConsumed(messages.last()!);
   *   });
   * }
   * ```
   */
  transaction<R>(work: (tx: ConsumerTransaction) => Promise<R>): Promise<R> {
    return this.context.transaction(work);
  }
}
