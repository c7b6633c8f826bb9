import type { RawHeaders } from '../connection/kafka-client.js';

/** What a deserializer sees of a message. */
export interface DeserializerInput {
  rawPayload: Buffer | null;
  headers: RawHeaders;
  topic: string;
  partition: number;
  offset: number;
}

/** Turns a raw payload into the value `message.payload` returns. Throwing marks the message as malformed. */
export type Deserializer<T = unknown> = (input: DeserializerInput) => T;

/** The default: UTF-8 JSON; a null payload (a tombstone) stays null. */
export const jsonDeserializer: Deserializer = ({ rawPayload }) =>
  rawPayload === null ? null : JSON.parse(rawPayload.toString('utf8'));

/** The payload as a UTF-8 string. */
export const stringDeserializer: Deserializer<string | null> = ({ rawPayload }) =>
  rawPayload === null ? null : rawPayload.toString('utf8');

/** The payload as it came: a Buffer. */
export const rawDeserializer: Deserializer<Buffer | null> = ({ rawPayload }) => rawPayload;

/** Thrown by `message.payload` when the deserializer failed. The original error is its `cause`. */
export class DeserializationError extends Error {
  override readonly name = 'DeserializationError';

  constructor(topic: string, partition: number, offset: number, cause: unknown) {
    super(
      `cannot deserialize ${topic}/${partition}@${offset}: ${(cause as Error)?.message ?? String(cause)}`,
      { cause },
    );
  }
}
