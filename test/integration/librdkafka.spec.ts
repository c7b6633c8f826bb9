import { Injectable, type INestApplication, type Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BaseConsumer,
  Consumer,
  KarafkaAdmin,
  KarafkaModule,
  KarafkaMonitor,
  KarafkaProducer,
  KarafkaRunner,
  LivenessTracker,
  type KarafkaModuleOptions,
  type Messages,
} from 'nestjs-karafka';
import type { KafkaSettings } from '../../src/connection/kafka-client.js';
import { nativeConsumer } from '../../src/connection/librdkafka/librdkafka-binding.js';
import { LibrdkafkaClientFactory } from '../../src/connection/librdkafka/librdkafka-client-factory.js';
import { Member } from '../conformance/member.js';
import { CaptureLogger } from '../support/capture-logger.js';
import { brokers, connectionInfo, uniqueName } from '../support/kafka/connection.mjs';
import { createTopic, produceNumbered, testKafka } from '../support/kafka-topics.js';
import { librdkafkaUnavailable } from '../support/librdkafka.js';
import { waitFor } from '../support/wait-for.js';

/** What the consumers of one test processed, when, and what was revoked from whom. */
@Injectable()
class Recorder {
  readonly processed: { app: string; key: string; offset: number; at: number }[] = [];
  readonly revoked: { app: string; key: string }[] = [];
  failing = false;
}

function consumerFor(
  topic: string,
  app: string,
  options: Parameters<typeof Consumer>[1] = {},
): Type<BaseConsumer> {
  @Consumer(topic, options)
  class Recording extends BaseConsumer {
    constructor(private readonly recorder: Recorder) {
      super();
    }

    async consume(messages: Messages): Promise<void> {
      if (this.recorder.failing) throw new Error('this consumer always fails');
      for (const message of messages) {
        this.recorder.processed.push({
          app,
          key: `${this.topic}/${this.partition}`,
          offset: message.offset,
          at: Date.now(),
        });
      }
    }

    override revoked(): void {
      this.recorder.revoked.push({ app, key: `${this.topic}/${this.partition}` });
    }
  }
  Object.defineProperty(Recording, 'name', { value: `Recording_${app}` });
  return Recording;
}

const apps: INestApplication[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close().catch(() => undefined)));
});

async function startApp(
  name: string,
  topic: string,
  options: Partial<KarafkaModuleOptions> & { kafka?: KafkaSettings },
  recorder: Recorder,
  consumerOptions: Parameters<typeof Consumer>[1] = {},
) {
  const moduleRef = await Test.createTestingModule({
    imports: [
      KarafkaModule.forRoot({
        maxWaitTime: 300,
        shutdownTimeout: 10_000,
        ...options,
        driver: 'librdkafka',
        kafka: { 'bootstrap.servers': brokers(), ...options.kafka },
      }),
    ],
    providers: [{ provide: Recorder, useValue: recorder }, consumerFor(topic, name, consumerOptions)],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: new CaptureLogger() });
  apps.push(app);
  await app.init();
  return { app, runner: app.get(KarafkaRunner) };
}

const assigned = (runner: KarafkaRunner) =>
  runner.status().listeners.flatMap((l) => l.assigned.map((p) => `${p.topic}/${p.partition}`));

/** Produces to every partition of `topic`, a few records each 50 ms, until stopped. */
function steadyProducer(topic: string, partitions: number) {
  const producer = testKafka().producer();
  let running = true;
  const done = (async () => {
    await producer.connect();
    while (running) {
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: partitions }, (_, partition) => ({ partition, value: 'x' })),
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await producer.disconnect();
  })();
  return { stop: async () => ((running = false), await done) };
}

/**
 * A second member joins a group that the first consumes steadily: only the partitions that move
 * are revoked (and they are exactly the ones the second gets), and the first processes each
 * partition it keeps while the rebalance runs.
 */
async function expectIncrementalRebalance(kafka: KafkaSettings): Promise<void> {
  const topic = uniqueName('incremental');
  const groupId = uniqueName('group');
  await createTopic(topic, 6);
  const recorder = new Recorder();
  const producer = steadyProducer(topic, 6);
  try {
    const first = await startApp('first', topic, { groupId, kafka }, recorder);
    await waitFor(
      () => assigned(first.runner).length === 6 && recorder.processed.length > 30,
      60_000,
      'the first member on all 6 partitions',
    );
    const joinedAt = Date.now();
    const second = await startApp('second', topic, { groupId, kafka }, recorder);
    await waitFor(
      () =>
        assigned(second.runner).length > 0 &&
        assigned(first.runner).length + assigned(second.runner).length === 6,
      60_000,
      'the partitions shared',
    );
    const settledAt = Date.now();
    const moved = assigned(second.runner).sort();
    const kept = assigned(first.runner);
    expect(
      recorder.revoked
        .filter((r) => r.app === 'first')
        .map((r) => r.key)
        .sort(),
    ).toEqual(moved);
    for (const key of kept) {
      const during = recorder.processed.filter(
        (p) => p.app === 'first' && p.key === key && p.at >= joinedAt && p.at <= settledAt,
      );
      expect(during.length, `${key} processed while the rebalance ran`).toBeGreaterThan(0);
    }
    // Nothing processed twice: no kept partition was reset to its committed offset.
    for (const key of kept) {
      const offsets = recorder.processed.filter((p) => p.key === key).map((p) => p.offset);
      expect(new Set(offsets).size, `${key} without repeats`).toBe(offsets.length);
    }
  } finally {
    await producer.stop();
  }
}

