import type { RawHeaders, RawMessage } from '../connection/kafka-client.js';
import { DeserializationError, type Deserializer } from './deserializers.js';

const UNPARSED = Symbol('unparsed');

/** One Kafka message. `payload` is deserialized lazily, on first access, and cached. */
export class Message<T = unknown> {
  private parsed: T | typeof UNPARSED = UNPARSED;
  private parseError?: DeserializationError;

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly raw: RawMessage,
    private readonly deserializer: Deserializer<T>,
  ) {}

  get offset(): number {
    return this.raw.offset;
  }

  /** The payload as bytes, as it came from Kafka. */
  get rawPayload(): Buffer | null {
    return this.raw.value;
  }

  get rawKey(): Buffer | null {
    return this.raw.key;
  }

  /** The key as a UTF-8 string, or null. */
  get key(): string | null {
    return this.raw.key === null ? null : this.raw.key.toString('utf8');
  }

  /** Headers as they came (Buffers). */
  get rawHeaders(): RawHeaders {
    return this.raw.headers;
  }

  /** Headers decoded as UTF-8 strings. */
  get headers(): Record<string, string | string[]> {
    const decoded: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(this.raw.headers)) {
      if (value === undefined) continue;
      decoded[name] = Array.isArray(value) ? value.map(String) : String(value);
    }
    return decoded;
  }

  /** Produce time in milliseconds since the epoch. */
  get timestamp(): number {
    return this.raw.timestamp;
  }

  /** The deserialized payload. Throws {@link DeserializationError} when it cannot be parsed. */
  get payload(): T {
    if (this.parseError) throw this.parseError;
    if (this.parsed === UNPARSED) {
      try {
        // A batch the client could not decode fails like a malformed payload: retried, then the DLQ.
        if (this.raw.undecodable) throw this.raw.undecodable;
        this.parsed = this.deserializer({
          rawPayload: this.raw.value,
          headers: this.raw.headers,
          topic: this.topic,
          partition: this.partition,
          offset: this.raw.offset,
        });
      } catch (error) {
        this.parseError = new DeserializationError(this.topic, this.partition, this.raw.offset, error);
        throw this.parseError;
      }
    }
    return this.parsed;
  }
}
