import { Injectable, type INestApplication, type Type } from '@nestjs/common';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { HistogramMetricData } from '@opentelemetry/sdk-metrics';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BaseConsumer,
  Consumer,
  KarafkaProducer,
  type KarafkaModuleOptions,
  type Messages,
} from 'nestjs-karafka';
import { uniqueName } from '../support/kafka/connection.mjs';
import { committedOffsets, createTopic, produceNumbered } from '../support/kafka-topics.js';
import { createKarafkaApp } from '../support/karafka-app.js';
import { InMemoryTelemetry } from '../support/otel.js';
import { waitFor } from '../support/wait-for.js';

let telemetry: InMemoryTelemetry;
beforeAll(() => {
  telemetry = new InMemoryTelemetry();
});

const apps: INestApplication[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close().catch(() => undefined)));
});

async function start(
  options: Partial<KarafkaModuleOptions>,
  providers: Type[],
  values: { provide: unknown; useValue: unknown }[] = [],
): Promise<INestApplication> {
  const { app } = await createKarafkaApp(options, [...providers, ...values] as never);
  apps.push(app);
  await app.init();
  return app;
}

@Injectable()
class Seen {
  readonly batches: { topic: string; offsets: number[]; childOf?: string }[] = [];
  readonly log: string[] = [];
  get messages(): number {
    return this.batches.reduce((sum, batch) => sum + batch.offsets.length, 0);
  }
}

describe('OpenTelemetry tracing against a real broker', () => {
  it(
    'links the process span to the send span of KarafkaProducer; a span started in consume() is its child',
    { tags: ['smoke'] },
    async () => {
      const topic = uniqueName('traced');
      await createTopic(topic, 1);
      @Consumer(topic)
      class TracedConsumer extends BaseConsumer {
        constructor(private readonly seen: Seen) {
          super();
        }

        consume(messages: Messages): void {
          const span = trace.getTracer('test').startSpan('inside consume');
          span.end();
          this.seen.batches.push({
            topic,
            offsets: messages.map((m) => m.offset),
            childOf: span.spanContext().traceId,
          });
        }
      }
      const seen = new Seen();
      const groupId = uniqueName('traced-group');
      const app = await start({ groupId }, [TracedConsumer], [{ provide: Seen, useValue: seen }]);
      await app.get(KarafkaProducer).produce({ topic, key: 'k', payload: { hello: 'world' } });
      await waitFor(() => seen.messages === 1, 30_000, 'the message');
      await waitFor(() => telemetry.finished((s) => s.name === `process ${topic}`).length === 1);

      const [send] = telemetry.finished((s) => s.name === `send ${topic}`);
      const [process] = telemetry.finished((s) => s.name === `process ${topic}`);
      const [inside] = telemetry.finished(
        (s) => s.name === 'inside consume' && s.spanContext().traceId === process.spanContext().traceId,
      );
      expect(send.kind).toBe(SpanKind.PRODUCER);
      expect(send.attributes).toMatchObject({
        'messaging.system': 'kafka',
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'send',
        'messaging.destination.name': topic,
      });
      expect(process.kind).toBe(SpanKind.CONSUMER);
      expect(process.attributes).toMatchObject({
        'messaging.system': 'kafka',
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'messaging.destination.name': topic,
        'messaging.destination.partition.id': '0',
        'messaging.consumer.group.name': groupId,
        'messaging.kafka.offset': 0,
        'karafka.attempt': 1,
      });
      expect(process.attributes).not.toHaveProperty('messaging.operation');
      expect(process.links.map((link) => link.context.spanId)).toEqual([send.spanContext().spanId]);
      expect(process.links[0].context.traceId).toBe(send.spanContext().traceId);
      expect(process.parentSpanContext).toBeUndefined();
      expect(inside.parentSpanContext?.spanId).toBe(process.spanContext().spanId);
      expect(process.status.code).toBe(SpanStatusCode.UNSET);
    },
  );

  it('writes the error, the pause before the retry, the retry and the DLQ dispatch on the process spans', async () => {
    const topic = uniqueName('traced-failing');
    await createTopic(topic, 1);
    @Consumer(topic, { deadLetterQueue: { topic: `${topic}.dlq`, maxRetries: 1 }, pause: { timeout: 100 } })
    class FailingConsumer extends BaseConsumer {
      consume(): void {
        throw new TypeError('cannot process');
      }
    }
    await start({ declareTopics: true }, [FailingConsumer]);
    await produceNumbered(topic, 1, 1);
    await waitFor(
      () =>
        telemetry
          .finished((s) => s.name === `process ${topic}`)
          .some((s) => s.events.some((e) => e.name === 'dead_letter_queue.dispatched')),
      30_000,
      'the DLQ dispatch on a span',
    );
    const [first, second] = telemetry.finished((s) => s.name === `process ${topic}`);
    expect(first.status).toEqual({ code: SpanStatusCode.ERROR, message: 'cannot process' });
    expect(first.attributes['error.type']).toBe('TypeError');
    expect(first.events.map((e) => e.name)).toEqual(['exception', 'consumer.consuming.pause']);
    expect(second.attributes['karafka.attempt']).toBe(2);
    expect(second.events.map((e) => e.name)).toEqual([
      'consumer.consuming.retry',
      'exception',
      'dead_letter_queue.dispatched',
    ]);
    expect(second.events[2].attributes).toMatchObject({ 'karafka.dead_letter_topic': `${topic}.dlq` });
  });
});

