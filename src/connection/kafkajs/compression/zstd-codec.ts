import type * as Zstd from '@mongodb-js/zstd';
import { nativeCodec } from './codec.js';

/** zstd's default level, as the Java client and librdkafka use by default. */
const ZSTD_LEVEL = 3;

export const zstdCodec = nativeCodec<typeof Zstd>('@mongodb-js/zstd', (zstd) => ({
  compress: (data) => zstd.compress(data, ZSTD_LEVEL),
  decompress: (data) => zstd.decompress(data),
}));
