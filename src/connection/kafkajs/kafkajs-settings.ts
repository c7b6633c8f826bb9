import { readFileSync } from 'node:fs';
import type { CompressionTypes, ConsumerConfig, KafkaConfig, SASLOptions } from 'kafkajs';
import { didYouMean } from '../../config/did-you-mean.js';
import { KNOWN_KAFKA_SETTINGS } from '../../config/kafka-settings.js';
import { KarafkaConfigError } from '../../config/karafka-config.error.js';
import type { KafkaSettingKind, KafkaSettings } from '../kafka-client.js';
import { COMPRESSION_TYPES, compressionUnavailable } from './compression/index.js';
import type { KafkajsLogging } from './kafkajs-logger.js';
import type { ProduceQueueLimits } from './kafkajs-produce-queue.js';

const LIBRDKAFKA_CLIENTS = "the librdkafka driver (driver: 'librdkafka')";

/** Keys kafkajs cannot honour, and what to do instead. */
const UNSUPPORTED: Record<string, (value: unknown) => string | undefined> = {
  'group.instance.id': () =>
    `static group membership (KIP-345) is supported by ${LIBRDKAFKA_CLIENTS}, not by kafkajs; set driver: 'librdkafka', or remove the key and use the Recreate deployment strategy to limit rebalances`,
  'group.protocol': (value) =>
    String(value) === 'classic'
      ? undefined
      : `the consumer group protocol of KIP-848 is supported by ${LIBRDKAFKA_CLIENTS}, not by kafkajs; set driver: 'librdkafka', or remove the key`,
  'group.remote.assignor': () =>
    `it belongs to KIP-848's group protocol, supported by ${LIBRDKAFKA_CLIENTS}; set driver: 'librdkafka', or remove the key`,
  'partition.assignment.strategy': (value) => {
    const strategy = String(value).trim().toLowerCase();
    if (strategy === 'roundrobin') return undefined;
    return strategy.includes('cooperative')
      ? `cooperative-sticky (incremental) rebalancing is supported by ${LIBRDKAFKA_CLIENTS}, not by kafkajs, which only has the eager protocol; set driver: 'librdkafka', or remove the key (kafkajs assigns round robin)`
      : `kafkajs only assigns round robin ("${strategy}" would need ${LIBRDKAFKA_CLIENTS}); remove the key or set 'roundrobin'`;
  },
};

/** The `kafka` keys the kafkajs driver honours: every known one but those of static membership and KIP-848 (round robin is its only assignor). */
export const KAFKAJS_KAFKA_KEYS: Readonly<Record<string, KafkaSettingKind>> = Object.fromEntries(
  Object.entries(KNOWN_KAFKA_SETTINGS).filter(
    ([key]) => !['group.instance.id', 'group.protocol', 'group.remote.assignor'].includes(key),
  ),
);

const SECURITY_PROTOCOLS = ['plaintext', 'ssl', 'sasl_plaintext', 'sasl_ssl'];
const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer'];
const SSL_KEYS = [
  'ssl.ca.pem',
  'ssl.certificate.pem',
  'ssl.key.pem',
  'ssl.ca.location',
  'ssl.certificate.location',
  'ssl.key.location',
  'ssl.key.password',
  'enable.ssl.certificate.verification',
  'ssl.endpoint.identification.algorithm',
];
const SASL_KEYS = ['sasl.mechanisms', 'sasl.username', 'sasl.password'];

/** What kafkajs gets: the `Kafka` constructor's options, the consumer's, and the producer's ack timeout. */
export interface KafkajsSettings {
  client: Omit<KafkaConfig, 'logCreator' | 'logLevel'>;
  consumer: Omit<ConsumerConfig, 'groupId'>;
  /** Producer/admin ack timeout. */
  requestTimeout?: number;
  /** What the producer compresses its record batches with (`compression.type`). */
  compression: CompressionTypes;
  producer: KafkajsProducerSettings;
  /** kafkajs's `logLevel` and `logCreator`, from the `logLevel` option (added by the client factory). */
  logging: KafkajsLogging;
}

/** The producer's part: idempotence, acks, its queue (librdkafka's defaults) and transactions. */
export interface KafkajsProducerSettings {
  idempotent: boolean;
  acks: -1 | 0 | 1;
  queue: ProduceQueueLimits;
  transactionalId?: string;
  transactionTimeout?: number;
}

/** Names a key where the user wrote it, e.g. `kafka['sasl.mechanisms']`. */
type At = (key: string) => string;

