import { createRequire } from 'node:module';
import { CompressionCodecs, CompressionTypes, type KafkaMessage } from 'kafkajs';
import { compressSync } from 'snappy';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Codec, CodecLoad } from '../../src/connection/kafkajs/compression/codec.js';
import { nativeCodec } from '../../src/connection/kafkajs/compression/codec.js';
import { installKafkajsCodecs, undecodableError } from '../../src/connection/kafkajs/compression/index.js';
import { lz4Codec } from '../../src/connection/kafkajs/compression/lz4-codec.js';
import { isXerialFramed, snappyCodec } from '../../src/connection/kafkajs/compression/snappy-codec.js';
import { zstdCodec } from '../../src/connection/kafkajs/compression/zstd-codec.js';
import { toKafkajsSettings } from '../../src/connection/kafkajs/kafkajs-settings.js';
import { configError } from '../support/config-error.js';

// kafkajs's own encoders and decoders, to build record batches and Fetch responses as a broker sends them.
const requireKafkajs = createRequire(createRequire(import.meta.url).resolve('kafkajs'));
type Encoded = { buffer: Buffer };
const { RecordBatch } = requireKafkajs('./src/protocol/recordBatch/v0') as {
  RecordBatch: (batch: object) => Promise<Encoded>;
};
const Record = requireKafkajs('./src/protocol/recordBatch/record/v0') as (record: object) => Encoded;
const Encoder = requireKafkajs('./src/protocol/encoder') as new () => {
  buffer: Buffer;
  writeInt8(v: number): unknown;
  writeInt16(v: number): unknown;
  writeInt32(v: number): unknown;
  writeInt64(v: number): unknown;
  writeString(v: string): unknown;
  writeBuffer(v: Buffer): unknown;
};
const fetchV11 = () =>
  requireKafkajs('./src/protocol/requests/fetch/v11/response') as {
    decode(data: Buffer): Promise<{ responses: { partitions: { messages: KafkaMessage[] }[] }[] }>;
  };

const available = (load: () => CodecLoad): Codec => {
  const loaded = load();
  if (!loaded.available) throw new Error(loaded.reason);
  return loaded.codec;
};

const payload = Buffer.from(
  JSON.stringify(Array.from({ length: 500 }, (_, n) => ({ n, name: `order-${n}` }))),
);

describe('compression codecs', () => {
  it.each([
    ['snappy', snappyCodec],
    ['lz4', lz4Codec],
    ['zstd', zstdCodec],
  ])('%s compresses and decompresses back to the same bytes', async (_name, load) => {
    const codec = available(load);
    const compressed = await codec.compress(payload);
    expect(compressed.length).toBeLessThan(payload.length / 2);
    expect((await codec.decompress(compressed)).equals(payload)).toBe(true);
  });

  it('snappy reads the raw format (librdkafka) and writes it', async () => {
    const codec = available(snappyCodec);
    expect((await codec.decompress(compressSync(payload))).equals(payload)).toBe(true);
    expect(isXerialFramed(await codec.compress(payload))).toBe(false);
  });

  it("snappy reads xerial framing (Java's SnappyOutputStream): the magic header, then length-prefixed blocks", async () => {
    const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
    const blocks = [payload.subarray(0, 5_000), payload.subarray(5_000)].map((part) => {
      const block = compressSync(part);
      const length = Buffer.alloc(4);
      length.writeInt32BE(block.length);
      return Buffer.concat([length, block]);
    });
    const framed = Buffer.concat([header, ...blocks]);
    expect(isXerialFramed(framed)).toBe(true);
    expect((await available(snappyCodec).decompress(framed)).equals(payload)).toBe(true);
    await expect(available(snappyCodec).decompress(framed.subarray(0, framed.length - 10))).rejects.toThrow(
      /overruns/,
    );
  });

  // Frames the reference CLIs wrote from a pipe, of '{"n":1}{"n":2}{"n":3}hello hello hello hello'.
  it.each([
    [
      'lz4',
      'the lz4 CLI (content checksum on)',
      lz4Codec,
      '04224d186440a71f000000717b226e223a317d07001232070088337d68656c6c6f2006005068656c6c6f00000000439908c4',
    ],
    [
      'zstd',
      'the zstd CLI, without content size, as the Java client streams them',
      zstdCodec,
      '28b52ffd0458ed0000a87b226e223a317d7b226e223a32337d68656c6c6f20020029931356be434e50ff',
    ],
  ])('%s reads a frame written by %s', async (_name, _writer, load, hex) => {
    expect((await available(load).decompress(Buffer.from(hex, 'hex'))).toString()).toBe(
      '{"n":1}{"n":2}{"n":3}hello hello hello hello',
    );
  });

  it('a native package that does not load makes its codec unavailable, with the reason, instead of throwing', () => {
    const load = nativeCodec('nestjs-karafka-no-such-codec', () => {
      throw new Error('never built');
    });
    const loaded = load();
    expect(loaded.available).toBe(false);
    expect(!loaded.available && loaded.reason).toMatch(
      /^nestjs-karafka-no-such-codec did not load on .*Cannot find module/,
    );
    expect(load()).toBe(loaded);
  });
});

