import type { LibrdKafkaError, Producer } from '@confluentinc/kafka-javascript';
import {
  KafkaClientError,
  type ProducedMessage,
  type ProducerTransaction,
  type TopicPartitionOffset,
  type TransactionGroup,
} from '../kafka-client.js';
import { LibrdkafkaConsumerClient } from './librdkafka-consumer-client.js';
import { CODES, toKafkaClientError } from './librdkafka-errors.js';

/** How long librdkafka may take over one transactional call (init, offsets, commit, abort). */
const TRANSACTION_CALL_TIMEOUT_MS = 30_000;

/** librdkafka's transactions on one producer: `initTransactions` once, then one transaction at a time. */
export class LibrdkafkaTransactions {
  private initialized?: Promise<void>;
  /** Resolves when the last transaction ended. */
  private last: Promise<unknown> = Promise.resolve();
  /** librdkafka's fatal error (a fenced producer): the producer can do nothing more. */
  private fatal?: KafkaClientError;

  constructor(
    private readonly producer: Producer,
    private readonly produce: (topic: string, message: ProducedMessage) => Promise<void>,
  ) {}

  run<T>(work: (transaction: ProducerTransaction) => Promise<T>): Promise<T> {
    const run = this.last.then(() => this.once(work));
    this.last = run.catch(() => undefined);
    return run;
  }

  /** Resolves when no transaction runs or waits, those started while it waited included. */
  async idle(): Promise<void> {
    let last: Promise<unknown>;
    do {
      last = this.last;
      await last;
    } while (last !== this.last);
  }

  private async once<T>(work: (transaction: ProducerTransaction) => Promise<T>): Promise<T> {
    if (this.fatal) throw this.fatal;
    this.initialized ??= this.call((done) =>
      this.producer.initTransactions(TRANSACTION_CALL_TIMEOUT_MS, done),
    );
    try {
      await this.initialized;
    } catch (error) {
      this.initialized = undefined;
      throw this.fatalOr(error);
    }
    await this.call((done) => this.producer.beginTransaction(done)).catch((error: unknown) => {
      throw this.fatalOr(error);
    });
    const produced: Promise<void>[] = [];
    try {
      const result = await work({
        produce: (topic, message) => {
          const delivered = this.produce(topic, message);
          // Reported through the commit, which does not happen: never an unhandled rejection.
          delivered.catch(() => undefined);
          produced.push(delivered);
          return delivered;
        },
        sendOffsets: (group, offsets) => this.sendOffsets(group, offsets),
      });
      await Promise.all(produced);
      await this.call((done) => this.producer.commitTransaction(TRANSACTION_CALL_TIMEOUT_MS, done));
      return result;
    } catch (error) {
      await Promise.allSettled(produced);
      await this.call((done) => this.producer.abortTransaction(TRANSACTION_CALL_TIMEOUT_MS, done)).catch(
        (abortError: unknown) => {
          const fatal = this.fatalOr(abortError);
          if (fatal === this.fatal) throw fatal;
          throw new AggregateError([error, abortError], 'the transaction failed and could not be aborted');
        },
      );
      throw error;
    }
  }

  private async sendOffsets(group: TransactionGroup, offsets: TopicPartitionOffset[]): Promise<void> {
    const member =
      group.consumer instanceof LibrdkafkaConsumerClient ? group.consumer.groupMember() : undefined;
    const refusal = !group.consumer
      ? 'no consumer was given'
      : !member
        ? 'the consumer given is not a librdkafka driver client'
        : member.groupId !== group.groupId
          ? `the consumer given is a member of group ${member.groupId}`
          : !member.consumer
            ? 'the consumer given is not started'
            : undefined;
    if (refusal !== undefined || !member?.consumer)
      throw new Error(
        `sendOffsets for group ${group.groupId} needs the group's started librdkafka consumer (librdkafka sends its group metadata): ${refusal}`,
      );
    const consumer = member.consumer;
    await this.call((done) =>
      this.producer.sendOffsetsToTransaction(offsets, consumer, TRANSACTION_CALL_TIMEOUT_MS, done),
    );
  }

  /** `error` as this producer's fatal error when librdkafka says it is one (it stays so), else as it is. */
  private fatalOr(error: unknown): unknown {
    const cause = (error instanceof KafkaClientError ? error.cause : error) as Partial<LibrdKafkaError>;
    const fatal = cause?.isFatal === true || cause?.code === CODES.FENCED || cause?.code === CODES.FATAL;
    if (!fatal) return error;
    this.fatal ??= new KafkaClientError(
      `the transactional producer cannot go on: ${(error as Error).message}`,
      {
        retriable: false,
        hint: 'another producer with the same transactional.id fenced it, or librdkafka raised a fatal error; a new producer is needed',
        code: error instanceof KafkaClientError ? error.code : undefined,
        cause: error,
      },
    );
    return this.fatal;
  }

  private call(start: (done: (error: LibrdKafkaError | null) => void) => void): Promise<void> {
    return new Promise((resolve, reject) =>
      start((error) => (error ? reject(toKafkaClientError(error, { unknownIsRetriable: true })) : resolve())),
    );
  }
}
