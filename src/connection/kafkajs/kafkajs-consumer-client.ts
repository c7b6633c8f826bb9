import { Kafka, logLevel, type Consumer, type EachBatchPayload, type KafkaMessage } from 'kafkajs';
import {
  OwnershipUncertainError,
  type ConsumerClient,
  type ConsumerClientHandlers,
  type ConsumerClientSettings,
  type RawHeaders,
  type RawMessage,
  type TopicPartition,
  type TopicPartitionOffset,
} from '../kafka-client.js';
import { nestLogCreator } from './kafkajs-logger.js';
import type { KafkajsSettings } from './kafkajs-settings.js';
import { subscriptionAwareRoundRobin } from './subscription-aware-assigner.js';

/** Errors of a commit that mean "this member's generation is stale", not "try again". */
const OWNERSHIP_ERRORS = new Set([
  'REBALANCE_IN_PROGRESS',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'NOT_COORDINATOR',
  'COORDINATOR_NOT_AVAILABLE',
  'FENCED_INSTANCE_ID',
]);
const DISCONNECT_TIMEOUT_MS = 10_000;
/**
 * Cap of one fetch long poll. Fetching is decoupled from processing, so a long poll buys nothing
 * but latency: stop waits for the poll in flight, and a resumed partition waits for the next one.
 */
const MAX_LONG_POLL_MS = 500;

type CommitFn = EachBatchPayload['commitOffsetsIfNecessary'];

/**
 * kafkajs consumer, run decoupled: eachBatch hands the batch to the engine and returns at once,
 * so the fetch loop (and with it heartbeats and the polling stamp) never waits on user code.
 * Positions and commits are explicit: autoCommit and auto-resolve are off.
 */
export class KafkajsConsumerClient implements ConsumerClient {
  private consumer?: Consumer;
  private commitNow?: CommitFn;
  private stopping = false;

  constructor(
    private readonly settings: ConsumerClientSettings,
    private readonly mapped: KafkajsSettings,
  ) {}

  async start(handlers: ConsumerClientHandlers): Promise<void> {
    this.stopping = false;
    const kafka = new Kafka({
      clientId: this.settings.clientId,
      ...this.mapped.client,
      logLevel: logLevel.WARN,
      logCreator: nestLogCreator,
    });
    const consumer = kafka.consumer({
      groupId: this.settings.groupId,
      maxWaitTimeInMs: Math.min(this.settings.maxWaitTime, MAX_LONG_POLL_MS),
      ...this.mapped.consumer,
      partitionAssigners: [subscriptionAwareRoundRobin],
    });
    this.consumer = consumer;
    const { events } = consumer;
    consumer.on(events.FETCH, () => handlers.onPoll());
    consumer.on(events.GROUP_JOIN, ({ payload }) => {
      const assignment: TopicPartition[] = [];
      for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
        for (const partition of partitions) assignment.push({ topic, partition });
      }
      handlers.onAssigned(assignment);
    });
    consumer.on(events.CRASH, ({ payload }) => {
      if (this.stopping) return;
      handlers.onCrash(payload.error, payload.restart);
    });

    try {
      await consumer.connect();
      this.throwIfStopping();
      for (const fromBeginning of [true, false]) {
        const topics = this.settings.subscriptions
          .filter((s) => s.fromBeginning === fromBeginning)
          .map((s) => s.topic);
        if (topics.length > 0) await consumer.subscribe({ topics, fromBeginning });
        this.throwIfStopping();
      }
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: async ({ batch, commitOffsetsIfNecessary, resolveOffset }) => {
          this.commitNow = commitOffsetsIfNecessary;
          const accepted = handlers.onBatch({
            topic: batch.topic,
            partition: batch.partition,
            fetchedOffset: Number((batch as unknown as { fetchedOffset: string }).fetchedOffset),
            highWatermark: Number(batch.highWatermark),
            messages: batch.messages.map((message) => new KafkajsRawMessage(message)),
          });
          // Moves the fetch position (past trailing control records too); commits stay explicit.
          if (accepted) resolveOffset(batch.lastOffset());
        },
      });
    } catch (error) {
      await this.disconnect();
      throw error;
    }
  }

  /** A stop during a slow connect must not leave a consumer joining the group afterwards. */
  private throwIfStopping(): void {
    if (this.stopping) throw new Error('the consumer was stopped while connecting');
  }

  pause(partitions: TopicPartition[]): void {
    try {
      this.consumer?.pause(partitions.map(({ topic, partition }) => ({ topic, partitions: [partition] })));
    } catch {
      // Not running yet (a stop while connecting): nothing is fetched to pause.
    }
  }

  resume(partitions: TopicPartition[]): void {
    try {
      this.consumer?.resume(partitions.map(({ topic, partition }) => ({ topic, partitions: [partition] })));
    } catch {
      // Not running yet: nothing is paused.
    }
  }

  seek({ topic, partition, offset }: TopicPartitionOffset): void {
    try {
      this.consumer?.seek({ topic, partition, offset: String(offset) });
    } catch {
      // Not running (crash restart in progress): the engine re-seeks after the next join.
    }
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    const commitNow = this.commitNow;
    if (!commitNow) throw new OwnershipUncertainError('no batch fetched in this generation yet');
    const topics = new Map<string, { partition: number; offset: string }[]>();
    for (const { topic, partition, offset } of offsets) {
      topics.set(topic, [...(topics.get(topic) ?? []), { partition, offset: String(offset) }]);
    }
    try {
      await commitNow({ topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })) });
    } catch (error) {
      const type = (error as { type?: string }).type;
      if (type && OWNERSHIP_ERRORS.has(type)) throw new OwnershipUncertainError(`commit refused: ${type}`);
      throw error;
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.disconnect();
  }

  private async disconnect(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    this.commitNow = undefined;
    if (!consumer) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      consumer.disconnect().catch(() => undefined),
      new Promise((resolve) => (timer = setTimeout(resolve, DISCONNECT_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
  }
}

/**
 * A kafkajs message seen as a RawMessage. Offsets and timestamps are parsed when read, not
 * up front: the engine reads only a chunk's first and last offsets, and parsing every
 * message's two decimal strings was the largest framework cost in the CPU profile.
 */
class KafkajsRawMessage implements RawMessage {
  constructor(private readonly source: KafkaMessage) {}

  get offset(): number {
    return Number(this.source.offset);
  }

  get key(): Buffer | null {
    return this.source.key;
  }

  get value(): Buffer | null {
    return this.source.value;
  }

  get headers(): RawHeaders {
    return this.source.headers ?? {};
  }

  get timestamp(): number {
    return Number(this.source.timestamp);
  }
}
