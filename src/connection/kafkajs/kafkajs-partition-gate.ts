import type { TopicPartition } from '../kafka-client.js';

function key({ topic, partition }: TopicPartition): string {
  return `${topic}\u0000${partition}`;
}

/** What the gate decides for one fetched batch. */
export type Admission = { deliver: false } | { deliver: true; resetFrom?: number };

/**
 * The contract's delivery rules for kafkajs, whose own state breaks them: its pause set and
 * pending seeks survive a rebalance, and it hands over batches of a partition paused or sought
 * after they were fetched. The gate is the driver's truth per partition: assigned, paused, a
 * seek kafkajs has not applied yet, a reset kafkajs made by itself.
 */
export class KafkajsPartitionGate {
  private readonly assigned = new Map<string, TopicPartition>();
  private readonly paused = new Set<string>();
  /** Seeks kafkajs may still hold for partitions since revoked: it applies them on a later assignment. */
  private readonly staleSeeks = new Set<string>();
  private readonly seeking = new Set<string>();
  /** Re-assigned partitions with a stale seek: nothing is delivered until the driver seeks them to the group's offset. */
  private readonly blocked = new Set<string>();
  private readonly resets = new Map<string, number>();

  partitions(): TopicPartition[] {
    return [...this.assigned.values()];
  }

  owns(partition: TopicPartition): boolean {
    return this.assigned.has(key(partition));
  }

  /** The new assignment; returns what was owned before (all of it revoked: kafkajs is eager) and the partitions holding a stale seek. */
  assign(partitions: TopicPartition[]): { revoked: TopicPartition[]; staleSeeks: TopicPartition[] } {
    const revoked = this.revokeAll();
    for (const partition of partitions) this.assigned.set(key(partition), partition);
    const staleSeeks = partitions.filter((partition) => this.staleSeeks.delete(key(partition)));
    for (const partition of staleSeeks) this.blocked.add(key(partition));
    return { revoked, staleSeeks };
  }

  /** Forgets every partition; their pauses go with them, their pending seeks become stale. */
  revokeAll(): TopicPartition[] {
    const revoked = this.partitions();
    for (const partitionKey of this.seeking) this.staleSeeks.add(partitionKey);
    this.assigned.clear();
    this.paused.clear();
    this.seeking.clear();
    this.blocked.clear();
    this.resets.clear();
    return revoked;
  }

  pause(partition: TopicPartition): void {
    if (this.owns(partition)) this.paused.add(key(partition));
  }

  resume(partition: TopicPartition): void {
    this.paused.delete(key(partition));
  }

  /** A seek handed to kafkajs: batches fetched before it must not be delivered. */
  seek(partition: TopicPartition): void {
    if (!this.owns(partition)) return;
    this.seeking.add(key(partition));
    this.blocked.delete(key(partition));
  }

  /** kafkajs moved the position by itself (offset out of range): the next batch says so. */
  noteReset(partition: TopicPartition, from: number): void {
    if (this.owns(partition)) this.resets.set(key(partition), from);
  }

  /** `stale` is kafkajs's own "a seek is pending for this partition". */
  admit(partition: TopicPartition, stale: boolean): Admission {
    const partitionKey = key(partition);
    if (
      !this.assigned.has(partitionKey) ||
      this.paused.has(partitionKey) ||
      this.blocked.has(partitionKey) ||
      stale
    )
      return { deliver: false };
    this.seeking.delete(partitionKey);
    const resetFrom = this.resets.get(partitionKey);
    this.resets.delete(partitionKey);
    return { deliver: true, resetFrom };
  }
}
