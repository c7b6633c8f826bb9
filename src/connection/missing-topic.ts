import { KafkaClientError } from './kafka-client.js';

/** How often topics missing at subscribe time are looked for, unless topic.metadata.refresh.interval.ms says. */
export const MISSING_TOPICS_CHECK_MS = 10_000;

/** The warning of a subscribed topic the cluster does not have: the others are consumed meanwhile. */
export function missingTopicWarning(topic: string): KafkaClientError {
  return new KafkaClientError(`topic ${topic} does not exist`, {
    retriable: true,
    code: 'UNKNOWN_TOPIC_OR_PARTITION',
    topic,
    hint: 'create the topic (npx karafka topics create, or declareTopics: true), or fix the @Consumer topic name; the other topics are consumed meanwhile, and this one once it exists',
  });
}
