import {
  KafkaClientError,
  OwnershipUncertainError,
  type ConsumerClient,
  type ConsumerClientHandlers,
  type ConsumerClientSettings,
  type FetchedBatch,
  type TopicPartition,
  type TopicPartitionOffset,
} from '../../../src/connection/kafka-client.js';
import type { InMemoryKafka } from './cluster.js';
import { missingTopicError } from './cluster.js';
import { tpKey, type GroupMemberHandle, type InMemoryGroup } from './consumer-group.js';
import { Timers } from './timers.js';

/** A partition while this member owns it; a revoke drops the object, and with it pause and seek. */
interface OwnedPartition {
  tp: TopicPartition;
  position: number;
  paused: boolean;
  /** Where the position was before `auto.offset.reset` moved it, until the next batch or seek. */
  resetFrom?: number;
}

interface Fetched {
  owned: OwnedPartition;
  from: number;
  batch: FetchedBatch;
  next: number;
}

type State = 'new' | 'connecting' | 'joining' | 'member' | 'crashed' | 'stopped';

const DEFAULT_PARTITION_BYTES = 1_048_576;
const DEFAULT_FETCH_BYTES = 52_428_800;
let members = 0;

/**
 * One member of an in-memory consumer group. The fetch loop runs on timers: a turn reads every
 * fetchable partition, and the response is delivered on the next tick, when it is dropped for a
 * partition that was paused, sought or revoked meanwhile (as a real fetch in flight would be).
 */
export class InMemoryConsumerClient implements ConsumerClient, GroupMemberHandle {
  readonly memberId: string;
  readonly clientId: string;
  readonly topics: readonly string[];
  readonly protocol = 'roundrobin';
  private state: State = 'new';
  private handlers?: ConsumerClientHandlers;
  private readonly timers = new Timers();
  private readonly untrack: () => void;
  private readonly group: InMemoryGroup;
  private generation = -1;
  private readonly owned = new Map<string, OwnedPartition>();
  private readonly warnedMissing = new Set<string>();
  private cancelNext?: () => void;
  private stopWaiting?: () => void;
  private idle = false;
  private rotation = 0;
  private stopping?: Promise<void>;

  constructor(
    private readonly kafka: InMemoryKafka,
    private readonly settings: ConsumerClientSettings,
  ) {
    this.clientId = settings.clientId;
    this.memberId = `${settings.clientId}-${++members}`;
    this.topics = settings.subscriptions.map((s) => s.topic);
    this.group = kafka.group(settings.groupId);
    this.untrack = kafka.track(this.timers);
  }

  /** Timers and data waits this client keeps: 0 once it is stopped or crashed. */
  get liveTimers(): number {
    return this.timers.count + (this.stopWaiting ? 1 : 0);
  }

  get live(): boolean {
    return this.state === 'joining' || this.state === 'member';
  }

  async start(handlers: ConsumerClientHandlers): Promise<void> {
    if (this.state !== 'new') throw new Error(`start() called on a client that is ${this.state}`);
    this.handlers = handlers;
    this.state = 'connecting';
    // Not on the tracked timers: a stop during the connection clears those, and start must still settle.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.state !== 'connecting') return;
    try {
      this.kafka.checkBootstrap(this.settings.kafka['bootstrap.servers'], 'consumer connect failed');
    } catch (error) {
      await this.stop();
      throw error;
    }
    this.state = 'joining';
    this.group.join(this);
    this.schedule(true);
  }

  pause(partitions: TopicPartition[]): void {
    for (const tp of partitions) {
      const owned = this.owned.get(tpKey(tp));
      if (owned) owned.paused = true;
    }
  }

  resume(partitions: TopicPartition[]): void {
    let resumed = false;
    for (const tp of partitions) {
      const owned = this.owned.get(tpKey(tp));
      if (owned?.paused) {
        owned.paused = false;
        resumed = true;
      }
    }
    if (resumed) this.wake();
  }

  seek({ topic, partition, offset }: TopicPartitionOffset): void {
    const owned = this.owned.get(tpKey({ topic, partition }));
    if (!owned) return;
    owned.position = offset;
    owned.resetFrom = undefined;
    this.wake();
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    if (this.state !== 'member') {
      throw new OwnershipUncertainError(`commit refused: the client is ${this.state}, not a group member`);
    }
    const negative = offsets.find((o) => !Number.isInteger(o.offset) || o.offset < 0);
    if (negative) {
      throw new KafkaClientError(`commit of offset ${negative.offset} refused`, {
        retriable: false,
        topic: negative.topic,
        partition: negative.partition,
        hint: 'a committed offset is the next offset to read, a non-negative integer',
      });
    }
    this.group.commit(this.memberId, this.generation, offsets);
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutDown();
    return this.stopping;
  }

  /** Test control: the client dies as a broken connection or a fatal error would kill it. */
  crash(error: KafkaClientError): void {
    if (!this.live) return;
    this.state = 'crashed';
    this.halt();
    this.revokeAll();
    this.handlers!.crashed(error);
  }

  rebalanceStarted(): void {
    if (this.live) this.revokeAll();
  }

  joined(generation: number, partitions: TopicPartition[]): void {
    if (!this.live) return;
    this.state = 'member';
    this.generation = generation;
    for (const tp of partitions) {
      this.owned.set(tpKey(tp), { tp, position: this.initialPosition(tp), paused: false });
    }
    this.handlers!.assigned(partitions.map(({ topic, partition }) => ({ topic, partition })));
    this.wake();
  }

