// The public API: what users call and the types they name. Engine internals (the route table,
// the job registry, listener states, the liveness server) are reached only inside the package.
export { KarafkaModule } from './karafka.module.js';
export { KARAFKA_OPTIONS } from './karafka.constants.js';
export type {
  AdminOptions,
  CriticalErrorPolicy,
  InitialOffset,
  KarafkaLogLevel,
  KarafkaModuleOptions,
  LivenessOptions,
  NameMapper,
  OAuthOptions,
  OAuthToken,
  OAuthTokenFailure,
  PauseOptions,
  ResolvedKarafkaOptions,
  SwarmOptions,
} from './config/karafka-options.js';
export { KarafkaConfigError } from './config/karafka-config.error.js';
export { herokuKafkaConfig, type HerokuKafkaConfig } from './config/heroku.js';
export { OAuthTokenError } from './connection/oauth-bearer.js';
export type { KafkaSettings, KafkaSettingValue, RawHeaders } from './connection/kafka-client.js';

export { Consumer } from './routing/consumer.decorator.js';
export { KarafkaBatchContext, KAFKA_CONTEXT_TYPE } from './routing/consumer-enhancers.js';
export type {
  ConsumerOptions,
  DeadLetterQueueOptions,
  TopicDeclaration,
} from './routing/consumer-options.js';

export { BaseConsumer } from './consumer/base-consumer.js';
export { Message } from './consumer/message.js';
export { Messages, type BatchMetadata } from './consumer/messages.js';
export {
  DeserializationError,
  jsonDeserializer,
  rawDeserializer,
  stringDeserializer,
  type Deserializer,
  type DeserializerInput,
} from './consumer/deserializers.js';

export { KarafkaRunner, type EngineStatus } from './processing/karafka-runner.js';
export { DLQ_HEADERS } from './processing/dead-letter-dispatcher.js';

export { KarafkaMonitor, type KarafkaEventHandler } from './instrumentation/karafka-monitor.js';
export { OnKarafkaEvent } from './instrumentation/on-karafka-event.decorator.js';
export * from './instrumentation/karafka-events.js';

export { KarafkaPrometheusModule } from './telemetry/prometheus/karafka-prometheus.module.js';
export {
  KarafkaPrometheus,
  type KarafkaPrometheusOptions,
  type PrometheusRegistry,
} from './telemetry/prometheus/karafka-prometheus.js';

export { KarafkaHealthIndicator } from './health/karafka-health.indicator.js';
export {
  LivenessTracker,
  type LivenessReport,
  type ReadinessReport,
  type RunningJobHealth,
  type SubscriptionGroupHealth,
} from './health/liveness-tracker.js';
export {
  summarizeLiveness,
  type LivenessSummary,
  type SubscriptionGroupSummary,
} from './health/liveness-summary.js';
export { KarafkaProducer, ProduceError, type ProduceMessage } from './producer/karafka-producer.js';
export { ConsumerTransaction, KarafkaTransaction } from './producer/karafka-transaction.js';
export {
  KarafkaProducerModule,
  InjectProducer,
  getProducerToken,
  type CustomProducerAsyncOptions,
} from './producer/karafka-producer.module.js';
export type { CustomProducerOptions } from './producer/producer-options.js';
export {
  KarafkaAdmin,
  ADMIN_GROUP_ID,
  type GroupPosition,
  type PartitionLag,
  type TopicInfo,
} from './admin/karafka-admin.js';
export { TopicsManager, type TopicsPlan } from './admin/topics-manager.js';
export { KarafkaAdminError } from './admin/admin-error.js';
export type {
  ClusterInfo,
  GroupDescription,
  GroupMember,
  PartitionInfo,
  TopicSpec,
  Watermarks,
} from './connection/kafka-client.js';
