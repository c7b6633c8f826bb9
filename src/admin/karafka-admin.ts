import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type {
  AdminClient,
  ClusterInfo,
  GroupDescription,
  KafkaClientFactory,
  PartitionInfo,
  Watermarks,
} from '../connection/kafka-client.js';
import { DEFAULT_ADMIN, type ResolvedKarafkaOptions } from '../config/karafka-options.js';
import { Message } from '../consumer/message.js';
import { jsonDeserializer } from '../consumer/deserializers.js';
import { KAFKA_CLIENT_FACTORY, KARAFKA_OPTIONS } from '../karafka.constants.js';
import { LazyConnection } from '../connection/lazy-connection.js';
import { adminOperation } from './admin-error.js';
import { clusterGroupId, clusterTopicName } from '../config/cluster-names.js';

/** Karafka's default `config.admin.group_id` (the `admin.groupId` option), prefixed like every group. */
export const ADMIN_GROUP_ID = DEFAULT_ADMIN.groupId;

export interface TopicInfo {
  name: string;
  partitions: PartitionInfo[];
}

/** Where a consumer group stands on one partition. */
export interface PartitionLag {
  /** The topic as it is named on the cluster (prefixed). */
  topic: string;
  partition: number;
  /** Next offset the group reads; -1 when it committed nothing. */
  committed: number;
  highWatermark: number;
  /** Messages the group has yet to read (from the low watermark when nothing is committed). */
  lag: number;
}

/** A committed position to move a consumer group to; `topic` is written bare. */
export interface GroupPosition {
  topic: string;
  partition: number;
  /** The next offset the group will read. */
  offset: number;
}

/**
 * Karafka::Admin: cluster info, topics, reading, consumer group offsets and lag. Names are
 * written bare; the module's prefix and name mapper apply, as everywhere.
 */
@Injectable()
export class KarafkaAdmin implements OnApplicationShutdown {
  private readonly client: LazyConnection<AdminClient>;
  /** Reads share one consumer group: one at a time, or they would rebalance each other. */
  private reading: Promise<unknown> = Promise.resolve();

  constructor(
    @Inject(KARAFKA_OPTIONS) private readonly options: ResolvedKarafkaOptions,
    @Inject(KAFKA_CLIENT_FACTORY) clients: KafkaClientFactory,
  ) {
    this.client = new LazyConnection(() =>
      clients.admin({ clientId: options.clientId, kafka: options.kafka }),
    );
  }

  /** The cluster id, its controller and its brokers. */
  async clusterInfo(): Promise<ClusterInfo> {
    return this.run('cluster info', (admin) => admin.clusterInfo());
  }

  /** Creates a topic, resolving once every partition has a leader; `config` holds Kafka topic configs such as `retention.ms`. */
  async createTopic(
    name: string,
    partitions: number,
    replicationFactor = 1,
    config?: Record<string, string | number>,
  ): Promise<void> {
    const asStrings =
      config && Object.fromEntries(Object.entries(config).map(([key, value]) => [key, String(value)]));
    const topic = this.topic(name);
    await this.run(`create topic ${topic}`, (admin) =>
      admin.createTopics([{ name: topic, partitions, replicationFactor, config: asStrings }]),
    );
  }

  /** Deletes a topic and its data. */
  async deleteTopic(name: string): Promise<void> {
    const topic = this.topic(name);
    await this.run(`delete topic ${topic}`, (admin) => admin.deleteTopics([topic]));
  }

  /** Grows a topic to `count` partitions, resolving once each has a leader. */
  async createPartitions(name: string, count: number): Promise<void> {
    const topic = this.topic(name);
    await this.run(`create partitions of ${topic}`, (admin) => admin.createPartitions(topic, count));
  }

  /** The topic's cluster name and its partitions with leader, replicas and in-sync replicas. */
  async topicInfo(name: string): Promise<TopicInfo> {
    const topic = this.topic(name);
    return {
      name: topic,
      partitions: await this.run(`topic info of ${topic}`, (admin) => admin.partitions(topic)),
    };
  }

  /** Topic names on the cluster (as they are there, prefixed). */
  async listTopics(): Promise<string[]> {
    return this.run('list topics', (admin) => admin.listTopics());
  }