/**
 * The same at the client contract: the first member's client revokes only the moved partitions
 * (an eager client would revoke all six), and each partition it keeps gets batches throughout,
 * never a gap of 2 s (the producer writes every 50 ms), from the second member's start to 1 s
 * after it was assigned.
 */
async function expectOnlyMovedRevoked(kafka: KafkaSettings): Promise<void> {
  const topic = uniqueName('incremental-client');
  const groupId = uniqueName('group');
  await createTopic(topic, 6);
  const member = (name: string) => {
    const clientId = uniqueName(name);
    const client = new LibrdkafkaClientFactory().consumer({
      groupId,
      clientId,
      subscriptions: [{ topic, fromBeginning: true }],
      maxWaitTime: 300,
      kafka: { 'bootstrap.servers': brokers(), ...kafka },
    });
    return new Member(client, clientId, false, 60_000);
  };
  const producer = steadyProducer(topic, 6);
  const [first, second] = [member('first'), member('second')];
  const arrivals = new Map<number, number[]>();
  first.onBatch = (batch) =>
    arrivals.set(batch.partition, [...(arrivals.get(batch.partition) ?? []), Date.now()]);
  try {
    await first.client.start(first);
    await first.until(() => first.held.size === 6 && arrivals.size === 6, 'all 6 partitions, with data');
    const joinedAt = Date.now();
    await second.client.start(second);
    await second.until(
      () => second.held.size > 0 && first.held.size + second.held.size === 6,
      'the partitions shared',
    );
    const settledAt = Date.now() + 1_000;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const moved = [...second.held.values()].map((p) => p.partition).sort();
    const revoked = first.rebalanceEvents.flatMap((e) =>
      e.type === 'revoked' ? e.partitions.map((p) => p.partition) : [],
    );
    expect(revoked.sort()).toEqual(moved);
    for (const { partition } of first.held.values()) {
      const times = [
        joinedAt,
        ...(arrivals.get(partition) ?? []).filter((t) => t > joinedAt && t < settledAt),
        settledAt,
      ];
      const gap = Math.max(...times.slice(1).map((t, i) => t - times[i]));
      expect(gap, `longest gap of kept partition ${partition}`).toBeLessThan(2_000);
    }
    expect([...first.violations, ...second.violations]).toEqual([]);
  } finally {
    await Promise.all([first.stop(), second.stop(), producer.stop()]);
  }
}

const unavailable = librdkafkaUnavailable();
const suite = unavailable ? describe.skip : describe;

