import { KafkaClientError, type ConsumerClient } from '../../src/connection/kafka-client.js';
import {
  InMemoryClientFactory,
  InMemoryConsumerClient,
  InMemoryKafka,
} from '../support/in-memory-kafka/index.js';
import type { ConformanceHarness } from './harness.js';

/** The in-memory driver in the contract suite: a fresh cluster for each case. */
export function inMemoryHarness(): ConformanceHarness {
  let kafka = new InMemoryKafka();
  let factory = new InMemoryClientFactory(kafka);
  const asInMemory = (client: ConsumerClient) => {
    if (!(client instanceof InMemoryConsumerClient)) throw new Error('not an in-memory consumer');
    return client;
  };
  return {
    eager: true,
    maxWaitTime: 20,
    timeoutMs: 2_000,
    settleMs: 30,
    knownGaps: {
      'room() waits while the queue is past queue.buffering.max.messages; produce never refuses':
        'the in-memory producer has no queue limits',
      'a transaction commits its messages and offsets together, or aborts them':
        'the in-memory cluster has no transactions',
    },
    async beforeEach() {
      kafka = new InMemoryKafka();
      factory = new InMemoryClientFactory(kafka);
    },
    factory: () => factory,
    kafka: () => ({ 'bootstrap.servers': kafka.bootstrapServers }),
    async createTopic(topic, partitions) {
      kafka.createTopic(topic, partitions);
    },
    async produce(topic, partition, values) {
      kafka.produce(topic, partition, values);
    },
    async groupMembers(groupId) {
      return kafka
        .group(groupId)
        .describe()
        .members.map((m) => m.clientId);
    },
    async moveLogStart(topic, partition, offset) {
      kafka.deleteRecordsBefore(topic, partition, offset);
    },
    async compact(topic, partition, offsets) {
      kafka.compact(topic, partition, offsets);
    },
    async produceTransaction(topic, partition, values, outcome) {
      kafka.produceTransaction(topic, partition, values, outcome);
    },
    async produceUndecodable(topic, partition) {
      kafka.produceUndecodable(topic, partition);
    },
    async crash(client, retriable) {
      asInMemory(client).crash(
        new KafkaClientError(
          retriable ? 'Connection to the broker was lost' : 'Cluster authorization failed',
          {
            retriable,
            code: retriable ? undefined : 'CLUSTER_AUTHORIZATION_FAILED',
          },
        ),
      );
    },
    async holdJoins(groupId) {
      const release = kafka.holdRebalances(groupId);
      return { undo: async () => release() };
    },
    async conflictingMember(groupId) {
      const remove = kafka.addConflictingMember(groupId);
      return { undo: async () => remove() };
    },
    unreachableKafka: () => ({ 'bootstrap.servers': 'localhost:1' }),
    liveTimers: (client) => asInMemory(client).liveTimers,
  };
}
