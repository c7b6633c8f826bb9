import { Kafka, type Consumer, type EachBatchPayload } from 'kafkajs';
import type { ConsumerClientSettings, TopicPartition, TopicPartitionOffset } from '../kafka-client.js';
import { KafkajsRawMessage } from './kafkajs-raw-message.js';
import type { KafkajsSettings } from './kafkajs-settings.js';
import { subscriptionAwareRoundRobin } from './subscription-aware-assigner.js';

const DISCONNECT_TIMEOUT_MS = 10_000;
/**
 * kafkajs's rebalance timeout (max.poll.interval.ms) when not set: no join lasts longer, since
 * the broker then completes the rebalance without the members that did not rejoin.
 */
const DEFAULT_REBALANCE_TIMEOUT_MS = 60_000;
/**
 * Cap of one fetch long poll. Fetching is decoupled from processing, so a long poll buys nothing
 * but latency: stop waits for the poll in flight, and a resumed partition waits for the next one.
 */
const MAX_LONG_POLL_MS = 500;

type CommitFn = EachBatchPayload['commitOffsetsIfNecessary'];

/** What a session reports to its client, in kafkajs's terms still. */
export interface SessionEvents {
  polled(): void;
  joined(memberId: string, assignment: TopicPartition[]): void;
  /** A batch; returns whether it was delivered (then the position moves past it). */
  fetched(
    partition: TopicPartition,
    stale: boolean,
    highWatermark: number,
    messages: KafkajsRawMessage[],
  ): boolean;
  crashed(error: Error, willRestart: boolean): void;
}

function capped(work: Promise<unknown> | undefined, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    (work ?? Promise.resolve()).catch(() => undefined),
    new Promise((resolve) => (timer = setTimeout(resolve, ms))),
  ]).finally(() => clearTimeout(timer));
}

/**
 * One kafkajs consumer, from connect to disconnect, run decoupled: eachBatch hands the batch to
 * the engine and returns at once, so the fetch loop (with it heartbeats and the polling stamp)
 * never waits on user code. Positions and commits are explicit: autoCommit and auto-resolve are off.
 */
export class KafkajsSession {
  private readonly consumer: Consumer;
  private stopping = false;
  private stopped?: Promise<void>;
  /** The stop sequence ran to its end: anything still fetching is a restart that outlived it. */
  private left = false;
  private joining = false;
  /** From the first fetch after a join to a crash or stop: commits reach the group's current generation. */
  joined = false;
  /** The eachBatch payload's commit: immediate, never retried, valid for this runner's every generation. */
  private commitNow?: CommitFn;
  private joinWaiters: (() => void)[] = [];
  private readonly rebalanceTimeout?: number;

