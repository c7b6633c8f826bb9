import type { KafkaSettings } from '../connection/kafka-client.js';

/** Where a new consumer group starts reading a partition with no committed offset. */
export type InitialOffset = 'earliest' | 'latest';

/** Karafka's `pause_timeout`, `pause_max_timeout` and `pause_with_exponential_backoff`. */
export interface PauseOptions {
  /** First pause after an error, in ms. Default 1,000. */
  timeout: number;
  /** Longest pause, in ms. Default 30,000. */
  maxTimeout: number;
  /** Double the pause on each consecutive error. Default true. */
  withExponentialBackoff: boolean;
}

/** Karafka's Kubernetes liveness thresholds, and the optional standalone HTTP listener. */
export interface LivenessOptions {
  /**
   * When set, a minimal HTTP server answers any path on this port with 204 (healthy) or 500 and
   * the reasons as JSON, while the engine runs: for processes with no Nest HTTP server.
   */
  port?: number;
  /** Interface of that server. Default: all interfaces. */
  hostname?: string;
  /** Unhealthy when a subscription group has not polled for this long, in ms. Default 300,000. */
  pollingTtl: number;
  /** Unhealthy when one consume/revoked/shutdown job runs for this long, in ms. Default 300,000. */
  consumingTtl: number;
  /**
   * `karafka swarm` only (Karafka's `controlling_ttl`): the supervisor's liveness listener answers
   * 500 when its control loop has not run for this long, in ms. Default 60,000.
   */
  controllingTtl: number;
}

/** `karafka swarm`: how the supervisor runs and watches its nodes (Karafka's `config.swarm`). */
export interface SwarmOptions {
  /** Node processes to fork. Default: the CPU count (`--nodes` wins). */
  nodes: number;
  /** A node whose resident memory exceeds this many MB is stopped and replaced. Default: no limit. */
  nodeMemoryLimit?: number;
  /** A node silent for this long (no report over IPC) is stopped and replaced, in ms. Default 60,000. */
  nodeReportTimeout: number;
  /** How long a dead node stays dead before the supervisor starts it again, in ms. Default 5,000. */
  nodeRestartTimeout: number;
}

/** Maps the names users write to the names used on the cluster (Heroku's KAFKA_PREFIX, environments). */
export interface NameMapper {
  topic?(name: string): string;
  consumerGroup?(name: string): string;
}

/**
 * What to do when the engine fails for good (the client crashed and will not restart,
 * authentication keeps failing): `'log'` leaves it to the host (health turns DOWN), `'exit'`
 * exits the process non-zero so systemd or Kubernetes restarts it, or a function of yours.
 */
export type CriticalErrorPolicy = 'log' | 'exit' | ((error: Error) => void);

/**
 * How much nestjs-karafka logs, most severe first; each level includes the ones before it.
 * `'info'` (the default, as Karafka's LoggerListener) keeps a healthy app's console quiet:
 * lifecycle, rebalances, pauses and errors. `'debug'` adds revoked and shutdown jobs;
 * `'verbose'` adds a line per fetch and per batch and kafkajs's own protocol trace.
 */
export type KarafkaLogLevel = 'error' | 'warn' | 'info' | 'debug' | 'verbose';

/** OAUTHBEARER token as Karafka's `oauthbearer_set_token(token:, lifetime_ms:, principal_name:)` takes it. */
export type OAuthToken = {
  /** The token sent to the broker, e.g. a JWT. */
  token: string;
  /**
   * When the token expires: ms since the epoch, as librdkafka's `lifetime_ms` (e.g. a JWT's
   * `exp * 1000`), or, for values below 10^12, a duration in ms from now.
   */
  lifetimeMs: number;
} & (
  | {
      /** The principal the token stands for (`principal_name`); reported in `oauthbearer.token_refresh`. */
      principalName: string;
    }
  | {
      /** @deprecated Use `principalName`, Karafka's `principal_name`. Still read when `principalName` is absent. */
      principal: string;
    }
);

/**
 * Karafka's `oauthbearer_set_token_failure(reason)`: no token this time, and why. The reason is
 * logged, published in `error.occurred` and shown in health. Throwing an error does the same.
 */
export interface OAuthTokenFailure {
  failureReason: string;
}

export interface OAuthOptions {
  /** Called whenever a token is needed or due: return a token, or a failure with its reason (or throw). */
  tokenProvider: () => Promise<OAuthToken | OAuthTokenFailure> | OAuthToken | OAuthTokenFailure;
}

/** Karafka's `config.admin`. */
export interface AdminOptions {
  /**
   * The consumer group `KarafkaAdmin` reads topics with (Karafka's `config.admin.group_id`),
   * prefixed like every group. One fixed group, so Heroku's multi-tenant plans, where groups
   * must be created in advance, can have it. Default 'karafka_admin'.
   */
  groupId: string;
}

