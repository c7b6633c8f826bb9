import type {
  AdminClient,
  ClusterInfo,
  GroupDescription,
  KafkaSettings,
  PartitionInfo,
  RawMessage,
  TopicPartitionOffset,
  TopicSpec,
  Watermarks,
} from '../../../src/connection/kafka-client.js';
import type { InMemoryKafka } from './cluster.js';
import { tpKey } from './consumer-group.js';

/** Karafka::Admin's needs on the in-memory cluster: one broker, node 1, no replication. */
export class InMemoryAdminClient implements AdminClient {
  constructor(
    private readonly kafka: InMemoryKafka,
    private readonly settings: { clientId: string; kafka: KafkaSettings },
  ) {}

  async connect(): Promise<void> {
    this.kafka.checkBootstrap(this.settings.kafka['bootstrap.servers'], 'admin connect failed');
  }

  async disconnect(): Promise<void> {}

  async clusterInfo(): Promise<ClusterInfo> {
    const [host, port] = this.kafka.bootstrapServers.split(':');
    return { clusterId: 'in-memory', controller: 1, brokers: [{ nodeId: 1, host, port: Number(port) }] };
  }

  async listTopics(): Promise<string[]> {
    return this.kafka.topicNames();
  }

  async createTopics(topics: TopicSpec[]): Promise<void> {
    for (const topic of topics) this.kafka.createTopic(topic.name, topic.partitions);
  }

  async deleteTopics(names: string[]): Promise<void> {
    for (const name of names) this.kafka.deleteTopic(name);
  }

  async createPartitions(name: string, count: number): Promise<void> {
    this.kafka.createPartitions(name, count);
  }

  async partitions(name: string): Promise<PartitionInfo[]> {
    return this.kafka.topicPartitions(name).map(({ partition }) => ({
      partition,
      leader: 1,
      replicas: [1],
      isr: [1],
    }));
  }

  async watermarks(name: string): Promise<Watermarks[]> {
    this.kafka.log(name, 0);
    return this.kafka.topicPartitions(name).map(({ partition }) => {
      const log = this.kafka.log(name, partition);
      return { partition, low: log.logStart, high: log.end };
    });
  }

  async committedOffsets(groupId: string, topics?: string[]): Promise<TopicPartitionOffset[]> {
    const group = this.kafka.group(groupId);
    const names = topics ?? [...new Set([...group.committed.keys()].map((key) => key.replace(/\/\d+$/, '')))];
    return names.flatMap((topic) =>
      this.kafka
        .topicPartitions(topic)
        .map((tp) => ({ ...tp, offset: group.committed.get(tpKey(tp)) ?? -1 })),
    );
  }

  async setCommittedOffsets(groupId: string, positions: TopicPartitionOffset[]): Promise<void> {
    const group = this.kafka.group(groupId);
    if (group.active) {
      throw new Error(`group ${groupId} has active members: stop its consumers before setting its offsets`);
    }
    for (const position of positions) group.committed.set(tpKey(position), position.offset);
  }

  async describeGroup(groupId: string): Promise<GroupDescription> {
    return this.kafka.group(groupId).describe();
  }

  async read(topic: string, partition: number, offset: number, count: number): Promise<RawMessage[]> {
    return this.kafka.log(topic, partition).records(offset, count);
  }
}
