import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  hideAbortedRecords,
  type AbortedTransaction,
  type FetchedRecord,
} from '../../src/connection/kafkajs/kafkajs-aborted-transactions.js';

const kafkajsFilter = createRequire(import.meta.url)(
  'kafkajs/src/consumer/filterAbortedMessages.js',
) as (input: { messages: FetchedRecord[]; abortedTransactions: AbortedTransaction[] }) => FetchedRecord[];

const record = (offset: number, producerId: string, inTransaction = true): FetchedRecord => ({
  offset: String(offset),
  key: Buffer.from(`${producerId}@${offset}`),
  isControlRecord: false,
  batchContext: { producerId, inTransaction },
});
const marker = (offset: number, producerId: string, type: 'abort' | 'commit'): FetchedRecord => ({
  offset: String(offset),
  key: Buffer.from([0, 0, 0, type === 'abort' ? 0 : 1]),
  isControlRecord: true,
  batchContext: { producerId, inTransaction: true },
});

/**
 * One partition written by three transactional producers at once (one per input partition of a
 * consume-transform-produce app): 1 and 2 abort (their process was killed), 3 commits. The broker
 * lists aborted transactions as its index holds them, by abort marker, not by first offset.
 */
function interleaved(): { records: FetchedRecord[]; aborted: AbortedTransaction[] } {
  return {
    records: [
      record(10, '2'),
      record(11, '1'),
      record(12, '3'),
      record(13, '2'),
      marker(14, '1', 'abort'),
      marker(15, '3', 'commit'),
      marker(16, '2', 'abort'),
      record(17, 'plain', false),
    ],
    aborted: [
      { producerId: '1', firstOffset: '11' },
      { producerId: '2', firstOffset: '10' },
    ],
  };
}

const visible = (records: FetchedRecord[]) =>
  records.filter((r) => !r.isControlRecord).map((r) => Number(r.offset));

describe("the kafkajs driver's aborted-transaction filter", () => {
  it("kafkajs's own filter lets an interleaved aborted record through (the defect: offset 10)", () => {
    const { records, aborted } = interleaved();
    expect(visible(kafkajsFilter({ messages: records, abortedTransactions: aborted }))).toEqual([10, 12, 17]);
  });

  it('hides every aborted record and keeps the committed and plain ones', () => {
    const { records, aborted } = interleaved();
    hideAbortedRecords(records, aborted);
    expect(visible(records)).toEqual([12, 17]);
    // Hidden, not removed: kafkajs still moves its position past them.
    expect(records).toHaveLength(8);
  });

  it('a fetch starting inside aborted transactions hides them from its first record', () => {
    const records = [
      record(20, '2'),
      record(21, '1'),
      marker(22, '1', 'abort'),
      marker(23, '2', 'abort'),
      record(24, '1'),
    ];
    hideAbortedRecords(records, [
      { producerId: '1', firstOffset: '5' },
      { producerId: '2', firstOffset: '3' },
    ]);
    expect(visible(records)).toEqual([24]);
  });
});