/**
 * The Kafka client library under the engine. `'kafkajs'` (the default) is pure JavaScript and
 * installs with the package; `'librdkafka'` runs on librdkafka through the optional peer
 * `@confluentinc/kafka-javascript` (Karafka's own client): static membership (`group.instance.id`),
 * cooperative-sticky rebalances and KIP-848's `group.protocol: 'consumer'`.
 */
export type KarafkaDriver = 'kafkajs' | 'librdkafka';

/** Options of `KarafkaModule.forRoot`. Only `kafka['bootstrap.servers']` is required. */
export interface KarafkaModuleOptions {
  /** librdkafka-style settings, as Karafka's `config.kafka`. */
  kafka: KafkaSettings;
  /**
   * The Kafka client library of every consumer, producer, admin and DLQ of the module. Default
   * the `KARAFKA_DRIVER` environment variable, else 'kafkajs'.
   */
  driver?: KarafkaDriver;
  /** Default 'karafka'. */
  clientId?: string;
  /** Default consumer group id. Default 'app'. */
  groupId?: string;
  /** Batches processed at once across all partitions. Default 5. */
  concurrency?: number;
  /** Most messages handed to one `consume` call. Default 100. */
  maxMessages?: number;
  /** Longest wait of one fetch when no data is there, in ms. Default 1,000. */
  maxWaitTime?: number;
  /** How long stop waits for in-flight work, in ms. Default 60,000; must exceed maxWaitTime. */
  shutdownTimeout?: number;
  /** Default 'earliest'. */
  initialOffset?: InitialOffset;
  /** Start the engine when the Nest app bootstraps. Default true. */
  autoStart?: boolean;
  /** Prepended to every topic and consumer group id (Heroku's KAFKA_PREFIX). */
  prefix?: string;
  /** Maps topic and group names; applied before `prefix`. */
  names?: NameMapper;
  pause?: Partial<PauseOptions>;
  liveness?: Partial<LivenessOptions>;
  /** Default 'log'; the `karafka server` CLI uses 'exit'. */
  onCriticalError?: CriticalErrorPolicy;
  /**
   * Create the topics declared with `@Consumer(topic, { config: { partitions } })` (and their DLQ
   * topics) when they are missing, before consuming starts. Default false.
   */
  declareTopics?: boolean;
  /**
   * Log lifecycle, rebalances and errors through Nest's Logger. Default true. With false nothing is
   * logged but the engine's own errors (it failed for good, declareTopics failed), never silent.
   */
  logging?: boolean;
  /** How much to log when `logging` is on. Default 'info'. */
  logLevel?: KarafkaLogLevel;
  /**
   * The host's own shutdown deadline in ms, if it has one: a warning is logged when it is shorter
   * than shutdownTimeout plus @nestjs/terminus's gracefulShutdownTimeoutMs (a delay before the stop).
   */
  hostShutdownTimeout?: number;
  oauth?: OAuthOptions;
  admin?: Partial<AdminOptions>;
  /** `karafka swarm`'s supervision; ignored elsewhere. */
  swarm?: Partial<SwarmOptions>;
}

/** Options after defaults were applied and validation passed. */
export interface ResolvedKarafkaOptions extends Required<
  Omit<
    KarafkaModuleOptions,
    'names' | 'pause' | 'liveness' | 'hostShutdownTimeout' | 'oauth' | 'prefix' | 'admin' | 'swarm'
  >
> {
  prefix: string;
  admin: AdminOptions;
  swarm: SwarmOptions;
  names: NameMapper;
  pause: PauseOptions;
  liveness: LivenessOptions;
  hostShutdownTimeout?: number;
  oauth?: OAuthOptions;
}

export const DEFAULT_PAUSE: PauseOptions = {
  timeout: 1_000,
  maxTimeout: 30_000,
  withExponentialBackoff: true,
};
export const DEFAULT_ADMIN: AdminOptions = { groupId: 'karafka_admin' };
export const DEFAULT_LIVENESS: LivenessOptions = {
  pollingTtl: 300_000,
  consumingTtl: 300_000,
  controllingTtl: 60_000,
};
/** The swarm's defaults but `nodes`, the CPU count of the machine it runs on. */
export const DEFAULT_SWARM = { nodeReportTimeout: 60_000, nodeRestartTimeout: 5_000 } as const;

export const DEFAULT_OPTIONS = {
  clientId: 'karafka',
  groupId: 'app',
  concurrency: 5,
  maxMessages: 100,
  maxWaitTime: 1_000,
  shutdownTimeout: 60_000,
  initialOffset: 'earliest',
  autoStart: true,
  prefix: '',
  onCriticalError: 'log',
  logging: true,
  logLevel: 'info',
  declareTopics: false,
  driver: 'kafkajs',
} as const satisfies Partial<KarafkaModuleOptions>;
