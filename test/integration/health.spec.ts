import { Injectable, type INestApplication, type Type } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BaseConsumer,
  Consumer,
  KarafkaLivenessListener,
  KarafkaModule,
  KarafkaMonitor,
  KarafkaRunner,
  type ErrorEvent,
  type KarafkaModuleOptions,
  type Messages,
} from 'nestjs-karafka';
import type { ConsumerClientSettings, KafkaClientFactory } from '../../src/connection/kafka-client.js';
import { KafkajsClientFactory } from '../../src/connection/kafkajs/kafkajs-client-factory.js';
import { KAFKA_CLIENT_FACTORY } from '../../src/karafka.constants.js';
import { HealthController } from '../../sample/src/health/health.controller.js';
import { CaptureLogger } from '../support/capture-logger.js';
import { brokers, uniqueName } from '../support/kafka/connection.mjs';
import { createTopic, produceNumbered } from '../support/kafka-topics.js';
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

const apps: INestApplication[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close().catch(() => undefined)));
});

const TTL = { consumingTtl: 2_000, pollingTtl: 3_000 };

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
  return { app, gate, get, runner: app.get(KarafkaRunner), monitor: app.get(KarafkaMonitor) };
}

async function joined(runner: KarafkaRunner) {
  await waitFor(
    () => runner.status().listeners.every((l) => l.joined && l.state === 'running'),
    30_000,
    'the group join',
  );
}

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
      info: { karafka: { status: 'up', state: 'running' } },
    });
    await waitFor(async () => (await get('/health/ready')).status === 200, 10_000, 'readiness');
  });

  it('turns 503 naming consumingTtl and the stuck partition about when a job passes it, and 200 again after', async () => {
    const topic = uniqueName('hang');
    await createTopic(topic, 1);
    const gate = new Gate();
    gate.hangMs = 4_500;
    const { get, runner } = await startApp(topic, {}, gate);
    await joined(runner);
    await produceNumbered(topic, 1, 1);
    const started = Date.now();
    await waitFor(async () => (await get('/health')).status === 503, 10_000, '503');
    const turned = Date.now() - started;
    expect(turned).toBeLessThan(TTL.consumingTtl + 1_500);
    const body = (await get('/health')).body;
    expect(body).toContain('consumingTtl exceeded');
    expect(body).toContain(`${topic}/0`);
    gate.hangMs = 0;
    await waitFor(() => gate.consumed === 1, 10_000, 'the hung job to end');
    expect((await get('/health')).status).toBe(200);
  });

  it('turns 503 naming pollingTtl when polling stops (no broker answers)', async () => {
    const topic = uniqueName('nopoll');
    const { get } = await startApp(topic, { kafka: { 'bootstrap.servers': '127.0.0.1:1' } });
    expect((await get('/health')).status).toBe(200);
    const started = Date.now();
    await waitFor(async () => (await get('/health')).status === 503, 10_000, '503');
    expect(Date.now() - started).toBeLessThan(TTL.pollingTtl + 1_500);
    const body = (await get('/health')).body;
    expect(body).toContain('pollingTtl exceeded');
    expect(body).toContain('has not polled since it started connecting');
  });

  it('stays 200 on a topic idle for longer than both TTLs', async () => {
    const topic = uniqueName('idle');
    await createTopic(topic, 1);
    const { get, runner } = await startApp(topic);
    await joined(runner);
    const until = Date.now() + TTL.pollingTtl + 1_500;
    while (Date.now() < until) {
      expect((await get('/health')).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  });

  it('stays 200 throughout a rebalance shorter than the TTLs', async () => {
    const topic = uniqueName('rebalance');
    const groupId = uniqueName('group');
    await createTopic(topic, 4);
    const first = await startApp(topic, { groupId });
    await joined(first.runner);
    const statuses: number[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        statuses.push((await first.get('/health')).status);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
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
    polling = false;
    await poller;
    expect(statuses.length).toBeGreaterThan(3);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
  });

  it('turns 503 at once, with the error, when the engine dies without being asked', async () => {
    const topic = uniqueName('dies');
    await createTopic(topic, 1);
    const real = new KafkajsClientFactory();
    const dying: KafkaClientFactory = {
      validate: (kafka, path) => real.validate(kafka, path),
      producer: (settings) => real.producer(settings),
      admin: (settings) => real.admin(settings),
      consumer: (settings: ConsumerClientSettings) => {
        const client = real.consumer(settings);
        const start = client.start.bind(client);
        client.start = async (handlers) => {
          await start(handlers);
          setTimeout(() => handlers.onCrash(new Error('simulated fatal client failure'), false), 300);
        };
        return client;
      },
    };
    const { get, runner, monitor } = await startApp(topic, {}, new Gate(), dying);
    const errors: ErrorEvent[] = [];
    monitor.subscribe('error.occurred', (event) => void errors.push(event));
    await waitFor(() => runner.status().stoppedUnexpectedly, 30_000, 'the simulated crash');
    const response = await get('/health');
    expect(response.status).toBe(503);
    expect(response.body).toContain('simulated fatal client failure');
    expect(
      errors.some((event) => event.fatal && event.error.message === 'simulated fatal client failure'),
    ).toBe(true);
  });

  it('the standalone listener answers 204 when healthy and 500 with JSON reasons when not; a taken port does not stop the process', async () => {
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
    expect((await probe()).status).toBe(204);
    gate.hangMs = 3_500;
    await produceNumbered(topic, 1, 1);
    await waitFor(async () => (await probe()).status === 500, 10_000, '500');
    const reasons = (await (await probe()).json()) as { reasons: string[] };
    expect(reasons.reasons.join(' ')).toContain('consumingTtl exceeded');

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
      () => logger.has(/liveness listener not started: 127\.0\.0\.1:\d+ is already in use/),
      10_000,
      'the clash to be logged',
    );
    await joined(clash.get(KarafkaRunner));
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  });
});
