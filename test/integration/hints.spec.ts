import type { INestApplication, Type } from '@nestjs/common';
import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BaseConsumer,
  Consumer,
  KarafkaAdmin,
  KarafkaAdminError,
  KarafkaProducer,
  KarafkaRunner,
  ProduceError,
  type ConsumerOptions,
  type KarafkaModuleOptions,
} from 'nestjs-karafka';
import { createKarafkaApp } from '../support/karafka-app.js';
import { connectionInfo, uniqueName } from '../support/kafka/connection.mjs';
import { createTopic, testKafka } from '../support/kafka-topics.js';
import { waitFor } from '../support/wait-for.js';

// The seed's troubleshooting errors (AWS MSK, Heroku), provoked on the real broker, get their
// hint on every path: consumer, producer, admin, declareTopics (karafka topics: cli.spec.ts).

function consumer(topic: string, options: ConsumerOptions = {}): Type<BaseConsumer> {
  @Consumer(topic, options)
  class HintConsumer extends BaseConsumer {
    async consume(): Promise<void> {}
  }
  return HintConsumer;
}

const apps: INestApplication[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close().catch(() => undefined)));
});

async function startApp(options: Partial<KarafkaModuleOptions>, consumers: Type<BaseConsumer>[] = []) {
  const { app, logger } = await createKarafkaApp({ shutdownTimeout: 5_000, ...options }, consumers);
  apps.push(app);
  await app.init();
  return { app, logger, runner: app.get(KarafkaRunner) };
}

const info = connectionInfo();
const REPLICATION = /Invalid replication factor: it exceeds the brokers available/;
const AUTHENTICATION = /Authentication failure: either the credentials are wrong/;
const API_VERSION =
  /Disconnected while requesting ApiVersion: might be caused by an incorrect security.protocol/;
const UNREACHABLE = /Connection setup timed out or was refused: Kafka is unreachable/;

describe('troubleshooting hints on every path, against the real broker', () => {
  it('admin: an invalid replication factor (one broker, replicationFactor 3)', async () => {
    const { app } = await startApp({});
    const error = await app
      .get(KarafkaAdmin)
      .createTopic(uniqueName('rf'), 1, 3)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KarafkaAdminError);
    expect((error as Error).message).toMatch(/^create topic \S+: /);
    expect((error as Error).message).toMatch(REPLICATION);
  });

  it('declareTopics: the same error, logged with its hint, and consuming goes on', async () => {
    const topic = uniqueName('declared-rf');
    const { logger } = await startApp({ declareTopics: true }, [
      consumer(topic, { config: { partitions: 1, replicationFactor: 3 } }),
    ]);
    await waitFor(() => logger.has(/declareTopics: cannot create the declared topics/), 30_000, 'the log');
    expect(logger.has(REPLICATION)).toBe(true);
  });

  it('producer: a closed port, with the unreachable hint in the ProduceError', async () => {
    const { app } = await startApp({ kafka: { 'bootstrap.servers': '127.0.0.1:1', 'retry.backoff.ms': 50 } });
    const error = await app
      .get(KarafkaProducer)
      .produce({ topic: 'anything', payload: {} })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProduceError);
    expect((error as ProduceError).hint).toMatch(UNREACHABLE);
    expect((error as Error).message).toMatch(UNREACHABLE);
  });

  it.skipIf(info === null)(
    'producer and admin: a wrong SASL password, with the authentication hint',
    async () => {
      const { app } = await startApp({
        kafka: {
          'bootstrap.servers': info!.saslSsl.brokers,
          'security.protocol': 'sasl_ssl',
          'sasl.mechanisms': 'SCRAM-SHA-512',
          'sasl.username': info!.saslSsl.users['SCRAM-SHA-512'].username,
          'sasl.password': 'wrong',
          'ssl.ca.pem': info!.saslSsl.caPem,
        },
      });
      const produced = await app
        .get(KarafkaProducer)
        .produce({ topic: 'anything', payload: {} })
        .catch((e: unknown) => e);
      expect((produced as Error).message).toMatch(AUTHENTICATION);
      const listed = await app
        .get(KarafkaAdmin)
        .listTopics()
        .catch((e: unknown) => e);
      expect((listed as Error).message).toMatch(/^list topics: /);
      expect((listed as Error).message).toMatch(AUTHENTICATION);
    },
  );

  it.skipIf(info === null)(
    'consumer and admin: plaintext against the SASL_SSL listener, with the ApiVersion hint',
    async () => {
      const topic = uniqueName('wrong-protocol');
      const { app, runner } = await startApp({ kafka: { 'bootstrap.servers': info!.saslSsl.brokers } }, [
        consumer(topic),
      ]);
      await waitFor(() => runner.status().listeners[0]?.lastError !== undefined, 30_000, 'the first failure');
      expect(runner.status().listeners[0].lastError).toMatch(API_VERSION);
      const error = await app
        .get(KarafkaAdmin)
        .clusterInfo()
        .catch((e: unknown) => e);
      expect((error as Error).message).toMatch(API_VERSION);
    },
  );

  it('consumer: an incompatible partition.assignment.strategy in the group is fatal, with its hint', async () => {
    const topic = uniqueName('strategy');
    const groupId = uniqueName('strategy-group');
    await createTopic(topic, 1);
    // Another member already in the group with a strategy this client does not have.
    const sticky: PartitionAssigner = () => ({
      name: 'cooperative-sticky',
      version: 0,
      assign: async ({ members }) =>
        members.map(({ memberId }) => ({
          memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({
            version: 0,
            assignment: {},
            userData: Buffer.alloc(0),
          }),
        })),
      protocol: ({ topics }) => ({
        name: 'cooperative-sticky',
        metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
      }),
    });
    const other = testKafka().consumer({ groupId, partitionAssigners: [sticky] });
    await other.connect();
    await other.subscribe({ topic });
    const joined = new Promise((resolve) => other.on(other.events.GROUP_JOIN, resolve));
    await other.run({ eachMessage: async () => undefined });
    await joined;
    try {
      const { runner, logger } = await startApp({ groupId }, [consumer(topic)]);
      await waitFor(() => runner.status().fatalError !== undefined, 60_000, 'the engine to give up');
      expect(runner.status().fatalError).toMatch(/Incompatible partition.assignment.strategy/);
      expect(
        logger.has(/engine failed and will not recover: .*Incompatible partition.assignment.strategy/),
      ).toBe(true);
    } finally {
      await other.disconnect();
    }
  });
});
