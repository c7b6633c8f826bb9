import { describe, expect, it } from 'vitest';
import { tracedSend } from '../../src/telemetry/producer-tracing.js';
import { InMemoryTelemetry } from '../support/otel.js';

type Message = { topic: string; headers?: Record<string, string | Buffer> };
const topicOf = (message: Message) => message.topic;

describe('tracedSend', () => {
  it('is the send itself until an SDK is registered (produceAsync calls it per message), then a send span whose context the headers carry', async () => {
    const given: Message[][] = [];
    const send = (messages: Message[]) => {
      given.push(messages);
      return Promise.resolve();
    };
    const messages = [{ topic: 'orders' }];
    const sent = send(messages);
    expect(tracedSend(messages, topicOf, () => sent)).toBe(sent);
    await tracedSend(messages, topicOf, send);
    expect(given.at(-1)).toBe(messages);

    const telemetry = new InMemoryTelemetry();
    await tracedSend(messages, topicOf, send);
    expect(telemetry.finished().map((span) => span.name)).toEqual(['send orders']);
    expect(String(given.at(-1)![0].headers?.traceparent)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(messages[0]).toEqual({ topic: 'orders' });
  });
});
