import { createRequire } from 'node:module';

/** One compression codec as kafkajs calls it, over whole buffers. */
export interface Codec {
  compress(data: Buffer): Promise<Buffer>;
  decompress(data: Buffer): Promise<Buffer>;
}

/** A codec whose native package loaded, or the reason it did not. */
export type CodecLoad = { available: true; codec: Codec } | { available: false; reason: string };

const requireNative = createRequire(import.meta.url);

/**
 * Loads a codec's native package on first use, never at import: a platform without a prebuilt
 * binding gets the codec reported unavailable, with the reason, instead of a crash.
 */
export function nativeCodec<T>(packageName: string, build: (binding: T) => Codec): () => CodecLoad {
  let load: CodecLoad | undefined;
  return () => {
    if (load) return load;
    try {
      load = { available: true, codec: build(requireNative(packageName) as T) };
    } catch (error) {
      const detail = (error as Error).message.split('\n')[0];
      load = {
        available: false,
        reason: `${packageName} did not load on ${process.platform}-${process.arch} (${detail}); reinstall nestjs-karafka with optional dependencies included, so npm adds ${packageName}'s binary for this platform`,
      };
    }
    return load;
  };
}
