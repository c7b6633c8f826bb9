import { readFileSync } from 'node:fs';
import type { ConsumerConfig, KafkaConfig, SASLOptions } from 'kafkajs';
import { KarafkaConfigError } from '../../config/karafka-config.error.js';
import type { KafkaSettings } from '../kafka-client.js';

/** Keys kafkajs cannot honour, and what to do instead. */
const UNSUPPORTED: Record<string, (value: unknown) => string | undefined> = {
  'group.instance.id': () =>
    'static group membership is not implemented by kafkajs; remove the key, or use a librdkafka-based client when one is available',
  'partition.assignment.strategy': (value) =>
    /cooperative/i.test(String(value))
      ? 'cooperative-sticky rebalancing is not implemented by kafkajs (eager protocol only); remove the key (the default is a subscription-aware round robin), or use a librdkafka-based client'
      : undefined,
};

const SECURITY_PROTOCOLS = ['plaintext', 'ssl', 'sasl_plaintext', 'sasl_ssl'];
const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer'];

export interface KafkajsSettings {
  client: Omit<KafkaConfig, 'logCreator' | 'logLevel'>;
  consumer: Omit<ConsumerConfig, 'groupId'>;
  /** Producer/admin ack timeout. */
  requestTimeout?: number;
}

function field(key: string): string {
  return `kafka['${key}']`;
}

