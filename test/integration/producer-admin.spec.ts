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
import { withAdmin } from '../support/kafka-topics.js';
import { onLibrdkafka } from '../support/librdkafka.js';
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
    // One call: the producer splits it into requests the broker accepts (1 MiB per batch by default).
    await producer.produceMany(
      Array.from({ length: 100_000 }, (_, n) => ({
        topic,
        key: String(n),
        payload: { n, nested: { ok: true } },
      })),
    );
    await waitFor(() => sink.payloads.length >= 100_000, 120_000, '100,000 messages');
    const seen = new Set(sink.payloads.map((payload) => (payload as { n: number }).n));
    expect(seen.size).toBe(100_000);
    expect(sink.payloads[0]).toMatchObject({ nested: { ok: true } });
    expect((await admin.listTopics()).includes(topic)).toBe(false);
  });

  it("app.close() right after a burst of fire-and-forget produces loses none, nor what a consumer's shutdown() produces", async () => {
    const topic = uniqueName('burst');
    const trigger = uniqueName('trigger');
    const setup = await startApp([]);
    await setup.admin.createTopic(topic, 1);
    await setup.admin.createTopic(trigger, 1);

    @Consumer(trigger)
    class LastWordConsumer extends BaseConsumer {
      constructor(
        private readonly sink: Sink,
        private readonly producer: KarafkaProducer,
      ) {
        super();
      }
      consume(messages: Messages): void {
        for (const message of messages) this.sink.payloads.push(message.payload);
      }
      override shutdown(): void {
        this.producer.produceAsync({ topic, key: 'last', payload: { n: 'shutdown' } });
      }
    }

    const first = await startApp([LastWordConsumer]);
    await setup.producer.produce({ topic: trigger, payload: { go: true } });
    await waitFor(() => first.sink.payloads.length === 1, 30_000, 'the trigger message');
    for (let n = 0; n < 2_000; n++) first.producer.produceAsync({ topic, key: String(n), payload: { n } });
    await first.app.close();
    apps.splice(apps.indexOf(first.app), 1);

    const marks = await setup.admin.readWatermarkOffsets(topic);
    expect(marks).toEqual([{ partition: 0, low: 0, high: 2_001 }]);
    const all = await setup.admin.readTopic(topic, 0, 2_001, 0);
    // Fire-and-forget sends are independent: all arrive, not necessarily in call order; the
    // shutdown() hook ran before the producer closed.
    const values = new Set(all.map((message) => (message.payload as { n: number | string }).n));
    expect(values.size).toBe(2_001);
    expect(values.has('shutdown')).toBe(true);
    expect((await setup.admin.readTopic(topic, 0, 10)).map((message) => message.offset)).toEqual([
      1991, 1992, 1993, 1994, 1995, 1996, 1997, 1998, 1999, 2000,
    ]);
  });

  it('createTopic then topicInfo shows the partitions; createPartitions grows it; deleteTopic removes it', async () => {
    const topic = uniqueName('admin');
    const { admin } = await startApp([]);
    const cluster = await admin.clusterInfo();
    expect(cluster.brokers.length).toBeGreaterThanOrEqual(1);
    // librdkafka's binding has no DescribeCluster.
    expect(cluster.clusterId).toEqual(onLibrdkafka ? null : expect.stringMatching(/.+/));
    await admin.createTopic(topic, 3, 1, { 'retention.ms': 3_600_000 });
    const info = await admin.topicInfo(topic);
    expect(info.partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
    expect(info.partitions.every((p) => cluster.brokers.some((b) => b.nodeId === p.leader))).toBe(true);
    await admin.createPartitions(topic, 5);
    expect((await admin.topicInfo(topic)).partitions).toHaveLength(5);
    await admin.deleteTopic(topic);
    await waitFor(async () => !(await admin.listTopics()).includes(topic), 30_000, 'the topic to go');
  });

  it('every read goes through the one prefixed admin.groupId group, kept for the next read (Heroku needs it created first)', async () => {
    const prefix = `${uniqueName('tenant')}.`;
    const { admin, producer } = await startApp([], { prefix, admin: { groupId: 'karafka-admin-extra' } });
    await admin.createTopic('events', 2);
    await producer.produceMany([0, 1, 2].map((n) => ({ topic: 'events', partition: n % 2, payload: { n } })));
    // Two reads at once share the group one after the other, and each gets what it asked for.
    const [first, second] = await Promise.all([
      admin.readTopic('events', 0, 10, 0),
      admin.readTopic('events', 1, 10, 0),
    ]);
    expect(first.map((m) => m.payload)).toEqual([{ n: 0 }, { n: 2 }]);
    expect(second.map((m) => m.payload)).toEqual([{ n: 1 }]);
    expect(admin.adminGroupId()).toBe(`${prefix}karafka-admin-extra`);
    await withAdmin(async (raw) => {
      const groups = (await raw.listGroups()).groups
        .map((g) => g.groupId)
        .filter((id) => id.startsWith(prefix));
      // librdkafka reads by assignment: it never joins the group, so the broker has none to list.
      expect(groups).toEqual(onLibrdkafka ? [] : [`${prefix}karafka-admin-extra`]);
      // It read, it never committed.
      const offsets = await raw.fetchOffsets({
        groupId: `${prefix}karafka-admin-extra`,
        topics: [`${prefix}events`],
      });
      expect(offsets[0].partitions.map((p) => p.offset)).toEqual(['-1', '-1']);
    });
  });

  it('lag is produced minus consumed for a group stopped midway; seekConsumerGroup moves it, only once the group is stopped', async () => {
    const prefix = `${uniqueName('env')}.`;
    const topic = 'lag';
    const groupId = 'lagging';
    const setup = await startApp([], { prefix });
    await setup.admin.createTopic(topic, 3);
    await setup.producer.produceMany(
      Array.from({ length: 300 }, (_, n) => ({ topic, payload: { n }, partition: n % 3 })),
    );
    // readTopic on one partition of three, and past the high watermark: what is there.
    const middle = await setup.admin.readTopic(topic, 1, 5, 10);
    expect(middle.map((m) => [m.offset, (m.payload as { n: number }).n])).toEqual(
      [10, 11, 12, 13, 14].map((offset) => [offset, offset * 3 + 1]),
    );
    expect((await setup.admin.readTopic(topic, 2, 10, 95)).map((m) => m.offset)).toEqual([
      95, 96, 97, 98, 99,
    ]);
    const sink = new Sink();
    sink.stopAfter = 120;
    const consuming = await startApp(
      [sinkConsumer(topic, { pause: { timeout: 60_000 } })],
      { groupId, maxMessages: 10, prefix },
      sink,
    );
    await waitFor(() => sink.payloads.length === 120, 30_000, '120 consumed');
    await waitFor(
      async () => (await setup.admin.consumerGroupLag(groupId)).reduce((sum, p) => sum + p.lag, 0) === 180,
      30_000,
      'the 120 commits',
    );
    const running = await setup.admin.describeConsumerGroup(groupId);
    expect(running.state).toBe('Stable');
    expect(running.members).toHaveLength(1);
    expect(running.members[0].assignment.map((a) => a.partition).sort()).toEqual([0, 1, 2]);
    await expect(
      setup.admin.seekConsumerGroup(groupId, [{ topic, partition: 0, offset: 0 }]),
    ).rejects.toThrow(`cannot seek consumer group ${prefix}${groupId}: it is Stable with 1 active member(s)`);
    await consuming.app.close();

    const lag = await setup.admin.consumerGroupLag(groupId);
    expect(lag.map((p) => [p.topic, p.partition, p.highWatermark])).toEqual([
      [`${prefix}${topic}`, 0, 100],
      [`${prefix}${topic}`, 1, 100],
      [`${prefix}${topic}`, 2, 100],
    ]);
    expect(lag.reduce((sum, p) => sum + p.lag, 0)).toBe(300 - 120);
    expect(lag.every((p) => p.lag === p.highWatermark - p.committed)).toBe(true);

    await setup.admin.seekConsumerGroup(groupId, [
      { topic, partition: 0, offset: 0 },
      { topic, partition: 1, offset: 100 },
      { topic, partition: 2, offset: 50 },
    ]);
    const moved = await setup.admin.consumerGroupLag(groupId, [topic]);
    expect(moved.map((p) => [p.partition, p.committed, p.lag])).toEqual([
      [0, 0, 100],
      [1, 100, 0],
      [2, 50, 50],
    ]);
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