function readPem(settings: KafkaSettings, at: At, pemKey: string, locationKey: string): string | undefined {
  const pem = settings[pemKey];
  const location = settings[locationKey];
  if (typeof pem === 'string' && typeof location === 'string') {
    throw new KarafkaConfigError(
      at(locationKey),
      `is set together with '${pemKey}'`,
      'keep one of them: the PEM itself or the path of a PEM file',
    );
  }
  if (typeof pem === 'string') return pem;
  if (typeof location !== 'string') return undefined;
  try {
    return readFileSync(location, 'utf8');
  } catch (error) {
    throw new KarafkaConfigError(
      at(locationKey),
      `cannot read ${location} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      `point it at a readable PEM file, or pass the PEM itself in '${pemKey}'`,
    );
  }
}

function parseBrokers(servers: unknown, at: At): string[] {
  if (typeof servers !== 'string' || servers.trim() === '') {
    throw new KarafkaConfigError(
      at('bootstrap.servers'),
      'is required',
      `set it to a comma list of host:port, e.g. 'localhost:9092'`,
    );
  }
  const brokers = servers
    .split(',')
    .map((broker) => broker.trim())
    .filter(Boolean);
  for (const broker of brokers) {
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(broker)?.[1];
    if (scheme) {
      // The scheme only: a URL may carry credentials.
      throw new KarafkaConfigError(
        at('bootstrap.servers'),
        `unsupported protocol "${scheme.toUpperCase()}": bootstrap servers are host:port, without ${scheme}://`,
        `strip every ${scheme}:// and set 'security.protocol' instead (Heroku's KAFKA_URL: use herokuKafkaConfig())`,
      );
    }
    if (!/^[^:\s]+:\d+$|^\[[0-9a-f:.]+\]:\d+$/i.test(broker)) {
      throw new KarafkaConfigError(
        at('bootstrap.servers'),
        // Anything before an "@" could be credentials.
        `has "${broker.replace(/^.*@/, '…@')}", which is not host:port`,
        `list brokers as host:port, comma separated, e.g. 'b-1.example.com:9096,b-2.example.com:9096'`,
      );
    }
  }
  return brokers;
}

function refuseUnused(
  settings: KafkaSettings,
  at: At,
  keys: string[],
  protocol: string,
  needs: string,
): void {
  const key = keys.find((k) => settings[k] !== undefined);
  if (key === undefined) return;
  throw new KarafkaConfigError(
    at(key),
    `is set but security.protocol is "${protocol}", so it would be ignored`,
    `set 'security.protocol' to ${needs}, or remove the key`,
  );
}

/**
 * Maps Karafka's librdkafka keys onto kafkajs options. Throws {@link KarafkaConfigError} for
 * a key kafkajs cannot honour, or one the chosen security protocol would ignore, so nothing is
 * dropped silently.
 */
