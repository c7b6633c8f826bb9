import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  BaseConsumer,
  Consumer,
  KarafkaModule,
  KarafkaMonitor,
  OAuthTokenError,
  type KafkaSettings,
  type KarafkaEventMap,
  type OAuthToken,
  type OAuthTokenFailure,
} from 'nestjs-karafka';
import {
  KNOWN_KAFKA_SETTINGS,
  redactKafkaSettings,
  validateKafkaSettings,
} from '../../src/config/kafka-settings.js';
import { resolveKarafkaOptions } from '../../src/config/validate-options.js';
import { toKafkajsSettings } from '../../src/connection/kafkajs/kafkajs-settings.js';
import { cachedTokenProvider, OAUTH_MAX_FAILURES } from '../../src/connection/oauth-bearer.js';
import { describeClientError } from '../../src/connection/error-hints.js';
import { buildConsumerGroups } from '../../src/routing/route-builder.js';
import { configError } from '../support/config-error.js';

const CA = '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n';
const CERT = '-----BEGIN CERTIFICATE-----\nclient\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n';
const provider = async () => ({ value: 'token' });

/** How kafkajs hands over an error after its retries: wrapped, the original as `cause`. */
const retried = (error: Error) =>
  Object.assign(new KafkaJSNumberOfRetriesExceeded(error, { retryCount: 5, retryTime: 1_000 }), {
    cause: error,
  });
const protocolError = (type: string, code: number, message: string) =>
  new KafkaJSProtocolError(Object.assign(new Error(message), { type, code, retriable: false }));

const map = (settings: KafkaSettings, oauth?: typeof provider) => toKafkajsSettings(settings, oauth);
const mapError = (settings: KafkaSettings, oauth?: typeof provider) =>
  configError(() => validateKafkaSettings(settings, 'kafka') && map(settings, oauth));

