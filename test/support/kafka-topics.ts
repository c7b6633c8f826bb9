import { Kafka, logLevel, type Admin, type Message } from 'kafkajs';
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
    const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map(result.partitions.map(({ partition, offset }) => [partition, Number(offset)]));
  });
}
