import { Logger } from '@nestjs/common';
import kafkajs, { CompressionTypes } from 'kafkajs';
import type { CodecLoad } from './codec.js';
import { lz4Codec } from './lz4-codec.js';
import { snappyCodec } from './snappy-codec.js';
import { zstdCodec } from './zstd-codec.js';

// Node's ESM named-export detection misses CompressionCodecs in kafkajs's CommonJS index.
const { CompressionCodecs } = kafkajs;

/** librdkafka's `compression.type` values, as kafkajs numbers them. */
export const COMPRESSION_TYPES: Readonly<Record<string, CompressionTypes>> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

/** The codecs kafkajs lacks (it has gzip built in). */
type NativeType = CompressionTypes.Snappy | CompressionTypes.LZ4 | CompressionTypes.ZSTD;
const NATIVE_CODECS: Record<string, { type: NativeType; load: () => CodecLoad }> = {
  snappy: { type: CompressionTypes.Snappy, load: snappyCodec },
  lz4: { type: CompressionTypes.LZ4, load: lz4Codec },
  zstd: { type: CompressionTypes.ZSTD, load: zstdCodec },
};

/** Why the codec named as in `compression.type` cannot be used here, or undefined when it can. */
export function compressionUnavailable(name: string): string | undefined {
  const load = NATIVE_CODECS[name]?.load();
  return load && !load.available ? load.reason : undefined;
}

/** What kafkajs calls a codec: it hands `compress` its encoder. */
interface KafkajsCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(data: Buffer): Promise<Buffer>;
}

/**
 * Fills kafkajs's `CompressionCodecs` for snappy, lz4 and zstd. Each native package loads on the
 * first batch that needs it; an unavailable one is logged once and fails that batch with the
 * reason (the fetch decoder then reports the batch undecodable).
 */
export function registerCodecs(): void {
  const logger = new Logger('Karafka');
  for (const [name, { type, load }] of Object.entries(NATIVE_CODECS)) {
    let codec: KafkajsCodec | undefined;
    let warned = false;
    CompressionCodecs[type] = (): KafkajsCodec => {
      if (codec) return codec;
      const loaded = load();
      if (!loaded.available) {
        if (!warned) logger.warn(`${name} compression is unavailable: ${loaded.reason}`);
        warned = true;
        throw new Error(`${name} compression is unavailable: ${loaded.reason}`);
      }
      codec = {
        compress: (encoder) => loaded.codec.compress(encoder.buffer),
        decompress: (data) => loaded.codec.decompress(data),
      };
      return codec;
    };
  }
}
