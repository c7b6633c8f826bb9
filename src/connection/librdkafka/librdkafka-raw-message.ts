import type { Message } from '@confluentinc/kafka-javascript';
import type { RawHeaders, RawMessage } from '../kafka-client.js';

/**
 * A binding message seen as a RawMessage, converted when read: the engine reads most messages'
 * offsets only, so headers (librdkafka's list folded into one record, repeated names as arrays)
 * and a string key's Buffer are made on demand.
 */
export class LibrdkafkaRawMessage implements RawMessage {
  private folded?: RawHeaders;

  constructor(private readonly source: Message) {}

  get offset(): number {
    return this.source.offset;
  }

  get key(): Buffer | null {
    const key = this.source.key;
    if (key === undefined || key === null) return null;
    return Buffer.isBuffer(key) ? key : Buffer.from(key);
  }

  get value(): Buffer | null {
    return this.source.value;
  }

  get headers(): RawHeaders {
    if (this.folded) return this.folded;
    const headers: RawHeaders = (this.folded = {});
    for (const header of this.source.headers ?? []) {
      for (const [name, value] of Object.entries(header)) {
        const previous = headers[name];
        headers[name] =
          previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
      }
    }
    return headers;
  }

  get timestamp(): number {
    return this.source.timestamp ?? 0;
  }
}
