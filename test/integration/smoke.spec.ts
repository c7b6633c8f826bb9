// The compact real-broker smoke the CI matrix runs on every cell (Node, NestJS, Kafka line), with
// the `smoke` tests of engine.spec.ts and cli.spec.ts: health over real HTTP and one security
// case. Public API only ('nestjs-karafka' and the sample's controller), so it survives rewrites
// of the engine's internals.
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { Injectable, type INestApplication } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { BaseConsumer, Consumer, KarafkaModule, type KafkaSettings, type Messages } from 'nestjs-karafka';
import { HealthController } from '../../sample/src/health/health.controller.js';
import { brokers, connectionInfo, uniqueName } from '../support/kafka/connection.mjs';
import { createTopic, produceNumbered } from '../support/kafka-topics.js';
import { waitFor } from '../support/wait-for.js';

@Injectable()
class Seen {
  readonly numbers = new Set<number>();
}

const apps: INestApplication[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close().catch(() => undefined)));
});

/** 20 numbered messages on a fresh topic, consumed by an HTTP app with the Terminus probes. */
async function consumeTwenty(kafka: KafkaSettings) {
  const topic = uniqueName('smoke');
  await createTopic(topic, 2);
  await produceNumbered(topic, 20, 2);

  @Consumer(topic)
  class SmokeConsumer extends BaseConsumer<{ n: number }> {
    constructor(private readonly seen: Seen) {
      super();
    }

    async consume(messages: Messages<{ n: number }>): Promise<void> {
      for (const message of messages) this.seen.numbers.add(message.payload.n);
    }
  }

  const moduleRef = await Test.createTestingModule({
    imports: [
      KarafkaModule.forRoot({ kafka, groupId: uniqueName('smoke'), maxWaitTime: 300 }),
      TerminusModule.forRoot({ gracefulShutdownTimeoutMs: 0 }),
    ],
    controllers: [HealthController],
    providers: [Seen, SmokeConsumer],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  apps.push(app);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const seen = app.get(Seen);
  await waitFor(() => seen.numbers.size === 20, 60_000, '20 messages');
  const get = async (path: string) => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: response.status, body: (await response.json()) as unknown };
  };
  return { get };
}

const info = connectionInfo();

describe('smoke: health and security on a real broker', { tags: ['smoke'] }, () => {
  // Set by test/matrix/run.mjs: proves a cell ran on its Node, NestJS and Kafka, not the clone's.
  it.runIf(process.env.MATRIX_EXPECTED_VERSIONS)(
    'runs on the Node, NestJS and Kafka of its matrix cell',
    () => {
      const nest = createRequire(import.meta.url)('@nestjs/core/package.json') as { version: string };
      expect({ node: process.versions.node, nest: nest.version, kafka: info?.version }).toEqual(
        JSON.parse(process.env.MATRIX_EXPECTED_VERSIONS!),
      );
    },
  );

  it('consumes, and answers /health and /health/ready 200 with karafka up over real HTTP', async () => {
    const { get } = await consumeTwenty({ 'bootstrap.servers': brokers() });
    expect(await get('/health')).toMatchObject({
      status: 200,
      body: { status: 'ok', info: { karafka: { status: 'up' } } },
    });
    await waitFor(async () => (await get('/health/ready')).status === 200, 10_000, 'readiness');
  });

  it.skipIf(info === null)('consumes with SCRAM-SHA-512 over TLS, trusting the harness CA', async () => {
    const { brokers: saslBrokers, caPem, users } = info!.saslSsl;
    const { get } = await consumeTwenty({
      'bootstrap.servers': saslBrokers,
      'security.protocol': 'SASL_SSL',
      'sasl.mechanisms': 'SCRAM-SHA-512',
      'sasl.username': users['SCRAM-SHA-512'].username,
      'sasl.password': users['SCRAM-SHA-512'].password,
      'ssl.ca.pem': caPem,
    });
    expect((await get('/health')).status).toBe(200);
  });
});