  /** Low and high watermark of each partition: the first offset kept and the next one to be written. */
  async readWatermarkOffsets(name: string): Promise<Watermarks[]> {
    const topic = this.topic(name);
    return this.run(`watermarks of ${topic}`, (admin) => admin.watermarks(topic));
  }

  /**
   * Up to `count` messages of one partition from `startOffset` (default: the last `count`), JSON
   * payloads. Read with the `admin.groupId` consumer group (prefixed), which commits nothing.
   */
  async readTopic(
    name: string,
    partition: number,
    count: number,
    startOffset?: number,
  ): Promise<Message<unknown>[]> {
    const topic = this.topic(name);
    const raw = await this.run(`read ${topic}/${partition}`, async (admin) => {
      const marks = (await admin.watermarks(topic)).find((w) => w.partition === partition);
      if (!marks) throw new Error(`${topic} has no partition ${partition}`);
      const from = startOffset ?? Math.max(marks.low, marks.high - count);
      const read = this.reading.then(() => admin.read(topic, partition, from, count, this.adminGroupId()));
      this.reading = read.catch(() => undefined);
      return read;
    });
    return raw.map((message) => new Message(topic, partition, message, jsonDeserializer));
  }

  /**
   * Lag of a consumer group per topic and partition: its committed offset against the high
   * watermark. `topics` (bare names) limits it; without them, every topic the group committed to.
   */
  async consumerGroupLag(groupId: string, topics?: string[]): Promise<PartitionLag[]> {
    return this.clusterGroupLag(
      this.group(groupId),
      topics?.map((name) => this.topic(name)),
    );
  }

  /** @internal {@link consumerGroupLag} of names as they are on the cluster (the engine's routes hold those). */
  clusterGroupLag(group: string, asked?: string[]): Promise<PartitionLag[]> {
    return this.run(`lag of consumer group ${group}`, (admin) => this.lag(admin, group, asked));
  }

  private async lag(admin: AdminClient, group: string, asked?: string[]): Promise<PartitionLag[]> {
    const committed = await admin.committedOffsets(group, asked);
    const names = asked ?? [...new Set(committed.map((c) => c.topic))];
    const lags = await Promise.all(
      names.map(async (topic) =>
        (await admin.watermarks(topic)).map(({ partition, low, high }) => {
          const offset = committed.find((c) => c.topic === topic && c.partition === partition)?.offset ?? -1;
          return {
            topic,
            partition,
            committed: offset,
            highWatermark: high,
            lag: high - (offset >= 0 ? offset : low),
          };
        }),
      ),
    );
    return lags.flat();
  }

  /** The group's state and members with their partitions (cluster names). */
  async describeConsumerGroup(groupId: string): Promise<GroupDescription> {
    const group = this.group(groupId);
    return this.run(`describe consumer group ${group}`, (admin) => admin.describeGroup(group));
  }

  /**
   * Moves a consumer group's committed offsets, e.g. to replay or to skip. Kafka accepts this only
   * while the group has no active member: stop its consumers first.
   */
  async seekConsumerGroup(groupId: string, positions: GroupPosition[]): Promise<void> {
    const group = this.group(groupId);
    await this.run(`seek consumer group ${group}`, async (admin) => {
      const { state, members } = await admin.describeGroup(group);
      if (members.length > 0) {
        throw new Error(
          `cannot seek consumer group ${group}: it is ${state} with ${members.length} active member(s); stop its consumers first`,
        );
      }
      await admin.setCommittedOffsets(
        group,
        positions.map(({ topic, partition, offset }) => ({ topic: this.topic(topic), partition, offset })),
      );
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.close();
  }

  /** The consumer group the admin reads with, as named on the cluster. */
  adminGroupId(): string {
    return this.group(this.options.admin.groupId);
  }

  private topic(name: string): string {
    return clusterTopicName(this.options, name);
  }

  private group(name: string): string {
    return clusterGroupId(this.options, name);
  }

  /** Runs `work` with the connected client; a failure is a {@link KarafkaAdminError} naming `operation`, with its hint. */
  private run<T>(operation: string, work: (admin: AdminClient) => Promise<T>): Promise<T> {
    return adminOperation(operation, async () => work(await this.client.get()));
  }
}
