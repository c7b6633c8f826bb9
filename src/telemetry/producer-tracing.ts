import { messagingAttributes, messagingNaming } from './messaging-attributes.js';
import { INSTRUMENTATION_SCOPE, openTelemetryApi, tracingSdkRegistered } from './opentelemetry-api.js';

interface Sendable {
  headers?: Record<string, string | Buffer>;
  partition?: number;
}

/**
 * Runs `send` in a `send {topic}` span (kind PRODUCER), child of the active context, and gives it
 * the messages with that span's context injected into their headers (W3C `traceparent`), so the
 * consumer's `process` span links to it. Without `@opentelemetry/api`, or without an SDK, it is
 * `send` itself: `produceAsync` calls it per message, so nothing is added on that path.
 */
export function tracedSend<M extends Sendable>(
  messages: M[],
  topicOf: (message: M) => string,
  send: (messages: M[]) => Promise<void>,
): Promise<void> {
  const api = openTelemetryApi();
  if (!api || messages.length === 0 || !tracingSdkRegistered(api)) return send(messages);
  const distinct = [...new Set(messages.map(topicOf))];
  const topic = distinct.length === 1 ? distinct[0] : undefined;
  const partitions = new Set(messages.map((message) => message.partition));
  const partition = partitions.size === 1 ? [...partitions][0] : undefined;
  const span = api.trace.getTracer(INSTRUMENTATION_SCOPE).startSpan(topic ? `send ${topic}` : 'send', {
    kind: api.SpanKind.PRODUCER,
    attributes: messagingAttributes(messagingNaming(), {
      operation: 'send',
      topic,
      partition,
      count: messages.length,
    }),
  });
  const context = api.trace.setSpan(api.context.active(), span);
  const carried = api.isSpanContextValid(span.spanContext())
    ? messages.map((message) => {
        const headers = { ...message.headers };
        api.propagation.inject(context, headers);
        return { ...message, headers };
      })
    : messages;
  return api.context
    .with(context, () => send(carried))
    .then(
      () => span.end(),
      (error: Error) => {
        span.recordException(error);
        span.setAttribute('error.type', error.name);
        span.setStatus({ code: api.SpanStatusCode.ERROR, message: error.message });
        span.end();
        throw error;
      },
    );
}
