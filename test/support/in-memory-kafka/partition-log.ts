import type { RawMessage } from '../../../src/connection/kafka-client.js';

/**
 * One entry of a partition log: a record, an offset a read_committed reader never sees (a
 * transaction marker, an aborted record), or a record batch no client can decode (it spans
 * `offset`..`lastOffset`).
 */
export type LogEntry =
  | { kind: 'record'; offset: number; message: RawMessage }
  | { kind: 'hidden'; offset: number; why: 'transaction marker' | 'aborted record' }
  | { kind: 'undecodable'; offset: number; lastOffset: number; bytes: Buffer };

export type RecordInput = Omit<RawMessage, 'offset' | 'undecodable'>;

export type ReadResult = { outOfRange: true } | { outOfRange: false; messages: RawMessage[]; next: number };

const lastOffsetOf = (entry: LogEntry) => (entry.kind === 'undecodable' ? entry.lastOffset : entry.offset);

/** One partition's log: offsets from `logStart` to `end` (the next offset to write), with gaps. */
export class PartitionLog {
  private readonly entries: LogEntry[] = [];
  logStart = 0;
  end = 0;

  append(record: RecordInput): number {
    const offset = this.end++;
    this.entries.push({ kind: 'record', offset, message: { ...record, offset } });
    return offset;
  }

  appendHidden(why: 'transaction marker' | 'aborted record'): number {
    const offset = this.end++;
    this.entries.push({ kind: 'hidden', offset, why });
    return offset;
  }

  /** A batch of `count` offsets whose compressed data is corrupt. */
  appendUndecodable(count: number, bytes: Buffer): number {
    const offset = this.end;
    this.end += count;
    this.entries.push({ kind: 'undecodable', offset, lastOffset: this.end - 1, bytes });
    return this.end - 1;
  }

  /** Retention: offsets below `offset` leave the log. */
  deleteBefore(offset: number): void {
    this.logStart = Math.max(this.logStart, Math.min(offset, this.end));
    while (this.entries.length > 0 && lastOffsetOf(this.entries[0]) < this.logStart) this.entries.shift();
  }

  /** Compaction: these record offsets leave the log, their neighbours stay. */
  compact(offsets: number[]): void {
    const gone = new Set(offsets);
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const entry = this.entries[i];
      if (entry.kind === 'record' && gone.has(entry.offset)) this.entries.splice(i, 1);
    }
  }

  /** The records at `offset` and after, as a read_committed Fetch returns them, bounded. */
  read(position: number, maxMessages: number, maxBytes: number): ReadResult {
    if (position < this.logStart || position > this.end) return { outOfRange: true };
    const messages: RawMessage[] = [];
    let next = position;
    let bytes = 0;
    for (let i = this.firstIndexFrom(position); i < this.entries.length; i++) {
      const entry = this.entries[i];
      if (messages.length >= maxMessages || (messages.length > 0 && bytes >= maxBytes)) break;
      next = lastOffsetOf(entry) + 1;
      if (entry.kind === 'hidden') continue;
      if (entry.kind === 'undecodable') {
        messages.push({
          offset: entry.lastOffset,
          key: null,
          value: entry.bytes,
          headers: {},
          timestamp: Date.now(),
          undecodable: new Error(
            `record batch ${entry.offset}..${entry.lastOffset} cannot be decoded (corrupt compressed data)`,
          ),
        });
        break;
      }
      messages.push(entry.message);
      bytes += entry.message.value?.length ?? 0;
    }
    // Past the last entry (compacted away or hidden): the position reaches the end.
    if (messages.length === 0) next = this.end;
    return { outOfRange: false, messages, next };
  }

  /** Records from `offset`, for the admin's `read` (undecodable batches left out). */
  records(offset: number, count: number): RawMessage[] {
    const out: RawMessage[] = [];
    for (let i = this.firstIndexFrom(offset); i < this.entries.length && out.length < count; i++) {
      const entry = this.entries[i];
      if (entry.kind === 'record') out.push(entry.message);
    }
    return out;
  }

  private firstIndexFrom(offset: number): number {
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (lastOffsetOf(this.entries[mid]) < offset) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
