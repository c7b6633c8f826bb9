import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { brokers, connectionInfo, uniqueName } from '../support/kafka/connection.mjs';
import { createTopic } from '../support/kafka-topics.js';
import { waitFor } from '../support/wait-for.js';

// Proves the broker harness is a real Kafka, with plain kafkajs and nothing of the library.
describe('the broker harness', () => {
  it('serves a 6-partition topic: 1,000 messages produced are all consumed back in a group', async () => {
    const kafka = new Kafka({
      clientId: 'harness-test',
      brokers: brokers().split(','),
      logLevel: logLevel.NOTHING,
    });
    const topic = uniqueName('harness');
    await createTopic(topic, 6);
    const admin = kafka.admin();
    await admin.connect();
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
    expect(metadata.partitions).toHaveLength(6);
    await admin.disconnect();

    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: 1_000 }, (_, n) => ({ key: String(n), value: `message ${n}` })),
    });
    await producer.disconnect();

    const seen = new Set<string>();
    const partitions = new Set<number>();
    const consumer = kafka.consumer({ groupId: uniqueName('harness-group') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        seen.add(message.key!.toString());
        partitions.add(partition);
      },
    });
    await waitFor(() => seen.size === 1_000, 60_000, 'all 1,000 messages');
    await consumer.disconnect();
    expect(partitions.size).toBe(6);
  });

  const info = connectionInfo();
  describe.skipIf(!info)('SASL_SSL with SCRAM-SHA-512 and the generated CA (harness broker only)', () => {
    const connect = async (password: string) => {
      const { username } = info!.saslSsl.users['SCRAM-SHA-512'];
      const sasl: SASLOptions = { mechanism: 'scram-sha-512', username, password };
      const admin = new Kafka({
        clientId: 'harness-sasl',
        brokers: [info!.saslSsl.brokers],
        ssl: { ca: [info!.saslSsl.caPem] },
        sasl,
        logLevel: logLevel.NOTHING,
        retry: { retries: 0 },
      }).admin();
      await admin.connect();
      try {
        return await admin.listTopics();
      } finally {
        await admin.disconnect();
      }
    };

    it('authenticates with the right password over TLS', async () => {
      expect(Array.isArray(await connect(info!.saslSsl.users['SCRAM-SHA-512'].password))).toBe(true);
    });

    it('rejects a wrong password with an authentication error', async () => {
      await expect(connect('not-the-password')).rejects.toMatchObject({
        name: 'KafkaJSSASLAuthenticationError',
      });
    });
  });
});
