import type { KafkaMessage } from 'kafkajs';

/** Codec ids of a record batch's attributes (bits 0-2), as Kafka defines them. */
const CODEC_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

export function codecName(codecId: number): string {
  return CODEC_NAMES[codecId] ?? `unknown codec id ${codecId}`;
}

/** A record batch the kafkajs driver fetched but cannot decode; its records are not delivered. */
export class UndecodableBatchError extends Error {
  override readonly name = 'UndecodableBatchError';

  constructor(
    readonly codec: string,
    readonly firstOffset: string,
    readonly lastOffset: string,
    cause: unknown,
  ) {
    super(
      `the record batch at offsets ${firstOffset}..${lastOffset} (compression ${codec}) cannot be decoded: ${(cause as Error)?.message ?? String(cause)}`,
      { cause },
    );
  }
}

/**
 * Where the reason rides on the record standing for an undecodable batch. A global symbol, so a
 * second copy of this module (sources and build in one process) still reads it.
 */
const UNDECODABLE = Symbol.for('nestjs-karafka.kafkajs.undecodable');

export function markUndecodable<T extends object>(record: T, error: UndecodableBatchError): T {
  return Object.assign(record, { [UNDECODABLE]: error });
}

/**
 * The reason a message delivered by kafkajs stands for a record batch that could not be decoded
 * (its value is then the batch's raw bytes, its offset the batch's last), or undefined for a
 * decoded message.
 */
export function undecodableError(message: KafkaMessage): Error | undefined {
  return (message as KafkaMessage & { [UNDECODABLE]?: UndecodableBatchError })[UNDECODABLE];
}
