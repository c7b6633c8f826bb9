/**
 * The Kafka client contract: the only thing the engine knows of Kafka. Written in Kafka's own
 * terms; every rule here is enforced by each driver (`connection/<driver>/`), checked by the
 * conformance suite (test/conformance/), and drawn in docs/internals.md. Only a driver imports
 * a Kafka client library.
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
  /**
   * Set when the driver could not decode the record batch this message stands for (a codec it
   * cannot read, corrupt compressed data): `offset` is then the batch's last offset, `value` the
   * undecoded bytes when the driver has them. The engine treats it like a payload that fails to
   * deserialize (retry, then the DLQ), never as a crash of the group.
   */
  undecodable?: Error;
}

/**
 * Decoded messages of one partition, in offset order, never empty, none older than the last
 * `seek` of that partition. Offsets may skip (compaction, transaction markers, aborted records).
 */
export interface FetchedBatch extends TopicPartition {
  messages: RawMessage[];
  highWatermark: number;
  /**
   * Set when the client moved this partition's position by itself since the last seek or batch
   * (the position fell out of the log and was reset by `auto.offset.reset`): the position it had.
   * The batch starts where the client went.
   */
  resetFrom?: number;
}

/** A message and its troubleshooting hint as two sentences (librdkafka's messages end with a period). */
export function withHint(message: string, hint: string | undefined): string {
  return hint ? `${message.replace(/\.$/, '')}. ${hint}` : message;
}

/**
 * A client error, normalized by the driver. `retriable` tells whether a new attempt (a new
 * client) can succeed; `hint` is the troubleshooting advice for a known cause; `topic`/`partition`
 * name what it concerns, when it concerns one. The message never holds a secret.
 */
export class KafkaClientError extends Error {
  override readonly name = 'KafkaClientError';
  readonly retriable: boolean;
  readonly hint?: string;
  /** Kafka's error name (`TOPIC_AUTHORIZATION_FAILED`, `UNKNOWN_TOPIC_OR_PARTITION`…), when the broker gave one. */
  readonly code?: string;
  readonly topic?: string;
  readonly partition?: number;

  constructor(
    message: string,
    details: {
      retriable: boolean;
      hint?: string;
      code?: string;
      topic?: string;
      partition?: number;
      cause?: unknown;
    },
  ) {
    super(message, { cause: details.cause });
    this.retriable = details.retriable;
    this.hint = details.hint;
    this.code = details.code;
    this.topic = details.topic;
    this.partition = details.partition;
  }

  /** The message and the hint in one line, for logs, health bodies and status. */
  get summary(): string {
    return withHint(this.message, this.hint);
  }
}

/**
 * What a consumer client tells the engine. Called synchronously from the client; a handler
 * never throws and never waits.
 */
