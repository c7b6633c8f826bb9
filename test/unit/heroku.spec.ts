import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { Logger } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { herokuKafkaConfig, type BaseConsumer } from 'nestjs-karafka';
import { clusterGroupId, clusterTopicName } from '../../src/config/cluster-names.js';
import { validateKafkaSettings } from '../../src/config/kafka-settings.js';
import { resolveKarafkaOptions } from '../../src/config/validate-options.js';
import { toKafkajsSettings } from '../../src/connection/kafkajs/kafkajs-settings.js';
import { buildConsumerGroups } from '../../src/routing/route-builder.js';
import { CaptureLogger } from '../support/capture-logger.js';
import { configError } from '../support/config-error.js';

const PREFIX = 'smoothboulder-1234.';
const BROKERS = [
  'ec2-3-1-1-1.compute-1.amazonaws.com:9096',
  'ec2-3-2-2-2.compute-1.amazonaws.com:9096',
  'ec2-3-3-3-3.compute-1.amazonaws.com:9096',
];

function fixtureEnv(
  pems = { cert: 'CLIENT CERT', key: 'CLIENT KEY', ca: 'TRUSTED CERT' },
): NodeJS.ProcessEnv {
  return {
    KAFKA_URL: BROKERS.map((broker) => `kafka+ssl://${broker}`).join(','),
    KAFKA_CLIENT_CERT: pems.cert,
    KAFKA_CLIENT_CERT_KEY: pems.key,
    KAFKA_TRUSTED_CERT: pems.ca,
    KAFKA_PREFIX: PREFIX,
  };
}

