import type * as Lz4 from 'lz4-napi';
import { nativeCodec } from './codec.js';

/** Kafka's LZ4 is the LZ4 frame format (record batch v2 on), independent blocks, no dictionary. */
export const lz4Codec = nativeCodec<typeof Lz4>('lz4-napi', (lz4) => ({
  compress: (data) => lz4.compressFrame(data),
  decompress: (data) => lz4.decompressFrame(data),
}));
