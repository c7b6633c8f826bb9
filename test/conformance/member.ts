import {
  KafkaClientError,
  type ConsumerClient,
  type ConsumerClientHandlers,
  type FetchedBatch,
  type RawMessage,
  type TopicPartition,
  type TopicPartitionOffset,
} from '../../src/connection/kafka-client.js';
import { waitFor } from '../support/wait-for.js';

export type ClientEvent =
  | { type: 'assigned'; partitions: TopicPartition[] }
  | { type: 'revoked'; partitions: TopicPartition[] }
  | { type: 'batch'; batch: FetchedBatch }
  | { type: 'warning'; error: KafkaClientError }
  | { type: 'crashed'; error: KafkaClientError };

const key = ({ topic, partition }: TopicPartition) => `${topic}/${partition}`;

/**
 * One consumer client under test and everything it told: the handlers check every rule of the
 * contract that can be checked call by call, and keep what they saw as `violations` (a handler
 * must never throw into the driver). Pause and seek go through here so the checks know of them.
 */
export class Member implements ConsumerClientHandlers {
  readonly events: ClientEvent[] = [];
  readonly violations: string[] = [];
  /** Partitions assigned and not revoked. */
  readonly held = new Map<string, TopicPartition>();
  polls = 0;
  /** Called after the checks for each batch, inside the driver's call. */
  onBatch?: (batch: FetchedBatch) => void;
  private readonly paused = new Set<string>();
  /** The last seek of each partition, until its next batch. */
  private readonly seekFloor = new Map<string, number>();
  /** The last delivered offset since the partition's assignment or last seek. */
  private readonly lastDelivered = new Map<string, number>();
  private stopped = false;
  private crashedAt?: number;

  constructor(
    readonly client: ConsumerClient,
    readonly clientId: string,
    private readonly eager: boolean,
    private readonly timeoutMs: number,
  ) {}

  get crashError(): KafkaClientError | undefined {
    const event = this.events.find((e) => e.type === 'crashed');
    return event?.type === 'crashed' ? event.error : undefined;
  }

  get warnings(): KafkaClientError[] {
    return this.events.flatMap((e) => (e.type === 'warning' ? [e.error] : []));
  }

  /** Assigned and revoked calls, in order. */
  get rebalanceEvents(): ClientEvent[] {
    return this.events.filter((e) => e.type === 'assigned' || e.type === 'revoked');
  }

  assigned(partitions: TopicPartition[]): void {
    this.check('assigned');
    for (const tp of partitions) {
      if (this.held.has(key(tp))) this.violate(`assigned ${key(tp)}, which it already holds`);
      this.held.set(key(tp), tp);
    }
    this.events.push({ type: 'assigned', partitions });
  }

  revoked(partitions: TopicPartition[]): void {
    this.check('revoked');
    for (const tp of partitions) {
      if (!this.held.delete(key(tp))) this.violate(`revoked ${key(tp)}, which it does not hold`);
      this.paused.delete(key(tp));
      this.seekFloor.delete(key(tp));
      this.lastDelivered.delete(key(tp));
    }
    if (this.eager && this.held.size > 0) {
      this.violate(`an eager client revoked ${partitions.length} partitions and kept ${this.held.size}`);
    }
    this.events.push({ type: 'revoked', partitions });
  }

  batch(batch: FetchedBatch): void {
    this.check('batch');
    const tp = key(batch);
    const offsets = batch.messages.map((m) => m.offset);
    if (!this.held.has(tp)) this.violate(`batch of ${tp}, which it does not hold`);
    if (this.paused.has(tp)) this.violate(`batch of ${tp} while it is paused`);
    if (offsets.length === 0) this.violate(`empty batch of ${tp}`);
    if (offsets.some((o, i) => i > 0 && o <= offsets[i - 1]))
      this.violate(`batch of ${tp} out of order: ${offsets}`);
    const floor = this.seekFloor.get(tp);
    // resetFrom: the client moved the position by itself, wherever auto.offset.reset sent it.
    if (batch.resetFrom === undefined) {
      if (floor !== undefined && offsets[0] < floor)
        this.violate(`batch of ${tp} from ${offsets[0]} after a seek to ${floor}`);
      const last = this.lastDelivered.get(tp);
      if (last !== undefined && offsets[0] <= last)
        this.violate(`batch of ${tp} from ${offsets[0]} after ${last} was delivered`);
    }
    this.seekFloor.delete(tp);
    this.lastDelivered.set(tp, offsets[offsets.length - 1]);
    this.events.push({ type: 'batch', batch });
    this.onBatch?.(batch);
  }

  polled(): void {
    this.check('polled');
    this.polls++;
  }

  warning(error: KafkaClientError): void {
    this.check('warning');
    if (!(error instanceof KafkaClientError))
      this.violate(`warning that is not a KafkaClientError: ${String(error)}`);
    this.events.push({ type: 'warning', error });
  }

  crashed(error: KafkaClientError): void {
    this.check('crashed');
    if (!(error instanceof KafkaClientError))
      this.violate(`crash with an error that is not a KafkaClientError: ${String(error)}`);
    if (this.held.size > 0)
      this.violate(`crashed while still holding ${[...this.held.keys()]}: revoked must come first`);
    this.crashedAt = this.events.length;
    this.events.push({ type: 'crashed', error });
  }

  pause(partitions: TopicPartition[]): void {
    for (const tp of partitions) this.paused.add(key(tp));
    this.client.pause(partitions);
  }

  resume(partitions: TopicPartition[]): void {
    for (const tp of partitions) this.paused.delete(key(tp));
    this.client.resume(partitions);
  }

  seek(position: TopicPartitionOffset): void {
    this.seekFloor.set(key(position), position.offset);
    this.lastDelivered.delete(key(position));
    this.client.seek(position);
  }

  commit(offsets: TopicPartitionOffset[]): Promise<void> {
    return this.client.commit(offsets);
  }

  async stop(): Promise<void> {
    await this.client.stop();
    this.stopped = true;
  }

  /** Messages delivered for the partition, from the event at index `since` on. */
  messages(topic: string, partition: number, since = 0): RawMessage[] {
    return this.batches(topic, partition, since).flatMap((b) => b.messages);
  }

  offsets(topic: string, partition: number, since = 0): number[] {
    return this.messages(topic, partition, since).map((m) => m.offset);
  }

  values(topic: string, partition: number, since = 0): (string | null)[] {
    return this.messages(topic, partition, since).map((m) => m.value?.toString() ?? null);
  }

  batches(topic: string, partition: number, since = 0): FetchedBatch[] {
    return this.events
      .slice(since)
      .flatMap((e) =>
        e.type === 'batch' && e.batch.topic === topic && e.batch.partition === partition ? [e.batch] : [],
      );
  }

  /** Index of the last `assigned` event (where a test starts looking at a new assignment). */
  lastAssignedAt(): number {
    for (let i = this.events.length - 1; i >= 0; i--) if (this.events[i].type === 'assigned') return i;
    return -1;
  }

  until(condition: () => boolean, what: string): Promise<void> {
    return waitFor(condition, this.timeoutMs, `${this.clientId}: ${what}`);
  }

  /** Waits for `count` more turns of the fetch loop: a window in which something must not happen. */
  turns(count: number): Promise<void> {
    const target = this.polls + count;
    return this.until(() => this.polls >= target, `${count} more polls`);
  }

  private check(call: string): void {
    if (this.stopped) this.violate(`${call}() after stop() resolved`);
    if (this.crashedAt !== undefined) this.violate(`${call}() after crashed()`);
  }

  private violate(problem: string): void {
    this.violations.push(problem);
  }
}
