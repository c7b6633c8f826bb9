import type { KafkaSettings } from '../connection/kafka-client.js';
import type { InitialOffset, PauseOptions } from '../config/karafka-options.js';
import type { BaseConsumer } from '../consumer/base-consumer.js';
import type { Deserializer } from '../consumer/deserializers.js';
import type { BatchHandler } from './consumer-enhancers.js';
import type { TopicDeclaration } from './consumer-options.js';

export interface ResolvedDeadLetterQueue {
  /** The topic as written on the cluster (prefixed, mapped). */
  topic: string;
  maxRetries: number;
  independent: boolean;
}

/** One topic routed to one consumer class in one consumer group. */
export interface Route {
  /** The topic as the user wrote it. */
  name: string;
  /** The topic as written on the cluster (mapped, prefixed). */
  topic: string;
  consumerClass: string;
  groupId: string;
  subscriptionGroup: string;
  initialOffset: InitialOffset;
  maxMessages: number;
  maxWaitTime: number;
  manualOffsetManagement: boolean;
  deserializer: Deserializer;
  active: boolean;
  pause: PauseOptions;
  deadLetterQueue?: ResolvedDeadLetterQueue;
  kafka: KafkaSettings;
  declaration?: TopicDeclaration;
  /** Builds a fresh instance through Nest's injector, in the class's own module. */
  createConsumer(): Promise<BaseConsumer>;
  /** Wraps an instance's `consume` in the Nest enhancers its class declares; absent when it declares none. */
  enhance?(consumer: BaseConsumer): BatchHandler;
}

/** Topics of one consumer group that share one Kafka consumer client. */
export interface SubscriptionGroup {
  /** Unique in the app: `<groupId>/<name>`. */
  id: string;
  name: string;
  groupId: string;
  maxWaitTime: number;
  kafka: KafkaSettings;
  routes: Route[];
}

export interface ConsumerGroup {
  id: string;
  subscriptionGroups: SubscriptionGroup[];
}
