import {
  KafkaClientError,
  type ProducedMessage,
  type RawHeaders,
  type TopicPartition,
} from '../../../src/connection/kafka-client.js';
import { InMemoryGroup } from './consumer-group.js';
import { PartitionLog, type RecordInput } from './partition-log.js';
import { Timers } from './timers.js';

export interface InMemoryKafkaOptions {
  /** The address clients must name in `bootstrap.servers` (when they set it) to connect. */
  bootstrapServers?: string;
  /** Most messages of one partition in one delivered batch. */
  maxBatchMessages?: number;
}

export const missingTopicError = (topic: string, what: string): KafkaClientError =>
  new KafkaClientError(`${what}: topic "${topic}" does not exist`, {
    retriable: true,
    code: 'UNKNOWN_TOPIC_OR_PARTITION',
    topic,
    hint: `create topic "${topic}" (the cluster does not create topics on demand)`,
  });

const toBuffer = (value: Buffer | string | null | undefined): Buffer | null =>
  value === null || value === undefined ? null : Buffer.isBuffer(value) ? value : Buffer.from(value);

const keyHash = (key: Buffer): number => {
  let hash = 0;
  for (const byte of key) hash = (hash * 31 + byte) >>> 0;
  return hash;
};

/**
 * A Kafka cluster in memory: topics of partition logs, consumer groups, and the controls a test
 * needs to shape them (retention, compaction, transactions, corrupt batches, held rebalances,
 * conflicting members). Deterministic: everything runs on this process's timers.
 */
export class InMemoryKafka {
  readonly bootstrapServers: string;
  readonly maxBatchMessages: number;
  /** Set to make every `send` reject with it, until cleared. */
  produceFailure?: KafkaClientError;
  private readonly timers = new Timers();
  private readonly topics = new Map<string, PartitionLog[]>();
  private readonly groups = new Map<string, InMemoryGroup>();
  private readonly clientTimers = new Set<Timers>();
  private readonly dataWaiters = new Set<() => void>();
  private readonly roundRobin = new Map<string, number>();

  constructor(options: InMemoryKafkaOptions = {}) {
    this.bootstrapServers = options.bootstrapServers ?? 'in-memory:9092';
    this.maxBatchMessages = options.maxBatchMessages ?? 100;
  }

  /** Timers and data waits alive in the cluster and its clients: 0 once everything stopped and settled. */
  get liveTimers(): number {
    let count = this.timers.count + this.dataWaiters.size;
    for (const timers of this.clientTimers) count += timers.count;
    return count;
  }

  createTopic(name: string, partitions = 1): void {
    if (this.topics.has(name)) {
      throw new KafkaClientError(`Topic "${name}" already exists`, {
        retriable: false,
        code: 'TOPIC_ALREADY_EXISTS',
        topic: name,
      });
    }
    this.topics.set(
      name,
      Array.from({ length: partitions }, () => new PartitionLog()),
    );
    for (const group of this.groups.values()) group.topicChanged(name);
  }

  createPartitions(name: string, count: number): void {
    const logs = this.logs(name, 'createPartitions');
    while (logs.length < count) logs.push(new PartitionLog());
    for (const group of this.groups.values()) group.topicChanged(name);
  }

  deleteTopic(name: string): void {
    this.logs(name, 'deleteTopics');
    this.topics.delete(name);
    for (const group of this.groups.values()) {
      for (const key of group.committed.keys()) if (key.startsWith(`${name}/`)) group.committed.delete(key);
      group.topicChanged(name);
    }
  }

  topicNames(): string[] {
    return [...this.topics.keys()].sort();
  }

  partitionCount(topic: string): number | undefined {
    return this.topics.get(topic)?.length;
  }

  log(topic: string, partition: number): PartitionLog {
    const log = this.logs(topic, 'read')[partition];
    if (!log) {
      throw new KafkaClientError(`topic "${topic}" has no partition ${partition}`, {
        retriable: false,
        code: 'UNKNOWN_TOPIC_OR_PARTITION',
        topic,
        partition,
      });
    }
    return log;
  }

  /** Test data: one record per value on one partition; returns their offsets. */
  produce(topic: string, partition: number, values: (string | null)[], headers: RawHeaders = {}): number[] {
    const log = this.log(topic, partition);
    const offsets = values.map((value, i) =>
      log.append({
        key: Buffer.from(String(i)),
        value: toBuffer(value),
        headers,
        timestamp: Date.now(),
      }),
    );
    this.dataArrived();
    return offsets;
  }

