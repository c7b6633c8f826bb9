import type { KafkaSettingKind, KafkaSettings } from '../connection/kafka-client.js';
import { didYouMean } from './did-you-mean.js';
import { KarafkaConfigError } from './karafka-config.error.js';

/**
 * The librdkafka keys (Karafka's `config.kafka`) this project understands, client-agnostic.
 * Whether the active client can honour each one is the client's own mapping's business.
 */
export const KNOWN_KAFKA_SETTINGS: Readonly<Record<string, KafkaSettingKind>> = {
  'bootstrap.servers': 'string',
  'client.id': 'string',
  'security.protocol': 'string',
  'sasl.mechanisms': 'string',
  'sasl.username': 'string',
  'sasl.password': 'secret',
  'ssl.ca.pem': 'string',
  'ssl.certificate.pem': 'string',
  'ssl.key.pem': 'secret',
  'ssl.ca.location': 'string',
  'ssl.certificate.location': 'string',
  'ssl.key.location': 'string',
  'ssl.key.password': 'secret',
  'enable.ssl.certificate.verification': 'boolean',
  'ssl.endpoint.identification.algorithm': 'string',
  'session.timeout.ms': 'number',
  'heartbeat.interval.ms': 'number',
  'max.poll.interval.ms': 'number',
  'fetch.min.bytes': 'number',
  'fetch.wait.max.ms': 'number',
  'max.partition.fetch.bytes': 'number',
  'fetch.max.bytes': 'number',
  'socket.timeout.ms': 'number',
  'socket.connection.setup.timeout.ms': 'number',
  'request.timeout.ms': 'number',
  'retry.backoff.ms': 'number',
  'reconnect.backoff.ms': 'number',
  'reconnect.backoff.max.ms': 'number',
  'statistics.interval.ms': 'number',
  'compression.type': 'string',
  'group.instance.id': 'string',
  'partition.assignment.strategy': 'string',
  'group.protocol': 'string',
  'group.remote.assignor': 'string',
  'isolation.level': 'string',
  'allow.auto.create.topics': 'boolean',
  'topic.metadata.refresh.interval.ms': 'number',
  'queued.max.messages.kbytes': 'number',
  'enable.idempotence': 'boolean',
  acks: 'string',
  'linger.ms': 'number',
  'batch.num.messages': 'number',
  'batch.size': 'number',
  'queue.buffering.max.messages': 'number',
  'queue.buffering.max.kbytes': 'number',
  'transactional.id': 'string',
  'transaction.timeout.ms': 'number',
};

/** Keys whose values never reach a log line, an error message or a health body. */
export const SECRET_KAFKA_SETTINGS = Object.keys(KNOWN_KAFKA_SETTINGS).filter(
  (key) => KNOWN_KAFKA_SETTINGS[key] === 'secret',
);

/** Settings the engine owns itself, and which option to use instead. */
const ENGINE_OWNED: Record<string, string> = {
  'group.id': 'set `groupId` on the module or on @Consumer',
  'enable.auto.commit':
    'offsets are committed by the engine after processing; use `manualOffsetManagement` to mark yourself',
  'auto.offset.reset': 'use `initialOffset: "earliest" | "latest"` on the module or on @Consumer',
  'enable.auto.offset.store': 'use `manualOffsetManagement` on @Consumer',
};

/** kafkajs option names people bring along, and the librdkafka key that sets them here. */
const KAFKAJS_NAMES: Record<string, string> = {
  brokers: 'bootstrap.servers',
  clientId: 'client.id',
  ssl: 'security.protocol',
  sasl: 'sasl.mechanisms',
  sessionTimeout: 'session.timeout.ms',
  heartbeatInterval: 'heartbeat.interval.ms',
  rebalanceTimeout: 'max.poll.interval.ms',
  minBytes: 'fetch.min.bytes',
  maxWaitTimeInMs: 'fetch.wait.max.ms',
  maxBytesPerPartition: 'max.partition.fetch.bytes',
  maxBytes: 'fetch.max.bytes',
  requestTimeout: 'socket.timeout.ms',
  connectionTimeout: 'socket.connection.setup.timeout.ms',
  retry: 'retry.backoff.ms',
  compression: 'compression.type',
  idempotent: 'enable.idempotence',
  transactionalId: 'transactional.id',
  transactionTimeout: 'transaction.timeout.ms',
  readUncommitted: 'isolation.level',
};

/** Checks keys and value types of a `kafka` block; `path` is where it sits in the options. */
export function validateKafkaSettings(settings: unknown, path: string): KafkaSettings {
  if (settings === null || typeof settings !== 'object' || Array.isArray(settings)) {
    throw new KarafkaConfigError(
      path,
      'must be an object of librdkafka-style keys',
      `pass e.g. { 'bootstrap.servers': 'localhost:9092' }`,
    );
  }
  const known = Object.keys(KNOWN_KAFKA_SETTINGS);
  for (const [key, value] of Object.entries(settings as Record<string, unknown>)) {
    const field = `${path}['${key}']`;
    if (key in ENGINE_OWNED) {
      throw new KarafkaConfigError(field, 'is managed by nestjs-karafka', ENGINE_OWNED[key]);
    }
    const kind = KNOWN_KAFKA_SETTINGS[key];
    if (!kind) {
      const fix = Object.hasOwn(KAFKAJS_NAMES, key)
        ? `this is a kafkajs option name; the librdkafka key is "${KAFKAJS_NAMES[key]}"`
        : didYouMean(key, known);
      throw new KarafkaConfigError(field, 'is not a supported kafka setting', fix);
    }
    if (value === undefined) continue;
    const expected = kind === 'secret' ? 'string' : kind;
    if (typeof value !== expected) {
      throw new KarafkaConfigError(
        field,
        `must be a ${expected}, got ${typeof value}`,
        `set it to a ${expected}`,
      );
    }
    if (expected === 'number' && (!Number.isFinite(value) || (value as number) < 0)) {
      throw new KarafkaConfigError(
        field,
        'must be a non-negative finite number',
        'use a number of milliseconds or bytes',
      );
    }
  }
  return settings as KafkaSettings;
}

/** A copy fit for logs and `karafka info`: secret values replaced. */
export function redactKafkaSettings(settings: KafkaSettings): KafkaSettings {
  const redacted: KafkaSettings = { ...settings };
  for (const key of SECRET_KAFKA_SETTINGS) {
    if (redacted[key] !== undefined) redacted[key] = '[redacted]';
  }
  return redacted;
}
