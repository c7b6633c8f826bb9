import type { FetchedBatch, RawMessage } from '../../connection/kafka-client.js';

/** Where one partition stands: what was processed, marked, taken from the client, and is in flight. */
export class PartitionPosition {
  highWatermark = -1;
  /** First offset not processed: where a retry starts. */
  next?: number;
  /** The offset the next fetched message should have: past what is buffered or in flight. */
  private taken?: number;
  private inFlightEnd?: number;
  /** The next offset of the last mark (what a commit would store). */
  marked?: number;

  /** The part of a batch this partition has not taken yet (everything, after the client reset its position). */
  admit(batch: FetchedBatch): RawMessage[] {
    let messages = batch.messages;
    if (batch.resetFrom !== undefined) this.moveTo(messages[0].offset);
    else if (this.taken !== undefined && messages[0].offset < this.taken) {
      const from = this.taken;
      messages = messages.filter((message) => message.offset >= from);
    }
    if (messages.length > 0) this.taken = messages[messages.length - 1].offset + 1;
    this.highWatermark = Math.max(this.highWatermark, batch.highWatermark);
    return messages;
  }

  /** Processing goes on from `offset`. */
  moveTo(offset: number): void {
    this.next = this.taken = offset;
  }

  /** A job took `chunk`. */
  took(chunk: RawMessage[]): void {
    this.inFlightEnd = chunk[chunk.length - 1].offset + 1;
  }

  jobEnded(): void {
    this.inFlightEnd = undefined;
  }

  processed(lastOffset: number): void {
    this.next = lastOffset + 1;
  }

  /** Buffered messages were dropped: the next batch starts after what is in flight, else after what was processed. */
  dropped(): void {
    this.taken = this.inFlightEnd ?? this.next ?? this.taken;
  }

  /** Where to fetch from after the client forgot the position (a rebalance that kept the partition). */
  get fetchFrom(): number | undefined {
    return this.taken ?? this.next;
  }

  /** Moves the mark forward; false when `next` is not past it. */
  mark(next: number): boolean {
    if (this.marked !== undefined && next <= this.marked) return false;
    this.marked = next;
    return true;
  }
}
