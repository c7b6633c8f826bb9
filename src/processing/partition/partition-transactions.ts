import type { ProducerClient, TopicPartition } from '../../connection/kafka-client.js';
import type { LazyConnection } from '../../connection/lazy-connection.js';
import type { Message } from '../../consumer/message.js';
import { ConsumerTransaction } from '../../producer/karafka-transaction.js';
import type { PartitionEnvironment } from './partition-environment.js';
import type { PartitionPosition } from './partition-position.js';

/**
 * A consumer's transactions on its partition (`this.transaction(...)`): what it produces and the
 * offset it marks are committed atomically through the partition's own transactional producer.
 * The offset goes to the group with the transaction, never on the engine's commit path.
 */
export class PartitionTransactions {
  private producer?: LazyConnection<ProducerClient>;

  constructor(
    private readonly env: PartitionEnvironment,
    private readonly tp: TopicPartition,
    private readonly position: PartitionPosition,
    private readonly isRevoked: () => boolean,
  ) {}

  async run<T>(work: (tx: ConsumerTransaction) => Promise<T>): Promise<T> {
    const { topic, partition } = this.tp;
    const { route, committer, naming } = this.env;
    this.refuseWhenRevoked('start');
    this.producer ??= this.env.transactionalProducer(this.tp);
    const client = await this.producer.get();
    if (!client.transaction)
      throw new Error('this.transaction needs a transactional producer: its client has none');
    // A commit of an older mark still in flight must land first: the offset never moves back after the transaction.
    await committer.flush();
    let marked: number | undefined;
    const mark = (message: Message<unknown>) => {
      if (message.topic !== topic || message.partition !== partition)
        throw new Error(
          `tx.markAsConsumed: ${message.topic}/${message.partition} is not this consumer's ${topic}/${partition}`,
        );
      marked = Math.max(marked ?? 0, message.offset + 1);
    };
    const result = await client.transaction(async (transaction) => {
      const value = await work(new ConsumerTransaction(naming, transaction, mark));
      if (marked !== undefined) {
        this.refuseWhenRevoked('commit');
        const group = { groupId: route.groupId, consumer: this.env.client() };
        await transaction.sendOffsets(group, [{ topic, partition, offset: marked }]);
      }
      return value;
    });
    if (marked !== undefined) {
      this.position.mark(marked);
      committer.committedElsewhere({ topic, partition, offset: marked });
    }
    return result;
  }

  /** Disconnects the partition's producer, if it has one. */
  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await producer?.close();
  }

  private refuseWhenRevoked(what: string): void {
    if (this.isRevoked())
      throw new Error(
        `${this.tp.topic}/${this.tp.partition} was revoked: cannot ${what} a transaction of its offsets`,
      );
  }
}