export function toKafkajsSettings(
  settings: KafkaSettings,
  oauthBearerProvider?: () => Promise<{ value: string }>,
  path = 'kafka',
): Omit<KafkajsSettings, 'logging'> {
  const at: At = (key) => `${path}['${key}']`;
  for (const [key, explain] of Object.entries(UNSUPPORTED)) {
    if (settings[key] === undefined) continue;
    const fix = explain(settings[key]);
    if (fix) throw new KarafkaConfigError(at(key), 'cannot be honoured by the kafkajs client', fix);
  }
  for (const key of Object.keys(settings)) {
    if (settings[key] === undefined || key in KAFKAJS_KAFKA_KEYS || key in UNSUPPORTED) continue;
    throw new KarafkaConfigError(
      at(key),
      'is not honoured by the kafkajs driver',
      didYouMean(key, Object.keys(KAFKAJS_KAFKA_KEYS)),
    );
  }

  const client: KafkajsSettings['client'] = { brokers: parseBrokers(settings['bootstrap.servers'], at) };
  if (typeof settings['client.id'] === 'string') client.clientId = settings['client.id'];

  const protocol = String(settings['security.protocol'] ?? 'plaintext').toLowerCase();
  if (!SECURITY_PROTOCOLS.includes(protocol)) {
    throw new KarafkaConfigError(
      at('security.protocol'),
      `"${settings['security.protocol']}" is not a security protocol`,
      `use one of ${SECURITY_PROTOCOLS.join(', ')}`,
    );
  }
  const useSsl = protocol === 'ssl' || protocol === 'sasl_ssl';
  const useSasl = protocol.startsWith('sasl_');

  if (useSsl) client.ssl = sslOptions(settings, at);
  else refuseUnused(settings, at, SSL_KEYS, protocol, "'ssl' or 'sasl_ssl'");

  if (useSasl) client.sasl = saslOptions(settings, at, oauthBearerProvider);
  else refuseUnused(settings, at, SASL_KEYS, protocol, "'sasl_ssl' or 'sasl_plaintext'");
  if (oauthBearerProvider && (!useSasl || client.sasl?.mechanism !== 'oauthbearer')) {
    throw new KarafkaConfigError(
      'oauth.tokenProvider',
      'is set but the kafka settings do not use OAUTHBEARER, so it would never be called',
      `set 'security.protocol' to 'sasl_ssl' and 'sasl.mechanisms' to 'OAUTHBEARER', or remove oauth`,
    );
  }

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
  // librdkafka's default: a consumer never creates the topics it subscribes to.
  consumer.allowAutoTopicCreation = settings['allow.auto.create.topics'] === true;
  assign(consumer, 'metadataMaxAge', 'topic.metadata.refresh.interval.ms');
  consumer.readUncommitted = isolationLevel(settings, at) === 'read_uncommitted';
  assign(client, 'requestTimeout', 'socket.timeout.ms');
  assign(client, 'connectionTimeout', 'socket.connection.setup.timeout.ms');

  const retry = retryOptions(at, number('retry.backoff.ms'), number('reconnect.backoff.ms'));
  assign(retry, 'maxRetryTime', 'reconnect.backoff.max.ms');
  if (Object.keys(retry).length > 0) client.retry = retry;
  return {
    client,
    consumer,
    requestTimeout: number('request.timeout.ms'),
    compression: compressionType(settings, at),
    producer: producerSettings(settings, at, number),
  };
}

function isolationLevel(settings: KafkaSettings, at: At): string {
  const level = String(settings['isolation.level'] ?? 'read_committed').toLowerCase();
  if (level !== 'read_committed' && level !== 'read_uncommitted') {
    throw new KarafkaConfigError(
      at('isolation.level'),
      `"${settings['isolation.level']}" is not an isolation level`,
      "use 'read_committed' (the default: aborted transactions are never seen) or 'read_uncommitted'",
    );
  }
  return level;
}

const ACKS: Record<string, -1 | 0 | 1> = { all: -1, '-1': -1, '1': 1, '0': 0 };

function producerSettings(
  settings: KafkaSettings,
  at: At,
  number: (key: string) => number | undefined,
): KafkajsProducerSettings {
  const idempotent = settings['enable.idempotence'] !== false;
  const acks = ACKS[String(settings.acks ?? 'all').toLowerCase()];
  if (acks === undefined) {
    throw new KarafkaConfigError(
      at('acks'),
      `"${settings.acks}" is not an acks setting`,
      "use 'all', '1' or '0'",
    );
  }
  if (idempotent && acks !== -1) {
    throw new KarafkaConfigError(
      at('acks'),
      `is '${settings.acks}', but the idempotent producer (enable.idempotence, on by default) needs acks 'all'`,
      "remove acks, or set 'enable.idempotence': false",
    );
  }
  const transactionalId = settings['transactional.id'] as string | undefined;
  if (transactionalId !== undefined && !idempotent) {
    throw new KarafkaConfigError(
      at('enable.idempotence'),
      'is false, but transactions (transactional.id) need the idempotent producer',
      "remove 'enable.idempotence': false, or remove transactional.id",
    );
  }
  const atLeastOne = (key: string, fallback: number) => {
    const value = number(key) ?? fallback;
    if (!Number.isInteger(value) || value < 1)
      throw new KarafkaConfigError(
        at(key),
        `must be a whole number of at least 1, got ${value}`,
        `e.g. ${fallback}`,
      );
    return value;
  };
  return {
    idempotent,
    acks,
    queue: {
      lingerMs: number('linger.ms') ?? 5,
      batchMessages: atLeastOne('batch.num.messages', 10_000),
      batchBytes: atLeastOne('batch.size', 1_000_000),
      maxMessages: atLeastOne('queue.buffering.max.messages', 100_000),
      maxBytes: atLeastOne('queue.buffering.max.kbytes', 1_048_576) * 1024,
    },
    transactionalId,
    transactionTimeout: number('transaction.timeout.ms'),
  };
}