describe('compression.type for the producer', () => {
  const kafka = { 'bootstrap.servers': 'localhost:9092' };
  it.each([
    [undefined, CompressionTypes.None],
    ['none', CompressionTypes.None],
    ['gzip', CompressionTypes.GZIP],
    ['snappy', CompressionTypes.Snappy],
    ['LZ4', CompressionTypes.LZ4],
    ['zstd', CompressionTypes.ZSTD],
  ])('%s maps onto kafkajs compression %s', (value, expected) => {
    expect(toKafkajsSettings({ ...kafka, 'compression.type': value }).compression).toBe(expected);
  });

  it('an unknown compression type is refused, naming the key and the choices', () => {
    const error = configError(() => toKafkajsSettings({ ...kafka, 'compression.type': 'brotli' }));
    expect(error.field).toBe("kafka['compression.type']");
    expect(error.message).toBe(
      `kafka['compression.type']: "brotli" is not a compression type. Fix: use one of none, gzip, snappy, lz4, zstd`,
    );
  });
});

/** A record batch as kafkajs's producer encodes it, from offset `first`, one record per value. */
async function batch(first: number, values: string[], compression = CompressionTypes.None): Promise<Buffer> {
  const records = values.map((value, i) =>
    Record({ offsetDelta: i, key: Buffer.from(`k${i}`), value: Buffer.from(value) }),
  );
  const encoded = await RecordBatch({
    compression,
    firstOffset: BigInt(first),
    lastOffsetDelta: values.length - 1,
    records,
  });
  return encoded.buffer;
}

/** A Fetch v11 response with one partition holding `batches`, as a broker sends it. */
function fetchResponse(batches: Buffer[]): Buffer {
  const recordSet = Buffer.concat(batches);
  const encoder = new Encoder();
  encoder.writeInt32(0); // throttle time
  encoder.writeInt16(0); // error code
  encoder.writeInt32(0); // session id
  encoder.writeInt32(1); // topics
  encoder.writeString('orders');
  encoder.writeInt32(1); // partitions
  encoder.writeInt32(0); // partition
  encoder.writeInt16(0); // error code
  encoder.writeInt64(100); // high watermark
  encoder.writeInt64(100); // last stable offset
  encoder.writeInt64(0); // log start offset
  encoder.writeInt32(0); // aborted transactions
  encoder.writeInt32(-1); // preferred read replica
  encoder.writeInt32(recordSet.length);
  encoder.writeBuffer(recordSet);
  return encoder.buffer;
}

async function decodedMessages(batches: Buffer[]): Promise<KafkaMessage[]> {
  const { responses } = await fetchV11().decode(fetchResponse(batches));
  return responses[0].partitions[0].messages;
}

describe('guarded Fetch decoding', () => {
  beforeAll(() => installKafkajsCodecs());

  it('installs once: the codecs stay those of the first call', () => {
    const snappy = CompressionCodecs[CompressionTypes.Snappy];
    installKafkajsCodecs();
    expect(CompressionCodecs[CompressionTypes.Snappy]).toBe(snappy);
  });

  it.each([
    ['snappy', CompressionTypes.Snappy],
    ['lz4', CompressionTypes.LZ4],
    ['zstd', CompressionTypes.ZSTD],
  ])('kafkajs decodes %s record batches of a Fetch response', async (_name, compression) => {
    const messages = await decodedMessages([
      await batch(0, ['a', 'b'], compression),
      await batch(2, ['c'], compression),
    ]);
    expect(messages.map((m) => [m.offset, m.value?.toString(), undecodableError(m)])).toEqual([
      ['0', 'a', undefined],
      ['1', 'b', undefined],
      ['2', 'c', undefined],
    ]);
  });

  it('an unknown codec id: the good batch comes out, then one undecodable record at the bad batch’s last offset, then nothing', async () => {
    const bad = await batch(3, ['d', 'e', 'f']);
    bad.writeInt16BE(5, 21); // attributes: codec id 5
    const messages = await decodedMessages([await batch(0, ['a', 'b', 'c']), bad, await batch(6, ['g'])]);
    expect(messages.map((m) => m.offset)).toEqual(['0', '1', '2', '5']);
    const undecodable = messages[3];
    expect(messages.slice(0, 3).map(undecodableError)).toEqual([undefined, undefined, undefined]);
    expect(undecodable.value?.equals(bad)).toBe(true);
    expect(undecodable.key).toBeNull();
    expect(undecodableError(undecodable)?.message).toBe(
      'the record batch at offsets 3..5 (compression unknown codec id 5) cannot be decoded: Kafka defines no such codec',
    );
    expect(undecodableError(undecodable)?.name).toBe('UndecodableBatchError');
  });

  it('corrupt compressed bytes: the same, with the codec’s own error as the reason', async () => {
    const bad = await batch(10, ['x'.repeat(200), 'y'.repeat(200)], CompressionTypes.ZSTD);
    bad.fill(0xff, 70, 90); // inside the compressed records, after the 61-byte header and the count
    const messages = await decodedMessages([await batch(8, ['a', 'b'], CompressionTypes.LZ4), bad]);
    expect(messages.map((m) => m.offset)).toEqual(['8', '9', '11']);
    const error = undecodableError(messages[2]);
    expect(error?.message).toMatch(
      /^the record batch at offsets 10\.\.11 \(compression zstd\) cannot be decoded: ./,
    );
    expect((error as Error & { cause?: unknown }).cause).toBeInstanceOf(Error);
  });

  it('a truncated batch at the tail (cut by the fetch size) is left out quietly, as kafkajs does', async () => {
    const next = await batch(2, ['c', 'd']);
    const messages = await decodedMessages([await batch(0, ['a', 'b']), next.subarray(0, next.length - 5)]);
    expect(messages.map((m) => [m.offset, undecodableError(m)])).toEqual([
      ['0', undefined],
      ['1', undefined],
    ]);
  });
});
