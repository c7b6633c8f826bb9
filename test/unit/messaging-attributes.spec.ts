import { describe, expect, it } from 'vitest';
import { messagingAttributes, messagingNaming } from '../../src/telemetry/messaging-attributes.js';

const batch = { operation: 'process', topic: 'orders', partition: 2, groupId: 'billing', count: 5 } as const;
const single = { ...batch, count: 1, offset: 41 };

describe('messaging semantic conventions', () => {
  it('writes the current names by default, and with OTEL_SEMCONV_STABILITY_OPT_IN=messaging', () => {
    for (const optIn of [undefined, '', 'http', 'messaging', 'http, messaging']) {
      expect(messagingAttributes(messagingNaming(optIn), single)).toEqual({
        'messaging.system': 'kafka',
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'messaging.destination.name': 'orders',
        'messaging.destination.partition.id': '2',
        'messaging.consumer.group.name': 'billing',
        'messaging.kafka.offset': 41,
      });
    }
  });

  it('adds the names they replaced with messaging/dup, which wins over messaging', () => {
    for (const optIn of ['messaging/dup', 'messaging,messaging/dup', 'database/dup, messaging/dup']) {
      expect(messagingAttributes(messagingNaming(optIn), single)).toMatchObject({
        'messaging.operation.type': 'process',
        'messaging.operation': 'process',
        'messaging.destination.partition.id': '2',
        'messaging.kafka.destination.partition': 2,
        'messaging.consumer.group.name': 'billing',
        'messaging.kafka.consumer.group': 'billing',
        'messaging.kafka.offset': 41,
        'messaging.kafka.message.offset': 41,
      });
    }
    expect(messagingAttributes({ old: true }, { operation: 'send', count: 1 })).toMatchObject({
      'messaging.operation.type': 'send',
      'messaging.operation': 'publish',
    });
  });

  it('describes a batch by its message count, a single message by its offset', () => {
    const attributes = messagingAttributes({ old: false }, batch);
    expect(attributes['messaging.batch.message_count']).toBe(5);
    expect(attributes).not.toHaveProperty('messaging.kafka.offset');
    expect(messagingAttributes({ old: false }, single)).not.toHaveProperty('messaging.batch.message_count');
  });
});
