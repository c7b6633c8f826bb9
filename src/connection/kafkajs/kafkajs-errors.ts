import { KafkaClientError } from '../kafka-client.js';
import { causes, describeClientError, type ClientErrorContext } from '../error-hints.js';

/**
 * A kafkajs error as the contract's {@link KafkaClientError}. `unknownIsRetriable` says what an
 * error of no known cause is: retriable at connect time (a new attempt may reach the cluster),
 * not after kafkajs itself gave up on it.
 */
export function toKafkaClientError(
  error: unknown,
  { unknownIsRetriable, topic, partition }: ClientErrorContext,
): KafkaClientError {
  if (error instanceof KafkaClientError) return error;
  const cause = error instanceof Error ? error : new Error(String(error));
  const { message, hint, fatal } = describeClientError(cause);
  const known = hint !== undefined || fatal;
  const code = causes(cause).find((e) => e.type)?.type;
  return new KafkaClientError(message, {
    retriable: known ? !fatal : unknownIsRetriable,
    hint,
    code,
    topic: topic ?? (cause as { topic?: string }).topic,
    partition: partition ?? (cause as { partition?: number }).partition,
    cause,
  });
}
