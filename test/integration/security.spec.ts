import type { AddressInfo } from 'node:net';
import { Injectable, type INestApplication, type Type } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BaseConsumer,
  Consumer,
  herokuKafkaConfig,
  KarafkaModule,
  KarafkaMonitor,
  KarafkaProducer,
  KarafkaProducerModule,
  KarafkaRunner,
  getProducerToken,
  type ErrorEvent,
  type KarafkaModuleOptions,
  type Messages,
  type OAuthToken,
  type OAuthTokenRefreshEvent,
} from 'nestjs-karafka';
import { OAUTH_MAX_FAILURES } from '../../src/connection/oauth-bearer.js';
import { HealthController } from '../../sample/src/health/health.controller.js';
import { CaptureLogger } from '../support/capture-logger.js';
import { brokers, connectionInfo, uniqueName } from '../support/kafka/connection.mjs';
import {
  committedOffsets,
  createTopic,
  produceNumbered,
  testKafka,
  withAdmin,
} from '../support/kafka-topics.js';
import { waitFor } from '../support/wait-for.js';

const info = connectionInfo();
const NO_LISTENERS =
  'connectionInfo() is null: KAFKA_BROKERS points at an external broker, which has no harness SASL_SSL/OAUTHBEARER listeners';

@Injectable()
class Received {
  readonly values: number[] = [];
}

function recordingConsumer(topic: string, options: Parameters<typeof Consumer>[1] = {}): Type<BaseConsumer> {
  @Consumer(topic, options)
  class RecordingConsumer extends BaseConsumer<{ n: number }> {
    constructor(private readonly received: Received) {
      super();
    }

    async consume(messages: Messages<{ n: number }>): Promise<void> {
      for (const message of messages) {
        if (message.payload.n < 0) throw new Error(`poison message ${message.payload.n}`);
        this.received.values.push(message.payload.n);
        this.markAsConsumed(message);
      }
    }
  }
  return RecordingConsumer;
}

interface RunningApp {
  app: INestApplication;
  /** GET /health over real HTTP. */
  health(): Promise<{ status: number; body: string }>;
  runner: KarafkaRunner;
  received: Received;
  logger: CaptureLogger;
  errors: ErrorEvent[];
  refreshes: OAuthTokenRefreshEvent[];
}

const apps: INestApplication[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close().catch(() => undefined)));
});

async function startApp(
  topic: string,
  options: KarafkaModuleOptions,
  consumer = recordingConsumer(topic),
): Promise<RunningApp> {
  const received = new Received();
  const moduleRef = await Test.createTestingModule({
    imports: [
      KarafkaModule.forRoot({ maxWaitTime: 500, shutdownTimeout: 10_000, ...options }),
      TerminusModule.forRoot({ gracefulShutdownTimeoutMs: 0 }),
    ],
    controllers: [HealthController],
    providers: [{ provide: Received, useValue: received }, consumer],
  }).compile();
  const app = moduleRef.createNestApplication();
  const logger = new CaptureLogger();
  app.useLogger(logger);
  apps.push(app);
  const errors: ErrorEvent[] = [];
  const refreshes: OAuthTokenRefreshEvent[] = [];
  const monitor = app.get(KarafkaMonitor);
  monitor.subscribe('error.occurred', (event) => void errors.push(event));
  monitor.subscribe('oauthbearer.token_refresh', (event) => void refreshes.push(event));
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const health = async () => {
    const response = await fetch(`http://127.0.0.1:${port}/health`);
    return { status: response.status, body: await response.text() };
  };
  return { app, health, runner: app.get(KarafkaRunner), received, logger, errors, refreshes };
}

async function topicWithNumbers(name: string, count: number): Promise<string> {
  const topic = uniqueName(name);
  await createTopic(topic, 2);
  await produceNumbered(topic, count, 2);
  return topic;
}

/** An unsigned JWT, as the harness's unsecured OAUTHBEARER validator accepts. */
function unsignedJwt(subject: string, lifetimeSeconds: number): { jwt: string; exp: number } {
  const iat = Math.floor(Date.now() / 1000);
  const exp = iat + lifetimeSeconds;
  const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
  return { jwt: `${encode({ alg: 'none' })}.${encode({ sub: subject, iat, exp })}.`, exp };
}

