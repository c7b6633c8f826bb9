import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type {
  AdminClient,
  ClusterInfo,
  KafkaClientFactory,
  PartitionInfo,
  Watermarks,
} from '../connection/kafka-client.js';
import type { ResolvedKarafkaOptions } from '../config/karafka-options.js';
import { Message } from '../consumer/message.js';
import { jsonDeserializer } from '../consumer/deserializers.js';
import { KAFKA_CLIENT_FACTORY, KARAFKA_OPTIONS } from '../karafka.constants.js';
import { LazyConnection } from '../connection/lazy-connection.js';
import { clusterGroupId, clusterTopicName } from '../routing/route-builder.js';

/** Karafka's default `config.admin.group_id`, prefixed like every group. */
export const ADMIN_GROUP_ID = 'karafka_admin';

export interface TopicInfo {
  name: string;
  partitions: PartitionInfo[];
}

export interface PartitionLag {
  partition: number;
  /** Next offset the group reads; -1 when it committed nothing. */
  committed: number;
  highWatermark: number;
  /** Messages the group has yet to read (from the low watermark when nothing is committed). */
  lag: number;
}

/**
 * Karafka::Admin: cluster info, topics, reading, consumer group offsets and lag. Names are
 * written bare; the module's prefix and name mapper apply, as everywhere.
 */
@Injectable()
export class KarafkaAdmin implements OnApplicationShutdown {
  private readonly client: LazyConnection<AdminClient>;

  constructor(
    @Inject(KARAFKA_OPTIONS) private readonly options: ResolvedKarafkaOptions,
    @Inject(KAFKA_CLIENT_FACTORY) clients: KafkaClientFactory,
  ) {
    this.client = new LazyConnection(() =>
      clients.admin({ clientId: options.clientId, kafka: options.kafka }),
    );
  }

  async clusterInfo(): Promise<ClusterInfo> {
    return (await this.admin()).clusterInfo();
  }

  /** Creates a topic; `config` holds Kafka topic configs such as `retention.ms`. */
  async createTopic(
    name: string,
    partitions: number,
    replicationFactor = 1,
    config?: Record<string, string | number>,
  ): Promise<void> {
    const asStrings =
      config && Object.fromEntries(Object.entries(config).map(([key, value]) => [key, String(value)]));
    await (
      await this.admin()
    ).createTopics([{ name: this.topic(name), partitions, replicationFactor, config: asStrings }]);
  }

  async deleteTopic(name: string): Promise<void> {
    await (await this.admin()).deleteTopics([this.topic(name)]);
  }

  /** Grows a topic to `count` partitions. */
  async createPartitions(name: string, count: number): Promise<void> {
    await (await this.admin()).createPartitions(this.topic(name), count);
  }

  async topicInfo(name: string): Promise<TopicInfo> {
    const topic = this.topic(name);
    return { name: topic, partitions: await (await this.admin()).partitions(topic) };
  }

  /** Topic names on the cluster (as they are there, prefixed). */
  async listTopics(): Promise<string[]> {
    return (await this.admin()).listTopics();
  }

  async readWatermarkOffsets(name: string): Promise<Watermarks[]> {
    return (await this.admin()).watermarks(this.topic(name));
  }

  /** Up to `count` messages of one partition from `startOffset` (default: the last `count`), JSON payloads. */
  async readTopic(
    name: string,
    partition: number,
    count: number,
    startOffset?: number,
  ): Promise<Message<unknown>[]> {
    const topic = this.topic(name);
    const admin = await this.admin();
    const marks = (await admin.watermarks(topic)).find((w) => w.partition === partition);
    if (!marks) throw new Error(`${topic} has no partition ${partition}`);
    const from = startOffset ?? Math.max(marks.low, marks.high - count);
    const raw = await admin.read(topic, partition, from, count, clusterGroupId(this.options, ADMIN_GROUP_ID));
    return raw.map((message) => new Message(topic, partition, message, jsonDeserializer));
  }

  /** Lag of `groupId` on `topic`, per partition: committed against the high watermark. */
  async consumerGroupLag(groupId: string, name: string): Promise<PartitionLag[]> {
    const topic = this.topic(name);
    const admin = await this.admin();
    const [marks, committed] = await Promise.all([
      admin.watermarks(topic),
      admin.committedOffsets(this.group(groupId), topic),
    ]);
    return marks.map(({ partition, low, high }) => {
      const offset = committed.find((c) => c.partition === partition)?.offset ?? -1;
      return { partition, committed: offset, highWatermark: high, lag: high - (offset >= 0 ? offset : low) };
    });
  }

  /** Moves a (stopped) group's committed offsets, e.g. to replay or skip. */
  async seekConsumerGroup(
    groupId: string,
    name: string,
    positions: { partition: number; offset: number }[],
  ): Promise<void> {
    await (await this.admin()).setCommittedOffsets(this.group(groupId), this.topic(name), positions);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.close();
  }

  private topic(name: string): string {
    return clusterTopicName(this.options, name);
  }

  private group(name: string): string {
    return clusterGroupId(this.options, name);
  }

  private admin(): Promise<AdminClient> {
    return this.client.get();
  }
}
