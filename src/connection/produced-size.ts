import type { ProducedMessage } from './kafka-client.js';

/** The most a record's framing takes in Kafka's v2 format (length, attributes, deltas, counts). */
const RECORD_OVERHEAD_BYTES = 32;

function byteLength(value: Buffer | string | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}

/** The bytes a message takes in a record batch, about: what the producer queues' byte limits count. */
export function producedSize(message: ProducedMessage): number {
  let size = RECORD_OVERHEAD_BYTES + byteLength(message.key) + byteLength(message.value);
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    size += Buffer.byteLength(name);
    for (const item of Array.isArray(value) ? value : [value]) size += byteLength(item);
  }
  return size;
}