describe('herokuKafkaConfig', () => {
  it('turns the add-on config vars into kafka settings and the prefix', () => {
    const { kafka, prefix } = herokuKafkaConfig(fixtureEnv());
    expect(prefix).toBe(PREFIX);
    expect(kafka).toEqual({
      'bootstrap.servers': BROKERS.join(','),
      'security.protocol': 'ssl',
      'ssl.certificate.pem': 'CLIENT CERT',
      'ssl.key.pem': 'CLIENT KEY',
      'ssl.ca.pem': 'TRUSTED CERT',
      'ssl.endpoint.identification.algorithm': 'none',
    });
    expect(() => validateKafkaSettings(kafka, 'kafka')).not.toThrow();
  });

  it('maps onto kafkajs TLS with the client certificate, verifying the chain but not the host name', () => {
    const { client } = toKafkajsSettings(herokuKafkaConfig(fixtureEnv()).kafka);
    expect(client.brokers).toEqual(BROKERS);
    expect(client.sasl).toBeUndefined();
    expect(client.ssl).toMatchObject({
      ca: ['TRUSTED CERT'],
      cert: 'CLIENT CERT',
      key: 'CLIENT KEY',
      rejectUnauthorized: true,
      checkServerIdentity: expect.any(Function),
    });
  });

  it('reads process.env by default, and has no prefix on dedicated plans', () => {
    const saved = { ...process.env };
    try {
      Object.assign(process.env, fixtureEnv());
      delete process.env.KAFKA_PREFIX;
      expect(herokuKafkaConfig().prefix).toBe('');
    } finally {
      for (const key of Object.keys(fixtureEnv())) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });

  it.each(['KAFKA_URL', 'KAFKA_CLIENT_CERT', 'KAFKA_CLIENT_CERT_KEY', 'KAFKA_TRUSTED_CERT'])(
    'names a missing %s',
    (name) => {
      const env = fixtureEnv();
      delete env[name];
      const error = configError(() => herokuKafkaConfig(env));
      expect(error.field).toBe(name);
      expect(error.message).toContain('is not set');
    },
  );

  it('refuses a KAFKA_URL with another scheme or no broker', () => {
    expect(
      configError(() => herokuKafkaConfig({ ...fixtureEnv(), KAFKA_URL: 'kafka://a:9092' })).message,
    ).toContain('"kafka://"');
    expect(configError(() => herokuKafkaConfig({ ...fixtureEnv(), KAFKA_URL: ' , ' })).message).toContain(
      'lists no broker',
    );
  });

  it('prefixes route topics, consumer groups and DLQ topics written bare', () => {
    const options = resolveKarafkaOptions({ ...herokuKafkaConfig(fixtureEnv()), groupId: 'app' });
    const [group] = buildConsumerGroups(
      [
        {
          className: 'UsersEventsConsumer',
          topics: ['users_events'],
          options: { deadLetterQueue: { topic: 'users_events.dlq' } },
          createConsumer: async () => ({}) as BaseConsumer,
        },
      ],
      options,
    );
    const [route] = group.subscriptionGroups[0].routes;
    expect(group.id).toBe('smoothboulder-1234.app');
    expect(route.topic).toBe('smoothboulder-1234.users_events');
    expect(route.deadLetterQueue?.topic).toBe('smoothboulder-1234.users_events.dlq');
  });

  it("uses a name that already starts with KAFKA_PREFIX as written (Karafka's guide writes it in), warning once per name", () => {
    const logger = new CaptureLogger();
    Logger.overrideLogger(logger);
    try {
      const options = resolveKarafkaOptions({
        ...herokuKafkaConfig(fixtureEnv()),
        groupId: 'smoothboulder-1234.app',
      });
      const declaration = {
        className: 'UsersEventsConsumer',
        topics: ['smoothboulder-1234.users_events', 'audit'],
        options: {},
        createConsumer: async () => ({}) as BaseConsumer,
      };
      const [group] = buildConsumerGroups([declaration], options);
      expect(group.id).toBe('smoothboulder-1234.app');
      expect(group.subscriptionGroups[0].routes.map((route) => route.topic)).toEqual([
        'smoothboulder-1234.users_events',
        'smoothboulder-1234.audit',
      ]);
      // Built again (a producer, the admin): no second warning for the same names.
      buildConsumerGroups([declaration], options);
      expect(clusterTopicName(options, 'smoothboulder-1234.users_events')).toBe(
        'smoothboulder-1234.users_events',
      );
      const warnings = logger.lines.filter((line) => line.startsWith('warn'));
      expect(warnings).toEqual([
        expect.stringContaining('topic "smoothboulder-1234.users_events" already starts with the prefix'),
        expect.stringContaining(
          'consumer group "smoothboulder-1234.app" already starts with the prefix "smoothboulder-1234.": used as written, not prefixed twice. Write it without the prefix ("app")',
        ),
      ]);
    } finally {
      Logger.overrideLogger(true);
    }
  });

  it('prefixes the admin group like every group; admin.groupId sets it (config.admin.group_id)', () => {
    const heroku = herokuKafkaConfig(fixtureEnv());
    expect(resolveKarafkaOptions(heroku).admin.groupId).toBe('karafka_admin');
    const options = resolveKarafkaOptions({ ...heroku, admin: { groupId: 'karafka-admin-extra' } });
    expect(clusterGroupId(options, options.admin.groupId)).toBe('smoothboulder-1234.karafka-admin-extra');
    expect(() => resolveKarafkaOptions({ ...heroku, admin: { groupId: '' } })).toThrow(
      'admin.groupId: must be a non-empty string',
    );
  });

  describe('against a TLS server whose certificate does not name the host, as Heroku brokers', () => {
    let dir: string;
    let pems: {
      ca: string;
      cert: string;
      key: string;
      otherCa: string;
      brokerCert: string;
      brokerKey: string;
    };
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'karafka-heroku-tls-'));
      const ca = (name: string) =>
        openssl(
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '1',
          '-subj',
          `/CN=${name}`,
          '-keyout',
          `${name}.key`,
          '-out',
          `${name}.pem`,
        );
      const leaf = (name: string, cn: string) => {
        openssl(
          'req',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-subj',
          `/CN=${cn}`,
          '-keyout',
          `${name}.key`,
          '-out',
          `${name}.csr`,
        );
        writeFileSync(join(dir, `${name}.ext`), `subjectAltName=DNS:${cn}\n`);
        openssl(
          'x509',
          '-req',
          '-in',
          `${name}.csr`,
          '-CA',
          'ca.pem',
          '-CAkey',
          'ca.key',
          '-CAcreateserial',
          '-days',
          '1',
          '-extfile',
          `${name}.ext`,
          '-out',
          `${name}.pem`,
        );
      };
      ca('ca');
      ca('other-ca');
      leaf('broker', 'kafka-broker.heroku.invalid');
      leaf('client', 'heroku-client');
      const read = (file: string) => readFileSync(join(dir, file), 'utf8');
      pems = {
        ca: read('ca.pem'),
        cert: read('client.pem'),
        key: read('client.key'),
        otherCa: read('other-ca.pem'),
        brokerCert: read('broker.pem'),
        brokerKey: read('broker.key'),
      };
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    /** Opens a TLS connection with the mapped options, as kafkajs does (host, port, servername, then ssl). */
    async function handshake(ssl: ConnectionOptions): Promise<{ clientCn?: string; error?: string }> {
      const server = createServer({
        cert: pems.brokerCert,
        key: pems.brokerKey,
        ca: [pems.ca],
        requestCert: true,
        rejectUnauthorized: true,
      });
      let clientCn: string | undefined;
      server.on('secureConnection', (socket: TLSSocket) => {
        clientCn = socket.getPeerCertificate().subject?.CN as string | undefined;
        socket.end();
      });
      server.on('tlsClientError', () => undefined);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      try {
        return await new Promise((resolve) => {
          const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ...ssl });
          socket.once('secureConnect', () => {
            socket.once('close', () => resolve({ clientCn }));
            socket.end();
          });
          socket.once('error', (error: NodeJS.ErrnoException) =>
            resolve({ error: error.code ?? error.message }),
          );
        });
      } finally {
        server.close();
      }
    }

    it('connects: the chain is trusted through KAFKA_TRUSTED_CERT, the client certificate is presented', async () => {
      const { client } = toKafkajsSettings(herokuKafkaConfig(fixtureEnv(pems)).kafka);
      expect(await handshake(client.ssl as ConnectionOptions)).toEqual({ clientCn: 'heroku-client' });
    });

    it('trusts every certificate of KAFKA_TRUSTED_CERT, as during a CA rotation', async () => {
      const rotating = { ...pems, ca: `${pems.otherCa}${pems.ca}` };
      const { client } = toKafkajsSettings(herokuKafkaConfig(fixtureEnv(rotating)).kafka);
      expect(await handshake(client.ssl as ConnectionOptions)).toEqual({ clientCn: 'heroku-client' });
    });

    it('still refuses a broker certificate from another CA', async () => {
      const { client } = toKafkajsSettings(
        herokuKafkaConfig(fixtureEnv({ ...pems, ca: pems.otherCa })).kafka,
      );
      const { error } = await handshake(client.ssl as ConnectionOptions);
      expect(error).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
    });

    it('would fail on the host name without identification "none", which is why Heroku needs it', async () => {
      const { kafka } = herokuKafkaConfig(fixtureEnv(pems));
      const { client } = toKafkajsSettings({ ...kafka, 'ssl.endpoint.identification.algorithm': 'https' });
      expect((await handshake(client.ssl as ConnectionOptions)).error).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    });
  });
});
