import type { KafkaMessage } from 'kafkajs';
import type { RawHeaders, RawMessage } from '../kafka-client.js';
import { undecodableError } from './compression/index.js';

/**
 * A kafkajs message seen as a RawMessage. Offsets and timestamps are parsed when read, not
 * up front: the engine reads only a chunk's first and last offsets, and parsing every
 * message's two decimal strings was the largest framework cost in the CPU profile.
 */
export class KafkajsRawMessage implements RawMessage {
  constructor(private readonly source: KafkaMessage) {}

  get offset(): number {
    return Number(this.source.offset);
  }

  get key(): Buffer | null {
    return this.source.key;
  }

  get value(): Buffer | null {
    return this.source.value;
  }

  get headers(): RawHeaders {
    return this.source.headers ?? {};
  }

  get timestamp(): number {
    return Number(this.source.timestamp);
  }

  get undecodable(): Error | undefined {
    return undecodableError(this.source);
  }
}