suite(`librdkafka driver${unavailable ? ` (skipped: ${unavailable})` : ''}`, { timeout: 180_000 }, () => {
  it('cooperative-sticky: a member joining revokes only the partitions that move; the others never stop', async () => {
    await expectOnlyMovedRevoked({ 'partition.assignment.strategy': 'cooperative-sticky' });
    await expectIncrementalRebalance({ 'partition.assignment.strategy': 'cooperative-sticky' });
  });

  it("KIP-848 (group.protocol 'consumer'): a member joining revokes only the partitions that move; the others never stop", async () => {
    await expectOnlyMovedRevoked({ 'group.protocol': 'consumer' });
    await expectIncrementalRebalance({ 'group.protocol': 'consumer' });
  });

  it('static membership: a member restarted within session.timeout.ms gets its partitions back, the other sees no revocation', async () => {
    const topic = uniqueName('static');
    const groupId = uniqueName('group');
    await createTopic(topic, 4);
    const recorder = new Recorder();
    const kafka = (id: string) => ({ 'group.instance.id': `${groupId}-${id}`, 'session.timeout.ms': 45_000 });
    const first = await startApp('first', topic, { groupId, kafka: kafka('a') }, recorder);
    let second = await startApp('second', topic, { groupId, kafka: kafka('b') }, recorder);
    await waitFor(
      () => assigned(first.runner).length === 2 && assigned(second.runner).length === 2,
      60_000,
      'two partitions each',
    );
    const before = assigned(second.runner).sort();
    await apps.splice(apps.indexOf(second.app), 1)[0].close();
    second = await startApp('second', topic, { groupId, kafka: kafka('b') }, recorder);
    await waitFor(() => assigned(second.runner).length === 2, 30_000, 'the restarted member assigned');
    expect(assigned(second.runner).sort()).toEqual(before);
    await produceNumbered(topic, 40, 4);
    await waitFor(() => recorder.processed.length >= 40, 30_000, 'all 40 messages');
    expect(recorder.revoked.filter((r) => r.app === 'first')).toEqual([]);
  });

  it('two members with the same group.instance.id: the fenced one is fatal, liveness DOWN, error.occurred fatal, onCriticalError', async () => {
    const topic = uniqueName('fenced');
    const groupId = uniqueName('group');
    await createTopic(topic, 2);
    const critical: Error[] = [];
    const fatal: unknown[] = [];
    const kafka = { 'group.instance.id': `${groupId}-same` };
    const recorder = new Recorder();
    const first = await startApp(
      'first',
      topic,
      { groupId, kafka, onCriticalError: (error) => critical.push(error) },
      recorder,
    );
    first.app.get(KarafkaMonitor).subscribe('error.occurred', (event) => {
      if (event.fatal) fatal.push(event);
    });
    await waitFor(() => assigned(first.runner).length === 2, 60_000, 'the first member assigned');
    await startApp('second', topic, { groupId, kafka }, recorder);
    await waitFor(() => critical.length > 0, 60_000, 'onCriticalError of the fenced member');
    expect(fatal.length).toBeGreaterThan(0);
    expect(String(critical[0].message)).toMatch(/fenced|instance/i);
    const liveness = first.app.get(LivenessTracker).liveness();
    expect(liveness.healthy).toBe(false);
  });

  it('statistics.emitted carries librdkafka statistics; health details and KarafkaAdmin show lag per partition', async () => {
    const topic = uniqueName('stats');
    const groupId = uniqueName('group');
    await createTopic(topic, 2);
    await produceNumbered(topic, 20, 2);
    const recorder = new Recorder();
    const { app } = await startApp(
      'stats',
      topic,
      { groupId, kafka: { 'statistics.interval.ms': 1_000 } },
      recorder,
    );
    const events: { client?: Record<string, unknown> }[] = [];
    app.get(KarafkaMonitor).subscribe('statistics.emitted', (event) => events.push(event));
    await waitFor(() => recorder.processed.length >= 20, 60_000, '20 messages');
    await waitFor(() => events.some((e) => e.client), 30_000, 'statistics with librdkafka statistics');
    const client = events.find((e) => e.client)!.client!;
    expect(client.type).toBe('consumer');
    expect(client.topics).toBeTypeOf('object');
    await waitFor(
      () => Object.keys(app.get(LivenessTracker).liveness().subscriptionGroups[0].lag).length === 2,
      30_000,
      'lag of both partitions',
    );
    expect(Object.values(app.get(LivenessTracker).liveness().subscriptionGroups[0].lag)).toEqual([0, 0]);
    await waitFor(
      async () => (await app.get(KarafkaAdmin).consumerGroupLag(groupId, [topic])).every((p) => p.lag === 0),
      30_000,
      'KarafkaAdmin lag 0',
    );
    const lags = await app.get(KarafkaAdmin).consumerGroupLag(groupId, [topic]);
    expect(lags.map((p) => p.partition).sort()).toEqual([0, 1]);
  });

  it.skipIf(connectionInfo() === null)(
    'a token that arrives after its client disconnected is dropped, not an unhandled rejection',
    async () => {
      const unhandled: unknown[] = [];
      const record = (reason: unknown) => void unhandled.push(reason);
      process.on('unhandledRejection', record);
      let answer!: (token: { token: string; lifetimeMs: number; principalName: string }) => void;
      const factory = new LibrdkafkaClientFactory(() => new Promise((resolve) => (answer = resolve)));
      const consumer = nativeConsumer({
        ...factory.config({
          'bootstrap.servers': connectionInfo()!.oauth.brokers,
          'security.protocol': 'sasl_plaintext',
          'sasl.mechanisms': 'OAUTHBEARER',
        }),
        'group.id': uniqueName('late-token'),
      });
      try {
        consumer.connect({ timeout: 5_000 }, () => undefined);
        await waitFor(() => answer !== undefined, 30_000, 'the token provider called');
        await new Promise((resolve) => consumer.disconnect(resolve));
        answer({ token: 'late', lifetimeMs: Date.now() + 60_000, principalName: 'late' });
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(unhandled).toEqual([]);
      } finally {
        process.off('unhandledRejection', record);
      }
    },
  );

  it('the producer, the admin and the dead letter queue run on the librdkafka driver', async () => {
    const topic = uniqueName('dlq-source');
    const dlq = uniqueName('dlq');
    await Promise.all([createTopic(topic, 1), createTopic(dlq, 1)]);
    const recorder = new Recorder();
    recorder.failing = true;
    const { app } = await startApp(
      'dlq',
      topic,
      { groupId: uniqueName('group'), pause: { timeout: 100, maxTimeout: 100 } },
      recorder,
      {
        deadLetterQueue: { topic: dlq, maxRetries: 1 },
      },
    );
    await app
      .get(KarafkaProducer)
      .produce({ topic, payload: { n: 1 }, key: 'k', headers: { origin: 'test' } });
    const admin = app.get(KarafkaAdmin);
    await waitFor(
      async () => (await admin.readWatermarkOffsets(dlq))[0].high === 1,
      60_000,
      'the message in the DLQ',
    );
    const [dead] = await admin.readTopic(dlq, 0, 1, 0);
    expect(dead.payload).toEqual({ n: 1 });
    expect(dead.headers.origin).toBe('test');
  });
});
