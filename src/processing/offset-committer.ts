import {
  OwnershipUncertainError,
  type ConsumerClient,
  type TopicPartition,
  type TopicPartitionOffset,
} from '../connection/kafka-client.js';

const RETRY_AFTER_ERROR_MS = 1_000;

export interface CommitterHooks {
  /** Whether this member still owns the partition: nothing is committed for one it lost. */
  owns(partition: TopicPartition): boolean;
  onError(error: Error): void;
}

function key({ topic, partition }: TopicPartition): string {
  return `${topic}\u0000${partition}`;
}

/**
 * Commits marked offsets of one subscription group. Commits are coalesced: while one is in
 * flight, every mark made meanwhile goes out in the next one. Only offsets of processed (or
 * dead-lettered) messages ever get here, so a commit never runs ahead of processing.
 */
export class OffsetCommitter {
  private readonly pending = new Map<string, TopicPartitionOffset>();
  private readonly committed = new Map<string, number>();
  private chain: Promise<void> = Promise.resolve();
  private next?: Promise<void>;
  private retryTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly client: () => ConsumerClient | undefined,
    private readonly hooks: CommitterHooks,
  ) {}

  store(position: TopicPartitionOffset): void {
    this.pending.set(key(position), position);
  }

  /** Drops what is pending for a lost partition. */
  forget(partition: TopicPartition): void {
    this.pending.delete(key(partition));
    this.committed.delete(key(partition));
  }

  committedOffset(partition: TopicPartition): number | undefined {
    return this.committed.get(key(partition));
  }

  isCommitted(position: TopicPartitionOffset): boolean {
    return (this.committed.get(key(position)) ?? -1) >= position.offset;
  }

  /** `position` was committed with a producer transaction: it counts as committed, and an older pending mark is dropped. */
  committedElsewhere(position: TopicPartitionOffset): void {
    if ((this.pending.get(key(position))?.offset ?? Infinity) <= position.offset)
      this.pending.delete(key(position));
    if ((this.committed.get(key(position)) ?? -1) < position.offset)
      this.committed.set(key(position), position.offset);
  }

  /** Commits everything pending; resolves once a commit that includes it finished (or failed). */
  flush(): Promise<void> {
    if (!this.next) {
      this.next = this.chain.then(() => {
        this.next = undefined;
        return this.commitPending();
      });
      this.chain = this.next;
    }
    return this.next;
  }

  /** No retry timer is left or armed after this. */
  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
  }

  private async commitPending(): Promise<void> {
    const client = this.client();
    const batch = [...this.pending.values()].filter((position) => this.hooks.owns(position));
    if (!client || batch.length === 0) return;
    for (const position of batch) this.pending.delete(key(position));
    try {
      await client.commit(batch);
      for (const position of batch) {
        if ((this.committed.get(key(position)) ?? -1) < position.offset)
          this.committed.set(key(position), position.offset);
      }
    } catch (error) {
      for (const position of batch) {
        const newer = this.pending.get(key(position));
        if (!newer && this.hooks.owns(position)) this.pending.set(key(position), position);
      }
      // A rebalance: the listener flushes again after the group is joined. Anything else: retry soon.
      if (!(error instanceof OwnershipUncertainError) && !this.closed) {
        this.hooks.onError(error as Error);
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => void this.flush(), RETRY_AFTER_ERROR_MS);
      }
    }
  }
}
