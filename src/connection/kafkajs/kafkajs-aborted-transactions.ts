import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** What a decoded record of kafkajs's Fetch response carries that the filter reads. */
export interface FetchedRecord {
  offset: string;
  key: Buffer | null;
  isControlRecord: boolean;
  batchContext: { producerId: string; inTransaction: boolean };
}

export interface AbortedTransaction {
  producerId: string;
  firstOffset: string;
}

interface FetchResponse {
  responses: { partitions: { abortedTransactions?: AbortedTransaction[]; messages: FetchedRecord[] }[] }[];
}

/** A control record's key: version 0, type 0 (ABORT). */
const ABORT_MARKER = Buffer.from([0, 0, 0, 0]);

/**
 * Hides the records of aborted transactions as the Java client does: a producer's records are
 * aborted from the `firstOffset` of each of its aborted transactions up to its next ABORT marker.
 * kafkajs's own filter takes the broker's list as sorted by first offset (it is not) and starts
 * at most one aborted transaction per record, so when several producers' transactions interleave
 * (consume-transform-produce: one producer per input partition) aborted records slip through.
 * Hidden records become control records: kafkajs never hands them to `eachBatch` but still moves
 * its position past them, so a fetch of nothing but aborted records cannot stall the partition.
 */
export function hideAbortedRecords(records: FetchedRecord[], aborted: AbortedTransaction[]): void {
  if (aborted.length === 0) return;
  const starts = [...aborted].sort((a, b) => compareOffsets(a.firstOffset, b.firstOffset));
  const abortedProducers = new Set<string>();
  let next = 0;
  for (const record of records) {
    while (next < starts.length && compareOffsets(starts[next].firstOffset, record.offset) <= 0)
      abortedProducers.add(starts[next++].producerId);
    const { producerId, inTransaction } = record.batchContext;
    if (record.isControlRecord) {
      if (record.key && ABORT_MARKER.equals(record.key)) abortedProducers.delete(producerId);
    } else if (inTransaction && abortedProducers.has(producerId)) {
      record.isControlRecord = true;
    }
  }
}

/** Int64 offsets as kafkajs decodes them: decimal strings. */
function compareOffsets(a: string, b: string): number {
  const difference = BigInt(a) - BigInt(b);
  return difference < 0n ? -1 : difference > 0n ? 1 : 0;
}

const requireHere = createRequire(import.meta.url);
/** Fetch v4 to v11: the versions that carry aborted transactions (kafkajs uses up to 11). */
const VERSIONS = [4, 5, 6, 7, 8, 9, 10, 11];

/**
 * Wraps the `decode` of kafkajs's Fetch v4-v11 responses with {@link hideAbortedRecords}, leaving
 * kafkajs's filter an empty list. Call after the response modules were (re)loaded with the
 * guarded record decoder: the request builders require them lazily, so the wrapped exports are
 * what every later fetch uses.
 */
export function hookAbortedTransactions(): void {
  const kafkajsDir = dirname(requireHere.resolve('kafkajs'));
  const requireKafkajs = createRequire(join(kafkajsDir, 'index.js'));
  for (const version of VERSIONS) {
    const response = requireKafkajs(`./src/protocol/requests/fetch/v${version}/response.js`) as {
      decode: (raw: Buffer) => Promise<FetchResponse>;
      abortedHidden?: true;
    };
    if (response.abortedHidden) continue;
    const decode = response.decode;
    response.decode = async (raw) => {
      const decoded = await decode(raw);
      for (const { partitions } of decoded.responses) {
        for (const partition of partitions) {
          hideAbortedRecords(partition.messages, partition.abortedTransactions ?? []);
          partition.abortedTransactions = [];
        }
      }
      return decoded;
    };
    response.abortedHidden = true;
  }
}