export interface ConsumerClientHandlers {
  /**
   * Partitions added to this member. A partition arrives unpaused, with no pending seek and no
   * buffered data; its position is the group's committed offset (else `auto.offset.reset`).
   */
  assigned(partitions: TopicPartition[]): void;
  /**
   * Partitions taken from this member. Nothing more of them is delivered; their pause, seek and
   * buffered data are gone. An eager client reports all its partitions revoked, then all of the
   * new assignment assigned; a rebalance always ends with an `assigned` call (maybe empty).
   */
  revoked(partitions: TopicPartition[]): void;
  /** Delivered messages of one assigned, unpaused partition; the client's position moves past them. */
  batch(batch: FetchedBatch): void;
  /** One turn of the fetch loop, an empty long poll included: the polling stamp of liveness. */
  polled(): void;
  /** A problem the client lives through (a topic missing, a failed fetch it retries); reported, not fatal. */
  warning(error: KafkaClientError): void;
  /**
   * The client is gone: it delivers nothing more and needs `stop()`. Its partitions were
   * reported revoked first. `error.retriable` tells whether a new client can do better.
   */
  crashed(error: KafkaClientError): void;
  /** The library's own statistics (librdkafka's JSON, every `statistics.interval.ms`), when it has any. */
  statistics?(statistics: Record<string, unknown>): void;
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

/** One consumer group member. */
export interface ConsumerClient {
  /**
   * Connects and subscribes; the group join and fetching go on in the background. Rejects with a
   * {@link KafkaClientError} as soon as the first connection fails; the client is then stopping,
   * and `stop()` resolves once it has let go of everything.
   */
  start(handlers: ConsumerClientHandlers): Promise<void>;
  /** Nothing of these partitions is delivered until `resume`. Never throws, in any state. */
  pause(partitions: TopicPartition[]): void;
  resume(partitions: TopicPartition[]): void;
  /** The next batch of this partition starts at `offset`; nothing older is delivered after this call. Never throws. */
  seek(position: TopicPartitionOffset): void;
  /**
   * Commits the offsets now. Rejects with {@link OwnershipUncertainError} when a rebalance made the
   * group generation stale (the engine commits again after the next assignment).
   */
  commit(offsets: TopicPartitionOffset[]): Promise<void>;
  /**
   * Leaves the group and disconnects. Complete and idempotent in every state (before the first
   * join completes, during a join, after a crash): when it resolves, no connection, heartbeat,
   * fetch loop or timer of this client is left. Never waits for the engine's user code.
   */
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
  /** Producer keys the driver reads: `enable.idempotence`, `acks`, `linger.ms`, `batch.*`, `queue.buffering.*`, `transactional.id`. */
  kafka: KafkaSettings;
  /** Overrides `kafka['transactional.id']`: the engine's per-partition transactional producers. */
  transactionalId?: string;
}

/**
 * The producer's side of a transaction (Kafka's `beginTransaction` … `commitTransaction`): what is
 * produced through it, and the offsets sent with it, are committed or aborted together.
 */
/** The consumer group whose offsets a transaction commits, and its member that read them. */
export interface TransactionGroup {
  groupId: string;
  consumer?: ConsumerClient;
}

export interface ProducerTransaction {
  /** As {@link ProducerClient.produce}, inside the transaction. */
  produce(topic: string, message: ProducedMessage): Promise<void>;
  /**
   * Adds the consumer group's offsets (next to read) to the transaction (Kafka's
   * `sendOffsetsToTransaction`): the group commits them only if the transaction commits.
   * `consumer` is the group's member that read them, a client of the same driver: librdkafka
   * requires it (it sends the member's group metadata, so a zombie member of an older
   * generation is fenced, KIP-447); kafkajs sends the group id alone.
   */
  sendOffsets(group: TransactionGroup, offsets: TopicPartitionOffset[]): Promise<void>;
}

/**
 * One producer. Messages go through the driver's own queue (librdkafka's queue; an in-process one
 * on kafkajs): batched by `linger.ms`, `batch.num.messages` and `batch.size`, sent with
 * `acks=all` and idempotence unless `enable.idempotence` is false, in call order per partition.
 */
export interface ProducerClient {
  connect(): Promise<void>;
  /**
   * Queues one message; resolves when the broker acknowledged it, rejects when it cannot be
   * delivered. Never refuses: past `queue.buffering.max.messages` / `.kbytes` the message waits,
   * in call order, for room (callers that can wait await {@link room} first).
   */
  produce(topic: string, message: ProducedMessage): Promise<void>;
  /** {@link produce} of each message, in order; resolves when every one was acknowledged. */
  send(topic: string, messages: ProducedMessage[]): Promise<void>;
  /** Resolves when the queue is below `queue.buffering.max.messages` and `queue.buffering.max.kbytes`. */
  room(): Promise<void>;
  /** Resolves when nothing is queued or in flight, messages produced while it waited included. */
  flush(): Promise<void>;
  /**
   * Only on a transactional producer (a transactional id is set): runs `work` in a transaction,
   * one at a time. Commits when `work` resolves and everything it produced was acknowledged;
   * otherwise aborts and rejects with `work`'s (or the delivery's) error.
   */
  transaction?<T>(work: (transaction: ProducerTransaction) => Promise<T>): Promise<T>;
  /** Flushes, then disconnects. */
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

/** What `KarafkaAdmin.clusterInfo()` tells of the cluster. */
export interface ClusterInfo {
  /** Null on the librdkafka driver, whose binding has no DescribeCluster. */
  clusterId: string | null;
  /** The controller's node id; null when the driver cannot tell (librdkafka). */
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
  /** Resolves once every partition of each topic shows in the metadata with a leader. */
  createTopics(topics: TopicSpec[]): Promise<void>;
  deleteTopics(names: string[]): Promise<void>;
  /** Resolves once the metadata shows `count` partitions, each with a leader. */
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

/** How a driver reads a `kafka` key it honours. */
export type KafkaSettingKind = 'string' | 'number' | 'boolean' | 'secret';

/** A Kafka client library behind the contract: its consumers, producers and admins. */
export interface KafkaClientFactory {
  /** The driver's name, as `driver` in the module options. */
  readonly name: string;
  /** Every librdkafka-style `kafka` key this driver honours, and its type; config validation asks this list. */
  readonly kafkaKeys: Readonly<Record<string, KafkaSettingKind>>;
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
