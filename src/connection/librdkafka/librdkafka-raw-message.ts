import type { Message } from '@confluentinc/kafka-javascript';
import type { RawMessage } from '../kafka-client.js';

/** A binding message seen as a RawMessage: librdkafka's header list folded into one record, repeated names as arrays. */
export function rawMessage(message: Message): RawMessage {
  const headers: RawMessage['headers'] = {};
  for (const header of message.headers ?? []) {
    for (const [name, value] of Object.entries(header)) {
      const previous = headers[name];
      headers[name] =
        previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
    }
  }
  const key = message.key;
  return {
    offset: message.offset,
    key: key === undefined || key === null ? null : Buffer.isBuffer(key) ? key : Buffer.from(key),
    value: message.value,
    headers,
    timestamp: message.timestamp ?? 0,
  };
}
