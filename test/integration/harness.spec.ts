import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { brokers, connectionInfo, uniqueName } from '../support/kafka/connection.mjs';
import { waitFor } from '../support/wait-for.js';

// Proves the broker harness is a real Kafka, with plain kafkajs and nothing of the library.

/** An admin on `config` that lists the topics, then disconnects. */
async function listTopics(config: Omit<KafkaConfig, 'clientId' | 'logLevel'>): Promise<string[]> {
  const admin = new Kafka({
    clientId: 'harness-test',
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    ...config,
  }).admin();
  await admin.connect();
  try {
    return await admin.listTopics();
  } finally {
    await admin.disconnect();
  }
}

/** An unsigned JWT (alg "none"), which the harness's OAUTHBEARER listener accepts: tests only. */
function unsignedJwt(subject: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: 'none' })}.${part({ sub: subject, iat: now, exp: now + 3600 })}.`;
}

describe('the broker harness', () => {
  it('serves a 6-partition topic: 1,000 messages produced are all consumed back in a group', async () => {
    const kafka = new Kafka({
      clientId: 'harness-test',
      brokers: brokers().split(','),
      logLevel: logLevel.NOTHING,
    });
    const topic = uniqueName('harness');
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(
        await admin.createTopics({
          topics: [{ topic, numPartitions: 6, replicationFactor: 1 }],
          waitForLeaders: true,
        }),
      ).toBe(true);
      const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
      expect(metadata.partitions).toHaveLength(6);
    } finally {
      await admin.disconnect();
    }

    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: 1_000 }, (_, n) => ({ key: String(n), value: `message ${n}` })),
      });
    } finally {
      await producer.disconnect();
    }

    const seen = new Set<string>();
    const partitions = new Set<number>();
    const consumer = kafka.consumer({ groupId: uniqueName('harness-group') });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message, partition }) => {
          seen.add(message.key!.toString());
          partitions.add(partition);
        },
      });
      await waitFor(() => seen.size === 1_000, 50_000, 'all 1,000 messages');
    } finally {
      await consumer.disconnect();
    }
    expect([...seen].sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 1_000 }, (_, n) => String(n)),
    );
    expect(partitions.size).toBe(6);
  }, 60_000);

  const info = connectionInfo();
  describe.skipIf(!info)('SASL and TLS listeners (harness broker only)', () => {
    const scram = (mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512', password?: string) => {
      const user = info!.saslSsl.users[mechanism];
      const sasl: SASLOptions = {
        mechanism: mechanism === 'SCRAM-SHA-256' ? 'scram-sha-256' : 'scram-sha-512',
        username: user.username,
        password: password ?? user.password,
      };
      return listTopics({ brokers: [info!.saslSsl.brokers], ssl: { ca: [info!.saslSsl.caPem] }, sasl });
    };

    it.each(['SCRAM-SHA-512', 'SCRAM-SHA-256'] as const)(
      'SASL_SSL: %s over TLS with the generated CA lists topics',
      async (mechanism) => {
        expect(Array.isArray(await scram(mechanism))).toBe(true);
      },
      60_000,
    );

    it('SASL_SSL: a wrong SCRAM-SHA-512 password is rejected with an authentication error', async () => {
      await expect(scram('SCRAM-SHA-512', 'not-the-password')).rejects.toMatchObject({
        name: 'KafkaJSSASLAuthenticationError',
      });
    }, 60_000);

    it('SASL_PLAINTEXT: OAUTHBEARER with an unsigned JWT lists topics', async () => {
      let calls = 0;
      const topics = await listTopics({
        brokers: [info!.oauth.brokers],
        sasl: {
          mechanism: 'oauthbearer',
          oauthBearerProvider: async () => {
            calls += 1;
            return { value: unsignedJwt('karafka') };
          },
        },
      });
      expect(Array.isArray(topics)).toBe(true);
      expect(calls).toBeGreaterThan(0);
    }, 60_000);
  });
});