function readPem(settings: KafkaSettings, pemKey: string, locationKey: string): string | undefined {
  const pem = settings[pemKey];
  if (typeof pem === 'string') return pem;
  const location = settings[locationKey];
  if (typeof location !== 'string') return undefined;
  try {
    return readFileSync(location, 'utf8');
  } catch (error) {
    throw new KarafkaConfigError(
      field(locationKey),
      `cannot read ${location} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      `point it at a readable PEM file, or pass the PEM itself in '${pemKey}'`,
    );
  }
}

/**
 * Maps Karafka's librdkafka keys onto kafkajs options. Throws {@link KarafkaConfigError} for
 * a key kafkajs cannot honour, so nothing is dropped silently.
 */
export function toKafkajsSettings(
  settings: KafkaSettings,
  oauthBearerProvider?: () => Promise<{ value: string }>,
): KafkajsSettings {
  for (const [key, explain] of Object.entries(UNSUPPORTED)) {
    if (settings[key] === undefined) continue;
    const fix = explain(settings[key]);
    if (fix) throw new KarafkaConfigError(field(key), 'cannot be honoured by the kafkajs client', fix);
  }

  const servers = settings['bootstrap.servers'];
  if (typeof servers !== 'string' || servers.trim() === '') {
    throw new KarafkaConfigError(
      field('bootstrap.servers'),
      'is required',
      `set it to a comma list of host:port, e.g. 'localhost:9092'`,
    );
  }
  const brokers = servers
    .split(',')
    .map((broker) => broker.trim())
    .filter(Boolean);
  for (const broker of brokers) {
    if (/^[a-z+]+:\/\//i.test(broker)) {
      throw new KarafkaConfigError(
        field('bootstrap.servers'),
        `has an unsupported protocol in "${broker.replace(/:\/\/.*/, '://')}..."`,
        `strip the scheme (e.g. Heroku's kafka+ssl://) and set 'security.protocol' instead; herokuKafkaConfig() does this`,
      );
    }
  }

  const protocol = String(settings['security.protocol'] ?? 'plaintext').toLowerCase();
  if (!SECURITY_PROTOCOLS.includes(protocol)) {
    throw new KarafkaConfigError(
      field('security.protocol'),
      `"${settings['security.protocol']}" is not a security protocol`,
      `use one of ${SECURITY_PROTOCOLS.join(', ')}`,
    );
  }
  const useSsl = protocol === 'ssl' || protocol === 'sasl_ssl';
  const useSasl = protocol.startsWith('sasl_');

  const client: KafkajsSettings['client'] = { brokers };
  if (typeof settings['client.id'] === 'string') client.clientId = settings['client.id'];

  if (useSsl) {
    const ca = readPem(settings, 'ssl.ca.pem', 'ssl.ca.location');
    const cert = readPem(settings, 'ssl.certificate.pem', 'ssl.certificate.location');
    const key = readPem(settings, 'ssl.key.pem', 'ssl.key.location');
    const verify = settings['enable.ssl.certificate.verification'] !== false;
    const checkHostname =
      String(settings['ssl.endpoint.identification.algorithm'] ?? 'https').toLowerCase() !== 'none';
    client.ssl = {
      ...(ca ? { ca: [ca] } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
      ...(typeof settings['ssl.key.password'] === 'string'
        ? { passphrase: settings['ssl.key.password'] }
        : {}),
      rejectUnauthorized: verify,
      // Keeps chain validation against the CA but skips host name matching (Heroku's brokers).
      ...(checkHostname ? {} : { checkServerIdentity: () => undefined }),
    };
  } else if (
    ['ssl.ca.pem', 'ssl.certificate.pem', 'ssl.key.pem'].some((key) => settings[key] !== undefined)
  ) {
    throw new KarafkaConfigError(
      field('security.protocol'),
      `is "${protocol}" but SSL certificates are set`,
      `set 'security.protocol' to 'ssl' or 'sasl_ssl'`,
    );
  }

  if (useSasl) client.sasl = saslOptions(settings, oauthBearerProvider);

  const consumer: KafkajsSettings['consumer'] = {};
  const number = (key: string) => (typeof settings[key] === 'number' ? (settings[key] as number) : undefined);
  const assign = <T extends object>(target: T, name: keyof T, key: string) => {
    const value = number(key);
    if (value !== undefined) (target as Record<keyof T, number>)[name] = value;
  };
  assign(consumer, 'sessionTimeout', 'session.timeout.ms');
  assign(consumer, 'heartbeatInterval', 'heartbeat.interval.ms');
  assign(consumer, 'rebalanceTimeout', 'max.poll.interval.ms');
  assign(consumer, 'minBytes', 'fetch.min.bytes');
  assign(consumer, 'maxWaitTimeInMs', 'fetch.wait.max.ms');
  assign(consumer, 'maxBytesPerPartition', 'max.partition.fetch.bytes');
  assign(consumer, 'maxBytes', 'fetch.max.bytes');
  assign(client, 'requestTimeout', 'socket.timeout.ms');
  assign(client, 'connectionTimeout', 'socket.connection.setup.timeout.ms');
  const initialRetryTime = number('retry.backoff.ms') ?? number('reconnect.backoff.ms');
  const maxRetryTime = number('reconnect.backoff.max.ms');
  if (initialRetryTime !== undefined || maxRetryTime !== undefined) {
    client.retry = {
      ...(initialRetryTime !== undefined ? { initialRetryTime } : {}),
      ...(maxRetryTime !== undefined ? { maxRetryTime } : {}),
    };
  }
  return { client, consumer, requestTimeout: number('request.timeout.ms') };
}

function saslOptions(
  settings: KafkaSettings,
  oauthBearerProvider?: () => Promise<{ value: string }>,
): SASLOptions {
  const mechanism = String(settings['sasl.mechanisms'] ?? '').toLowerCase();
  if (!SASL_MECHANISMS.includes(mechanism)) {
    throw new KarafkaConfigError(
      field('sasl.mechanisms'),
      settings['sasl.mechanisms'] === undefined
        ? 'is required with a sasl_* security.protocol'
        : `"${settings['sasl.mechanisms']}" is not supported`,
      `use one of ${SASL_MECHANISMS.map((m) => m.toUpperCase()).join(', ')}`,
    );
  }
  if (mechanism === 'oauthbearer') {
    if (!oauthBearerProvider) {
      throw new KarafkaConfigError(
        'oauth.tokenProvider',
        'is required with sasl.mechanisms OAUTHBEARER',
        'pass oauth: { tokenProvider: async () => ({ token, lifetimeMs, principal }) }',
      );
    }
    return { mechanism: 'oauthbearer', oauthBearerProvider };
  }
  const username = settings['sasl.username'];
  const password = settings['sasl.password'];
  if (typeof username !== 'string' || typeof password !== 'string') {
    throw new KarafkaConfigError(
      field(typeof username !== 'string' ? 'sasl.username' : 'sasl.password'),
      `is required with ${mechanism.toUpperCase()}`,
      'set both sasl.username and sasl.password',
    );
  }
  return { mechanism: mechanism as 'plain' | 'scram-sha-256' | 'scram-sha-512', username, password };
}
