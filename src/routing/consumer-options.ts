import type { KafkaSettings } from '../connection/kafka-client.js';
import { validateKafkaSettings } from '../config/kafka-settings.js';
import type { InitialOffset, PauseOptions } from '../config/karafka-options.js';
import {
  boolean,
  func,
  milliseconds,
  nonEmptyString,
  nonNegativeInteger,
  oneOf,
  positiveInteger,
  shape,
} from '../config/option-checks.js';
import { pauseChecks } from '../config/validate-options.js';
import type { Deserializer } from '../consumer/deserializers.js';

/** Karafka's dead letter queue: after `maxRetries` failed retries the message goes to `topic`. */
export interface DeadLetterQueueOptions {
  /** The DLQ topic, written bare (the prefix and name mapper apply). */
  topic: string;
  /** Retries after the first failure before dispatching. Default 3. */
  maxRetries?: number;
  /** Reset the attempt count after each successful mark, so retries count per message. Default false. */
  independent?: boolean;
}

/** Declarative topic settings, used by `karafka topics` and `declareTopics`. */
export interface TopicDeclaration {
  partitions: number;
  replicationFactor?: number;
  /** Kafka topic configs, e.g. `{ 'retention.ms': '86400000' }`. */
  [config: string]: string | number | undefined;
}

/** Options of {@link Consumer}; unset ones inherit the module's. */
export interface ConsumerOptions {
  /** Consumer group id. Default: the module's `groupId`. */
  groupId?: string;
  /** Topics of one group with the same subscription group share one Kafka consumer. */
  subscriptionGroup?: string;
  initialOffset?: InitialOffset;
  maxMessages?: number;
  maxWaitTime?: number;
  /** When true, nothing is marked for you: call `markAsConsumed` yourself. Default false. */
  manualOffsetManagement?: boolean;
  /** Default: JSON, parsed lazily on first access to `payload`. */
  deserializer?: Deserializer;
  /** An inactive route is declared but not consumed. Default true. */
  active?: boolean;
  pause?: Partial<PauseOptions>;
  deadLetterQueue?: DeadLetterQueueOptions;
  /** librdkafka-style overrides merged over the module's `kafka` (Karafka's `inherit: true`). */
  kafka?: KafkaSettings;
  /** Topic declaration for `karafka topics create` and `declareTopics`. */
  config?: TopicDeclaration;
}

export const consumerOptionChecks = shape({
  groupId: nonEmptyString,
  subscriptionGroup: nonEmptyString,
  initialOffset: oneOf('earliest', 'latest'),
  maxMessages: positiveInteger,
  maxWaitTime: milliseconds,
  manualOffsetManagement: boolean,
  deserializer: func,
  active: boolean,
  pause: pauseChecks,
  deadLetterQueue: shape({ topic: nonEmptyString, maxRetries: nonNegativeInteger, independent: boolean }),
  kafka: (value, path) => void validateKafkaSettings(value, path),
  config: (value, path) => {
    const declaration = value as Record<string, unknown>;
    positiveInteger(declaration?.partitions, `${path}.partitions`);
    if (declaration.replicationFactor !== undefined)
      positiveInteger(declaration.replicationFactor, `${path}.replicationFactor`);
  },
});