describe('OpenTelemetry metrics against a real broker', () => {
  it('counts 1,000 consumed messages and reports lag = produced - committed for a stopped group', async () => {
    const topic = uniqueName('metered');
    await createTopic(topic, 3);
    await produceNumbered(topic, 1_000, 3);
    @Consumer(topic)
    class MeteredConsumer extends BaseConsumer {
      constructor(private readonly seen: Seen) {
        super();
      }

      consume(messages: Messages): void {
        this.seen.batches.push({ topic, offsets: messages.map((m) => m.offset) });
      }
    }
    const seen = new Seen();
    const groupId = uniqueName('metered-group');
    const options = { groupId, maxMessages: 50 };
    const app = await start(options, [MeteredConsumer], [{ provide: Seen, useValue: seen }]);
    await waitFor(() => seen.messages === 1_000, 60_000, '1,000 messages');
    await waitFor(
      async () => [...(await committedOffsets(groupId, topic)).values()].reduce((a, b) => a + b, 0) === 1_000,
    );

    const consumed = await telemetry.points('messaging.client.consumed.messages');
    const mine = consumed.filter((p) => p.attributes['messaging.destination.name'] === topic);
    expect(mine.reduce((sum, p) => sum + (p.value as number), 0)).toBe(1_000);
    expect(mine.map((p) => p.attributes['messaging.consumer.group.name'])).toEqual([
      groupId,
      groupId,
      groupId,
    ]);
    const durations = (await telemetry.points('messaging.process.duration')).filter(
      (p) => p.attributes['messaging.destination.name'] === topic,
    ) as HistogramMetricData['dataPoints'];
    expect(durations.reduce((sum, p) => sum + p.value.count, 0)).toBe(seen.batches.length);
    const lagWhileCaughtUp = (await telemetry.points('messaging.kafka.consumer.lag')).filter(
      (p) => p.attributes['messaging.destination.name'] === topic,
    );
    expect(lagWhileCaughtUp.map((p) => p.value)).toEqual([0, 0, 0]);
    await app.close();
    apps.length = 0;

    // The group is stopped; 30 more messages wait. A second app of the same routes, not started, reads its lag.
    await produceNumbered(topic, 30, 3, 1_000);
    await start({ ...options, autoStart: false }, [MeteredConsumer], [{ provide: Seen, useValue: seen }]);
    const committed = await committedOffsets(groupId, topic);
    const lag = (await telemetry.points('messaging.kafka.consumer.lag')).filter(
      (p) => p.attributes['messaging.destination.name'] === topic,
    );
    expect(lag).toHaveLength(3);
    for (const point of lag) {
      const partition = Number(point.attributes['messaging.destination.partition.id']);
      let produced = 0;
      for (let n = 0; n < 1_030; n++) if (n % 3 === partition) produced++;
      expect(point.value, `lag of partition ${partition}`).toBe(produced - committed.get(partition)!);
      expect(point.value).toBe(10);
    }
  });
});
