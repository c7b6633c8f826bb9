import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectionInfo } from './kafka/connection.mjs';

const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/**
 * The record batches the harness broker stored for `topic`, read from its log segments (record
 * batch v2: base offset, length, then the rest; attributes at byte 21, records from byte 61).
 */
export function storedBatches(topic: string): Buffer[] {
  const info = connectionInfo();
  if (!info) throw new Error('connectionInfo() is null: reading log segments needs the harness broker');
  const logDirs = join(info.dataDir, 'kraft');
  const batches: Buffer[] = [];
  for (const dir of readdirSync(logDirs).filter((name) => name.startsWith(`${topic}-`))) {
    for (const file of readdirSync(join(logDirs, dir)).filter((name) => name.endsWith('.log'))) {
      const log = readFileSync(join(logDirs, dir, file));
      for (let at = 0; at + 61 <= log.length; at += 12 + log.readInt32BE(at + 8)) {
        batches.push(log.subarray(at, at + 12 + log.readInt32BE(at + 8)));
      }
    }
  }
  return batches;
}

/** The compression codecs of the record batches stored for `topic`. */
export function storedCodecs(topic: string): Set<string> {
  return new Set(storedBatches(topic).map((batch) => CODECS[batch.readInt16BE(21) & 0x07]));
}
