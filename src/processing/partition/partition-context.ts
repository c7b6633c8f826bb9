import type { TopicPartition } from '../../connection/kafka-client.js';
import type { ConsumerContext } from '../../consumer/base-consumer.js';
import type { Message } from '../../consumer/message.js';
import type { ConsumerTransaction } from '../../producer/karafka-transaction.js';
import type { PartitionTransactions } from './partition-transactions.js';

/** A pause or seek the consumer asked for; inside `consume()` it waits until the job ends. */
export type ConsumerRequest =
  { kind: 'seek'; offset: number } | { kind: 'pause'; offset: number; timeoutMs?: number };

/** What the context needs of its partition. */
export interface ContextOwner {
  mark(next: number): boolean;
  markSync(next: number): Promise<boolean>;
  apply(request: ConsumerRequest): void;
  resumeNow(): void;
  isRevoked(): boolean;
}

/**
 * The API the engine lends a consumer instance (`this.markAsConsumed`, `this.pause`, …) for one
 * partition. A pause or seek asked for during `consume()` is held until it returns, so the rest
 * of the batch is not processed twice.
 */
export class PartitionContext implements ConsumerContext {
  readonly topic: string;
  readonly partition: number;
  attempt = 1;
  private inConsume = false;
  private request?: ConsumerRequest;

  constructor(
    { topic, partition }: TopicPartition,
    readonly groupId: string,
    private readonly owner: ContextOwner,
    private readonly transactions: Pick<PartitionTransactions, 'run'>,
  ) {
    this.topic = topic;
    this.partition = partition;
  }

  /** A consume job starts. */
  begin(attempt: number): void {
    this.attempt = attempt;
    this.inConsume = true;
    this.request = undefined;
  }

  /** The consume job ended: the request it made, if any. */
  end(): ConsumerRequest | undefined {
    this.inConsume = false;
    const request = this.request;
    this.request = undefined;
    return request;
  }

  markAsConsumed(message: Message<unknown>): boolean {
    return this.owner.mark(message.offset + 1);
  }

  markAsConsumedSync(message: Message<unknown>): Promise<boolean> {
    return this.owner.markSync(message.offset + 1);
  }

  pause(offset: number, timeoutMs?: number): void {
    this.ask({ kind: 'pause', offset, timeoutMs });
  }

  resume(): void {
    if (this.request?.kind === 'pause') this.request = undefined;
    this.owner.resumeNow();
  }

  seek(offset: number): void {
    this.ask({ kind: 'seek', offset });
  }

  isRevoked(): boolean {
    return this.owner.isRevoked();
  }

  transaction<T>(work: (tx: ConsumerTransaction) => Promise<T>): Promise<T> {
    return this.transactions.run(work);
  }

  private ask(request: ConsumerRequest): void {
    if (this.inConsume) this.request = request;
    else this.owner.apply(request);
  }
}
