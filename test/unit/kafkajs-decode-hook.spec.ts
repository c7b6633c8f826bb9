import { createRequire } from 'node:module';
import { CompressionTypes } from 'kafkajs';
import { expect, it } from 'vitest';
import { installKafkajsCodecs, undecodableError } from '../../src/connection/kafkajs/compression/index.js';

// Its own file, so this process has not installed the codecs before the test: it shows kafkajs as it is.
const requireKafkajs = createRequire(createRequire(import.meta.url).resolve('kafkajs'));
type Encoded = { buffer: Buffer };
const { RecordBatch } = requireKafkajs('./src/protocol/recordBatch/v0') as {
  RecordBatch: (batch: object) => Promise<Encoded>;
};
const Record = requireKafkajs('./src/protocol/recordBatch/record/v0') as (record: object) => Encoded;
const decodeRecordSet = (recordSet: Buffer) => {
  // kafkajs's Fetch v4 response (v5-v11 share its record decoder), required as kafkajs does, per request.
  const { decode } = requireKafkajs('./src/protocol/requests/fetch/v4/response') as {
    decode(data: Buffer): Promise<{ responses: { partitions: { messages: object[] }[] }[] }>;
  };
  const head = Buffer.alloc(4 + 4 + 2 + 6 + 4 + 4 + 2 + 8 + 8 + 4 + 4);
  let at = head.writeInt32BE(0); // throttle time
  at = head.writeInt32BE(1, at); // topics
  at = head.writeInt16BE(6, at);
  at += head.write('orders', at);
  at = head.writeInt32BE(1, at); // partitions
  at = head.writeInt32BE(0, at); // partition
  at = head.writeInt16BE(0, at); // error code
  at = head.writeBigInt64BE(10n, at); // high watermark
  at = head.writeBigInt64BE(10n, at); // last stable offset
  at = head.writeInt32BE(0, at); // aborted transactions
  head.writeInt32BE(recordSet.length, at);
  return decode(Buffer.concat([head, recordSet]));
};

it('before the install one zstd batch fails the whole response; after it, response modules loaded before decode with the guard', async () => {
  // Raw zstd bytes, as another client writes them: kafkajs cannot compress zstd before the install.
  const { compress } = (await import('@mongodb-js/zstd')) as typeof import('@mongodb-js/zstd');
  const records = ['a', 'b'].map(
    (value, offsetDelta) => Record({ offsetDelta, key: null, value: Buffer.from(value) }).buffer,
  );
  // An empty batch's header (57 bytes, then its record count), filled with two zstd records.
  const header = (await RecordBatch({ lastOffsetDelta: 1, records: [] })).buffer.subarray(0, 57);
  const count = Buffer.alloc(4);
  count.writeInt32BE(records.length);
  const recordSet = Buffer.concat([header, count, await compress(Buffer.concat(records), 3)]);
  recordSet.writeInt32BE(recordSet.length - 12, 8);
  recordSet.writeInt16BE(CompressionTypes.ZSTD, 21);
  // Then a batch whose codec id Kafka does not define: only the guarded decoder refuses it.
  const unknownCodec = (
    await RecordBatch({ firstOffset: 2n, records: [Record({ key: null, value: Buffer.from('c') })] })
  ).buffer;
  unknownCodec.writeInt16BE(6, 21);

  await expect(decodeRecordSet(recordSet)).rejects.toThrow('ZSTD compression not implemented');

  installKafkajsCodecs();
  const { responses } = await decodeRecordSet(Buffer.concat([recordSet, unknownCodec]));
  const messages = responses[0].partitions[0].messages as { offset: string; value: Buffer }[];
  expect(messages.map((m) => [m.offset, m.value.toString(), undecodableError(m as never)])).toEqual([
    ['0', 'a', undefined],
    ['1', 'b', undefined],
    ['2', unknownCodec.toString(), expect.any(Error)],
  ]);
});
