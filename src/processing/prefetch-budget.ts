import type { RawMessage } from '../connection/kafka-client.js';

/** librdkafka's default `queued.max.messages.kbytes`: 64 MiB of fetched, unprocessed messages per process. */
export const DEFAULT_QUEUED_MAX_KBYTES = 65_536;
/** Fetched but unprocessed bytes per partition above which that partition pauses fetching. */
export const PARTITION_PREFETCH_BYTES = 2 * 1024 * 1024;
/**
 * What one queued message costs beyond its key and value: the JS objects kafkajs and the engine
 * keep for it (message, headers, wrapper). Small messages are mostly this.
 */
const MESSAGE_OVERHEAD_BYTES = 256;

export function queuedSize(message: RawMessage): number {
  return (message.value?.length ?? 0) + (message.key?.length ?? 0) + MESSAGE_OVERHEAD_BYTES;
}

/**
 * The process-wide cap on fetched-but-unprocessed messages, across every partition of every
 * subscription group, so memory does not grow with the partition count. A partition that finds
 * the budget spent pauses and waits for room; room is announced once use falls to half.
 */
export class PrefetchBudget {
  private used = 0;
  private readonly waiting = new Set<() => void>();

  constructor(readonly capacityBytes: number) {}

  get spent(): boolean {
    return this.used >= this.capacityBytes;
  }

  get usedBytes(): number {
    return this.used;
  }

  take(bytes: number): void {
    this.used += bytes;
  }

  give(bytes: number): void {
    this.used -= bytes;
    if (this.waiting.size === 0 || this.used > this.capacityBytes / 2) return;
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const wake of waiting) wake();
  }

  /** Calls `wake` once there is room again; returns the cancel. */
  waitForRoom(wake: () => void): () => void {
    this.waiting.add(wake);
    return () => this.waiting.delete(wake);
  }
}
