import type { RawMessage } from '../connection/kafka-client.js';

/** librdkafka's default `queued.max.messages.kbytes`: 64 MiB of fetched, unprocessed messages per process. */
export const DEFAULT_QUEUED_MAX_KBYTES = 65_536;
/** Fetched but unprocessed bytes per partition above which that partition pauses fetching. */
export const PARTITION_PREFETCH_BYTES = 2 * 1024 * 1024;
/**
 * What one queued message counts beyond its key and value: about a record's own bytes on the
 * wire, so the counts compare with fetch sizes (max.partition.fetch.bytes) as librdkafka's do.
 * Counting the JS objects too (~256 B) paused a partition after every fetch of small messages,
 * and kafkajs sleeps a whole long poll when every partition is paused: 6 times slower.
 */
const MESSAGE_OVERHEAD_BYTES = 64;

export function queuedSize(message: RawMessage): number {
  return (message.value?.length ?? 0) + (message.key?.length ?? 0) + MESSAGE_OVERHEAD_BYTES;
}

/**
 * The process-wide cap on fetched-but-unprocessed messages, across every partition of every
 * subscription group, so memory does not grow with the partition count. Once the budget is
 * spent every partition stops fetching, not only those that hold data: with many partitions,
 * one fetch each would otherwise take far more than the budget. They fetch again once use
 * falls to half.
 */
export class PrefetchBudget {
  private used = 0;
  private spentValue = false;
  private readonly partitions = new Set<(spent: boolean) => void>();

  constructor(readonly capacityBytes: number) {}

  get spent(): boolean {
    return this.spentValue;
  }

  get usedBytes(): number {
    return this.used;
  }

  take(bytes: number): void {
    this.used += bytes;
    if (!this.spentValue && this.used >= this.capacityBytes) this.announce(true);
  }

  give(bytes: number): void {
    this.used -= bytes;
    if (this.spentValue && this.used <= this.capacityBytes / 2) this.announce(false);
  }

  /** `changed` hears every change of `spent`; returns the unsubscribe. */
  watch(changed: (spent: boolean) => void): () => void {
    this.partitions.add(changed);
    return () => this.partitions.delete(changed);
  }

  private announce(spent: boolean): void {
    this.spentValue = spent;
    for (const changed of [...this.partitions]) changed(spent);
  }
}
