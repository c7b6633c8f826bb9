import { codecName, markUndecodable, UndecodableBatchError } from './undecodable.js';

/** The parts of kafkajs's protocol decoding the guarded decoder reuses. */
export interface KafkajsDecoding {
  Decoder: new (buffer: Buffer) => KafkajsDecoder;
  /** `src/protocol/recordBatch/v0/decoder`: one record batch, decompressed. */
  decodeRecordBatch(decoder: KafkajsDecoder): Promise<{ records: object[] }>;
  /** `src/protocol/messageSet/decoder`: the pre-0.11 message formats. */
  decodeMessageSet(decoder: KafkajsDecoder, size: number): Promise<object[]>;
}

export interface KafkajsDecoder {
  readInt32(): number;
  canReadBytes(length: number): boolean;
  readBytes(length: number): Buffer;
}

// Record batch v2 header, as Kafka lays it out (byte offsets from the batch's start).
const LENGTH_AT = 8;
const MAGIC_AT = 16;
const ATTRIBUTES_AT = 21;
const LAST_OFFSET_DELTA_AT = 23;
const FIRST_TIMESTAMP_AT = 27;
const MAX_TIMESTAMP_AT = 35;
const PRODUCER_ID_AT = 43;
const PRODUCER_EPOCH_AT = 51;
const BASE_SEQUENCE_AT = 53;
const HEADER_BYTES = 61;
/** The length field counts from the partition leader epoch on. */
const LENGTH_FIELD_END = 12;
const RECORD_BATCH_MAGIC = 2;
const CODEC_MASK = 0x07;
const LOG_APPEND_TIME_FLAG = 0x08;
const TRANSACTIONAL_FLAG = 0x10;
const CONTROL_FLAG = 0x20;
const KNOWN_CODECS = 4;
// kafkajs's TimestampTypes.
const CREATE_TIME = 0;
const LOG_APPEND_TIME = 1;

/**
 * A drop-in for kafkajs's `fetch/v4/decodeMessages` (used by Fetch v4 to v11): decodes the
 * partition's record batches one by one. A complete batch that cannot be decoded (codec missing
 * or unavailable, corrupt bytes, unknown codec id) yields one record standing for the whole batch
 * and ends this partition's data, instead of failing the whole Fetch response: its offset is the
 * batch's last, so the position moves past it; its value the batch's bytes; the reason is read
 * with `undecodableError`. A truncated batch at the tail (cut by the fetch size) ends it quietly,
 * as in kafkajs.
 */
export function guardedDecodeMessages(kafkajs: KafkajsDecoding) {
  return async (decoder: KafkajsDecoder): Promise<object[]> => {
    const size = decoder.readInt32();
    if (size <= 0 || !decoder.canReadBytes(size)) return [];
    const data = decoder.readBytes(size);
    if (data.length <= MAGIC_AT || data.readInt8(MAGIC_AT) !== RECORD_BATCH_MAGIC) {
      return kafkajs.decodeMessageSet(new kafkajs.Decoder(data), size);
    }
    const records: object[] = [];
    for (let position = 0; data.length - position >= HEADER_BYTES;) {
      const length = data.readInt32BE(position + LENGTH_AT);
      const end = position + LENGTH_FIELD_END + length;
      if (end > data.length) break;
      const framed = length >= HEADER_BYTES - LENGTH_FIELD_END;
      const batch = data.subarray(position, framed ? end : position + HEADER_BYTES);
      position = end;
      try {
        if (!framed) throw new Error(`its length (${length}) is shorter than a batch header`);
        const codecId = batch.readInt16BE(ATTRIBUTES_AT) & CODEC_MASK;
        // kafkajs would read an unknown codec's bytes as uncompressed records: garbage, or a throw.
        if (codecId > KNOWN_CODECS) throw new Error('Kafka defines no such codec');
        for (const record of (await kafkajs.decodeRecordBatch(new kafkajs.Decoder(batch))).records) {
          records.push(record);
        }
      } catch (error) {
        records.push(undecodableRecord(batch, error));
        break;
      }
    }
    return records;
  };
}

/** A record shaped as kafkajs's record decoder makes them, so its consumer treats it as any other. */
function undecodableRecord(batch: Buffer, cause: unknown): object {
  const attributes = batch.readInt16BE(ATTRIBUTES_AT);
  const firstOffset = batch.readBigInt64BE(0);
  const lastOffsetDelta = Math.max(0, batch.readInt32BE(LAST_OFFSET_DELTA_AT));
  const lastOffset = String(firstOffset + BigInt(lastOffsetDelta));
  const maxTimestamp = String(batch.readBigInt64BE(MAX_TIMESTAMP_AT));
  const error = new UndecodableBatchError(
    codecName(attributes & CODEC_MASK),
    String(firstOffset),
    lastOffset,
    cause,
  );
  return markUndecodable(
    {
      magicByte: RECORD_BATCH_MAGIC,
      attributes: 0,
      timestamp: maxTimestamp,
      offset: lastOffset,
      key: null,
      value: batch,
      headers: {},
      // Never a control record, even for a broken control batch: kafkajs would drop it unseen.
      isControlRecord: false,
      // Kept true to the batch, so kafkajs still drops the batch of an aborted transaction.
      batchContext: {
        firstOffset: String(firstOffset),
        firstTimestamp: String(batch.readBigInt64BE(FIRST_TIMESTAMP_AT)),
        partitionLeaderEpoch: batch.readInt32BE(LENGTH_FIELD_END),
        inTransaction: (attributes & TRANSACTIONAL_FLAG) > 0,
        isControlBatch: (attributes & CONTROL_FLAG) > 0,
        lastOffsetDelta,
        producerId: String(batch.readBigInt64BE(PRODUCER_ID_AT)),
        producerEpoch: batch.readInt16BE(PRODUCER_EPOCH_AT),
        firstSequence: batch.readInt32BE(BASE_SEQUENCE_AT),
        maxTimestamp,
        timestampType: (attributes & LOG_APPEND_TIME_FLAG) > 0 ? LOG_APPEND_TIME : CREATE_TIME,
        magicByte: RECORD_BATCH_MAGIC,
      },
    },
    error,
  );
}
