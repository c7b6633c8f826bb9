import { Kafka, logLevel, type Admin, type Message } from 'kafkajs';
import { installKafkajsCodecs } from '../../src/connection/kafkajs/compression/index.js';
import { hookAbortedTransactions } from '../../src/connection/kafkajs/kafkajs-aborted-transactions.js';
import { brokers } from './kafka/connection.mjs';

/** A kafkajs client on the test broker, for setting up topics and data outside the library under test. */
export function testKafka(): Kafka {
  return new Kafka({
    clientId: 'test-setup',
    brokers: String(brokers()).split(','),
    logLevel: logLevel.NOTHING,
  });
}

export async function withAdmin<T>(work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Creates a topic and waits until its leader serves every partition (a cold or busy broker lags a
 * moment). Not kafkajs's waitForLeaders: it gives up on the broker's "does not host this
 * topic-partition" answer, which the loop below retries.
 */
export async function createTopic(topic: string, numPartitions: number): Promise<void> {
  await withAdmin(async (admin) => {
    await admin.createTopics({
      topics: [{ topic, numPartitions, replicationFactor: 1 }],
      waitForLeaders: false,
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        if ((await admin.fetchTopicOffsets(topic)).length === numPartitions) return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
}

/** Produces `count` JSON messages `{ n }` keyed `n`, spread round robin over `partitions`. */
export async function produceNumbered(
  topic: string,
  count: number,
  partitions: number,
  from = 0,
): Promise<void> {
  const producer = testKafka().producer();
  await producer.connect();
  try {
    for (let start = from; start < from + count; start += 5_000) {
      const messages: Message[] = [];
      for (let n = start; n < Math.min(start + 5_000, from + count); n++) {
        messages.push({ key: String(n), value: JSON.stringify({ n }), partition: n % partitions });
      }
      await producer.send({ topic, messages, acks: -1 });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Committed offsets of `groupId` on `topic`, by partition (-1 when none). */
export async function committedOffsets(groupId: string, topic: string): Promise<Map<number, number>> {
  return withAdmin(async (admin) => {
    const [result] = await coordinatorRetries(() => admin.fetchOffsets({ groupId, topics: [topic] }));
    return new Map(result.partitions.map(({ partition, offset }) => [partition, Number(offset)]));
  });
}

export interface ReadMessage {
  partition: number;
  offset: number;
  key: string;
  value: string;
}

/**
 * Every message of `topic` as a consumer with `isolation` sees it: a sentinel is appended to each
 * partition first, and reading ends once every sentinel arrived (so "never seen" means never).
 * Read by kafkajs as the library's driver patches it (its own aborted-transaction filter lets
 * records of interleaved aborted transactions through).
 */
export async function readTopic(
  topic: string,
  partitions: number,
  isolation: 'read_committed' | 'read_uncommitted' = 'read_committed',
): Promise<ReadMessage[]> {
  installKafkajsCodecs();
  hookAbortedTransactions();
  const kafka = testKafka();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic,
    acks: -1,
    messages: Array.from({ length: partitions }, (_, partition) => ({
      key: 'sentinel',
      value: '',
      partition,
    })),
  });
  await producer.disconnect();
  const consumer = kafka.consumer({
    groupId: `read-${topic}-${Date.now()}`,
    readUncommitted: isolation === 'read_uncommitted',
    maxWaitTimeInMs: 200,
  });
  const messages: ReadMessage[] = [];
  const ended = new Set<number>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const key = message.key?.toString() ?? '';
        if (key === 'sentinel') ended.add(partition);
        else
          messages.push({
            partition,
            offset: Number(message.offset),
            key,
            value: message.value?.toString() ?? '',
          });
        if (ended.size === partitions) done();
      },
    });
    await finished;
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

/**
 * kafkajs's admin does not retry a group request the broker answers with a retriable error (a
 * coordinator moving or loading on a fresh broker: NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS).
 */
async function coordinatorRetries<T>(request: () => Promise<T>, attempts = 20): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (error) {
      if ((error as { retriable?: boolean }).retriable !== true || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
