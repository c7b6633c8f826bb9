import type * as Snappy from 'snappy';
import { nativeCodec, type Codec } from './codec.js';

/** Java producers frame snappy as snappy-java's SnappyOutputStream does ("xerial" framing). */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
/** Magic, then two int32 versions. */
const XERIAL_HEADER_BYTES = 16;

export function isXerialFramed(data: Buffer): boolean {
  return data.length >= XERIAL_HEADER_BYTES && data.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC);
}

/** A xerial stream: blocks of int32 big-endian length, then that many bytes of raw snappy. */
function xerialBlocks(data: Buffer): Buffer[] {
  const blocks: Buffer[] = [];
  let position = XERIAL_HEADER_BYTES;
  while (position < data.length) {
    if (position + 4 > data.length) throw new Error('truncated xerial snappy block length');
    const length = data.readInt32BE(position);
    const end = position + 4 + length;
    if (length < 0 || end > data.length)
      throw new Error(`xerial snappy block of ${length} bytes overruns the data`);
    blocks.push(data.subarray(position + 4, end));
    position = end;
  }
  return blocks;
}

/**
 * Reads raw snappy (librdkafka, kafkajs codecs) and xerial-framed snappy (Java); writes raw
 * snappy, as librdkafka does, which every Kafka client reads.
 */
export const snappyCodec = nativeCodec<typeof Snappy>('snappy', (snappy): Codec => {
  const uncompress = async (block: Buffer) => (await snappy.uncompress(block)) as Buffer;
  return {
    compress: (data) => snappy.compress(data),
    async decompress(data) {
      if (!isXerialFramed(data)) return uncompress(data);
      return Buffer.concat(await Promise.all(xerialBlocks(data).map(uncompress)));
    },
  };
});