describe.skipIf(info === null)(
  `security against the harness listeners${info === null ? ` (skipped: ${NO_LISTENERS})` : ''}`,
  () => {
    const saslSsl = () => info!.saslSsl;
    /** SCRAM-SHA-512 over TLS, trusting the harness CA, as a Karafka user writes it for MSK. */
    const scram = (password: string, protocol = 'SASL_SSL') => ({
      'bootstrap.servers': saslSsl().brokers,
      'security.protocol': protocol,
      'sasl.mechanisms': 'SCRAM-SHA-512',
      'sasl.username': saslSsl().users['SCRAM-SHA-512'].username,
      'sasl.password': password,
      'ssl.ca.pem': saslSsl().caPem,
    });

    it('consumes with SCRAM-SHA-512 over TLS, trusting the harness CA through ssl.ca.pem', async () => {
      const topic = await topicWithNumbers('scram', 20);
      const { received, runner, errors, health } = await startApp(topic, {
        kafka: scram(saslSsl().users['SCRAM-SHA-512'].password),
        groupId: uniqueName('scram'),
      });
      await waitFor(() => received.values.length >= 20, 60_000, '20 messages over SASL_SSL');
      expect(new Set(received.values).size).toBe(20);
      expect(runner.status().fatalError).toBeUndefined();
      expect(errors).toEqual([]);
      expect((await health()).status).toBe(200);
    });

    it('reports a wrong password as a clear, fatal authentication error: health DOWN, no password in logs, status or health', async () => {
      const topic = await topicWithNumbers('scram-denied', 1);
      const password = `wrong-${uniqueName('password')}`;
      const { runner, logger, errors, health } = await startApp(topic, {
        kafka: scram(password, 'sasl_ssl'),
        groupId: uniqueName('scram-denied'),
      });
      await waitFor(() => runner.status().fatalError !== undefined, 30_000, 'the engine to give up');

      const status = runner.status();
      expect(status.stoppedUnexpectedly).toBe(true);
      // kafkajs's wording, or librdkafka's.
      const refused =
        /SASL SCRAM SHA512 authentication failed|invalid credentials with SASL mechanism SCRAM-SHA-512/;
      expect(status.fatalError).toMatch(refused);
      expect(status.fatalError).toMatch(/Authentication failure: either the credentials are wrong/);
      expect(status.listeners[0]).toMatchObject({ state: 'crashed', joined: false });
      expect(status.listeners[0].lastError).toMatch(/Authentication failure/);
      expect(errors.at(-1)).toMatchObject({ type: 'connection.client.error', fatal: true });
      expect(
        logger.has(/error .*engine failed and will not recover: .*[Aa]uthentication failed.*AWS MSK/),
      ).toBe(true);

      const probe = await health();
      expect(probe.status).toBe(503);
      expect(probe.body).toMatch(new RegExp(`(${refused.source}).*Authentication failure`));

      const everything = [
        ...logger.lines,
        JSON.stringify(status),
        probe.body,
        ...errors.map((e) => `${e.error.message} ${e.hint}`),
      ];
      expect(everything.filter((line) => line.includes(password))).toEqual([]);
    });

    it('consumes through OAUTHBEARER with the token provider, which is called and reported', async () => {
      const topic = await topicWithNumbers('oauth', 10);
      let calls = 0;
      const tokenProvider = (): OAuthToken => {
        calls++;
        const { jwt, exp } = unsignedJwt('karafka', 3_600);
        return { token: jwt, lifetimeMs: exp * 1000, principalName: 'karafka' };
      };
      const { received, runner, refreshes } = await startApp(topic, {
        kafka: {
          'bootstrap.servers': info!.oauth.brokers,
          'security.protocol': 'sasl_plaintext',
          'sasl.mechanisms': 'OAUTHBEARER',
        },
        oauth: { tokenProvider },
        groupId: uniqueName('oauth'),
      });
      await waitFor(() => received.values.length >= 10, 60_000, '10 messages over OAUTHBEARER');
      // Cached: every connection of the consumer shares one token.
      expect(calls).toBe(1);
      expect(refreshes).toHaveLength(1);
      expect(refreshes[0].principal).toBe('karafka');
      expect(refreshes[0].lifetimeMs).toBeGreaterThan(3_500_000);
      expect(runner.status().fatalError).toBeUndefined();
    });

    it("shows a provider's failure reason ({ failureReason }, Karafka's oauthbearer_set_token_failure) in the log, error.occurred and health", async () => {
      const topic = await topicWithNumbers('oauth-reason', 1);
      const reason = 'the signer found no AWS credentials';
      const { errors, logger, health } = await startApp(topic, {
        kafka: {
          'bootstrap.servers': info!.oauth.brokers,
          'security.protocol': 'sasl_plaintext',
          'sasl.mechanisms': 'OAUTHBEARER',
        },
        oauth: { tokenProvider: () => ({ failureReason: reason }) },
        groupId: uniqueName('oauth-reason'),
      });
      await waitFor(
        () => errors.some((e) => e.type === 'oauthbearer.token_refresh.error'),
        30_000,
        'the failure event',
      );
      expect(errors.find((e) => e.type === 'oauthbearer.token_refresh.error')!.error.message).toBe(
        `oauth.tokenProvider failed (1 in a row): ${reason}`,
      );
      await waitFor(() => logger.has(new RegExp(`error .*${reason}`)), 30_000, 'the reason in the log');
      await waitFor(async () => (await health()).body.includes(reason), 30_000, 'the reason in health');
    });

    it('a custom producer (KarafkaProducerModule) has its own kafka settings and token provider, beside the default one, and closes on shutdown', async () => {
      const topic = uniqueName('custom-producer');
      await createTopic(topic, 1);
      let calls = 0;
      const moduleRef = await Test.createTestingModule({
        imports: [
          KarafkaModule.forRoot({ kafka: { 'bootstrap.servers': brokers() } }),
          KarafkaProducerModule.register('audit', {
            kafka: {
              'bootstrap.servers': info!.oauth.brokers,
              'security.protocol': 'sasl_plaintext',
              'sasl.mechanisms': 'OAUTHBEARER',
            },
            clientId: 'audit-producer',
            oauth: {
              tokenProvider: () => {
                calls++;
                const { jwt, exp } = unsignedJwt('auditor', 3_600);
                return { token: jwt, lifetimeMs: exp * 1000, principalName: 'auditor' };
              },
            },
          }),
        ],
      }).compile();
      const app = moduleRef.createNestApplication({ logger: new CaptureLogger() });
      apps.push(app);
      await app.init();
      const refreshes: OAuthTokenRefreshEvent[] = [];
      app.get(KarafkaMonitor).subscribe('oauthbearer.token_refresh', (event) => void refreshes.push(event));
      const audit = app.get<KarafkaProducer>(getProducerToken('audit'));
      expect(audit).not.toBe(app.get(KarafkaProducer));
      await audit.produce({ topic, payload: { by: 'audit' } });
      await app.get(KarafkaProducer).produce({ topic, payload: { by: 'default' } });
      expect(calls).toBe(1);
      expect(refreshes.map((event) => event.principal)).toEqual(['auditor']);

      const read: string[] = [];
      const reader = testKafka().consumer({ groupId: uniqueName('custom-reader') });
      await reader.connect();
      await reader.subscribe({ topic, fromBeginning: true });
      await reader.run({ eachMessage: async ({ message }) => void read.push(String(message.value)) });
      try {
        await waitFor(() => read.length === 2, 30_000, 'both messages');
        expect(read.map((value) => JSON.parse(value).by).sort()).toEqual(['audit', 'default']);
      } finally {
        await reader.disconnect();
      }
      await app.close();
      await expect(audit.produce({ topic, payload: {} })).rejects.toThrow('the Karafka producer is closed');
    });

    it('turns a token provider that keeps failing into error.occurred, then a fatal, clear error', async () => {
      const topic = await topicWithNumbers('oauth-failing', 1);
      let calls = 0;
      const { runner, errors, health } = await startApp(topic, {
        kafka: {
          'bootstrap.servers': info!.oauth.brokers,
          'security.protocol': 'SASL_PLAINTEXT',
          'sasl.mechanisms': 'OAUTHBEARER',
        },
        oauth: {
          tokenProvider: () => {
            calls++;
            throw new Error('token endpoint returned 503');
          },
        },
        groupId: uniqueName('oauth-failing'),
      });
      await waitFor(
        () => runner.status().fatalError !== undefined,
        60_000,
        'the engine to give up on the provider',
      );
      expect(calls).toBe(OAUTH_MAX_FAILURES);
      expect(errors.filter((e) => e.type === 'oauthbearer.token_refresh.error')).toHaveLength(
        OAUTH_MAX_FAILURES,
      );
      const clientErrors = errors.filter((e) => e.type === 'connection.client.error');
      // The provider's own error each time, not the broker's ILLEGAL_SASL_STATE of a retried handshake.
      for (const e of clientErrors) expect(e.error.message).toContain('oauth.tokenProvider failed');
      expect(clientErrors.map((e) => e.fatal)).toEqual([
        ...Array<boolean>(OAUTH_MAX_FAILURES - 1).fill(false),
        true,
      ]);
      expect(runner.status().fatalError).toMatch(
        /oauth\.tokenProvider failed \(5 in a row\): token endpoint returned 503.*the OAuth token provider keeps failing/,
      );
      const probe = await health();
      expect(probe.status).toBe(503);
      expect(probe.body).toContain('oauth.tokenProvider failed (5 in a row)');
    });
  },
);

