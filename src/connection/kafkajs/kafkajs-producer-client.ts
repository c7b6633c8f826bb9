import { Kafka, type Producer, type TopicMessages } from 'kafkajs';
import type {
  ProducedMessage,
  ProducerClient,
  ProducerClientSettings,
  ProducerTransaction,
  TopicPartitionOffset,
} from '../kafka-client.js';
import { ProduceQueue } from './kafkajs-produce-queue.js';
import type { KafkajsSettings } from './kafkajs-settings.js';

function byTopic(offsets: TopicPartitionOffset[]) {
  const topics = new Map<string, { partition: number; offset: string }[]>();
  for (const { topic, partition, offset } of offsets) {
    topics.set(topic, [...(topics.get(topic) ?? []), { partition, offset: String(offset) }]);
  }
  return [...topics].map(([topic, partitions]) => ({ topic, partitions }));
}

/**
 * A kafkajs producer behind the driver's own queue ({@link ProduceQueue}: kafkajs has none), and
 * kafkajs transactions, each with a queue of its own.
 */
export class KafkajsProducerClient implements ProducerClient {
  private readonly producer: Producer;
  private readonly queue: ProduceQueue;
  /** Transactions run one at a time: this resolves when the last one ended. */
  private lastTransaction: Promise<unknown> = Promise.resolve();
  readonly transaction?: ProducerClient['transaction'];

  constructor(
    settings: ProducerClientSettings,
    private readonly mapped: KafkajsSettings,
  ) {
    const kafka = new Kafka({ clientId: settings.clientId, ...mapped.client, ...mapped.logging });
    const { idempotent, transactionTimeout } = mapped.producer;
    const transactionalId = settings.transactionalId ?? mapped.producer.transactionalId;
    this.producer = kafka.producer({
      idempotent,
      // kafkajs's idempotent producer keeps order only with one request in flight per broker.
      maxInFlightRequests: idempotent ? 1 : undefined,
      transactionalId,
      transactionTimeout,
    });
    this.queue = this.newQueue((topicMessages) => this.producer.sendBatch(this.request(topicMessages)));
    if (transactionalId !== undefined) this.transaction = (work) => this.inTransaction(work);
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  produce(topic: string, message: ProducedMessage): Promise<void> {
    return this.queue.push(topic, message);
  }

  async send(topic: string, messages: ProducedMessage[]): Promise<void> {
    await Promise.all(messages.map((message) => this.queue.push(topic, message)));
  }

  room(): Promise<void> {
    return this.queue.room();
  }

  flush(): Promise<void> {
    return this.queue.flush();
  }

  async disconnect(): Promise<void> {
    await this.queue.flush();
    await this.lastTransaction;
    await this.producer.disconnect();
  }

  private newQueue(send: (topicMessages: TopicMessages[]) => Promise<unknown>): ProduceQueue {
    return new ProduceQueue(send, this.mapped.producer.queue);
  }

  private request(topicMessages: TopicMessages[]) {
    return {
      topicMessages,
      acks: this.mapped.producer.acks,
      timeout: this.mapped.requestTimeout,
      compression: this.mapped.compression,
    };
  }

  private inTransaction<T>(work: (transaction: ProducerTransaction) => Promise<T>): Promise<T> {
    const run = this.lastTransaction.then(async () => {
      const transaction = await this.producer.transaction();
      const queue = this.newQueue((topicMessages) => transaction.sendBatch(this.request(topicMessages)));
      try {
        const result = await work({
          produce: (topic, message) => {
            const delivered = queue.push(topic, message);
            // Reported through the commit, which fails: never an unhandled rejection.
            delivered.catch(() => undefined);
            return delivered;
          },
          sendOffsets: ({ groupId }, offsets) =>
            transaction.sendOffsets({ consumerGroupId: groupId, topics: byTopic(offsets) }),
        });
        await queue.flush();
        if (queue.failure !== undefined) throw queue.failure;
        await transaction.commit();
        return result;
      } catch (error) {
        await queue.flush();
        if (transaction.isActive()) {
          await transaction.abort().catch((abortError: unknown) => {
            throw new AggregateError([error, abortError], `the transaction failed and could not be aborted`);
          });
        }
        throw error;
      }
    });
    this.lastTransaction = run.catch(() => undefined);
    return run;
  }
}
