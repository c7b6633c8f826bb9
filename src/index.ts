export { KarafkaModule } from './karafka.module.js';
export { KARAFKA_OPTIONS } from './karafka.constants.js';
export type {
  AdminOptions,
  CriticalErrorPolicy,
  InitialOffset,
  KarafkaModuleOptions,
  LivenessOptions,
  NameMapper,
  OAuthOptions,
  OAuthToken,
  OAuthTokenFailure,
  PauseOptions,
  ResolvedKarafkaOptions,
} from './config/karafka-options.js';
export { KarafkaConfigError } from './config/karafka-config.error.js';
export { herokuKafkaConfig, type HerokuKafkaConfig } from './config/heroku.js';
export { OAuthTokenError } from './connection/oauth-bearer.js';
export type { KafkaSettings, KafkaSettingValue, RawHeaders } from './connection/kafka-client.js';

export { Consumer } from './routing/consumer.decorator.js';
export type {
  ConsumerOptions,
  DeadLetterQueueOptions,
  TopicDeclaration,
} from './routing/consumer-options.js';
export { RouteTable } from './routing/route-table.js';
export type { ConsumerGroup, Route, SubscriptionGroup } from './routing/route.js';

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
export type { ListenerState, ListenerStatus } from './processing/subscription-group-listener.js';
export { JobRegistry, type RunningJob } from './processing/job-registry.js';
export { DLQ_HEADERS } from './processing/dead-letter-dispatcher.js';

export { KarafkaMonitor, type KarafkaEventHandler } from './instrumentation/karafka-monitor.js';
export { OnKarafkaEvent } from './instrumentation/on-karafka-event.decorator.js';
export * from './instrumentation/karafka-events.js';

export { KarafkaHealthIndicator } from './health/karafka-health.indicator.js';
export {
  LivenessTracker,
  type LivenessReport,
  type ReadinessReport,
  type RunningJobHealth,
  type SubscriptionGroupHealth,
} from './health/liveness-tracker.js';
export { LivenessServer, type LivenessServerOptions } from './health/liveness-server.js';
export { KarafkaLivenessListener } from './health/liveness-listener.js';
export { KarafkaProducer, ProduceError, type ProduceMessage } from './producer/karafka-producer.js';
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
