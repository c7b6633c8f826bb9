import { KafkaClientError, withHint } from '../connection/kafka-client.js';
import { describeClientError } from '../connection/error-hints.js';

type ClientError = Error & { errors?: unknown[] };

/**
 * A cluster operation of `KarafkaAdmin`, `TopicsManager` (`declareTopics`, `karafka topics`)
 * that failed: names the operation and the client's error, with the troubleshooting hint of a
 * known cause (Karafka's AWS MSK and Heroku sections), e.g. an invalid replication factor.
 */
export class KarafkaAdminError extends Error {
  override readonly name = 'KarafkaAdminError';
  /** The troubleshooting hint, when the cause is a known one. */
  readonly hint?: string;

  constructor(
    /** What was attempted, e.g. `create topic orders`. */
    readonly operation: string,
    cause: unknown,
  ) {
    const error: ClientError = cause instanceof Error ? cause : new Error(String(cause));
    // kafkajs reports createTopics failures as an aggregate of one error per topic.
    const parts =
      Array.isArray(error.errors) && error.errors.length > 0 ? (error.errors as Error[]) : [error];
    // A driver's error in the contract's terms is described already.
    const described = parts.map((part) =>
      part instanceof KafkaClientError ? part : describeClientError(part),
    );
    const hint = described.find((d) => d.hint)?.hint;
    const messages = described.map((d) => d.message).join('; ');
    super(
      `${operation}: ${withHint(`${parts.length > 1 || parts[0] !== error ? `${error.message}: ` : ''}${messages}`, hint)}`,
      {
        cause,
      },
    );
    this.hint = hint;
  }
}

/** Runs a cluster operation; a failure becomes a {@link KarafkaAdminError} naming it. */
export async function adminOperation<T>(operation: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw error instanceof KarafkaAdminError ? error : new KarafkaAdminError(operation, error);
  }
}
