import { Controller, Get, Injectable, type INestApplication, type Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BaseConsumer,
  Consumer,
  KarafkaModule,
  KarafkaRunner,
  type KarafkaModuleOptions,
  type Messages,
} from 'nestjs-karafka';
import { CaptureLogger } from '../support/capture-logger.js';
import { brokers, uniqueName } from '../support/kafka/connection.mjs';
import { committedOffsets, createTopic, produceNumbered } from '../support/kafka-topics.js';
import { onLibrdkafka } from '../support/librdkafka.js';
import { waitFor } from '../support/wait-for.js';

/** Shared by every consumer of a test: what was processed, and how many batches ran at once. */
@Injectable()
class Recorder {
  readonly processed: { topic: string; partition: number; offset: number; n: number }[] = [];
  readonly revoked: { topic: string; partition: number }[] = [];
  running = 0;
  maxRunning = 0;
  readonly runningPartitions = new Set<string>();
  overlaps = 0;
  batchDelayMs = 0;
  firstBatchDelayMs = 0;

  count(topic?: string): number {
    return topic ? this.processed.filter((p) => p.topic === topic).length : this.processed.length;
  }
}

function consumerFor(topic: string, options: Parameters<typeof Consumer>[1] = {}): Type<BaseConsumer> {
  @Consumer(topic, options)
  class RecordingConsumer extends BaseConsumer<{ n: number }> {
    constructor(private readonly recorder: Recorder) {
      super();
    }

    async consume(messages: Messages<{ n: number }>): Promise<void> {
      const { recorder } = this;
      const key = `${this.topic}/${this.partition}`;
      if (recorder.runningPartitions.has(key)) recorder.overlaps++;
      recorder.runningPartitions.add(key);
      recorder.running++;
      recorder.maxRunning = Math.max(recorder.maxRunning, recorder.running);
      try {
        const delay = recorder.firstBatchDelayMs || recorder.batchDelayMs;
        recorder.firstBatchDelayMs = 0;
        if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
        for (const message of messages) {
          recorder.processed.push({
            topic: this.topic,
            partition: this.partition,
            offset: message.offset,
            n: message.payload.n,
          });
        }
      } finally {
        recorder.running--;
        recorder.runningPartitions.delete(key);
      }
    }

    override revoked(): void {
      this.recorder.revoked.push({ topic: this.topic, partition: this.partition });
    }
  }
  Object.defineProperty(RecordingConsumer, 'name', {
    value: `RecordingConsumer_${topic.replace(/\W/g, '_')}`,
  });
  return RecordingConsumer;
}

const apps: INestApplication[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close().catch(() => undefined)));
});

async function startApp(
  consumers: Type<BaseConsumer>[],
  options: Partial<KarafkaModuleOptions>,
  recorder = new Recorder(),
  logger = new CaptureLogger(),
  controllers: Type[] = [],
): Promise<{ app: INestApplication; recorder: Recorder; logger: CaptureLogger; runner: KarafkaRunner }> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      KarafkaModule.forRoot({
        kafka: { 'bootstrap.servers': brokers() },
        maxWaitTime: 500,
        shutdownTimeout: 10_000,
        ...options,
      }),
    ],
    providers: [{ provide: Recorder, useValue: recorder }, ...consumers],
    controllers,
  }).compile();
  const app = moduleRef.createNestApplication({ logger });
  apps.push(app);
  await app.init();
  return { app, recorder, logger, runner: app.get(KarafkaRunner) };
}

function assertOrderedPerPartition(recorder: Recorder): void {
  const last = new Map<string, number>();
  for (const { topic, partition, offset } of recorder.processed) {
    const key = `${topic}/${partition}`;
    expect(offset, `${key} went backwards`).toBeGreaterThan(last.get(key) ?? -1);
    last.set(key, offset);
  }
}

