import type { TopicPartition } from '../../connection/kafka-client.js';
import type { PartitionExecutor } from '../partition/partition-executor.js';

function key({ topic, partition }: TopicPartition): string {
  return `${topic}\u0000${partition}`;
}

/** What one rebalance changed for this member, once it ended. */
export interface RebalanceOutcome {
  added: TopicPartition[];
  lost: TopicPartition[];
}

/**
 * The partitions of one subscription group this member owns, Karafka's rebalance manager:
 * a revoke suspends a partition; the `assigned` that ends the rebalance reinstates those that
 * came back (an eager client revokes everything) and retires those lost. Retired executors
 * finish their last job before a new owner of the same partition in this process starts.
 */
export class PartitionMap {
  private readonly executors = new Map<string, PartitionExecutor>();
  private readonly suspended = new Set<string>();
  private readonly draining = new Map<string, Promise<void>>();

  constructor(
    private readonly create: (
      partition: TopicPartition,
      predecessor?: Promise<void>,
    ) => PartitionExecutor | undefined,
  ) {}

  get(partition: TopicPartition): PartitionExecutor | undefined {
    return this.executors.get(key(partition));
  }

  all(): PartitionExecutor[] {
    return [...this.executors.values()];
  }

  owns(partition: TopicPartition): boolean {
    return this.executors.get(key(partition))?.isRevoked() === false;
  }

  revoked(partitions: TopicPartition[]): void {
    for (const partition of partitions) {
      const executor = this.executors.get(key(partition));
      if (!executor) continue;
      executor.suspend();
      this.suspended.add(key(partition));
    }
  }

  /** Ends a rebalance: `partitions` are added to what this member keeps. */
  assigned(partitions: TopicPartition[]): RebalanceOutcome & { created: PartitionExecutor[] } {
    const added: TopicPartition[] = [];
    const created: PartitionExecutor[] = [];
    for (const partition of partitions) {
      const partitionKey = key(partition);
      const existing = this.executors.get(partitionKey);
      if (existing) {
        if (this.suspended.delete(partitionKey)) existing.reinstate();
        continue;
      }
      const executor = this.create(partition, this.draining.get(partitionKey));
      if (!executor) continue;
      this.executors.set(partitionKey, executor);
      added.push(partition);
      created.push(executor);
    }
    const lost = [...this.suspended].map((partitionKey) => this.retire(partitionKey));
    this.suspended.clear();
    return { added, lost, created };
  }

  /** The client is gone: every partition is lost. */
  loseAll(): TopicPartition[] {
    this.suspended.clear();
    return [...this.executors.keys()].map((partitionKey) => this.retire(partitionKey));
  }

  /** Resolves when every retired executor finished. */
  drained(): Promise<unknown> {
    return Promise.all(this.draining.values());
  }

  clear(): void {
    this.executors.clear();
    this.suspended.clear();
  }

  private retire(partitionKey: string): TopicPartition {
    const executor = this.executors.get(partitionKey)!;
    this.executors.delete(partitionKey);
    const done = executor.retire().finally(() => {
      if (this.draining.get(partitionKey) === done) this.draining.delete(partitionKey);
    });
    this.draining.set(partitionKey, done);
    return { topic: executor.topic, partition: executor.partition };
  }
}