function compressionType(settings: KafkaSettings, at: At): CompressionTypes {
  const name = String(settings['compression.type'] ?? 'none').toLowerCase();
  if (!Object.hasOwn(COMPRESSION_TYPES, name)) {
    throw new KarafkaConfigError(
      at('compression.type'),
      `"${settings['compression.type']}" is not a compression type`,
      `use one of ${Object.keys(COMPRESSION_TYPES).join(', ')}`,
    );
  }
  const unavailable = compressionUnavailable(name);
  if (unavailable) {
    throw new KarafkaConfigError(
      at('compression.type'),
      `${name} compression is unavailable: ${unavailable}`,
      `choose another compression.type, or fix the install`,
    );
  }
  return COMPRESSION_TYPES[name];
}

function sslOptions(settings: KafkaSettings, at: At): NonNullable<KafkaConfig['ssl']> {
  const ca = readPem(settings, at, 'ssl.ca.pem', 'ssl.ca.location');
  const cert = readPem(settings, at, 'ssl.certificate.pem', 'ssl.certificate.location');
  const key = readPem(settings, at, 'ssl.key.pem', 'ssl.key.location');
  if (Boolean(cert) !== Boolean(key)) {
    throw new KarafkaConfigError(
      at(cert ? 'ssl.key.pem' : 'ssl.certificate.pem'),
      'is missing: a client certificate needs its private key, and the reverse',
      'set both ssl.certificate.* and ssl.key.* (Heroku: KAFKA_CLIENT_CERT and KAFKA_CLIENT_CERT_KEY)',
    );
  }
  const algorithm = String(settings['ssl.endpoint.identification.algorithm'] ?? 'https').toLowerCase();
  if (algorithm !== 'https' && algorithm !== 'none') {
    throw new KarafkaConfigError(
      at('ssl.endpoint.identification.algorithm'),
      `"${algorithm}" is not an identification algorithm`,
      `use 'https' (check the host name, the default) or 'none' (chain only)`,
    );
  }
  const passphrase = settings['ssl.key.password'];
  return {
    ...(ca ? { ca: [ca] } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(typeof passphrase === 'string' ? { passphrase } : {}),
    rejectUnauthorized: settings['enable.ssl.certificate.verification'] !== false,
    // Still validates the chain against `ca`; only the host name match is skipped (Heroku's brokers).
    ...(algorithm === 'none' ? { checkServerIdentity: () => undefined } : {}),
  };
}

function retryOptions(
  at: At,
  retryBackoff: number | undefined,
  reconnectBackoff: number | undefined,
): NonNullable<KafkaConfig['retry']> {
  if (retryBackoff !== undefined && reconnectBackoff !== undefined && retryBackoff !== reconnectBackoff) {
    throw new KarafkaConfigError(
      at('reconnect.backoff.ms'),
      `(${reconnectBackoff}) differs from retry.backoff.ms (${retryBackoff}), but kafkajs has one initial backoff for request retries and reconnects`,
      'set only one of them',
    );
  }
  const initialRetryTime = retryBackoff ?? reconnectBackoff;
  return initialRetryTime !== undefined ? { initialRetryTime } : {};
}

function saslOptions(
  settings: KafkaSettings,
  at: At,
  oauthBearerProvider?: () => Promise<{ value: string }>,
): SASLOptions {
  const mechanism = String(settings['sasl.mechanisms'] ?? '').toLowerCase();
  if (!SASL_MECHANISMS.includes(mechanism)) {
    throw new KarafkaConfigError(
      at('sasl.mechanisms'),
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
    refuseWithOAuth(settings, at);
    return { mechanism: 'oauthbearer', oauthBearerProvider };
  }
  const username = settings['sasl.username'];
  const password = settings['sasl.password'];
  if (typeof username !== 'string' || typeof password !== 'string') {
    throw new KarafkaConfigError(
      at(typeof username !== 'string' ? 'sasl.username' : 'sasl.password'),
      `is required with ${mechanism.toUpperCase()}`,
      'set both sasl.username and sasl.password',
    );
  }
  return { mechanism: mechanism as 'plain' | 'scram-sha-256' | 'scram-sha-512', username, password };
}

function refuseWithOAuth(settings: KafkaSettings, at: At): void {
  const key = ['sasl.username', 'sasl.password'].find((k) => settings[k] !== undefined);
  if (key === undefined) return;
  throw new KarafkaConfigError(
    at(key),
    'is set but OAUTHBEARER authenticates with the token of oauth.tokenProvider, so it would be ignored',
    'remove sasl.username and sasl.password',
  );
}
