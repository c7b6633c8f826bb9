import type { TopicPartition } from '../connection/kafka-client.js';

/** Karafka's process states. */
export type AppState = 'initialized' | 'running' | 'quieting' | 'quiet' | 'stopping' | 'stopped';

export interface AppStateEvent {
  state: AppState;
}

/** Where an event happened: a subscription group and, for partition events, the partition. */
export interface SubscriptionGroupEvent {
  /** `<groupId>/<subscription group name>` */
  subscriptionGroup: string;
  groupId: string;
}

export interface PartitionEvent extends SubscriptionGroupEvent, TopicPartition {
  consumerClass: string;
}

export interface FetchReceivedEvent extends SubscriptionGroupEvent, TopicPartition {
  messagesCount: number;
  highWatermark: number;
}

export type JobKind = 'consume' | 'revoked' | 'shutdown';

export interface JobEvent extends PartitionEvent {
  job: JobKind;
  /** Set for consume jobs. */
  firstOffset?: number;
  lastOffset?: number;
  size?: number;
  attempt?: number;
}

export interface JobDoneEvent extends JobEvent {
  durationMs: number;
  /** Consume jobs: the timestamp of the batch's last message, in ms since the epoch (time lag). */
  lastTimestamp?: number;
}

export interface PauseEvent extends PartitionEvent {
  /** Where fetching resumes. */
  offset: number;
  timeoutMs: number;
  attempt: number;
}

export interface RetryEvent extends PartitionEvent {
  offset: number;
  attempt: number;
}

export interface DeadLetterEvent extends PartitionEvent {
  offset: number;
  deadLetterTopic: string;
  attempt: number;
  error: Error;
}

export interface RebalanceEvent extends SubscriptionGroupEvent {
  partitions: TopicPartition[];
}

export interface PartitionStatistics extends TopicPartition {
  /** Next offset the engine will process. */
  offset: number;
  /** Last committed offset, when known. */
  committedOffset?: number;
  highWatermark: number;
  /** Messages behind the high watermark. */
  lag: number;
}

export interface StatisticsEvent extends SubscriptionGroupEvent {
  partitions: PartitionStatistics[];
  /**
   * The client library's own statistics, as it last emitted them: librdkafka's statistics JSON
   * (Karafka's `statistics.emitted` payload) with `driver: 'librdkafka'`; absent with kafkajs.
   */
  client?: Record<string, unknown>;
}

/** The `type` of an `error.occurred` event, as Karafka's. */
export type ErrorType =
  | 'consumer.consume.error'
  | 'consumer.initialized.error'
  | 'consumer.revoked.error'
  | 'consumer.shutdown.error'
  | 'consumer.commit.error'
  | 'dead_letter_queue.dispatch.error'
  | 'producer.produce.error'
  | 'connection.client.error'
  | 'oauthbearer.token_refresh.error'
  | 'app.stopping.error'
  | 'monitor.subscriber.error';

export interface ErrorEvent extends Partial<PartitionEvent> {
  type: ErrorType;
  error: Error;
  /** True when the engine (or one subscription group) gave up: liveness turns DOWN. */
  fatal: boolean;
  offset?: number;
  /** A hint for a known cause (authentication, unreachable broker, authorization, ...). */
  hint?: string;
}

export interface OAuthTokenRefreshEvent {
  principal: string;
  lifetimeMs: number;
}

/** Every event the monitor publishes, with its payload. */
export interface KarafkaEventMap {
  'app.initialized': AppStateEvent;
  'app.running': AppStateEvent;
  'app.quieting': AppStateEvent;
  'app.quiet': AppStateEvent;
  'app.stopping': AppStateEvent;
  'app.stopped': AppStateEvent;
  'connection.listener.fetch_loop': SubscriptionGroupEvent;
  'connection.listener.fetch_loop.received': FetchReceivedEvent;
  'consumer.consume': JobEvent;
  'consumer.consumed': JobDoneEvent;
  'consumer.revoke': JobEvent;
  'consumer.revoked': JobDoneEvent;
  'consumer.shutting_down': JobEvent;
  'consumer.shutdown': JobDoneEvent;
  'consumer.consuming.pause': PauseEvent;
  'consumer.consuming.retry': RetryEvent;
  'dead_letter_queue.dispatched': DeadLetterEvent;
  'rebalance.partitions_assigned': RebalanceEvent;
  'rebalance.partitions_revoked': RebalanceEvent;
  'statistics.emitted': StatisticsEvent;
  'oauthbearer.token_refresh': OAuthTokenRefreshEvent;
  'error.occurred': ErrorEvent;
}

export type KarafkaEventName = keyof KarafkaEventMap;

/** The documented event names, for tooling and tests. */
export const KARAFKA_EVENT_NAMES: readonly KarafkaEventName[] = [
  'app.initialized',
  'app.running',
  'app.quieting',
  'app.quiet',
  'app.stopping',
  'app.stopped',
  'connection.listener.fetch_loop',
  'connection.listener.fetch_loop.received',
  'consumer.consume',
  'consumer.consumed',
  'consumer.revoke',
  'consumer.revoked',
  'consumer.shutting_down',
  'consumer.shutdown',
  'consumer.consuming.pause',
  'consumer.consuming.retry',
  'dead_letter_queue.dispatched',
  'rebalance.partitions_assigned',
  'rebalance.partitions_revoked',
  'statistics.emitted',
  'oauthbearer.token_refresh',
  'error.occurred',
];
