/**
 * The one small interface the engine talks to. Only `connection/<client>/` imports a Kafka
 * client library; everything else sees these types, so a librdkafka client can join later.
 */

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** `offset` is the next offset to read (last processed + 1), as Kafka commits it. */
export interface TopicPartitionOffset extends TopicPartition {
  offset: number;
}

export type RawHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined>;

export interface RawMessage {
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RawHeaders;
  /** Milliseconds since the epoch. */
  timestamp: number;
}

export interface FetchedBatch extends TopicPartition {
  /** The offset this fetch asked for: tells a fresh batch from one fetched before a seek. */
  fetchedOffset: number;
  highWatermark: number;
  messages: RawMessage[];
}

/** What the engine hears from a consumer client. Handlers must not throw. */
export interface ConsumerClientHandlers {
  /**
   * A batch of one topic-partition, never empty. Returns true when the engine took it: the
   * client then moves its fetch position past it. False leaves the position where it was.
   */
  onBatch(batch: FetchedBatch): boolean;
  /** One iteration of the fetch loop, also an empty long poll: the polling stamp. */
  onPoll(): void;
  /** The group was joined; `assignment` is everything this member owns now. */
  onAssigned(assignment: TopicPartition[]): void;
  /** The client died. `willRestart` false means it stays dead (a fatal error). */
  onCrash(error: Error, willRestart: boolean): void;
}

export interface ConsumerSubscription {
  topic: string;
  fromBeginning: boolean;
}

export interface ConsumerClientSettings {
  groupId: string;
  clientId: string;
  subscriptions: ConsumerSubscription[];
  /** Longest wait of one fetch when no data is there, in ms. */
  maxWaitTime: number;
  /** The librdkafka-style `kafka` settings of the subscription group, already validated. */
  kafka: KafkaSettings;
}

export type KafkaSettingValue = string | number | boolean;
export type KafkaSettings = Record<string, KafkaSettingValue | undefined>;

export interface ConsumerClient {
  /** Connects, subscribes and starts fetching. Rejects when the first connection fails. */
  start(handlers: ConsumerClientHandlers): Promise<void>;
  pause(partitions: TopicPartition[]): void;
  resume(partitions: TopicPartition[]): void;
  /** The next fetch of this partition starts at `offset`. */
  seek(position: TopicPartitionOffset): void;
  /**
   * Commits the offsets now, without retries. Rejects with {@link OwnershipUncertainError}
   * when a rebalance made the group generation stale.
   */
  commit(offsets: TopicPartitionOffset[]): Promise<void>;
  /** Leaves the group and disconnects. Never waits for the engine's user code. */
  stop(): Promise<void>;
}

export interface ProducedMessage {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: RawHeaders;
  partition?: number;
  timestamp?: number;
}

export interface ProducerClientSettings {
  clientId: string;
  kafka: KafkaSettings;
  idempotent: boolean;
}

export interface ProducerClient {
  connect(): Promise<void>;
  /** Resolves when the broker acknowledged every message (acks=all). */
  send(topic: string, messages: ProducedMessage[]): Promise<void>;
  disconnect(): Promise<void>;
}

export interface TopicSpec {
  name: string;
  partitions: number;
  replicationFactor: number;
  config?: Record<string, string>;
}

export interface PartitionInfo {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

export interface Watermarks {
  partition: number;
  low: number;
  high: number;
}

export interface ClusterInfo {
  clusterId: string;
  controller: number | null;
  brokers: { nodeId: number; host: string; port: number }[];
}

export interface GroupMember {
  memberId: string;
  clientId: string;
  host: string;
  /** The partitions the group leader gave this member (empty for a non-consumer protocol). */
  assignment: TopicPartition[];
}

export interface GroupDescription {
  groupId: string;
  /** The broker's group state: Empty, Stable, PreparingRebalance, CompletingRebalance or Dead. */
  state: string;
  members: GroupMember[];
}

/** Cluster administration, Karafka::Admin's needs. Offsets are next-to-read; -1 means none committed. */
export interface AdminClient {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  clusterInfo(): Promise<ClusterInfo>;
  listTopics(): Promise<string[]>;
  createTopics(topics: TopicSpec[]): Promise<void>;
  deleteTopics(names: string[]): Promise<void>;
  createPartitions(name: string, count: number): Promise<void>;
  partitions(name: string): Promise<PartitionInfo[]>;
  watermarks(name: string): Promise<Watermarks[]>;
  /** The group's committed offsets on `topics`, or on every topic it committed to when left out. */
  committedOffsets(groupId: string, topics?: string[]): Promise<TopicPartitionOffset[]>;
  /** Overwrites the committed offsets of a group that has no active member. */
  setCommittedOffsets(groupId: string, positions: TopicPartitionOffset[]): Promise<void>;
  describeGroup(groupId: string): Promise<GroupDescription>;
  /**
   * Up to `count` messages of one partition from `offset`, read as a member of `groupId`, which
   * commits nothing and is kept (Heroku's multi-tenant plans need it created in advance).
   */
  read(
    topic: string,
    partition: number,
    offset: number,
    count: number,
    groupId: string,
  ): Promise<RawMessage[]>;
}

export interface KafkaClientFactory {
  /** Throws KarafkaConfigError for settings this client cannot honour, naming them under `path`. */
  validate(kafka: KafkaSettings, path?: string): void;
  consumer(settings: ConsumerClientSettings): ConsumerClient;
  producer(settings: ProducerClientSettings): ProducerClient;
  admin(settings: { clientId: string; kafka: KafkaSettings }): AdminClient;
}

/** A commit was refused because the group is rebalancing or this member's generation is stale. */
export class OwnershipUncertainError extends Error {
  override readonly name = 'OwnershipUncertainError';
}
