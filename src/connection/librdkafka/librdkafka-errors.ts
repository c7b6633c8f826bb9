import type { LibrdKafkaError } from '@confluentinc/kafka-javascript';
import { KafkaClientError } from '../kafka-client.js';
import { describeClientError, type ClientErrorContext } from '../error-hints.js';
import { librdkafkaErrorName } from './librdkafka-binding.js';

/** librdkafka codes by name, for the few this driver acts on (the binding's CODES.ERRORS). */
export const CODES = {
  FATAL: -150,
  FENCED: -144,
  STATE: -172,
  UNKNOWN: -1,
  TRANSPORT: -195,
  ALL_BROKERS_DOWN: -187,
  TIMED_OUT: -185,
  AUTHENTICATION: -169,
  ASSIGN_PARTITIONS: -175,
  REVOKE_PARTITIONS: -174,
  INCONSISTENT_GROUP_PROTOCOL: 23,
  UNSUPPORTED_ASSIGNOR: 112,
  GROUP_AUTHORIZATION_FAILED: 30,
  TOPIC_AUTHORIZATION_FAILED: 29,
} as const;

/** Commit answers that mean "this member's generation is stale", not "try again". */
export const OWNERSHIP_CODES = new Set([-172, 27, 22, 25, 16, 15, 82, 113, 110, -142]);

/** Errors no rejoin or reconnect of this client can get past: the consumer crashes, non-retriable. */
export const UNRECOVERABLE_CODES = new Set<number>([
  CODES.FATAL,
  CODES.AUTHENTICATION,
  CODES.INCONSISTENT_GROUP_PROTOCOL,
  CODES.UNSUPPORTED_ASSIGNOR,
  CODES.GROUP_AUTHORIZATION_FAILED,
  CODES.TOPIC_AUTHORIZATION_FAILED,
]);

type BindingError = Partial<LibrdKafkaError> & { message: string };

/**
 * A librdkafka error as the contract's {@link KafkaClientError}: Kafka's error name as `code`,
 * the troubleshooting hint of the shared table (error-hints.ts) matched on that name and the
 * message. `unknownIsRetriable` says what an error of no known cause is.
 */
export function toKafkaClientError(
  error: unknown,
  { unknownIsRetriable, topic, partition }: ClientErrorContext,
): KafkaClientError {
  if (error instanceof KafkaClientError) return error;
  const source = (
    typeof error === 'object' && error !== null ? error : { message: String(error) }
  ) as BindingError;
  const code = librdkafkaErrorName(typeof source.code === 'number' ? source.code : undefined);
  // The shared table reads Kafka's error name from `type`, as kafkajs names it; an error of this
  // project (a failed token provider) is matched as it is.
  const described =
    typeof source.code !== 'number' && error instanceof Error
      ? error
      : Object.assign(new Error(source.message), { name: 'LibrdKafkaError', type: code });
  const { message, hint, fatal } = describeClientError(described);
  const unrecoverable =
    source.isFatal === true || (typeof source.code === 'number' && UNRECOVERABLE_CODES.has(source.code));
  const known = hint !== undefined || fatal || unrecoverable;
  return new KafkaClientError(message, {
    retriable: known ? !(fatal || unrecoverable) : (source.isRetriable ?? unknownIsRetriable),
    hint,
    code,
    topic,
    partition,
    cause: error,
  });
}
