import type { ResolvedKarafkaOptions } from '../config/karafka-options.js';
import { clusterGroupId, clusterTopicName } from '../config/cluster-names.js';
import { KarafkaConfigError } from '../config/karafka-config.error.js';
import { jsonDeserializer } from '../consumer/deserializers.js';
import type { BaseConsumer } from '../consumer/base-consumer.js';
import type { BatchHandler } from './consumer-enhancers.js';
import { consumerOptionChecks, type ConsumerOptions } from './consumer-options.js';
import type { ConsumerGroup, Route, SubscriptionGroup } from './route.js';

/** A class found by the explorer, before its routes are resolved. */
export interface ConsumerDeclaration {
  className: string;
  topics: string[];
  options: ConsumerOptions;
  createConsumer(): Promise<BaseConsumer>;
  enhance?(consumer: BaseConsumer): BatchHandler;
}

const DEFAULT_SUBSCRIPTION_GROUP = 'default';

/**
 * Builds consumer groups, then subscription groups, then topics, as Karafka's routing does.
 * Topics of one group with the same client settings share a subscription group (one Kafka
 * consumer); different settings split an unnamed group, and conflict in a named one.
 */
export function buildConsumerGroups(
  declarations: ConsumerDeclaration[],
  options: ResolvedKarafkaOptions,
): ConsumerGroup[] {
  const routes = declarations.flatMap((declaration) => resolveRoutes(declaration, options));

  const owners = new Map<string, Route>();
  for (const route of routes) {
    const key = `${route.groupId}\u0000${route.topic}`;
    const owner = owners.get(key);
    if (owner) {
      throw new KarafkaConfigError(
        route.consumerClass,
        `routes topic "${route.name}" in consumer group "${route.groupId}", which ${owner.consumerClass} already consumes`,
        'route each topic once per consumer group, or give one of them another groupId',
      );
    }
    owners.set(key, route);
  }

  const groups = new Map<string, Map<string, SubscriptionGroup>>();
  for (const route of routes) {
    const byName = groups.get(route.groupId) ?? new Map<string, SubscriptionGroup>();
    groups.set(route.groupId, byName);
    const explicit = route.subscriptionGroup !== DEFAULT_SUBSCRIPTION_GROUP;
    const signature = routeSignature(route, options);
    let name = route.subscriptionGroup;
    for (let n = 2; ; n++) {
      const existing = byName.get(name);
      if (!existing || routeSignature(existing.routes[0], options) === signature) break;
      if (explicit) {
        throw new KarafkaConfigError(
          route.consumerClass,
          `routes "${route.name}" into subscription group "${name}" with kafka/maxWaitTime${perConsumerOffset(options) ? '/initialOffset' : ''} settings that differ from ${existing.routes[0].consumerClass}'s "${existing.routes[0].name}"`,
          'topics of one subscription group share one Kafka consumer: align their settings or use another subscriptionGroup',
        );
      }
      name = `${DEFAULT_SUBSCRIPTION_GROUP}-${n}`;
    }
    const group = byName.get(name) ?? {
      id: `${route.groupId}/${name}`,
      name,
      groupId: route.groupId,
      maxWaitTime: route.maxWaitTime,
      kafka: route.kafka,
      routes: [],
    };
    route.subscriptionGroup = name;
    group.routes.push(route);
    byName.set(name, group);
  }
  return [...groups].map(([id, byName]) => ({ id, subscriptionGroups: [...byName.values()] }));
}

/**
 * What the routes of one subscription group (one Kafka consumer) must share. librdkafka has one
 * `auto.offset.reset` per consumer, so there, as in Karafka (whose initial_offset is that key),
 * topics of other initial offsets go to a subscription group of their own.
 */
function routeSignature(route: Route, options: ResolvedKarafkaOptions): string {
  return JSON.stringify([
    route.maxWaitTime,
    Object.entries(route.kafka).sort(),
    perConsumerOffset(options) ? route.initialOffset : null,
  ]);
}

function perConsumerOffset(options: ResolvedKarafkaOptions): boolean {
  return options.driver === 'librdkafka';
}

function resolveRoutes(declaration: ConsumerDeclaration, options: ResolvedKarafkaOptions): Route[] {
  const { className, topics, options: routeOptions } = declaration;
  consumerOptionChecks(routeOptions, `${className} @Consumer options`);
  if (topics.length === 0) {
    throw new KarafkaConfigError(
      className,
      '@Consumer has no topic',
      "name at least one topic: @Consumer('orders')",
    );
  }
  return topics.map((name) => {
    if (typeof name !== 'string' || name.trim() === '') {
      throw new KarafkaConfigError(
        className,
        '@Consumer has an empty topic name',
        "name the topic: @Consumer('orders')",
      );
    }
    const topic = clusterTopicName(options, name);
    const dlq = routeOptions.deadLetterQueue;
    const dlqTopic = dlq ? clusterTopicName(options, dlq.topic) : undefined;
    if (dlqTopic === topic) {
      throw new KarafkaConfigError(
        `${className} deadLetterQueue.topic`,
        `is the consumed topic "${name}" itself`,
        'dead-letter into another topic, e.g. "' + name + '.dlq"',
      );
    }
    return {
      name,
      topic,
      consumerClass: className,
      groupId: clusterGroupId(options, routeOptions.groupId ?? options.groupId),
      subscriptionGroup: routeOptions.subscriptionGroup ?? DEFAULT_SUBSCRIPTION_GROUP,
      initialOffset: routeOptions.initialOffset ?? options.initialOffset,
      maxMessages: routeOptions.maxMessages ?? options.maxMessages,
      maxWaitTime: routeOptions.maxWaitTime ?? options.maxWaitTime,
      manualOffsetManagement: routeOptions.manualOffsetManagement ?? false,
      deserializer: routeOptions.deserializer ?? jsonDeserializer,
      active: routeOptions.active ?? true,
      pause: { ...options.pause, ...routeOptions.pause },
      deadLetterQueue:
        dlq && dlqTopic
          ? { topic: dlqTopic, maxRetries: dlq.maxRetries ?? 3, independent: dlq.independent ?? false }
          : undefined,
      kafka: { ...options.kafka, ...routeOptions.kafka },
      declaration: routeOptions.config,
      createConsumer: declaration.createConsumer,
      enhance: declaration.enhance,
    };
  });
}
