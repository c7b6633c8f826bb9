import type { ProducerClient, RawMessage } from '../connection/kafka-client.js';
import { LazyConnection } from '../connection/lazy-connection.js';

/** Headers added to a dead-lettered message, naming where it came from and why. */
export const DLQ_HEADERS = {
  topic: 'original_topic',
  partition: 'original_partition',
  offset: 'original_offset',
  consumerGroup: 'original_consumer_group',
  attempts: 'original_attempts',
  errorClass: 'original_error_class',
  errorMessage: 'original_error_message',
} as const;

export interface DeadLetterOrigin {
  topic: string;
  partition: number;
  groupId: string;
  attempts: number;
  error: Error;
}

/** Produces failed messages to their route's DLQ topic through one lazily connected producer. */
export class DeadLetterDispatcher {
  private readonly producer: LazyConnection<ProducerClient>;

  constructor(producer: ProducerClient) {
    this.producer = new LazyConnection(() => producer);
  }

  /** Resolves once the broker acknowledged the copy; only then may the offset move. */
  async dispatch(deadLetterTopic: string, message: RawMessage, origin: DeadLetterOrigin): Promise<void> {
    const producer = await this.producer.get();
    await producer.send(deadLetterTopic, [
      {
        key: message.key,
        value: message.value,
        headers: {
          ...message.headers,
          [DLQ_HEADERS.topic]: origin.topic,
          [DLQ_HEADERS.partition]: String(origin.partition),
          [DLQ_HEADERS.offset]: String(message.offset),
          [DLQ_HEADERS.consumerGroup]: origin.groupId,
          [DLQ_HEADERS.attempts]: String(origin.attempts),
          [DLQ_HEADERS.errorClass]: origin.error.name,
          [DLQ_HEADERS.errorMessage]: origin.error.message.slice(0, 1_000),
        },
      },
    ]);
  }

  close(): Promise<void> {
    return this.producer.close();
  }
}
