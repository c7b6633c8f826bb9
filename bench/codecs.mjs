// node bench/codecs.mjs
// Decode time of the codecs the kafkajs driver registers, on record-batch-sized buffers of JSON
// order records: wall time per batch, and the share of it spent on the event loop (the native
// packages decompress in libuv's thread pool). A measurement, not a test.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const snappy = require('snappy');
const lz4 = require('lz4-napi');
const zstd = require('@mongodb-js/zstd');

function records(bytes) {
  const parts = [];
  for (let n = 0, size = 0; size < bytes; n++) {
    const order = {
      id: `order-${n}`,
      customer: `c${(n * 7919) % 5000}`,
      amount: ((n * 37) % 10_000) / 100,
      currency: ['EUR', 'USD', 'GBP'][n % 3],
      items: [{ sku: `sku-${n % 300}`, qty: 1 + (n % 4) }],
      createdAt: new Date(1_700_000_000_000 + n * 1000).toISOString(),
    };
    const part = Buffer.from(JSON.stringify(order));
    parts.push(part);
    size += part.length;
  }
  return Buffer.concat(parts);
}

async function measure(decode, iterations) {
  for (let i = 0; i < 200; i++) await decode();
  const loop = performance.eventLoopUtilization();
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await decode();
  const wallUs = Number(process.hrtime.bigint() - started) / 1e3 / iterations;
  const loopUs = (performance.eventLoopUtilization(loop).active * 1e3) / iterations;
  return `${wallUs.toFixed(0)} µs wall, ${loopUs.toFixed(0)} µs on the event loop`;
}

for (const bytes of [16 * 1024, 1024 * 1024]) {
  const raw = records(bytes);
  const iterations = bytes > 100_000 ? 300 : 5_000;
  const compressed = {
    snappy: await snappy.compress(raw),
    lz4: await lz4.compressFrame(raw),
    zstd: await zstd.compress(raw, 3),
  };
  console.log(`batch of ${raw.length} bytes`);
  console.log(`  snappy ${await measure(() => snappy.uncompress(compressed.snappy), iterations)}`);
  console.log(`  lz4    ${await measure(() => lz4.decompressFrame(compressed.lz4), iterations)}`);
  console.log(`  zstd   ${await measure(() => zstd.decompress(compressed.zstd), iterations)}`);
}
