import type { RawMessage } from '../connection/kafka-client.js';
import type { ProducerConnection } from '../producer/producer-connection.js';

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

/** Produces failed messages to their route's DLQ topic through the app's producer. */
export class DeadLetterDispatcher {
  constructor(private readonly producer: ProducerConnection) {}

  /** Resolves once the broker acknowledged the copy; only then may the offset move. */
  async dispatch(deadLetterTopic: string, message: RawMessage, origin: DeadLetterOrigin): Promise<void> {
    await this.producer.run((client) =>
      client.send(deadLetterTopic, [
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
      ]),
    );
  }
}