describe('Heroku prefix on the real broker', () => {
  it('prefixes route topics, the consumer group, the DLQ topic and the DLQ producer with KAFKA_PREFIX', async () => {
    const prefix = 'smoothboulder-1234.';
    const heroku = herokuKafkaConfig({
      KAFKA_URL: ['ec2-1', 'ec2-2', 'ec2-3']
        .map((host) => `kafka+ssl://${host}.compute-1.amazonaws.com:9096`)
        .join(','),
      KAFKA_CLIENT_CERT: 'client cert',
      KAFKA_CLIENT_CERT_KEY: 'client key',
      KAFKA_TRUSTED_CERT: 'trusted cert',
      KAFKA_PREFIX: prefix,
    });
    expect(String(heroku.kafka['bootstrap.servers']).split(',')).toHaveLength(3);
    // The harness has no client-certificate SSL listener: the prefix is what is checked on the broker.
    const bare = uniqueName('users_events');
    const group = uniqueName('app');
    await createTopic(`${prefix}${bare}`, 1);
    const producer = testKafka().producer();
    await producer.connect();
    await producer.send({
      topic: `${prefix}${bare}`,
      acks: -1,
      messages: [1, -1, 2].map((n) => ({ value: JSON.stringify({ n }) })),
    });
    await producer.disconnect();

    const { received, runner } = await startApp(
      bare,
      { kafka: { 'bootstrap.servers': brokers() }, prefix: heroku.prefix, groupId: group },
      recordingConsumer(bare, { deadLetterQueue: { topic: `${bare}.dlq`, maxRetries: 0 } }),
    );
    await waitFor(() => received.values.length >= 2, 60_000, 'the good messages');
    expect(runner.status().listeners[0].groupId).toBe(`${prefix}${group}`);

    await withAdmin(async (admin) => {
      await waitFor(
        async () => (await admin.describeGroups([`${prefix}${group}`])).groups[0].members.length === 1,
        30_000,
        'the prefixed group to have a member',
      );
      expect((await admin.describeGroups([group])).groups[0].members).toEqual([]);
      await waitFor(
        async () => (await admin.listTopics()).includes(`${prefix}${bare}.dlq`),
        30_000,
        'the prefixed DLQ topic',
      );
      const topics = await admin.listTopics();
      expect(topics).not.toContain(bare);
      expect(topics).not.toContain(`${bare}.dlq`);
    });
    await waitFor(
      async () => (await committedOffsets(`${prefix}${group}`, `${prefix}${bare}`)).get(0) === 3,
      30_000,
      'offset 3 committed for the prefixed group',
    );

    const dead: string[] = [];
    const reader = testKafka().consumer({ groupId: uniqueName('dlq-reader') });
    await reader.connect();
    await reader.subscribe({ topic: `${prefix}${bare}.dlq`, fromBeginning: true });
    await reader.run({ eachMessage: async ({ message }) => void dead.push(String(message.value)) });
    try {
      await waitFor(() => dead.length === 1, 30_000, 'the poison message in the prefixed DLQ');
      expect(JSON.parse(dead[0])).toEqual({ n: -1 });
    } finally {
      await reader.disconnect();
    }
  });
});
