import type { KafkaSettings } from '../connection/kafka-client.js';
import type { ConsumerGroup } from '../routing/route.js';

/**
 * Static membership in a swarm: N nodes run the same routes, so one `group.instance.id` would be
 * claimed N times. Each node suffixes it with its index, `<id>-<index>`: distinct across the
 * nodes, and the same for the node that replaces a dead one, so it keeps its partitions.
 */
export function nodeKafkaSettings(kafka: KafkaSettings, nodeIndex: number): KafkaSettings {
  const instanceId = kafka['group.instance.id'];
  if (instanceId === undefined) return kafka;
  return { ...kafka, 'group.instance.id': `${String(instanceId)}-${nodeIndex}` };
}

/** The routes of node `nodeIndex`: every subscription group's (and route's) settings suffixed. */
export function nodeConsumerGroups(groups: readonly ConsumerGroup[], nodeIndex: number): ConsumerGroup[] {
  return groups.map((group) => ({
    ...group,
    subscriptionGroups: group.subscriptionGroups.map((subscriptionGroup) => ({
      ...subscriptionGroup,
      kafka: nodeKafkaSettings(subscriptionGroup.kafka, nodeIndex),
      routes: subscriptionGroup.routes.map((route) => ({
        ...route,
        kafka: nodeKafkaSettings(route.kafka, nodeIndex),
      })),
    })),
  }));
}