  constructor(
    settings: ConsumerClientSettings,
    mapped: KafkajsSettings,
    private readonly events: SessionEvents,
  ) {
    this.rebalanceTimeout = mapped.consumer.rebalanceTimeout;
    const kafka = new Kafka({
      clientId: settings.clientId,
      ...mapped.client,
      ...mapped.logging,
    });
    this.consumer = kafka.consumer({
      groupId: settings.groupId,
      maxWaitTimeInMs: Math.min(settings.maxWaitTime, MAX_LONG_POLL_MS),
      ...mapped.consumer,
      partitionAssigners: [subscriptionAwareRoundRobin],
      // A consumer being stopped never restarts itself after a crash (kafkajs would, on a timer).
      retry: { ...mapped.client.retry, restartOnFailure: async () => !this.stopping },
    });
    const { events: names } = this.consumer;
    // Events after a stop began come from kafkajs tearing down, or from a join that outlived it.
    const live =
      <T>(handler: (event: T) => void) =>
      (event: T) => {
        if (!this.stopping) handler(event);
      };
    this.consumer.on(
      names.FETCH,
      live(() => events.polled()),
    );
    // Whether kafkajs is (re)joining: a stop then waits for the join to end, or kafkajs would
    // finish it after the stop, joined but never leaving (kafkajs#1639).
    // Fetching means joined with the runner running: before that kafkajs drops commits silently.
    this.consumer.on(names.FETCH_START, () => {
      this.joined = !this.stopping;
      this.joinEnded();
    });
    this.consumer.on(names.CRASH, ({ payload }) => {
      // A crash ends the runner and its consumer group: their commit goes with them.
      this.joined = false;
      this.commitNow = undefined;
      if (payload.restart) this.joining = true;
      else this.joinEnded();
    });
    // A rebalance kafkajs noticed: commits are refused until it fetches again.
    this.consumer.on(names.REBALANCING, () => (this.joined = false));
    this.consumer.on(names.FETCH, () => {
      // Its crash-restart timer is armed after awaits a stop can fall between: a consumer that
      // restarted after the stop is stopped again once it fetches (then its runner can be stopped).
      if (this.left) void this.consumer.disconnect().catch(() => undefined);
    });
    this.consumer.on(
      names.GROUP_JOIN,
      live(({ payload }) => {
        const assignment: TopicPartition[] = [];
        for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
          for (const partition of partitions) assignment.push({ topic, partition });
        }
        events.joined(payload.memberId, assignment);
      }),
    );
    this.consumer.on(
      names.CRASH,
      live(({ payload }) => events.crashed(payload.error, payload.restart)),
    );
    this.eachBatch = async ({ batch, commitOffsetsIfNecessary, resolveOffset, isStale }) => {
      if (this.stopping) return;
      const delivered = events.fetched(
        { topic: batch.topic, partition: batch.partition },
        isStale(),
        Number(batch.highWatermark),
        batch.messages.map((message) => new KafkajsRawMessage(message)),
      );
      if (delivered) this.commitNow = commitOffsetsIfNecessary;
      // Moves the fetch position (past trailing control records too); commits stay explicit.
      if (delivered) resolveOffset(batch.lastOffset());
    };
  }

  private readonly eachBatch: (payload: EachBatchPayload) => Promise<void>;

  private joinEnded(): void {
    this.joining = false;
    const waiters = this.joinWaiters;
    this.joinWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Connects and subscribes; the join runs on in the background. Rejects when connecting fails. */
  async start(subscriptions: ConsumerClientSettings['subscriptions']): Promise<void> {
    await this.consumer.connect();
    for (const fromBeginning of [true, false]) {
      const topics = subscriptions.filter((s) => s.fromBeginning === fromBeginning).map((s) => s.topic);
      if (topics.length > 0) await this.consumer.subscribe({ topics, fromBeginning });
      if (this.stopping) return;
    }
    this.joining = true;
    // Not awaited: kafkajs resolves it only after the first join, which a stop must not wait behind.
    this.consumer
      .run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: this.eachBatch,
      })
      .catch((error: Error) => {
        this.joinEnded();
        if (!this.stopping) this.events.crashed(error, false);
      });
  }

  pause(partitions: TopicPartition[]): void {
    // kafkajs throws whenever it has no consumer group (before run, after a crash, in a restart
    // delay); the client's gate holds the truth, kafkajs's pause only saves fetches.
    try {
      this.consumer.pause(partitions.map(({ topic, partition }) => ({ topic, partitions: [partition] })));
    } catch {
      /* no consumer group now: nothing is fetched anyway */
    }
  }

  resume(partitions: TopicPartition[]): void {
    try {
      this.consumer.resume(partitions.map(({ topic, partition }) => ({ topic, partitions: [partition] })));
    } catch {
      /* no consumer group now: a new one starts unpaused */
    }
  }

  /** Commits now: through the payload's commit when a batch came in this runner, else kafkajs's retried one. */
  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    const topics = new Map<string, { partition: number; offset: string }[]>();
    for (const { topic, partition, offset } of offsets) {
      let partitions = topics.get(topic);
      if (!partitions) topics.set(topic, (partitions = []));
      partitions.push({ partition, offset: String(offset) });
    }
    if (this.commitNow) {
      await this.commitNow({ topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })) });
      return;
    }
    await this.consumer.commitOffsets(offsets.map((o) => ({ ...o, offset: String(o.offset) })));
  }

  seek(partition: TopicPartition, offset: number): void {
    try {
      this.consumer.seek({ ...partition, offset: String(offset) });
    } catch {
      /* no consumer group now: a new one starts at the committed offset */
    }
  }

  /**
   * Leaves the group and disconnects; idempotent. A stop during the first join would leave
   * kafkajs's join running on (kafkajs#1639: it joins, fetches and holds partitions with nobody
   * to stop it, or joined on the broker and never leaving), so a join in flight is waited for
   * first (no longer than the rebalance timeout, after which the broker ends any rebalance),
   * then the consumer leaves and disconnects.
   */
  stop(): Promise<void> {
    this.stopping = true;
    this.joined = false;
    this.stopped ??= (async () => {
      if (this.joining)
        await capped(
          new Promise<void>((resolve) => this.joinWaiters.push(resolve)),
          (this.rebalanceTimeout ?? DEFAULT_REBALANCE_TIMEOUT_MS) + 5_000,
        );
      await capped(this.consumer.disconnect(), DISCONNECT_TIMEOUT_MS);
      this.left = true;
    })();
    return this.stopped;
  }
}
