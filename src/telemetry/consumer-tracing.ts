import type { Attributes, Context, Link, Span, SpanKind, TextMapGetter, Tracer } from '@opentelemetry/api';
import type { RawHeaders, RawMessage } from '../connection/kafka-client.js';
import type { ErrorEvent, JobKind, PartitionEvent } from '../instrumentation/karafka-events.js';
import type { KarafkaMonitor } from '../instrumentation/karafka-monitor.js';
import { countAttributes, placeAttributes, type MessagingNaming } from './messaging-attributes.js';
import { INSTRUMENTATION_SCOPE, tracingSdkRegistered, type OtelApi } from './opentelemetry-api.js';

/** Reads W3C trace context from Kafka headers (Buffers, strings, or repeated headers). */
const headerGetter: TextMapGetter<RawHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    const first = Array.isArray(value) ? value[0] : value;
    return first === undefined ? undefined : first.toString();
  },
};

/** Errors that fail the job in flight of their partition. */
const JOB_ERRORS = new Set<ErrorEvent['type']>([
  'consumer.consume.error',
  'consumer.revoked.error',
  'consumer.shutdown.error',
  'dead_letter_queue.dispatch.error',
]);

function partitionKey(event: Pick<PartitionEvent, 'subscriptionGroup' | 'topic' | 'partition'>): string {
  return `${event.subscriptionGroup}\u0000${event.topic}\u0000${event.partition}`;
}

/** The name and attributes every span of one job kind on one partition starts with. */
interface SpanBase {
  name: string;
  kind: SpanKind;
  attributes: Attributes;
}

/** True when `headers` carry one of the propagator's fields (a loop: it runs for every message). */
function carriesContext(headers: RawHeaders | undefined, fields: readonly string[]): boolean {
  if (!headers) return false;
  for (const field of fields) if (headers[field] !== undefined) return true;
  return false;
}

/**
 * A span around every consumer job: `process {topic}` (kind CONSUMER) around a batch, linked to
 * the producer context of each message, and `revoked {topic}` / `shutdown {topic}` around the
 * hooks. The job runs in the span's context, so spans the consumer starts are its children. What
 * the engine reports during the job (the error, the pause before a retry, the DLQ dispatch) is
 * written on its span.
 */
export class ConsumerTracing {
  private readonly tracer: Tracer;
  /** The span of the job in flight, per partition (one job at a time per partition). */
  private readonly active = new Map<string, Span>();
  /** Built once per partition and job kind: the same for every batch. */
  private readonly bases = new Map<string, SpanBase>();
  private readonly unsubscribe: (() => void)[];

  constructor(
    private readonly api: OtelApi,
    private readonly naming: MessagingNaming,
    monitor: KarafkaMonitor,
  ) {
    this.tracer = api.trace.getTracer(INSTRUMENTATION_SCOPE);
    this.unsubscribe = [
      monitor.subscribe('error.occurred', (event) => {
        if (!JOB_ERRORS.has(event.type) || event.topic === undefined) return;
        const span = this.active.get(partitionKey(event as PartitionEvent));
        if (!span) return;
        span.recordException(event.error);
        span.setAttribute('error.type', event.error.name);
        span.setStatus({ code: api.SpanStatusCode.ERROR, message: event.error.message });
      }),
      monitor.subscribe('consumer.consuming.pause', (event) => {
        this.active.get(partitionKey(event))?.addEvent('consumer.consuming.pause', {
          'messaging.kafka.offset': event.offset,
          'karafka.pause.timeout_ms': event.timeoutMs,
          'karafka.attempt': event.attempt,
        });
      }),
      monitor.subscribe('dead_letter_queue.dispatched', (event) => {
        this.active.get(partitionKey(event))?.addEvent('dead_letter_queue.dispatched', {
          'messaging.kafka.offset': event.offset,
          'karafka.dead_letter_topic': event.deadLetterTopic,
          'karafka.attempt': event.attempt,
        });
      }),
    ];
  }

  close(): void {
    for (const unsubscribe of this.unsubscribe) unsubscribe();
  }

  /** The monitor's job wrapper. */
  readonly wrap = async <T>(
    event: PartitionEvent,
    job: JobKind,
    messages: readonly RawMessage[] | undefined,
    attempt: number,
    run: () => Promise<T>,
  ): Promise<T> => {
    const { api } = this;
    // No SDK registered (yet): no span to record or to parent anything; the job runs as it is.
    if (!tracingSdkRegistered(api)) return run();
    // Links are given at the start, where samplers see them (and every SDK version takes them).
    const links = messages ? this.producerLinks(messages) : undefined;
    const key = partitionKey(event);
    const base = this.base(key, event, job);
    const span = this.tracer.startSpan(
      base.name,
      {
        kind: base.kind,
        attributes: messages
          ? {
              ...base.attributes,
              ...countAttributes(this.naming, messages.length, messages[0].offset),
              'karafka.attempt': attempt,
              'karafka.batch.first_offset': messages[0].offset,
              'karafka.batch.last_offset': messages[messages.length - 1].offset,
            }
          : base.attributes,
        links,
      },
      // A root: the engine's fetch loop carries no request's context; messages are linked.
      api.ROOT_CONTEXT,
    );
    if (attempt > 1 && span.isRecording())
      span.addEvent('consumer.consuming.retry', { 'karafka.attempt': attempt });
    this.active.set(key, span);
    try {
      return await api.context.with(api.trace.setSpan(api.ROOT_CONTEXT, span), run);
    } finally {
      this.active.delete(key);
      span.end();
    }
  };

  private base(key: string, event: PartitionEvent, job: JobKind): SpanBase {
    const baseKey = `${key}\u0000${job}`;
    let base = this.bases.get(baseKey);
    if (!base) {
      const { topic, partition, groupId } = event;
      base = {
        name: `${job === 'consume' ? 'process' : job} ${topic}`,
        kind: job === 'consume' ? this.api.SpanKind.CONSUMER : this.api.SpanKind.INTERNAL,
        attributes: {
          ...placeAttributes(this.naming, { operation: 'process', topic, partition, groupId }),
          'karafka.job': job,
          'karafka.consumer.class': event.consumerClass,
        },
      };
      this.bases.set(baseKey, base);
    }
    return base;
  }

  /**
   * One link per message that carries a valid producer context (W3C `traceparent` with the usual
   * propagator). Only messages holding one of the propagator's headers are parsed: none without
   * a propagator registered.
   */
  private producerLinks(messages: readonly RawMessage[]): Link[] {
    const { api } = this;
    const links: Link[] = [];
    const fields = api.propagation.fields();
    if (fields.length === 0) return links;
    for (const message of messages) {
      if (!carriesContext(message.headers, fields)) continue;
      const extracted: Context = api.propagation.extract(api.ROOT_CONTEXT, message.headers!, headerGetter);
      const context = api.trace.getSpanContext(extracted);
      if (context && api.isSpanContextValid(context)) {
        links.push({ context, attributes: { 'messaging.kafka.offset': message.offset } });
      }
    }
    return links;
  }
}