  joinFailed(error: KafkaClientError): void {
    this.crash(error);
  }

  private async shutDown(): Promise<void> {
    this.state = 'stopped';
    this.halt();
    this.owned.clear();
    this.untrack();
  }

  private halt(): void {
    this.cancelNext?.();
    this.cancelNext = undefined;
    this.timers.clearAll();
    this.group.leave(this.memberId);
  }

  private revokeAll(): void {
    if (this.owned.size === 0) return;
    const revoked = [...this.owned.values()].map((o) => o.tp);
    this.owned.clear();
    this.handlers!.revoked(revoked);
  }

  private subscription(topic: string) {
    return this.settings.subscriptions.find((s) => s.topic === topic)!;
  }

  private resetTo(tp: TopicPartition): number {
    const log = this.kafka.log(tp.topic, tp.partition);
    const policy = String(this.settings.kafka['auto.offset.reset'] ?? '');
    const earliest = ['earliest', 'smallest', 'beginning'].includes(policy)
      ? true
      : ['latest', 'largest', 'end'].includes(policy)
        ? false
        : this.subscription(tp.topic).fromBeginning;
    return earliest ? log.logStart : log.end;
  }

  private initialPosition(tp: TopicPartition): number {
    return this.group.committedOffset(tp) ?? this.resetTo(tp);
  }

  /** Runs the next turn now (data arrived, a partition resumed or moved) if the loop is idle. */
  private wake(): void {
    if (this.idle && this.live) this.schedule(true);
  }

  private schedule(now: boolean): void {
    this.cancelNext?.();
    this.idle = !now;
    if (now) {
      this.cancelNext = this.timers.soon(() => this.turn());
      return;
    }
    const stopWaiting = this.kafka.onData(() => {
      this.stopWaiting = undefined;
      this.wake();
    });
    this.stopWaiting = stopWaiting;
    const cancelTimer = this.timers.after(this.settings.maxWaitTime, () => {
      this.stopWaiting = undefined;
      stopWaiting();
      this.turn();
    });
    this.cancelNext = () => {
      this.stopWaiting = undefined;
      stopWaiting();
      cancelTimer();
    };
  }

  private turn(): void {
    this.cancelNext = undefined;
    this.idle = false;
    if (!this.live) return;
    this.handlers!.polled();
    this.warnMissingTopics();
    const fetched = this.fetch();
    if (fetched.length === 0) {
      this.schedule(false);
      return;
    }
    this.cancelNext = this.timers.soon(() => this.deliver(fetched));
  }

  private warnMissingTopics(): void {
    for (const topic of this.topics) {
      if (this.kafka.partitionCount(topic) !== undefined) {
        this.warnedMissing.delete(topic);
      } else if (!this.warnedMissing.has(topic)) {
        this.warnedMissing.add(topic);
        this.handlers!.warning(missingTopicError(topic, `subscription of group ${this.settings.groupId}`));
      }
    }
  }

  private fetch(): Fetched[] {
    const partitionBytes = Number(
      this.settings.kafka['max.partition.fetch.bytes'] ?? DEFAULT_PARTITION_BYTES,
    );
    let budget = Number(this.settings.kafka['fetch.max.bytes'] ?? DEFAULT_FETCH_BYTES);
    const candidates = [...this.owned.values()].filter(
      (o) => !o.paused && this.kafka.partitionCount(o.tp.topic) !== undefined,
    );
    // Rotate the start so that a fetch budget spent early does not starve the same partitions.
    this.rotation = (this.rotation + 1) % Math.max(candidates.length, 1);
    const ordered = [...candidates.slice(this.rotation), ...candidates.slice(0, this.rotation)];
    const fetched: Fetched[] = [];
    for (const owned of ordered) {
      if (budget <= 0) break;
      const log = this.kafka.log(owned.tp.topic, owned.tp.partition);
      let result = log.read(owned.position, this.kafka.maxBatchMessages, Math.min(partitionBytes, budget));
      if (result.outOfRange) {
        owned.resetFrom ??= owned.position;
        owned.position = this.resetTo(owned.tp);
        result = log.read(owned.position, this.kafka.maxBatchMessages, Math.min(partitionBytes, budget));
        if (result.outOfRange) continue;
      }
      if (result.messages.length === 0) {
        // Only hidden offsets (markers, aborted records) or compacted gaps: move past them.
        owned.position = result.next;
        continue;
      }
      for (const m of result.messages) budget -= m.value?.length ?? 0;
      fetched.push({
        owned,
        from: owned.position,
        next: result.next,
        batch: {
          topic: owned.tp.topic,
          partition: owned.tp.partition,
          messages: result.messages,
          highWatermark: log.end,
        },
      });
    }
    return fetched;
  }

  private deliver(fetched: Fetched[]): void {
    this.cancelNext = undefined;
    for (const { owned, from, next, batch } of fetched) {
      // Dropped when the partition was revoked, paused or sought while the fetch was in flight.
      if (
        !this.live ||
        this.owned.get(tpKey(owned.tp)) !== owned ||
        owned.paused ||
        owned.position !== from
      ) {
        continue;
      }
      owned.position = next;
      if (owned.resetFrom !== undefined) batch.resetFrom = owned.resetFrom;
      owned.resetFrom = undefined;
      this.handlers!.batch(batch);
    }
    if (this.live) this.schedule(true);
  }
}
