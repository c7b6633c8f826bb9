import { Injectable, type INestApplication, type Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BaseConsumer,
  Consumer,
  KarafkaAdmin,
  KarafkaModule,
  KarafkaProducer,
  KarafkaRunner,
  TopicsManager,
  type ConsumerOptions,
  type KarafkaModuleOptions,
  type Messages,
} from 'nestjs-karafka';
import { CaptureLogger } from '../support/capture-logger.js';
import { brokers, uniqueName } from '../support/kafka/connection.mjs';
import { waitFor } from '../support/wait-for.js';

@Injectable()
class Sink {
  readonly payloads: unknown[] = [];
  stopAfter = Infinity;
}

function sinkConsumer(topic: string, options: ConsumerOptions = {}): Type<BaseConsumer> {
  @Consumer(topic, options)
  class SinkConsumer extends BaseConsumer {
    constructor(private readonly sink: Sink) {
      super();
    }
    async consume(messages: Messages): Promise<void> {
      for (const message of messages) {
        if (this.sink.payloads.length >= this.sink.stopAfter)
          throw new Error('holding: the test stops the group midway');
        this.sink.payloads.push(message.payload);
        this.markAsConsumed(message);
      }
    }
  }
  return SinkConsumer;
}

const apps: INestApplication[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close().catch(() => undefined)));
});

async function startApp(
  consumers: Type<BaseConsumer>[],
  options: Partial<KarafkaModuleOptions> = {},
  sink = new Sink(),
) {
  const moduleRef = await Test.createTestingModule({
    imports: [
      KarafkaModule.forRoot({
        kafka: { 'bootstrap.servers': brokers() },
        maxWaitTime: 300,
        groupId: uniqueName('group'),
        ...options,
      }),
    ],
    providers: [{ provide: Sink, useValue: sink }, ...consumers],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: new CaptureLogger() });
  apps.push(app);
  await app.init();
  return {
    app,
    sink,
    producer: app.get(KarafkaProducer),
    admin: app.get(KarafkaAdmin),
    runner: app.get(KarafkaRunner),
  };
}

describe('producer and admin against a real broker', () => {
  it('100,000 objects produced through KarafkaProducer round-trip as JSON into a route, under the prefix', async () => {
    const prefix = `${uniqueName('env')}.`;
    const topic = 'events';
    const { producer, admin, sink } = await startApp([sinkConsumer(topic, { config: { partitions: 4 } })], {
      prefix,
      declareTopics: true,
      maxMessages: 500,
    });
    await waitFor(
      async () => (await admin.listTopics()).includes(`${prefix}${topic}`),
      30_000,
      'the declared topic',
    );
    expect((await admin.topicInfo(topic)).partitions).toHaveLength(4);
    for (let start = 0; start < 100_000; start += 10_000) {
      await producer.produceMany(
        Array.from({ length: 10_000 }, (_, i) => ({
          topic,
          key: String(start + i),
          payload: { n: start + i, nested: { ok: true } },
        })),
      );
    }
    await waitFor(() => sink.payloads.length >= 100_000, 120_000, '100,000 messages');
    const seen = new Set(sink.payloads.map((payload) => (payload as { n: number }).n));
    expect(seen.size).toBe(100_000);
    expect(sink.payloads[0]).toMatchObject({ nested: { ok: true } });
    expect((await admin.listTopics()).includes(topic)).toBe(false);
  });

  it('app.close() right after a burst of fire-and-forget produces loses none', async () => {
    const topic = uniqueName('burst');
    const first = await startApp([]);
    await first.admin.createTopic(topic, 1);
    for (let n = 0; n < 2_000; n++) first.producer.produceAsync({ topic, key: String(n), payload: { n } });
    await first.app.close();
    apps.splice(apps.indexOf(first.app), 1);
    const reader = await startApp([]);
    const marks = await reader.admin.readWatermarkOffsets(topic);
    expect(marks).toEqual([{ partition: 0, low: 0, high: 2_000 }]);
    // Fire-and-forget sends are independent: all arrive, not necessarily in call order.
    const all = await reader.admin.readTopic(topic, 0, 2_000, 0);
    expect(new Set(all.map((message) => (message.payload as { n: number }).n)).size).toBe(2_000);
    expect((await reader.admin.readTopic(topic, 0, 10)).map((message) => message.offset)).toEqual([
      1990, 1991, 1992, 1993, 1994, 1995, 1996, 1997, 1998, 1999,
    ]);
  });

  it('createTopic then topicInfo shows the partitions; lag is produced minus consumed for a group stopped midway', async () => {
    const topic = uniqueName('lag');
    const groupId = uniqueName('group');
    const setup = await startApp([]);
    await setup.admin.createTopic(topic, 3);
    expect((await setup.admin.topicInfo(topic)).partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
    await setup.producer.produceMany(
      Array.from({ length: 300 }, (_, n) => ({ topic, payload: { n }, partition: n % 3 })),
    );
    const sink = new Sink();
    sink.stopAfter = 120;
    const consuming = await startApp(
      [sinkConsumer(topic, { pause: { timeout: 60_000 } })],
      { groupId, maxMessages: 10 },
      sink,
    );
    await waitFor(() => sink.payloads.length === 120, 30_000, '120 consumed');
    await consuming.app.close();
    const lag = await setup.admin.consumerGroupLag(groupId, topic);
    expect(lag.reduce((sum, p) => sum + p.lag, 0)).toBe(300 - 120);
    expect(lag.every((p) => p.highWatermark === 100)).toBe(true);
  });

  it('TopicsManager plans, creates and deletes the declared topics and their DLQ', async () => {
    const topic = uniqueName('declared');
    const { app } = await startApp(
      [
        sinkConsumer(topic, {
          config: { partitions: 2, 'retention.ms': 3_600_000 },
          deadLetterQueue: { topic: `${topic}.dlq` },
        }),
      ],
      { autoStart: false },
    );
    const topics = app.get(TopicsManager);
    expect((await topics.plan()).create.map((spec) => [spec.name, spec.partitions])).toEqual([
      [topic, 2],
      [`${topic}.dlq`, 1],
    ]);
    expect(await topics.createMissing()).toEqual([topic, `${topic}.dlq`]);
    expect(await topics.plan()).toMatchObject({ create: [], existing: [topic, `${topic}.dlq`] });
    expect(await topics.deleteDeclared()).toEqual([topic, `${topic}.dlq`]);
  });
});
