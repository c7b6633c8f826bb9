import { availableParallelism } from 'node:os';
import { KarafkaConfigError } from './karafka-config.error.js';
import { processOverrides } from './process-overrides.js';
import { validateKafkaSettings } from './kafka-settings.js';
import {
  DEFAULT_ADMIN,
  DEFAULT_LIVENESS,
  DEFAULT_OPTIONS,
  DEFAULT_PAUSE,
  DEFAULT_SWARM,
  type KarafkaDriver,
  type KarafkaModuleOptions,
  type ResolvedKarafkaOptions,
} from './karafka-options.js';
import { LOG_LEVELS } from './log-levels.js';
import {
  boolean,
  either,
  func,
  milliseconds,
  nonEmptyString,
  oneOf,
  nonNegativeInteger,
  positiveInteger,
  shape,
} from './option-checks.js';

const DRIVERS: readonly KarafkaDriver[] = ['kafkajs', 'librdkafka'];

export const pauseChecks = shape({
  timeout: milliseconds,
  maxTimeout: milliseconds,
  withExponentialBackoff: boolean,
});

const moduleChecks = shape({
  kafka: (value, path) => void validateKafkaSettings(value, path),
  driver: oneOf(...DRIVERS),
  clientId: nonEmptyString,
  groupId: nonEmptyString,
  concurrency: positiveInteger,
  maxMessages: positiveInteger,
  maxWaitTime: milliseconds,
  shutdownTimeout: milliseconds,
  initialOffset: oneOf('earliest', 'latest'),
  autoStart: boolean,
  prefix: (value, path) => {
    if (typeof value !== 'string')
      throw new KarafkaConfigError(path, 'must be a string', "use e.g. 'smoothboulder-1234.' or ''");
  },
  names: shape({ topic: func, consumerGroup: func }),
  pause: pauseChecks,
  liveness: shape({
    pollingTtl: milliseconds,
    consumingTtl: milliseconds,
    controllingTtl: milliseconds,
    port: nonNegativeInteger,
    hostname: nonEmptyString,
  }),
  onCriticalError: either(`'log', 'exit' or a function`, oneOf('log', 'exit'), func),
  logging: boolean,
  logLevel: oneOf(...LOG_LEVELS),
  declareTopics: boolean,
  hostShutdownTimeout: milliseconds,
  oauth: shape({ tokenProvider: func }),
  admin: shape({ groupId: nonEmptyString }),
  swarm: shape({
    nodes: positiveInteger,
    nodeMemoryLimit: positiveInteger,
    nodeReportTimeout: milliseconds,
    nodeRestartTimeout: milliseconds,
  }),
});

/**
 * Applies Karafka's defaults and checks every option. Throws {@link KarafkaConfigError} naming
 * the field and the fix, at boot, so nothing fails later instead.
 */
export function resolveKarafkaOptions(options: KarafkaModuleOptions): ResolvedKarafkaOptions {
  if (options === null || typeof options !== 'object') {
    throw new KarafkaConfigError(
      'KarafkaModule options',
      'are missing',
      "pass { kafka: { 'bootstrap.servers': 'localhost:9092' } }",
    );
  }
  moduleChecks(options, '');
  const fromEnvironment = process.env.KARAFKA_DRIVER;
  if (fromEnvironment !== undefined && fromEnvironment !== '')
    oneOf(...DRIVERS)(fromEnvironment, 'KARAFKA_DRIVER');
  if (options.kafka === undefined) {
    throw new KarafkaConfigError('kafka', 'is required', "pass kafka: { 'bootstrap.servers': 'host:9092' }");
  }
  const { defaults = {}, forced = {}, withoutLivenessListener } = processOverrides();
  const resolved: ResolvedKarafkaOptions = {
    ...DEFAULT_OPTIONS,
    ...(fromEnvironment ? { driver: fromEnvironment as KarafkaDriver } : {}),
    ...stripUndefined(defaults),
    ...stripUndefined(options),
    ...stripUndefined(forced),
    names: options.names ?? {},
    pause: { ...DEFAULT_PAUSE, ...stripUndefined(options.pause ?? {}) },
    admin: { ...DEFAULT_ADMIN, ...stripUndefined(options.admin ?? {}) },
    swarm: {
      nodes: availableParallelism(),
      ...DEFAULT_SWARM,
      ...stripUndefined(options.swarm ?? {}),
    },
    liveness: {
      ...DEFAULT_LIVENESS,
      ...stripUndefined(defaults.liveness ?? {}),
      ...stripUndefined(options.liveness ?? {}),
      ...stripUndefined(forced.liveness ?? {}),
    },
  };
  if (withoutLivenessListener) {
    delete resolved.liveness.port;
    delete resolved.liveness.hostname;
  }
  if (resolved.shutdownTimeout <= resolved.maxWaitTime) {
    throw new KarafkaConfigError(
      'shutdownTimeout',
      `(${resolved.shutdownTimeout} ms) must exceed maxWaitTime (${resolved.maxWaitTime} ms), or a stop could time out while one fetch is still waiting`,
      'raise shutdownTimeout or lower maxWaitTime',
    );
  }
  if (resolved.pause.maxTimeout < resolved.pause.timeout) {
    throw new KarafkaConfigError(
      'pause.maxTimeout',
      `(${resolved.pause.maxTimeout} ms) is below pause.timeout (${resolved.pause.timeout} ms)`,
      'make maxTimeout at least timeout',
    );
  }
  if (resolved.kafka['bootstrap.servers'] === undefined) {
    throw new KarafkaConfigError(
      "kafka['bootstrap.servers']",
      'is required',
      "set it to a comma list of host:port, e.g. 'localhost:9092'",
    );
  }
  return resolved;
}

export function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