  /** What a producer client sends: partition by `partition`, else by key hash, else round robin. */
  send(topic: string, messages: ProducedMessage[]): void {
    if (this.produceFailure) throw this.produceFailure;
    const logs = this.topics.get(topic);
    if (!logs) throw missingTopicError(topic, 'produce failed');
    for (const message of messages) {
      const key = toBuffer(message.key);
      let partition = message.partition;
      if (partition === undefined) {
        const next = this.roundRobin.get(topic) ?? 0;
        partition = key ? keyHash(key) % logs.length : next % logs.length;
        if (!key) this.roundRobin.set(topic, next + 1);
      }
      if (!logs[partition]) {
        throw new KafkaClientError(`topic "${topic}" has no partition ${partition}`, {
          retriable: false,
          code: 'UNKNOWN_TOPIC_OR_PARTITION',
          topic,
          partition,
        });
      }
      const record: RecordInput = {
        key,
        value: toBuffer(message.value),
        headers: message.headers ?? {},
        timestamp: message.timestamp ?? Date.now(),
      };
      logs[partition].append(record);
    }
    this.dataArrived();
  }

  /** Retention: the log of the partition starts at `offset` from now on. */
  deleteRecordsBefore(topic: string, partition: number, offset: number): void {
    this.log(topic, partition).deleteBefore(offset);
  }

  /** Compaction: these offsets of the partition are gone, leaving gaps. */
  compact(topic: string, partition: number, offsets: number[]): void {
    this.log(topic, partition).compact(offsets);
  }

  /** A transaction of `values` then its marker; an aborted one's records are never delivered. */
  produceTransaction(topic: string, partition: number, values: string[], outcome: 'commit' | 'abort'): void {
    const log = this.log(topic, partition);
    for (const value of values) {
      if (outcome === 'abort') log.appendHidden('aborted record');
      else log.append({ key: null, value: Buffer.from(value), headers: {}, timestamp: Date.now() });
    }
    log.appendHidden('transaction marker');
    this.dataArrived();
  }

  /** A record batch of `count` offsets whose compressed data no client can decode. */
  produceUndecodable(topic: string, partition: number, count = 3): number {
    const last = this.log(topic, partition).appendUndecodable(count, Buffer.from('\x00corrupt-zstd-frame'));
    this.dataArrived();
    return last;
  }

  group(groupId: string): InMemoryGroup {
    let group = this.groups.get(groupId);
    if (!group) {
      group = new InMemoryGroup(groupId, (topic) => this.partitionCount(topic), this.timers);
      this.groups.set(groupId, group);
    }
    return group;
  }

  /** Rebalances of the group start (members are revoked) but do not complete until released. */
  holdRebalances(groupId: string): () => void {
    return this.group(groupId).hold();
  }

  /** A member of another library joins the group: joins of the in-memory clients fail for good. */
  addConflictingMember(groupId: string, clientId = 'other-library'): () => void {
    return this.group(groupId).addForeignMember(clientId, 'range');
  }

  /** For clients: their timers count in {@link liveTimers}. */
  track(timers: Timers): () => void {
    this.clientTimers.add(timers);
    return () => this.clientTimers.delete(timers);
  }

  /** For idle clients: `wake` runs once when data arrives. */
  onData(wake: () => void): () => void {
    this.dataWaiters.add(wake);
    return () => this.dataWaiters.delete(wake);
  }

  checkBootstrap(servers: unknown, what: string): void {
    if (servers === undefined || servers === this.bootstrapServers) return;
    throw new KafkaClientError(`${what}: cannot connect to ${String(servers)}`, {
      retriable: true,
      hint: `check bootstrap.servers: the in-memory cluster answers at ${this.bootstrapServers}`,
    });
  }

  topicPartitions(topic: string): TopicPartition[] {
    return Array.from({ length: this.partitionCount(topic) ?? 0 }, (_, partition) => ({ topic, partition }));
  }

  private logs(topic: string, what: string): PartitionLog[] {
    const logs = this.topics.get(topic);
    if (!logs) throw missingTopicError(topic, `${what} failed`);
    return logs;
  }

  private dataArrived(): void {
    const waiters = [...this.dataWaiters];
    this.dataWaiters.clear();
    for (const wake of waiters) wake();
  }
}
