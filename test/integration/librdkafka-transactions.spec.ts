import { afterEach, describe, expect, it } from 'vitest';
import { KafkaClientError, type ProducerClient } from '../../src/connection/kafka-client.js';
import { LibrdkafkaClientFactory } from '../../src/connection/librdkafka/librdkafka-client-factory.js';
import { KafkajsClientFactory } from '../../src/connection/kafkajs/kafkajs-client-factory.js';
import { brokers, uniqueName } from '../support/kafka/connection.mjs';
import { createTopic, readTopic } from '../support/kafka-topics.js';
import { librdkafkaUnavailable } from '../support/librdkafka.js';

const unavailable = librdkafkaUnavailable();
const kafka = () => ({ 'bootstrap.servers': brokers() });

describe.skipIf(unavailable !== undefined)('librdkafka transactions', () => {
  const opened: ProducerClient[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((client) => client.disconnect().catch(() => undefined)));
  });

  const producer = async (transactionalId: string): Promise<ProducerClient> => {
    const client = new LibrdkafkaClientFactory().producer({
      clientId: uniqueName('tx-producer'),
      kafka: kafka(),
      transactionalId,
    });
    opened.push(client);
    await client.connect();
    return client;
  };

  it("sendOffsets refuses a consumer that is not the group's librdkafka member, and the transaction aborts", async () => {
    const topic = uniqueName('tx-refused');
    await createTopic(topic, 1);
    const client = await producer(uniqueName('tx-refused-id'));
    const groupId = uniqueName('tx-refused-group');
    const offsets = [{ topic, partition: 0, offset: 1 }];
    await expect(
      client.transaction!(async (tx) => {
        await tx.produce(topic, { value: 'aborted' });
        await tx.sendOffsets({ groupId }, offsets);
      }),
    ).rejects.toThrow(`sendOffsets for group ${groupId} needs the group's started librdkafka consumer`);
    const kafkajsConsumer = new KafkajsClientFactory().consumer({
      groupId,
      clientId: uniqueName('tx-refused-member'),
      subscriptions: [{ topic, fromBeginning: true }],
      maxWaitTime: 100,
      kafka: kafka(),
    });
    await expect(
      client.transaction!((tx) => tx.sendOffsets({ groupId, consumer: kafkajsConsumer }, offsets)),
    ).rejects.toThrow('the consumer given is not a librdkafka driver client');
    await client.transaction!((tx) => tx.produce(topic, { value: 'committed' }));
    const read = (await readTopic(topic, 1)).filter((m) => m.key !== 'sentinel');
    expect(read.map((m) => m.value)).toEqual(['committed']);
  });

  it('a producer fenced by a newer one with its transactional id fails with one non-retriable error from then on', async () => {
    const topic = uniqueName('tx-fenced');
    await createTopic(topic, 1);
    const transactionalId = uniqueName('tx-fenced-id');
    const old = await producer(transactionalId);
    await old.transaction!((tx) => tx.produce(topic, { value: 'first' }));
    const newer = await producer(transactionalId);
    await newer.transaction!((tx) => tx.produce(topic, { value: 'second' }));
    const fenced = await old.transaction!((tx) => tx.produce(topic, { value: 'zombie' })).catch(
      (error: unknown) => error,
    );
    expect(fenced).toBeInstanceOf(KafkaClientError);
    expect((fenced as KafkaClientError).retriable).toBe(false);
    await expect(old.transaction!((tx) => tx.produce(topic, { value: 'zombie-again' }))).rejects.toBe(fenced);
    const read = (await readTopic(topic, 1)).filter((m) => m.key !== 'sentinel');
    expect(read.map((m) => m.value)).toEqual(['first', 'second']);
  });
});
