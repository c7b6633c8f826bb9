import {
  KafkaClientError,
  withHint,
  type ProducedMessage,
  type RawHeaders,
} from '../connection/kafka-client.js';
import { describeClientError } from '../connection/error-hints.js';

/** One message to produce. `topic` is written bare: the module's prefix and name mapper apply. */
export interface ProduceMessage {
  topic: string;
  /** Objects are sent as JSON; strings and Buffers as they are; null is a tombstone. */
  payload: unknown;
  key?: string | Buffer | null;
  headers?: Record<string, string | Buffer>;
  /** Without it, the partitioner picks one from the key. */
  partition?: number;
}

/** A produce that failed, naming where it was going, how much of it got through, and the hint of a known cause. */
export class ProduceError extends Error {
  override readonly name = 'ProduceError';
  /** The troubleshooting hint (authentication, authorization, unreachable brokers, ...), when the cause is a known one. */
  readonly hint?: string;

  /**
   * @param topic the topic as named on the cluster (prefixed)
   * @param partition the partition, when every failed message named the same one
   * @param acknowledged messages of the same call to this topic that the broker acknowledged (they are written)
   */
  constructor(
    readonly topic: string,
    readonly partition: number | undefined,
    cause: unknown,
    readonly acknowledged = 0,
  ) {
    const hint =
      cause instanceof KafkaClientError
        ? cause.hint
        : cause instanceof Error
          ? describeClientError(cause).hint
          : undefined;
    super(
      `cannot produce to ${topic}${partition === undefined ? '' : `/${partition}`}` +
        `${acknowledged > 0 ? ` (${acknowledged} other messages of it were acknowledged)` : ''}` +
        `: ${withHint((cause as Error)?.message ?? String(cause), hint)}`,
      { cause },
    );
    this.hint = hint;
  }
}

/** The partition every message names, when they all name the same one. */
export function onePartition(messages: { partition?: number }[]): number | undefined {
  const partitions = new Set(messages.map((message) => message.partition));
  return partitions.size === 1 ? [...partitions][0] : undefined;
}

/** The message as the client sends it to `topic` (named on the cluster); throws a {@link ProduceError} for a payload JSON cannot write. */
export function encode(topic: string, message: ProduceMessage): ProducedMessage {
  const { payload } = message;
  let value: Buffer | string | null;
  try {
    value =
      payload === null || payload === undefined
        ? null
        : typeof payload === 'string' || Buffer.isBuffer(payload)
          ? payload
          : JSON.stringify(payload);
  } catch (error) {
    throw new ProduceError(topic, message.partition, error);
  }
  return {
    key: message.key ?? null,
    value,
    headers: message.headers as RawHeaders | undefined,
    partition: message.partition,
  };
}
