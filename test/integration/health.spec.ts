import { Injectable, type INestApplication, type Type } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BaseConsumer,
  Consumer,
  KarafkaHealthIndicator,
  KarafkaModule,
  KarafkaMonitor,
  KarafkaRunner,
  type ErrorEvent,
  type KarafkaModuleOptions,
  type Messages,
} from 'nestjs-karafka';
import { KarafkaLivenessListener } from '../../src/health/liveness-listener.js';
import { JobRegistry } from '../../src/processing/job-registry.js';
import {
  KafkaClientError,
  type ConsumerClientHandlers,
  type KafkaClientFactory,
} from '../../src/connection/kafka-client.js';
import { KafkajsClientFactory } from '../../src/connection/kafkajs/kafkajs-client-factory.js';
import { KAFKA_CLIENT_FACTORY } from '../../src/karafka.constants.js';
import { HealthController } from '../../sample/src/health/health.controller.js';
import { CaptureLogger } from '../support/capture-logger.js';
import { brokers, uniqueName } from '../support/kafka/connection.mjs';
import { createTopic, produceNumbered, withAdmin } from '../support/kafka-topics.js';
import { waitFor } from '../support/wait-for.js';

@Injectable()
class Gate {
  hangMs = 0;
  consumed = 0;
}

function consumerFor(topic: string): Type<BaseConsumer> {
  @Consumer(topic)
  class GatedConsumer extends BaseConsumer {
    constructor(private readonly gate: Gate) {
      super();
    }
    async consume(messages: Messages): Promise<void> {
      if (this.gate.hangMs) await new Promise((resolve) => setTimeout(resolve, this.gate.hangMs));
      this.gate.consumed += messages.size;
    }
  }
  return GatedConsumer;
}

/**
 * The real kafkajs client with its handlers within reach: `blocked` silences the fetch loop as
 * the engine sees it (no polls, no batches), and `handlers` lets a test report a client crash.
 */
function interceptedClients() {
  const real = new KafkajsClientFactory();
  const probe = { blocked: false, handlers: undefined as ConsumerClientHandlers | undefined };
  const factory: KafkaClientFactory = {
    name: real.name,
    kafkaKeys: real.kafkaKeys,
    validate: (kafka, path) => real.validate(kafka, path),
    producer: (settings) => real.producer(settings),
    admin: (settings) => real.admin(settings),
    consumer: (settings) => {
      const client = real.consumer(settings);
      const start = client.start.bind(client);
      client.start = (handlers) => {
        probe.handlers = handlers;
        return start({
          ...handlers,
          polled: () => {
            if (!probe.blocked) handlers.polled();
          },
          batch: (batch) => {
            if (!probe.blocked) handlers.batch(batch);
          },
        });
      };
      return client;
    },
  };
  return { factory, probe };
}

const apps: INestApplication[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close().catch(() => undefined)));
});

const TTL = { consumingTtl: 2_000, pollingTtl: 3_000 };
/** "About a second past the TTL": the acceptance bound on how late /health may turn. */
const LATE_MS = 1_000;

async function startApp(
  topic: string,
  options: Partial<KarafkaModuleOptions> = {},
  gate = new Gate(),
  clients?: KafkaClientFactory,
) {
  let builder = Test.createTestingModule({
    imports: [
      KarafkaModule.forRoot({
        kafka: { 'bootstrap.servers': brokers() },
        maxWaitTime: 500,
        shutdownTimeout: 5_000,
        groupId: uniqueName('group'),
        liveness: TTL,
        ...options,
      }),
      TerminusModule.forRoot({ logger: false }),
    ],
    controllers: [HealthController],
    providers: [{ provide: Gate, useValue: gate }, consumerFor(topic)],
  });
  if (clients) builder = builder.overrideProvider(KAFKA_CLIENT_FACTORY).useValue(clients);
  const app = (await builder.compile()).createNestApplication({ logger: new CaptureLogger() });
  apps.push(app);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  const get = async (path: string) => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: response.status, body: await response.text() };
  };
  /** Polls `path` until it answers `status`; returns when it first did. */
  const firstAnswer = async (path: string, status: number, timeoutMs = 10_000) => {
    let at = 0;
    await waitFor(
      async () => (await get(path)).status === status && (at = Date.now()) > 0,
      timeoutMs,
      `${path} ${status}`,
    );
    return at;
  };
  return {
    app,
    gate,
    get,
    firstAnswer,
    runner: app.get(KarafkaRunner),
    monitor: app.get(KarafkaMonitor),
    jobs: app.get(JobRegistry),
  };
}

