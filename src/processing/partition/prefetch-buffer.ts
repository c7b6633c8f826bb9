import type { RawMessage } from '../../connection/kafka-client.js';
import { PARTITION_PREFETCH_BYTES, queuedSize, type PrefetchBudget } from '../prefetch-budget.js';
import type { FetchPauses } from './fetch-pauses.js';

/**
 * One partition's fetched, unprocessed messages, in offset order, counted against the
 * partition's cap and the process budget: fetching the partition pauses while its own share is
 * full or the process budget is spent. Taking a chunk never copies what is left.
 */
export class PrefetchBuffer {
  private queue: RawMessage[] = [];
  private cursor = 0;
  private bytesValue = 0;
  private readonly unwatch: () => void;

  constructor(
    private readonly budget: PrefetchBudget,
    private readonly pauses: FetchPauses,
  ) {
    pauses.set('budget', budget.spent);
    this.unwatch = budget.watch((spent) => pauses.set('budget', spent));
  }

  get bytes(): number {
    return this.bytesValue;
  }

  get isEmpty(): boolean {
    return this.cursor >= this.queue.length;
  }

  push(messages: RawMessage[]): void {
    let bytes = 0;
    for (const message of messages) bytes += queuedSize(message);
    this.account(bytes);
    // What was already taken is dropped, so it can be collected; the batch's array is not mutated.
    this.queue = this.isEmpty ? messages : this.queue.slice(this.cursor).concat(messages);
    this.cursor = 0;
  }

  /** Up to `max` messages from the head. */
  take(max: number): RawMessage[] {
    const end = Math.min(this.cursor + max, this.queue.length);
    const chunk = this.queue.slice(this.cursor, end);
    this.cursor = end;
    if (this.isEmpty) this.drop();
    else {
      let bytes = 0;
      for (const message of chunk) bytes += queuedSize(message);
      this.account(-bytes);
    }
    return chunk;
  }

  drop(): void {
    this.account(-this.bytesValue);
    this.queue = [];
    this.cursor = 0;
  }

  /** The partition takes no more work: its data and its share of the budget go. */
  close(): void {
    this.unwatch();
    this.drop();
  }

  private account(bytes: number): void {
    this.bytesValue += bytes;
    if (bytes > 0) this.budget.take(bytes);
    else if (bytes < 0) this.budget.give(-bytes);
    if (this.bytesValue >= PARTITION_PREFETCH_BYTES) this.pauses.set('prefetch', true);
    else if (this.bytesValue < PARTITION_PREFETCH_BYTES / 2) this.pauses.set('prefetch', false);
  }
}