describe('librdkafka keys onto kafkajs', () => {
  it('maps every key of the issue at once: brokers, SASL/SCRAM over TLS with PEMs, timeouts, fetch sizes, backoff', () => {
    const settings: KafkaSettings = {
      'bootstrap.servers': 'b-1.example.com:9096, b-2.example.com:9096',
      'client.id': 'orders-service',
      'security.protocol': 'SASL_SSL',
      'sasl.mechanisms': 'SCRAM-SHA-512',
      'sasl.username': 'karafka',
      'sasl.password': 'secret-password',
      'ssl.ca.pem': CA,
      'ssl.certificate.pem': CERT,
      'ssl.key.pem': KEY,
      'ssl.key.password': 'key-passphrase',
      'enable.ssl.certificate.verification': true,
      'session.timeout.ms': 45_000,
      'heartbeat.interval.ms': 15_000,
      'max.poll.interval.ms': 600_000,
      'fetch.min.bytes': 10,
      'fetch.wait.max.ms': 250,
      'max.partition.fetch.bytes': 2_097_152,
      'fetch.max.bytes': 20_971_520,
      'socket.timeout.ms': 40_000,
      'request.timeout.ms': 35_000,
      'retry.backoff.ms': 200,
      'reconnect.backoff.ms': 200,
      'statistics.interval.ms': 7_777,
    };
    validateKafkaSettings(settings, 'kafka');
    const { client, consumer, requestTimeout } = map(settings);
    expect(client).toMatchObject({
      brokers: ['b-1.example.com:9096', 'b-2.example.com:9096'],
      clientId: 'orders-service',
      sasl: { mechanism: 'scram-sha-512', username: 'karafka', password: 'secret-password' },
      ssl: { ca: [CA], cert: CERT, key: KEY, passphrase: 'key-passphrase', rejectUnauthorized: true },
      requestTimeout: 40_000,
      retry: { initialRetryTime: 200 },
    });
    expect(client.ssl).not.toHaveProperty('checkServerIdentity');
    expect(consumer).toEqual({
      sessionTimeout: 45_000,
      heartbeatInterval: 15_000,
      rebalanceTimeout: 600_000,
      minBytes: 10,
      maxWaitTimeInMs: 250,
      maxBytesPerPartition: 2_097_152,
      maxBytes: 20_971_520,
      allowAutoTopicCreation: false,
      readUncommitted: false,
    });
    // librdkafka's request.timeout.ms is the producer's ack timeout.
    expect(requestTimeout).toBe(35_000);
    // statistics.interval.ms is the engine's own timer (statistics.emitted), nothing for kafkajs.
    expect(JSON.stringify({ client, consumer })).not.toContain('7777');
  });

  it('maps the other supported keys: connection setup timeout, reconnect backoff and its maximum', () => {
    const { client } = map({
      'bootstrap.servers': 'localhost:9092',
      'socket.connection.setup.timeout.ms': 3_000,
      'reconnect.backoff.ms': 150,
      'reconnect.backoff.max.ms': 10_000,
    });
    expect(client).toMatchObject({
      connectionTimeout: 3_000,
      retry: { initialRetryTime: 150, maxRetryTime: 10_000 },
    });
  });

  it.each([
    ['plaintext', false, false],
    ['PLAINTEXT', false, false],
    ['ssl', true, false],
    ['SSL', true, false],
    ['sasl_plaintext', false, true],
    ['Sasl_Plaintext', false, true],
    ['sasl_ssl', true, true],
    ['SASL_SSL', true, true],
  ])('security.protocol %s: TLS %s, SASL %s', (protocol, tls, sasl) => {
    const credentials = sasl
      ? { 'sasl.mechanisms': 'PLAIN', 'sasl.username': 'u', 'sasl.password': 'p' }
      : {};
    const { client } = map({
      'bootstrap.servers': 'localhost:9092',
      'security.protocol': protocol,
      ...credentials,
    });
    expect(client.ssl !== undefined).toBe(tls);
    expect(client.sasl !== undefined).toBe(sasl);
  });

  it.each([
    ['PLAIN', 'plain'],
    ['SCRAM-SHA-256', 'scram-sha-256'],
    ['SCRAM-SHA-512', 'scram-sha-512'],
    ['scram-sha-512', 'scram-sha-512'],
  ])('sasl.mechanisms %s is kafkajs mechanism %s', (mechanisms, mechanism) => {
    const { client } = map({
      'bootstrap.servers': 'localhost:9092',
      'security.protocol': 'sasl_plaintext',
      'sasl.mechanisms': mechanisms,
      'sasl.username': 'u',
      'sasl.password': 'p',
    });
    expect(client.sasl).toEqual({ mechanism, username: 'u', password: 'p' });
  });

  it('maps OAUTHBEARER onto the token provider, and refuses it without one or with a password', () => {
    const oauth = {
      'bootstrap.servers': 'localhost:9098',
      'security.protocol': 'sasl_ssl',
      'sasl.mechanisms': 'OAUTHBEARER',
    };
    expect(map(oauth, provider).client.sasl).toEqual({
      mechanism: 'oauthbearer',
      oauthBearerProvider: provider,
    });
    expect(mapError(oauth).field).toBe('oauth.tokenProvider');
    expect(mapError({ ...oauth, 'sasl.password': 'x' }, provider).field).toBe("kafka['sasl.password']");
  });

  it('refuses a token provider that OAUTHBEARER would never call', () => {
    const error = mapError({ 'bootstrap.servers': 'localhost:9092' }, provider);
    expect(error.field).toBe('oauth.tokenProvider');
    expect(error.message).toContain("'sasl.mechanisms' to 'OAUTHBEARER'");
  });

  it('verifies the certificate unless told not to, and skips only the host name with identification "none"', () => {
    const ssl = { 'bootstrap.servers': 'localhost:9093', 'security.protocol': 'ssl', 'ssl.ca.pem': CA };
    expect(map({ ...ssl, 'enable.ssl.certificate.verification': false }).client.ssl).toMatchObject({
      rejectUnauthorized: false,
    });
    const chainOnly = map({ ...ssl, 'ssl.endpoint.identification.algorithm': 'none' }).client.ssl;
    expect(chainOnly).toMatchObject({ ca: [CA], rejectUnauthorized: true });
    const { checkServerIdentity } = chainOnly as {
      checkServerIdentity: (host: string, cert: object) => unknown;
    };
    expect(checkServerIdentity('b-1.heroku.example', {})).toBeUndefined();
    expect(mapError({ ...ssl, 'ssl.endpoint.identification.algorithm': 'dns' }).field).toBe(
      "kafka['ssl.endpoint.identification.algorithm']",
    );
  });

  describe('ssl.*.location', () => {
    const dir = mkdtempSync(join(tmpdir(), 'karafka-pem-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const file = (name: string, content: string) => {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    };

    it('reads the CA, certificate and key from files', () => {
      const { client } = map({
        'bootstrap.servers': 'localhost:9093',
        'security.protocol': 'ssl',
        'ssl.ca.location': file('ca.pem', CA),
        'ssl.certificate.location': file('cert.pem', CERT),
        'ssl.key.location': file('key.pem', KEY),
      });
      expect(client.ssl).toMatchObject({ ca: [CA], cert: CERT, key: KEY });
    });

    it('names an unreadable file and the key that points at it', () => {
      const error = mapError({
        'bootstrap.servers': 'localhost:9093',
        'security.protocol': 'ssl',
        'ssl.ca.location': join(dir, 'missing.pem'),
      });
      expect(error.field).toBe("kafka['ssl.ca.location']");
      expect(error.message).toContain('ENOENT');
    });

    it('refuses a PEM and a location for the same thing, and a certificate without its key', () => {
      const ssl = { 'bootstrap.servers': 'localhost:9093', 'security.protocol': 'ssl' };
      expect(mapError({ ...ssl, 'ssl.ca.pem': CA, 'ssl.ca.location': file('ca2.pem', CA) }).field).toBe(
        "kafka['ssl.ca.location']",
      );
      expect(mapError({ ...ssl, 'ssl.certificate.pem': CERT }).field).toBe("kafka['ssl.key.pem']");
    });
  });

  it('refuses TLS or SASL keys that the security protocol would ignore', () => {
    expect(mapError({ 'bootstrap.servers': 'localhost:9092', 'ssl.ca.pem': CA }).message).toMatch(
      /ssl\.ca\.pem.*security\.protocol is "plaintext".*'ssl' or 'sasl_ssl'/,
    );
    expect(
      mapError({ 'bootstrap.servers': 'localhost:9092', 'security.protocol': 'ssl', 'sasl.username': 'u' })
        .field,
    ).toBe("kafka['sasl.username']");
    expect(
      mapError({
        'bootstrap.servers': 'localhost:9092',
        'security.protocol': 'sasl_ssl',
        'sasl.mechanisms': 'GSSAPI',
      }).message,
    ).toContain('PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER');
    expect(mapError({ 'bootstrap.servers': 'localhost:9092', 'security.protocol': 'tls' }).field).toBe(
      "kafka['security.protocol']",
    );
  });

  it('refuses a kafka+ssl:// bootstrap server with the seed\'s "unsupported protocol" and the fix', () => {
    const error = mapError({
      'bootstrap.servers':
        'kafka+ssl://ec2-1.compute-1.amazonaws.com:9096,kafka+ssl://ec2-2.compute-1.amazonaws.com:9096',
    });
    expect(error.field).toBe("kafka['bootstrap.servers']");
    expect(error.message).toContain('unsupported protocol "KAFKA+SSL"');
    expect(error.message).toContain('herokuKafkaConfig()');
    expect(mapError({ 'bootstrap.servers': 'localhost' }).message).toContain('not host:port');
    expect(mapError({ 'bootstrap.servers': 'user:s3cret@b-1:9092' }).message).not.toContain('s3cret');
  });

  it('refuses reconnect and retry backoffs that differ, since kafkajs has one', () => {
    expect(
      mapError({
        'bootstrap.servers': 'localhost:9092',
        'retry.backoff.ms': 100,
        'reconnect.backoff.ms': 500,
      }).field,
    ).toBe("kafka['reconnect.backoff.ms']");
  });

  it("maps the producer keys with librdkafka's defaults, and isolation.level", () => {
    const servers = { 'bootstrap.servers': 'localhost:9092' };
    expect(map(servers).producer).toEqual({
      idempotent: true,
      acks: -1,
      queue: {
        lingerMs: 5,
        batchMessages: 10_000,
        batchBytes: 1_000_000,
        maxMessages: 100_000,
        maxBytes: 1024 ** 3,
      },
      transactionalId: undefined,
      transactionTimeout: undefined,
    });
    const mapped = map({
      ...servers,
      'enable.idempotence': false,
      acks: '1',
      'linger.ms': 0,
      'batch.num.messages': 500,
      'batch.size': 65_536,
      'queue.buffering.max.messages': 1_000,
      'queue.buffering.max.kbytes': 2_048,
      'isolation.level': 'read_uncommitted',
    });
    expect(mapped.producer).toMatchObject({
      idempotent: false,
      acks: 1,
      queue: { lingerMs: 0, batchMessages: 500, batchBytes: 65_536, maxMessages: 1_000, maxBytes: 2_097_152 },
    });
    expect(mapped.consumer.readUncommitted).toBe(true);
    expect(map({ ...servers, 'transactional.id': 'payments-1' }).producer.transactionalId).toBe('payments-1');
  });

  it('refuses producer settings that cannot work, naming the field and the fix', () => {
    const servers = { 'bootstrap.servers': 'localhost:9092' };
    const acks = mapError({ ...servers, acks: '1' });
    expect(acks.field).toBe("kafka['acks']");
    expect(acks.message).toContain("set 'enable.idempotence': false");
    expect(mapError({ ...servers, acks: 'some' }).message).toContain('"some" is not an acks setting');
    expect(mapError({ ...servers, 'transactional.id': 'x', 'enable.idempotence': false }).field).toBe(
      "kafka['enable.idempotence']",
    );
    expect(mapError({ ...servers, 'batch.num.messages': 0 }).field).toBe("kafka['batch.num.messages']");
    expect(mapError({ ...servers, 'queue.buffering.max.messages': 1.5 }).field).toBe(
      "kafka['queue.buffering.max.messages']",
    );
    expect(mapError({ ...servers, 'isolation.level': 'serializable' }).field).toBe(
      "kafka['isolation.level']",
    );
    expect(mapError({ ...servers, acks: -1 } as never).message).toContain('must be a string');
  });

  it('refuses static membership, cooperative-sticky and KIP-848, naming the driver that supports them', () => {
    for (const settings of [
      { 'group.instance.id': 'orders-1' },
      { 'partition.assignment.strategy': 'cooperative-sticky' },
      { 'group.protocol': 'consumer' },
    ]) {
      const error = mapError({ 'bootstrap.servers': 'localhost:9092', ...settings });
      expect(error.message).toContain('cannot be honoured by the kafkajs client');
      expect(error.message).toContain("set driver: 'librdkafka'");
    }
    expect(
      mapError({ 'bootstrap.servers': 'localhost:9092', 'partition.assignment.strategy': 'range' }).message,
    ).toContain('only assigns round robin');
    expect(() =>
      map({ 'bootstrap.servers': 'localhost:9092', 'partition.assignment.strategy': 'roundrobin' }),
    ).not.toThrow();
  });

  it('suggests the right key for a typo, and the librdkafka key for a kafkajs option name', () => {
    expect(mapError({ 'bootstrap.server': 'localhost:9092' }).message).toContain(
      'did you mean "bootstrap.servers"?',
    );
    expect(mapError({ 'bootstrap.servers': 'x:1', 'sasl.mechanism': 'PLAIN' }).message).toContain(
      'did you mean "sasl.mechanisms"?',
    );
    expect(mapError({ 'bootstrap.servers': 'x:1', 'session.timeout': 1 }).message).toContain(
      'did you mean "session.timeout.ms"?',
    );
    expect(mapError({ 'bootstrap.servers': 'x:1', sessionTimeout: 1 }).message).toContain(
      'the librdkafka key is "session.timeout.ms"',
    );
  });

  it('redacts every secret for logs', () => {
    const redacted = redactKafkaSettings({
      'bootstrap.servers': 'localhost:9092',
      'sasl.password': 'p4ss',
      'ssl.key.pem': KEY,
      'ssl.key.password': 'k3y',
    });
    expect(JSON.stringify(redacted)).not.toMatch(/p4ss|k3y|PRIVATE KEY/);
    expect(redacted['bootstrap.servers']).toBe('localhost:9092');
  });

  it('documents every supported key in docs/configuration.md', () => {
    const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    for (const key of Object.keys(KNOWN_KAFKA_SETTINGS)) expect(doc, key).toContain(`\`${key}\``);
  });
});

describe('per-route kafka overrides', () => {
  const options = resolveKarafkaOptions({
    kafka: { 'bootstrap.servers': 'localhost:9092', 'session.timeout.ms': 30_000, 'client.id': 'root' },
  });
  const declare = (className: string, topic: string, kafka?: KafkaSettings) => ({
    className,
    topics: [topic],
    options: kafka ? { kafka } : {},
    createConsumer: async () => ({}) as BaseConsumer,
  });

  it("merge over the root settings, as Karafka's inherit: true, and split the subscription group", () => {
    const [group] = buildConsumerGroups(
      [declare('Orders', 'orders'), declare('Slow', 'slow', { 'session.timeout.ms': 120_000 })],
      options,
    );
    const [plain, slow] = group.subscriptionGroups;
    expect(plain.kafka).toEqual(options.kafka);
    expect(slow.kafka).toEqual({
      'bootstrap.servers': 'localhost:9092',
      'session.timeout.ms': 120_000,
      'client.id': 'root',
    });
    expect(map(slow.kafka).consumer.sessionTimeout).toBe(120_000);
  });

  it('fail at boot when kafkajs cannot honour them, naming the consumer', async () => {
    @Injectable()
    @Consumer('static-members', { kafka: { 'group.instance.id': 'pod-1' } })
    class StaticConsumer extends BaseConsumer {
      async consume(): Promise<void> {}
    }
    const moduleRef = await Test.createTestingModule({
      imports: [
        KarafkaModule.forRoot({
          kafka: { 'bootstrap.servers': 'localhost:9092' },
          autoStart: false,
          logging: false,
        }),
      ],
      providers: [StaticConsumer],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await expect(app.init()).rejects.toThrow(
      /StaticConsumer @Consumer options\.kafka\['group\.instance\.id'\]: cannot be honoured by the kafkajs client.*librdkafka/,
    );
    await app.close();
  });
});

describe('OAuth token provider', () => {
  function harness(tokens: (() => OAuthToken | OAuthTokenFailure)[]) {
    const monitor = new KarafkaMonitor();
    const events: { name: string; payload: unknown }[] = [];
    for (const name of ['oauthbearer.token_refresh', 'error.occurred'] as const) {
      monitor.subscribe(name, (payload: KarafkaEventMap[typeof name]) => events.push({ name, payload }));
    }
    let calls = 0;
    const provide = cachedTokenProvider(
      {
        tokenProvider: () => {
          const next = tokens[Math.min(calls, tokens.length - 1)];
          calls++;
          return next();
        },
      },
      monitor,
    );
    return { provide, events, calls: () => calls };
  }
  const token = (lifetimeMs: number): OAuthToken => ({
    token: `t-${lifetimeMs}`,
    lifetimeMs,
    principalName: 'karafka',
  });

  it("speaks the seed's vocabulary: principalName, and { failureReason } for oauthbearer_set_token_failure; principal still works", async () => {
    const failing = harness([() => ({ failureReason: 'the signer has no credentials' })]);
    const error = await failing.provide().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthTokenError);
    expect((error as Error).message).toBe(
      'oauth.tokenProvider failed (1 in a row): the signer has no credentials',
    );
    expect(failing.events).toEqual([
      {
        name: 'error.occurred',
        payload: expect.objectContaining({ type: 'oauthbearer.token_refresh.error', error }),
      },
    ]);
    const deprecated = harness([() => ({ token: 't', lifetimeMs: 60_000, principal: 'legacy' })]);
    await deprecated.provide();
    expect(deprecated.events[0].payload).toEqual({ principal: 'legacy', lifetimeMs: 60_000 });
  });

  it('reuses a token until 80% of its lifetime, shares one refresh, and emits oauthbearer.token_refresh', async () => {
    const { provide, events, calls } = harness([() => token(60_000)]);
    const [a, b] = await Promise.all([provide(), provide()]);
    expect(a).toBe(b);
    await provide();
    expect(calls()).toBe(1);
    expect(events).toEqual([
      { name: 'oauthbearer.token_refresh', payload: { principal: 'karafka', lifetimeMs: 60_000 } },
    ]);
  });

  it("takes lifetimeMs as librdkafka's expiry in ms since the epoch too", async () => {
    const expiry = Date.now() + 3_600_000;
    const { provide, events } = harness([() => token(expiry)]);
    await provide();
    const { lifetimeMs } = events[0].payload as { lifetimeMs: number };
    expect(lifetimeMs).toBeGreaterThan(3_590_000);
    expect(lifetimeMs).toBeLessThanOrEqual(3_600_000);
  });

  it('refetches a token that is due', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const { provide, calls } = harness([() => token(10_000)]);
      await provide();
      vi.advanceTimersByTime(7_999);
      await provide();
      expect(calls()).toBe(1);
      vi.advanceTimersByTime(2);
      await provide();
      expect(calls()).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('reports each failure as error.occurred, gives up after consecutive failures, and calls the provider no more', async () => {
    const { provide, events, calls } = harness([
      () => {
        throw new Error('token endpoint down');
      },
    ]);
    for (let attempt = 1; attempt <= OAUTH_MAX_FAILURES; attempt++) {
      const error = await provide().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OAuthTokenError);
      expect((error as OAuthTokenError).message).toContain('token endpoint down');
      // kafkajs does not retry it (retriable: false) and reports `e.cause || e` as the cause.
      expect((error as OAuthTokenError).retriable).toBe(false);
      expect((error as Error).cause).toBeUndefined();
      const wrapped = Object.assign(new KafkaJSNonRetriableError(error as Error), { cause: error });
      const described = describeClientError(wrapped);
      expect(described.fatal).toBe(attempt === OAUTH_MAX_FAILURES);
      expect(described.hint).toContain('oauth.tokenProvider');
    }
    expect(events.filter((e) => e.name === 'error.occurred')).toHaveLength(OAUTH_MAX_FAILURES);
    expect(events[0].payload).toMatchObject({ type: 'oauthbearer.token_refresh.error', fatal: false });
    // A client still closing asks again (librdkafka's refresh callback did, once, in CI): the same error, no call.
    const again = await provide().catch((e: unknown) => e);
    expect((again as OAuthTokenError).exhausted).toBe(true);
    expect(calls()).toBe(OAUTH_MAX_FAILURES);
    expect(events.filter((e) => e.name === 'error.occurred')).toHaveLength(OAUTH_MAX_FAILURES);
  });

  it('keeps the previous token while it is valid when a refresh fails, and refuses malformed tokens', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      let fail = false;
      const { provide, events } = harness([
        () => {
          if (fail) throw new Error('flaky');
          return token(10_000);
        },
      ]);
      const first = await provide();
      fail = true;
      vi.advanceTimersByTime(9_000); // due (80%), still valid
      expect(await provide()).toBe(first);
      expect(events.at(-1)).toMatchObject({ name: 'error.occurred', payload: { fatal: false } });
      vi.advanceTimersByTime(1_001); // expired: nothing left to fall back on
      await expect(provide()).rejects.toThrow(/oauth\.tokenProvider failed \(2 in a row\): flaky/);
    } finally {
      vi.useRealTimers();
    }
    const bad = harness([() => ({ token: '', lifetimeMs: 1_000, principalName: 'x' })]);
    await expect(bad.provide()).rejects.toThrow(/must return \{ token: string/);
    const nameless = harness([() => ({ token: 't', lifetimeMs: 1_000 }) as unknown as OAuthToken]);
    await expect(nameless.provide()).rejects.toThrow(/principalName: string/);
    const expired = harness([() => token(Date.now() - 60_000)]);
    await expect(expired.provide()).rejects.toThrow(/expired at/);
  });
});

describe("client errors of the seed's troubleshooting sections", () => {
  const sasl = Object.assign(
    new Error(
      'SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512',
    ),
    { name: 'KafkaJSSASLAuthenticationError' },
  );

  it.each([
    ['Local: Authentication failure', sasl, /credentials are wrong.*AWS MSK.*wait a few minutes/, true],
    [
      'Connection setup timed out in state CONNECT',
      Object.assign(new Error('Connection timeout'), { name: 'KafkaJSConnectionError' }),
      /unreachable.*9096.*9092/,
      false,
    ],
    [
      'connection refused',
      Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9096'), {
        code: 'ECONNREFUSED',
      }),
      /unreachable/,
      false,
    ],
    [
      'Topic authorization failed',
      protocolError(
        'TOPIC_AUTHORIZATION_FAILED',
        29,
        'Not authorized to access topics: [Topic authorization failed]',
      ),
      /KAFKA_PREFIX.*ACLs/,
      true,
    ],
    [
      'Invalid replication factor',
      protocolError(
        'INVALID_REPLICATION_FACTOR',
        38,
        'Replication factor is below 1 or larger than the number of available brokers',
      ),
      /default\.replication\.factor.*zones/,
      true,
    ],
    [
      'Disconnected while requesting ApiVersion',
      Object.assign(new Error('Closed connection'), { name: 'KafkaJSConnectionClosedError' }),
      /security\.protocol/,
      false,
    ],
    [
      'TLS to a plaintext listener',
      Object.assign(
        new Error(
          'Connection error: Client network socket disconnected before secure TLS connection was established',
        ),
        { code: 'ECONNRESET' },
      ),
      /security\.protocol/,
      false,
    ],
    [
      'untrusted broker certificate',
      Object.assign(new Error('Connection error: self-signed certificate in certificate chain'), {
        code: 'SELF_SIGNED_CERT_IN_CHAIN',
      }),
      /ssl\.ca\.pem/,
      false,
    ],
  ])('%s', (_, error, hint, fatal) => {
    const described = describeClientError(retried(error));
    expect(described.hint).toMatch(hint);
    expect(described.fatal).toBe(fatal);
    expect(described.summary).toContain(described.message);
    expect(described.summary).toContain(described.hint);
  });

  it('names the unsupported kafka+ssl protocol at boot (a configuration error, fatal if met later)', () => {
    const error = mapError({ 'bootstrap.servers': 'kafka+ssl://a:9096' });
    expect(describeClientError(error)).toMatchObject({
      fatal: true,
      summary: expect.stringContaining('KAFKA+SSL'),
    });
  });
});