async function joined(runner: KarafkaRunner) {
  await waitFor(
    () => runner.status().listeners.every((l) => l.joined && l.state === 'running'),
    30_000,
    'the group join',
  );
}

/** Every /health answer while `during` runs, one every 200 ms. */
async function healthWhile(get: (path: string) => Promise<{ status: number }>, during: Promise<unknown>) {
  const statuses: number[] = [];
  let done = false;
  const finished = during.finally(() => (done = true));
  while (!done) {
    statuses.push((await get('/health')).status);
    await Promise.race([finished, new Promise((resolve) => setTimeout(resolve, 200))]);
  }
  await finished;
  return statuses;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('health against a real broker and real HTTP', () => {
  it('answers /health 200 with karafka up, and /health/ready 200 once joined', async () => {
    const topic = uniqueName('health');
    await createTopic(topic, 2);
    const { get, runner } = await startApp(topic);
    await joined(runner);
    const live = await get('/health');
    expect(live.status).toBe(200);
    expect(JSON.parse(live.body)).toMatchObject({
      status: 'ok',
      info: { karafka: { status: 'up', state: 'running', reasons: [] } },
    });
    await waitFor(async () => (await get('/health/ready')).status === 200, 10_000, 'readiness');
  });

  it('turns 503 naming consumingTtl and the stuck partition about when a job passes it, and 200 again after', async () => {
    const topic = uniqueName('hang');
    await createTopic(topic, 1);
    const gate = new Gate();
    gate.hangMs = TTL.consumingTtl + 2_000;
    const { get, firstAnswer, runner, jobs } = await startApp(topic, {}, gate);
    await joined(runner);
    await produceNumbered(topic, 1, 1);
    await waitFor(() => jobs.list().length === 1, 10_000, 'the job to start');
    const { startedAt } = jobs.list()[0];
    const turned = (await firstAnswer('/health', 503)) - startedAt;
    expect(turned).toBeGreaterThan(TTL.consumingTtl);
    expect(turned).toBeLessThan(TTL.consumingTtl + LATE_MS);
    const body = JSON.parse((await get('/health')).body);
    expect(body.error.karafka.reasons).toEqual([
      expect.stringMatching(
        new RegExp(`^consumingTtl exceeded: GatedConsumer consume of ${topic}/0 has run for \\d+ ms`),
      ),
    ]);
    expect(body.error.karafka.subscriptionGroups).toMatchObject([
      { assignedPartitions: 1, runningJobs: 1, overduePartitions: [`${topic}/0`] },
    ]);
    const details = JSON.parse((await get('/health/details')).body);
    expect(details.error.karafka.subscriptionGroups).toMatchObject([
      { assigned: [`${topic}/0`], jobs: [{ topic, partition: 0, job: 'consume' }] },
    ]);
    await waitFor(() => gate.consumed === 1, 10_000, 'the hung job to end');
    expect((await get('/health')).status).toBe(200);
  });

  it('turns 503 naming pollingTtl when polling stops: no broker answers, or the fetch loop blocks', async () => {
    const topic = uniqueName('nopoll');
    await createTopic(topic, 1);
    const unreachable = await startApp(topic, { kafka: { 'bootstrap.servers': '127.0.0.1:1' } });
    const connecting = unreachable.runner.status().listeners[0];
    expect(connecting).toMatchObject({ state: 'connecting', joined: false });
    expect((await unreachable.get('/health')).status).toBe(200);
    expect((await unreachable.get('/health/ready')).status).toBe(503);
    const turned = (await unreachable.firstAnswer('/health', 503)) - connecting.startedAt!;
    expect(turned).toBeGreaterThan(TTL.pollingTtl);
    expect(turned).toBeLessThan(TTL.pollingTtl + LATE_MS);
    expect((await unreachable.get('/health')).body).toMatch(
      /pollingTtl exceeded: subscription group \S+ has not polled since it started connecting/,
    );

    const { factory, probe } = interceptedClients();
    const blocked = await startApp(topic, {}, new Gate(), factory);
    await joined(blocked.runner);
    await waitFor(() => blocked.runner.status().listeners[0].lastPollAt !== undefined, 5_000, 'a poll');
    expect((await blocked.get('/health')).status).toBe(200);
    probe.blocked = true;
    const stalled =
      (await blocked.firstAnswer('/health', 503)) - blocked.runner.status().listeners[0].lastPollAt!;
    expect(stalled).toBeGreaterThan(TTL.pollingTtl);
    expect(stalled).toBeLessThan(TTL.pollingTtl + LATE_MS);
    expect((await blocked.get('/health')).body).toMatch(
      /pollingTtl exceeded: subscription group \S+ last polled \d+ ms ago/,
    );
    probe.blocked = false;
    await blocked.firstAnswer('/health', 200, 5_000);
  });

  it('stays 200 on a topic idle for longer than both TTLs, and while quiet (every partition paused)', async () => {
    const topic = uniqueName('idle');
    await createTopic(topic, 1);
    const { get, runner } = await startApp(topic);
    await joined(runner);
    const idle = await healthWhile(get, sleep(TTL.pollingTtl + 1_500));
    expect(idle.length).toBeGreaterThan(15);
    expect(idle.filter((status) => status !== 200)).toEqual([]);

    await runner.quiet();
    expect(runner.state).toBe('quiet');
    const quiet = await healthWhile(get, sleep(TTL.pollingTtl + 1_500));
    expect(quiet.filter((status) => status !== 200)).toEqual([]);
    const ready = await get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body).toContain('the engine is quiet');
  });

  it('stays 200 throughout a rebalance shorter than the TTLs', async () => {
    const topic = uniqueName('rebalance');
    const groupId = uniqueName('group');
    await createTopic(topic, 4);
    const first = await startApp(topic, { groupId });
    await joined(first.runner);
    const rebalance = (async () => {
      const second = await startApp(topic, { groupId });
      await waitFor(
        () => second.runner.status().listeners[0].assigned.length > 0,
        30_000,
        'the second instance to get partitions',
      );
      await waitFor(
        () => first.runner.status().listeners[0].assigned.length === 2,
        30_000,
        'the first to settle',
      );
    })();
    const statuses = await healthWhile(first.get, rebalance);
    expect(statuses.length).toBeGreaterThan(3);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
  });

  it('turns 503 at once, with the error, when the engine dies without being asked, and emits a fatal error.occurred', async () => {
    const topic = uniqueName('dies');
    await createTopic(topic, 1);
    const { factory, probe } = interceptedClients();
    const { get, firstAnswer, runner, monitor } = await startApp(topic, {}, new Gate(), factory);
    await joined(runner);
    const errors: ErrorEvent[] = [];
    monitor.subscribe('error.occurred', (event) => void errors.push(event));
    expect((await get('/health')).status).toBe(200);

    const crashedAt = Date.now();
    probe.handlers!.crashed(new KafkaClientError('simulated fatal client failure', { retriable: false }));
    expect((await firstAnswer('/health', 503)) - crashedAt).toBeLessThan(250);
    const body = JSON.parse((await get('/health')).body);
    expect(body.error.karafka).toMatchObject({ error: 'simulated fatal client failure' });
    expect(body.error.karafka.reasons).toContain(
      'the engine failed and will not recover: simulated fatal client failure',
    );
    expect(runner.status()).toMatchObject({ stoppedUnexpectedly: true });
    expect(errors).toContainEqual(
      expect.objectContaining({
        type: 'connection.client.error',
        fatal: true,
        error: expect.objectContaining({ message: 'simulated fatal client failure' }),
      }),
    );
  });

  it('the standalone listener answers 204 when healthy and 500 with JSON reasons when not, closes when the engine stops; a taken port does not stop the process', async () => {
    const topic = uniqueName('standalone');
    await createTopic(topic, 1);
    const gate = new Gate();
    const { app, runner } = await startApp(
      topic,
      { liveness: { ...TTL, port: 0, hostname: '127.0.0.1' } },
      gate,
    );
    await joined(runner);
    const address = app.get(KarafkaLivenessListener).address();
    expect(address).toBeDefined();
    const probe = () => fetch(`http://127.0.0.1:${address!.port}/any/path`);
    const healthy = await probe();
    expect(healthy.status).toBe(204);
    expect(await healthy.text()).toBe('');
    gate.hangMs = TTL.consumingTtl + 1_500;
    await produceNumbered(topic, 1, 1);
    await waitFor(async () => (await probe()).status === 500, 10_000, '500');
    const unhealthy = await probe();
    expect(unhealthy.headers.get('content-type')).toBe('application/json');
    const report = (await unhealthy.json()) as { healthy: boolean; reasons: string[] };
    expect(report.healthy).toBe(false);
    expect(report.reasons.join(' ')).toMatch(new RegExp(`consumingTtl exceeded: .* of ${topic}/0`));
    await waitFor(() => gate.consumed === 1, 10_000, 'the hung job to end');
    expect((await probe()).status).toBe(204);
    await runner.stop();
    expect(app.get(KarafkaLivenessListener).address()).toBeUndefined();
    await expect(probe()).rejects.toThrow();

    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as { port: number }).port;
    const logger = new CaptureLogger();
    const moduleRef = await Test.createTestingModule({
      imports: [
        KarafkaModule.forRoot({
          kafka: { 'bootstrap.servers': brokers() },
          groupId: uniqueName('group'),
          maxWaitTime: 500,
          liveness: { port: taken, hostname: '127.0.0.1' },
        }),
      ],
      providers: [{ provide: Gate, useValue: new Gate() }, consumerFor(topic)],
    }).compile();
    const clash = moduleRef.createNestApplication({ logger });
    apps.push(clash);
    await clash.init();
    await waitFor(
      () =>
        logger.has(new RegExp(`liveness listener not started: 127\\.0\\.0\\.1:${taken} is already in use`)),
      10_000,
      'the clash to be logged',
    );
    await joined(clash.get(KarafkaRunner));
    expect(clash.get(KarafkaLivenessListener).address()).toBeUndefined();
    // No TerminusModule in this app: the indicator still answers.
    expect(clash.get(KarafkaHealthIndicator).isHealthy('karafka')).toMatchObject({
      karafka: { status: 'up', state: 'running' },
    });
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  });

  it('keeps GET /health under 4 KB on 1,000 assigned partitions, counting them; /health/details lists every one', async () => {
    const partitions = 1_000;
    const topic = uniqueName('wide');
    await createTopic(topic, partitions);
    const { get, runner } = await startApp(topic);
    await waitFor(
      () => runner.status().listeners[0]?.assigned.length === partitions,
      60_000,
      `all ${partitions} partitions assigned`,
    );
    const health = await get('/health');
    expect(health.status).toBe(200);
    expect(Buffer.byteLength(health.body)).toBeLessThan(4_096);
    expect(JSON.parse(health.body).info.karafka.subscriptionGroups).toMatchObject([
      { assignedPartitions: partitions },
    ]);
    const details = await get('/health/details');
    expect(details.status).toBe(200);
    expect(new Set(JSON.parse(details.body).info.karafka.subscriptionGroups[0].assigned)).toEqual(
      new Set(Array.from({ length: partitions }, (_, partition) => `${topic}/${partition}`)),
    );
    await apps.pop()!.close();
    await withAdmin((admin) => admin.deleteTopics({ topics: [topic] })); // 1,000 partitions weigh on the shared broker
  });
});
