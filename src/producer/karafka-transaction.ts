import type { ProducerTransaction } from '../connection/kafka-client.js';
import { clusterTopicName, type NamingOptions } from '../config/cluster-names.js';
import type { Message } from '../consumer/message.js';
import { encode, ProduceError, type ProduceMessage } from './produce-message.js';

/**
 * What `producer.transaction(async (tx) => …)` lends its callback: messages produced through it
 * are committed together when the callback returns, or aborted (never seen by `read_committed`
 * consumers) when it throws.
 */
export class KarafkaTransaction {
  constructor(
    private readonly naming: NamingOptions,
    private readonly transaction: ProducerTransaction,
  ) {}

  /** Resolves when the broker acknowledged the message (visible once the transaction commits). */
  async produce(message: ProduceMessage): Promise<void> {
    const topic = clusterTopicName(this.naming, message.topic);
    await this.transaction.produce(topic, encode(topic, message)).catch((error: unknown) => {
      throw new ProduceError(topic, message.partition, error);
    });
  }

  async produceMany(messages: ProduceMessage[]): Promise<void> {
    await Promise.all(messages.map((message) => this.produce(message)));
  }
}

/**
 * A consumer's transaction (`this.transaction(async (tx) => …)`): what it produces and the
 * offset it marks are committed atomically, Kafka's consume-transform-produce exactly once.
 */
export class ConsumerTransaction extends KarafkaTransaction {
  constructor(
    naming: NamingOptions,
    transaction: ProducerTransaction,
    private readonly marked: (message: Message<unknown>) => void,
  ) {
    super(naming, transaction);
  }

  /** The consumer's offset moves past `message` if, and only if, the transaction commits. */
  markAsConsumed(message: Message<unknown>): void {
    this.marked(message);
  }
}
