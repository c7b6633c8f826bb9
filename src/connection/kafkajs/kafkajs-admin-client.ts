import { AssignerProtocol, Kafka, type Admin } from 'kafkajs';
import type {
  AdminClient,
  ClusterInfo,
  GroupDescription,
  PartitionInfo,
  RawMessage,
  TopicPartition,
  TopicPartitionOffset,
  TopicSpec,
  Watermarks,
} from '../kafka-client.js';
import { lastOffsetToRead } from '../admin-read.js';
import { untilPartitionsLed } from '../partitions-ready.js';
import type { KafkajsSettings } from './kafkajs-settings.js';

const TIMEOUT_MS = 30_000;

export class KafkajsAdminClient implements AdminClient {
  private readonly kafka: Kafka;
  private readonly admin: Admin;

  constructor(clientId: string, mapped: KafkajsSettings) {
    this.kafka = new Kafka({
      clientId,
      ...mapped.client,
      ...mapped.logging,
    });
    this.admin = this.kafka.admin();
  }

  connect(): Promise<void> {
    return this.admin.connect();
  }

  disconnect(): Promise<void> {
    return this.admin.disconnect();
  }

  async clusterInfo(): Promise<ClusterInfo> {
    const { brokers, controller, clusterId } = await this.admin.describeCluster();
    return {
      clusterId,
      controller,
      brokers: brokers.map(({ nodeId, host, port }) => ({ nodeId, host, port })),
    };
  }

  listTopics(): Promise<string[]> {
    return this.admin.listTopics();
  }

  async createTopics(topics: TopicSpec[]): Promise<void> {
    await this.admin.createTopics({
      waitForLeaders: true,
      topics: topics.map(({ name, partitions, replicationFactor, config }) => ({
        topic: name,
        numPartitions: partitions,
        replicationFactor,
        configEntries: Object.entries(config ?? {}).map(([name, value]) => ({ name, value })),
      })),
    });
  }

  async deleteTopics(names: string[]): Promise<void> {
    await this.admin.deleteTopics({ topics: names });
  }

  async createPartitions(name: string, count: number): Promise<void> {
    await this.admin.createPartitions({ topicPartitions: [{ topic: name, count }] });
    await untilPartitionsLed(name, count, () => this.partitions(name), TIMEOUT_MS);
  }

  async partitions(name: string): Promise<PartitionInfo[]> {
    const { topics } = await this.admin.fetchTopicMetadata({ topics: [name] });
    return topics[0].partitions
      .map(({ partitionId, leader, replicas, isr }) => ({ partition: partitionId, leader, replicas, isr }))
      .sort((a, b) => a.partition - b.partition);
  }

  async watermarks(name: string): Promise<Watermarks[]> {
    const offsets = await this.admin.fetchTopicOffsets(name);
    return offsets
      .map(({ partition, low, high }) => ({ partition, low: Number(low), high: Number(high) }))
      .sort((a, b) => a.partition - b.partition);
  }

  async committedOffsets(groupId: string, topics?: string[]): Promise<TopicPartitionOffset[]> {
    // Without topics, kafkajs asks for all of them (a null topic array, OffsetFetch v3+).
    const results = await this.admin.fetchOffsets({ groupId, topics });
    return results
      .flatMap(({ topic, partitions }) =>
        partitions.map(({ partition, offset }) => ({ topic, partition, offset: Number(offset) })),
      )
      .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  async setCommittedOffsets(groupId: string, positions: TopicPartitionOffset[]): Promise<void> {
    const byTopic = new Map<string, { partition: number; offset: string }[]>();
    for (const { topic, partition, offset } of positions) {
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), { partition, offset: String(offset) }]);
    }
    for (const [topic, partitions] of byTopic) await this.admin.setOffsets({ groupId, topic, partitions });
  }

  async describeGroup(groupId: string): Promise<GroupDescription> {
    const {
      groups: [group],
    } = await this.admin.describeGroups([groupId]);
    return {
      groupId,
      state: group.state,
      members: group.members.map(({ memberId, clientId, clientHost, memberAssignment }) => ({
        memberId,
        clientId,
        host: clientHost,
        assignment: decodeAssignment(group.protocolType, memberAssignment),
      })),
    };
  }

  async read(
    topic: string,
    partition: number,
    offset: number,
    count: number,
    groupId: string,
  ): Promise<RawMessage[]> {
    const { high } = (await this.watermarks(topic)).find((w) => w.partition === partition) ?? { high: 0 };
    const end = lastOffsetToRead(high, offset, count);
    if (end < offset) return [];
    const consumer = this.kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
    const messages: RawMessage[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `reading ${topic}/${partition} from ${offset}: only ${messages.length} of up to ${count} messages within ${TIMEOUT_MS} ms`,
              ),
            ),
          TIMEOUT_MS,
        );
        const fail = (error: Error) => {
          clearTimeout(timer);
          reject(error);
        };
        // The admin group never commits: place it at `offset` and fetch nothing else.
        consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
          const others = (payload.memberAssignment[topic] ?? []).filter((p) => p !== partition);
          if (others.length > 0) consumer.pause([{ topic, partitions: others }]);
          consumer.seek({ topic, partition, offset: String(offset) });
        });
        consumer.on(consumer.events.CRASH, ({ payload }) => fail(payload.error));
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              if (batch.partition !== partition) return;
              for (const message of batch.messages) {
                const at = Number(message.offset);
                // Never twice, should a batch fetched before the seek overlap a later one.
                const from = messages.length > 0 ? messages[messages.length - 1].offset + 1 : offset;
                if (at < from || at > end) continue;
                messages.push({
                  offset: at,
                  key: message.key,
                  value: message.value,
                  headers: message.headers ?? {},
                  timestamp: Number(message.timestamp),
                });
              }
              // lastOffset() counts trailing control records too, so a transactional tail ends the read.
              if (Number(batch.lastOffset()) >= end) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch(fail);
      });
    } finally {
      await consumer.disconnect();
    }
    return messages;
  }
}

/** Consumer groups carry Kafka's standard assignment; other protocols (Connect, ...) have their own. */
function decodeAssignment(protocolType: string, assignment: Buffer): TopicPartition[] {
  if (protocolType !== 'consumer' || assignment.length === 0) return [];
  const decoded = AssignerProtocol.MemberAssignment.decode(assignment);
  return Object.entries(decoded?.assignment ?? {}).flatMap(([topic, partitions]) =>
    partitions.map((partition) => ({ topic, partition })),
  );
}