describe('engine against a real broker', () => {
  it(
    'consumes 10,000 messages on each of two 6-partition topics, in offset order per partition, with DI',
    { tags: ['smoke'] },
    async () => {
      const [orders, payments] = [uniqueName('orders'), uniqueName('payments')];
      await Promise.all([createTopic(orders, 6), createTopic(payments, 6)]);
      await Promise.all([produceNumbered(orders, 10_000, 6), produceNumbered(payments, 10_000, 6)]);
      const { recorder } = await startApp([consumerFor(orders), consumerFor(payments)], {
        groupId: uniqueName('group'),
      });
      await waitFor(() => recorder.count() >= 20_000, 90_000, '20,000 messages');
      for (const topic of [orders, payments]) {
        const seen = new Set(recorder.processed.filter((p) => p.topic === topic).map((p) => p.n));
        expect(seen.size).toBe(10_000);
      }
      assertOrderedPerPartition(recorder);
    },
  );

  it('two subscription groups of one consumer group (one member each, other topics) both consume', async () => {
    // Whichever member leads the group assigns the other's topic too, which it does not subscribe to.
    const [left, right] = [uniqueName('left'), uniqueName('right')];
    await Promise.all([createTopic(left, 2), createTopic(right, 3)]);
    await Promise.all([produceNumbered(left, 100, 2), produceNumbered(right, 100, 3)]);
    const { recorder, runner } = await startApp(
      [
        consumerFor(left, { subscriptionGroup: 'left', initialOffset: 'earliest' }),
        consumerFor(right, { subscriptionGroup: 'right', initialOffset: 'earliest' }),
      ],
      { groupId: uniqueName('group') },
    );
    await waitFor(() => runner.status().listeners.every((l) => l.assigned.length > 0), 30_000, 'assignments');
    await waitFor(() => recorder.count() >= 200, 30_000, 'both topics');
    expect([recorder.count(left), recorder.count(right)]).toEqual([100, 100]);
  });

  it('routes of one app from the earliest and from the latest offset: each starts where it says', async () => {
    const [backlog, live] = [uniqueName('from-earliest'), uniqueName('from-latest')];
    await Promise.all([createTopic(backlog, 1), createTopic(live, 1)]);
    await Promise.all([produceNumbered(backlog, 10, 1), produceNumbered(live, 10, 1)]);
    const { runner, recorder } = await startApp(
      [consumerFor(backlog), consumerFor(live, { initialOffset: 'latest' })],
      { groupId: uniqueName('group') },
    );
    await waitFor(
      () => runner.status().listeners.flatMap((l) => l.assigned).length === 2,
      30_000,
      'both joined',
    );
    // Where 'latest' is depends on when the client resolves it (librdkafka: after the assignment),
    // so new messages go on until one arrives: none of the 10 from before the start may.
    for (let n = 10; recorder.count(live) === 0; n++) {
      if (n > 100) throw new Error('the latest route received nothing new');
      await produceNumbered(live, 1, 1, n);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    await waitFor(() => recorder.count(backlog) === 10, 30_000, 'the backlog');
    expect(recorder.processed.filter((p) => p.topic === live).every((p) => p.n >= 10)).toBe(true);
  });

  it('never runs more than `concurrency` batches at once, nor two of one partition', async () => {
    const topic = uniqueName('concurrency');
    await createTopic(topic, 6);
    await produceNumbered(topic, 600, 6);
    const recorder = new Recorder();
    recorder.batchDelayMs = 40;
    await startApp(
      [consumerFor(topic)],
      { groupId: uniqueName('group'), concurrency: 3, maxMessages: 10 },
      recorder,
    );
    await waitFor(() => recorder.count() >= 600, 60_000, '600 messages');
    expect(recorder.maxRunning).toBe(3);
    expect(recorder.overlaps).toBe(0);
    assertOrderedPerPartition(recorder);
  });

  it('on close waits for the running batch, commits it, and a restart reprocesses nothing committed', async () => {
    const topic = uniqueName('graceful');
    const groupId = uniqueName('group');
    await createTopic(topic, 1);
    await produceNumbered(topic, 50, 1);
    const recorder = new Recorder();
    recorder.firstBatchDelayMs = 2_000;
    const first = await startApp([consumerFor(topic)], { groupId, maxMessages: 50 }, recorder);
    await waitFor(() => recorder.running === 1, 30_000, 'the slow batch to start');
    await first.app.close();
    expect(recorder.count()).toBe(50);
    expect((await committedOffsets(groupId, topic)).get(0)).toBe(50);

    const again = await startApp([consumerFor(topic)], { groupId }, new Recorder());
    await waitFor(
      () => again.runner.status().listeners.every((l) => l.joined),
      30_000,
      'the restarted group to join',
    );
    await produceNumbered(topic, 1, 1, 50);
    await waitFor(() => again.recorder.count() === 1, 30_000, 'the one new message');
    expect(again.recorder.processed.map((p) => p.n)).toEqual([50]);
  });

  it('past shutdownTimeout, close returns in time and the log names the stuck consumer', async () => {
    const topic = uniqueName('stuck');
    await createTopic(topic, 1);
    await produceNumbered(topic, 5, 1);
    const recorder = new Recorder();
    recorder.firstBatchDelayMs = 8_000;
    const { app, logger } = await startApp(
      [consumerFor(topic)],
      { groupId: uniqueName('group'), shutdownTimeout: 1_500 },
      recorder,
    );
    await waitFor(() => recorder.running === 1, 30_000, 'the slow batch to start');
    const started = Date.now();
    await app.close();
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(1_500);
    expect(took).toBeLessThan(1_500 + 2_500);
    expect(
      logger.has(
        new RegExp(
          `shutdownTimeout \\(1500 ms\\).*RecordingConsumer_${topic.replace(/\W/g, '_')} consume ${topic}/0`,
        ),
      ),
    ).toBe(true);
  });

  it('a second instance joining mid-stream: nothing is lost, and revoked() runs on the first for what moved', async () => {
    const topic = uniqueName('rebalance');
    const groupId = uniqueName('group');
    await createTopic(topic, 6);
    await produceNumbered(topic, 3_000, 6);
    const recorder = new Recorder();
    recorder.batchDelayMs = 20;
    const first = await startApp([consumerFor(topic)], { groupId, maxMessages: 20 }, recorder);
    await waitFor(() => recorder.count() >= 300, 60_000, 'the first instance to be midway');
    const touched = new Set(recorder.processed.map((p) => `${p.topic}/${p.partition}`));
    const second = await startApp([consumerFor(topic)], { groupId, maxMessages: 20 }, recorder);
    await waitFor(
      () => second.runner.status().listeners.some((l) => l.assigned.length > 0),
      60_000,
      'the second instance to get partitions',
    );
    await waitFor(
      () => new Set(recorder.processed.map((p) => p.n)).size === 3_000,
      90_000,
      'all 3,000 messages',
    );
    // The rebalance has ended for both (librdkafka's eager protocol ends it for the first member
    // only at its next assignment, which may come after the second one consumed).
    const owned = (app: typeof first) => app.runner.status().listeners[0].assigned.length;
    await waitFor(() => owned(first) + owned(second) === 6, 30_000, 'the partitions shared');
    const moved = second.runner.status().listeners[0].assigned.map((p) => `${p.topic}/${p.partition}`);
    expect(moved.length).toBeGreaterThan(0);
    // As in Karafka, revoked() runs for a partition this instance consumed: kafkajs fetches every
    // partition at once, librdkafka hands whole backlogs one after another, so on it a moved
    // partition may never have reached the first instance (librdkafka.spec.ts checks revocations
    // with every partition flowing).
    if (!onLibrdkafka) expect(moved.every((partition) => touched.has(partition))).toBe(true);
    const revoked = recorder.revoked.map((p) => `${p.topic}/${p.partition}`);
    for (const partition of moved.filter((p) => touched.has(p))) expect(revoked).toContain(partition);
    void first;
  });

  it('keeps its group membership through a batch longer than the session timeout', async () => {
    const topic = uniqueName('long');
    const groupId = uniqueName('group');
    await createTopic(topic, 2);
    const recorder = new Recorder();
    recorder.firstBatchDelayMs = 9_000;
    const options = {
      groupId,
      kafka: { 'bootstrap.servers': brokers(), 'session.timeout.ms': 6_000, 'heartbeat.interval.ms': 1_000 },
    };
    const first = await startApp([consumerFor(topic)], options, recorder);
    const second = await startApp([consumerFor(topic)], options, recorder);
    const owned = (app: typeof first) => app.runner.status().listeners[0].assigned.length;
    await waitFor(() => owned(first) === 1 && owned(second) === 1, 30_000, 'one partition each');
    await produceNumbered(topic, 20, 2);
    // Were heartbeats to stop during the 9 s batch, its member would be evicted and the other
    // would take (and repeat) its partition, running revoked() on the first.
    await waitFor(() => recorder.count() >= 20, 30_000, 'both partitions, one of them after a 9 s batch');
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(recorder.revoked).toEqual([]);
    expect(recorder.count()).toBe(20);
  });

  it('with no broker reachable the app still boots and serves HTTP, and the engine keeps retrying and says why', async () => {
    @Controller('ping')
    class PingController {
      @Get()
      ping(): string {
        return 'pong';
      }
    }
    const topic = uniqueName('nobroker');
    const logger = new CaptureLogger();
    const { app, runner } = await startApp(
      [consumerFor(topic)],
      { kafka: { 'bootstrap.servers': '127.0.0.1:1' }, groupId: uniqueName('group') },
      new Recorder(),
      logger,
      [PingController],
    );
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as { port: number };
    const response = await fetch(`http://127.0.0.1:${port}/ping`);
    expect(await response.text()).toBe('pong');
    await waitFor(
      () => logger.has(/cannot connect: .*(ECONNREFUSED|Connection refused).*retrying in \d+ ms/),
      30_000,
      'a retry log line',
    );
    expect(runner.state).toBe('running');
    expect(runner.status().listeners[0].state).toBe('connecting');
  });
});
