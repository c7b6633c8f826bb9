import type { ConsumerClient, KafkaClientFactory, KafkaSettings } from '../../src/connection/kafka-client.js';

export type Codec = 'gzip' | 'snappy' | 'lz4' | 'zstd';
export const CODECS: readonly Codec[] = ['gzip', 'snappy', 'lz4', 'zstd'];

/** A rebalance kept from completing, or a member kept in the group, until undone. */
export interface Undo {
  undo(): Promise<void>;
}

/**
 * What differs between the drivers the contract suite runs on. The optional members are
 * capabilities: a case that needs one the harness lacks is skipped, and its name says so.
 */
export interface ConformanceHarness {
  /** Eager drivers revoke everything on every rebalance, then assign. */
  readonly eager: boolean;
  /** `maxWaitTime` of the consumers the suite makes. */
  readonly maxWaitTime: number;
  /** Longest wait for something the suite expects (an assignment, a batch, a crash). */
  readonly timeoutMs: number;
  /** How long a stopped client is watched for a late callback or a late group join. */
  readonly settleMs: number;
  /** Cases this driver is known to fail, by title, with why: skipped and named as gaps, never hidden. */
  readonly knownGaps?: Readonly<Record<string, string>>;

  beforeAll?(): Promise<void>;
  afterAll?(): Promise<void>;
  /** Called before each case (a fresh cluster, for an in-memory harness). */
  beforeEach?(): Promise<void>;

  factory(): KafkaClientFactory;
  /** The `kafka` settings every client of the suite gets. */
  kafka(): KafkaSettings;
  createTopic(topic: string, partitions: number): Promise<void>;
  /** One record per value, in order, on one partition. */
  produce(topic: string, partition: number, values: string[]): Promise<void>;
  /** Client ids of the group's members, as the group coordinator sees them. */
  groupMembers(groupId: string): Promise<string[]>;

  /** Retention: the partition's log starts at `offset` from now on. */
  moveLogStart?(topic: string, partition: number, offset: number): Promise<void>;
  /** Compaction: these offsets of the partition are gone. */
  compact?(topic: string, partition: number, offsets: number[]): Promise<void>;
  /** A transaction of `values` on one partition, then its commit or abort marker. */
  produceTransaction?(
    topic: string,
    partition: number,
    values: string[],
    outcome: 'commit' | 'abort',
  ): Promise<void>;
  /** `count` records `${codec}-${i}` on partition 0, compressed with `codec` by another client. */
  produceCompressed?(topic: string, codec: Codec, count: number): Promise<void>;
  /** A record batch on the partition that no client can decode. */
  produceUndecodable?(topic: string, partition: number): Promise<void>;
  /** Makes a running client crash, with a retriable or a fatal error. */
  crash?(client: ConsumerClient, retriable: boolean): Promise<void>;
  /** Keeps the group's next rebalance from completing: members stay in the join. */
  holdJoins?(groupId: string): Promise<Undo>;
  /** Puts a member speaking another assignment protocol into the group: joins then fail for good. */
  conflictingMember?(groupId: string): Promise<Undo>;
  /** Settings with which no connection can be made. */
  unreachableKafka?(): KafkaSettings;
  /** Timers (and waits) the driver keeps alive for this client: 0 once it is stopped. */
  liveTimers?(client: ConsumerClient): number;
}
