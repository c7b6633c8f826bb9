import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import type {
  AdminClient,
  ClusterInfo,
  PartitionInfo,
  RawMessage,
  TopicSpec,
  Watermarks,
} from '../kafka-client.js';
import { nestLogCreator } from './kafkajs-logger.js';
import type { KafkajsSettings } from './kafkajs-settings.js';

const READ_TIMEOUT_MS = 30_000;

export class KafkajsAdminClient implements AdminClient {
  private readonly kafka: Kafka;
  private readonly admin: Admin;

  constructor(clientId: string, mapped: KafkajsSettings) {
    this.kafka = new Kafka({
      clientId,
      ...mapped.client,
      logLevel: logLevel.WARN,
      logCreator: nestLogCreator,
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

  async committedOffsets(groupId: string, topic: string): Promise<{ partition: number; offset: number }[]> {
    const [result] = await this.admin.fetchOffsets({ groupId, topics: [topic] });
    return result.partitions
      .map(({ partition, offset }) => ({ partition, offset: Number(offset) }))
      .sort((a, b) => a.partition - b.partition);
  }

  async setCommittedOffsets(
    groupId: string,
    topic: string,
    positions: { partition: number; offset: number }[],
  ): Promise<void> {
    await this.admin.setOffsets({
      groupId,
      topic,
      partitions: positions.map(({ partition, offset }) => ({ partition, offset: String(offset) })),
    });
  }

  async read(
    topic: string,
    partition: number,
    offset: number,
    count: number,
    groupIdPrefix: string,
  ): Promise<RawMessage[]> {
    const { high } = (await this.watermarks(topic)).find((w) => w.partition === partition) ?? { high: 0 };
    const wanted = Math.max(0, Math.min(count, high - offset));
    if (wanted === 0) return [];
    const groupId = `${groupIdPrefix}-${randomBytes(4).toString('hex')}`;
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
                `reading ${topic}/${partition} from ${offset}: only ${messages.length} of ${wanted} messages within ${READ_TIMEOUT_MS} ms`,
              ),
            ),
          READ_TIMEOUT_MS,
        );
        consumer.on(consumer.events.GROUP_JOIN, () =>
          consumer.seek({ topic, partition, offset: String(offset) }),
        );
        void consumer.run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            if (batch.partition !== partition) return;
            for (const message of batch.messages) {
              const at = Number(message.offset);
              if (at < offset || messages.length >= wanted) continue;
              messages.push({
                offset: at,
                key: message.key,
                value: message.value,
                headers: message.headers ?? {},
                timestamp: Number(message.timestamp),
              });
            }
            if (messages.length >= wanted) {
              clearTimeout(timer);
              resolve();
            }
          },
        });
      });
    } finally {
      await consumer.disconnect();
      await this.admin.deleteGroups([groupId]).catch(() => undefined);
    }
    return messages;
  }
}
