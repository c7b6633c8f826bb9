import type { IAdminClient, LibrdKafkaError, Message, Producer } from '@confluentinc/kafka-javascript';
import type {
  AdminClient,
  ClusterInfo,
  GroupDescription,
  PartitionInfo,
  RawMessage,
  TopicPartitionOffset,
  TopicSpec,
  Watermarks,
} from '../kafka-client.js';
import { lastOffsetToRead } from '../admin-read.js';
import { untilPartitionsLed } from '../partitions-ready.js';
import {
  librdkafkaBinding,
  nativeConsumer,
  onClientError,
  type NativeConsumer,
} from './librdkafka-binding.js';
import { toKafkaClientError } from './librdkafka-errors.js';
import { LibrdkafkaFailures } from './librdkafka-failures.js';
import { LibrdkafkaRawMessage } from './librdkafka-raw-message.js';
import type { LibrdkafkaConfig } from './librdkafka-settings.js';

const TIMEOUT_MS = 30_000;
const GROUP_STATES = ['Unknown', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead', 'Empty'];

type Callback<T> = (error: LibrdKafkaError | null | undefined, result: T) => void;

/** Cluster administration on librdkafka: its admin API, and a producer handle for metadata and watermarks. */
export class LibrdkafkaAdminClient implements AdminClient {
  private readonly handle: Producer;
  private admin?: IAdminClient;
  private readonly failures: LibrdkafkaFailures;

  constructor(
    private readonly clientId: string,
    private readonly config: LibrdkafkaConfig,
  ) {
    this.handle = new (librdkafkaBinding().Producer)({ ...config, 'client.id': clientId });
    // The token callback's failures reach the operations they fail; unheard, 'error' would throw.
    onClientError(this.handle, () => undefined);
    this.failures = new LibrdkafkaFailures(this.handle);
  }

  /** A binding call with a callback, as a promise; its errors as KafkaClientError. */
  private call<T>(start: (done: Callback<T>) => void, topic?: string): Promise<T> {
    return new Promise<T>((resolve, reject) =>
      start((error, result) =>
        error
          ? reject(toKafkaClientError(this.failures.explain(error), { unknownIsRetriable: true, topic }))
          : resolve(result),
      ),
    );
  }

  async connect(): Promise<void> {
    await this.failures
      .connecting(this.call((done) => this.handle.connect({ timeout: TIMEOUT_MS }, done)))
      .catch((error: unknown) => {
        throw toKafkaClientError(error, { unknownIsRetriable: true });
      });
    this.admin = librdkafkaBinding().AdminClient.createFrom(this.handle);
  }

  async disconnect(): Promise<void> {
    this.admin?.disconnect();
    this.admin = undefined;
    if (this.handle.isConnected()) await new Promise((resolve) => this.handle.disconnect(resolve));
  }

  private metadata(topic?: string) {
    return this.call<{
      topics: {
        name: string;
        partitions: { id: number; leader: number; replicas: number[]; isrs: number[] }[];
      }[];
      brokers: { id: number; host: string; port: number }[];
    }>(
      (done) =>
        this.handle.getMetadata(
          topic ? { topic, timeout: TIMEOUT_MS } : { allTopics: true, timeout: TIMEOUT_MS },
          done,
        ),
      topic,
    );
  }

  async clusterInfo(): Promise<ClusterInfo> {
    const { brokers } = await this.metadata();
    // The binding has no DescribeCluster: librdkafka's cluster id and controller are not exposed.
    return {
      clusterId: null,
      controller: null,
      brokers: brokers.map(({ id, host, port }) => ({ nodeId: id, host, port })),
    };
  }

  async listTopics(): Promise<string[]> {
    return this.call<string[]>((done) => this.admin!.listTopics({ timeout: TIMEOUT_MS }, done));
  }

  async createTopics(topics: TopicSpec[]): Promise<void> {
    for (const { name, partitions, replicationFactor, config } of topics) {
      await this.call<void>(
        (done) =>
          this.admin!.createTopic(
            {
              topic: name,
              num_partitions: partitions,
              replication_factor: replicationFactor,
              config: config ?? {},
            },
            TIMEOUT_MS,
            done,
          ),
        name,
      );
      await untilPartitionsLed(name, partitions, () => this.partitions(name), TIMEOUT_MS);
    }
  }

  async deleteTopics(names: string[]): Promise<void> {
    for (const name of names)
      await this.call<void>((done) => this.admin!.deleteTopic(name, TIMEOUT_MS, done), name);
  }

  async createPartitions(name: string, count: number): Promise<void> {
    await this.call<void>((done) => this.admin!.createPartitions(name, count, TIMEOUT_MS, done), name);
    await untilPartitionsLed(name, count, () => this.partitions(name), TIMEOUT_MS);
  }

  async partitions(name: string): Promise<PartitionInfo[]> {
    const { topics } = await this.metadata(name);
    return (topics.find((t) => t.name === name)?.partitions ?? [])
      .map(({ id, leader, replicas, isrs }) => ({ partition: id, leader, replicas, isr: isrs }))
      .sort((a, b) => a.partition - b.partition);
  }

  async watermarks(name: string): Promise<Watermarks[]> {
    const partitions = await this.partitions(name);
    return Promise.all(
      partitions.map(async ({ partition }) => {
        const { lowOffset, highOffset } = await this.call<{ lowOffset: number; highOffset: number }>(
          (done) => this.handle.queryWatermarkOffsets(name, partition, TIMEOUT_MS, done),
          name,
        );
        return { partition, low: lowOffset, high: highOffset };
      }),
    );
  }

  async committedOffsets(groupId: string, topics?: string[]): Promise<TopicPartitionOffset[]> {
    const partitions = topics
      ? (
          await Promise.all(
            topics.map(async (topic) =>
              (await this.partitions(topic)).map(({ partition }) => ({ topic, partition })),
            ),
          )
        ).flat()
      : undefined;
    const [result] = await this.call<{ partitions: TopicPartitionOffset[]; error?: LibrdKafkaError }[]>(
      (done) =>
        this.admin!.listConsumerGroupOffsets([{ groupId, partitions }], { timeout: TIMEOUT_MS }, done),
    );
    if (result?.error) throw toKafkaClientError(result.error, { unknownIsRetriable: true });
    return (result?.partitions ?? [])
      .map(({ topic, partition, offset }) => ({ topic, partition, offset: Number(offset) }))
      .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  /** Commits as a member of no generation, which Kafka takes from a group with no active member. */
  async setCommittedOffsets(groupId: string, positions: TopicPartitionOffset[]): Promise<void> {
    await this.withConsumer(groupId, (consumer) =>
      this.call<void>((done) =>
        consumer.commitCb(
          positions.map(({ topic, partition, offset }) => ({ topic, partition, offset })),
          (error) => done(error, undefined),
        ),
      ),
    );
  }

  async describeGroup(groupId: string): Promise<GroupDescription> {
    const { groups } = await this.call<{
      groups: {
        state: number;
        members: {
          memberId: string;
          clientId: string;
          clientHost: string;
          assignment?: { topicPartitions: { topic: string; partition: number }[] };
        }[];
      }[];
    }>((done) => this.admin!.describeGroups([groupId], { timeout: TIMEOUT_MS }, done));
    const group = groups[0];
    return {
      groupId,
      state: GROUP_STATES[group?.state ?? 0] ?? 'Unknown',
      members: (group?.members ?? []).map(({ memberId, clientId, clientHost, assignment }) => ({
        memberId,
        clientId,
        host: clientHost,
        assignment: (assignment?.topicPartitions ?? []).map(({ topic, partition }) => ({ topic, partition })),
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
    return this.withConsumer(groupId, async (consumer) => {
      // Assigned, not subscribed: the admin group is never joined and nothing is committed.
      consumer.assign([{ topic, partition, offset }]);
      const messages: RawMessage[] = [];
      const deadline = Date.now() + TIMEOUT_MS;
      while (Date.now() < deadline) {
        const batch = await this.call<Message[]>((done) => consumer.consume(500, done));
        for (const message of batch)
          if (message.offset >= offset && message.offset <= end)
            messages.push(new LibrdkafkaRawMessage(message));
        // A transactional tail ends in control records: the position tells when the read passed `end`.
        const [position] = consumer.position([{ topic, partition }]);
        if ((batch.at(-1)?.offset ?? -1) >= end || (position?.offset ?? -1) > end) return messages;
      }
      throw new Error(
        `reading ${topic}/${partition} from ${offset}: only ${messages.length} of up to ${count} messages within ${TIMEOUT_MS} ms`,
      );
    });
  }

  private async withConsumer<T>(groupId: string, work: (consumer: NativeConsumer) => Promise<T>): Promise<T> {
    const consumer = nativeConsumer({
      ...this.config,
      'client.id': this.clientId,
      'group.id': groupId,
      'enable.auto.commit': false,
      'enable.auto.offset.store': false,
    });
    await this.call((done) => consumer.connect({ timeout: TIMEOUT_MS }, done));
    consumer.setDefaultConsumeTimeout(200);
    try {
      return await work(consumer);
    } finally {
      await new Promise((resolve) => consumer.disconnect(resolve));
    }
  }
}
