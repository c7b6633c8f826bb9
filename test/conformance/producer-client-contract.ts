import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { KafkaSettings, ProducerClient } from '../../src/connection/kafka-client.js';
import { uniqueName } from '../support/kafka/connection.mjs';
import type { ConformanceHarness } from './harness.js';
import { Member } from './member.js';

const range = (count: number) => Array.from({ length: count }, (_, i) => i);

/**
 * The producer's part of the Kafka client contract (`ProducerClient`), one case per rule, run
 * against a driver through its harness. What is read back is read by the driver's own consumer.
 */
export function describeProducerClientContract(driver: string, harness: ConformanceHarness): void {
  const test = (title: string, body: () => Promise<void>) => {
    const gap = harness.knownGaps?.[title];
    if (gap) it.skip(`${title} (known gap of ${driver}: ${gap})`, body);
    else it(title, { timeout: harness.timeoutMs * 4 }, body);
  };

  describe(`Kafka client contract, producer: ${driver}`, () => {
    const opened: { stop(): Promise<void> }[] = [];
    beforeAll(async () => harness.beforeAll?.());
    afterAll(async () => harness.afterAll?.());
    beforeEach(async () => harness.beforeEach?.());
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((client) => client.stop()));
    });

    const producer = async (kafka: KafkaSettings = {}, transactionalId?: string): Promise<ProducerClient> => {
      const client = harness.factory().producer({
        clientId: uniqueName('conformance-producer'),
        kafka: { ...harness.kafka(), ...kafka },
        transactionalId,
      });
      await client.connect();
      opened.push({ stop: () => client.disconnect() });
      return client;
    };

    /** A started member of `groupId` reading `topic` from the start with the driver's consumer. */
    const startMember = async (groupId: string, topic: string) => {
      const client = harness.factory().consumer({
        groupId,
        clientId: uniqueName(groupId),
        subscriptions: [{ topic, fromBeginning: true }],
        maxWaitTime: harness.maxWaitTime,
        kafka: harness.kafka(),
      });
      const member = new Member(client, groupId, harness.eager, harness.timeoutMs);
      opened.push(member);
      await client.start(member);
      return member;
    };

    /** Reads `topic` from the start with the driver's consumer until `until` holds. */
    const read = async (topic: string, until: (member: Member) => boolean) => {
      const member = await startMember(uniqueName('conformance-reader'), topic);
      await member.until(() => until(member), `what was produced to ${topic}`);
      return member;
    };

    const newTopic = async (partitions: number) => {
      const name = uniqueName('conformance-produce');
      await harness.createTopic(name, partitions);
      return name;
    };

    test('produce resolves once acknowledged; each partition keeps the call order', async () => {
      const topic = await newTopic(2);
      const client = await producer();
      await Promise.all(range(200).map((i) => client.produce(topic, { value: `v${i}`, partition: i % 2 })));
      await client.send(topic, [
        { value: 'last-0', partition: 0 },
        { value: 'last-1', partition: 1 },
      ]);
      const member = await read(
        topic,
        (m) => m.offsets(topic, 0).length + m.offsets(topic, 1).length === 202,
      );
      for (const partition of [0, 1]) {
        const expected = range(200)
          .filter((i) => i % 2 === partition)
          .map((i) => `v${i}`);
        expect(member.values(topic, partition)).toEqual([...expected, `last-${partition}`]);
      }
    });

    test('flush resolves when nothing is queued, what delivery callbacks produced included', async () => {
      const topic = await newTopic(1);
      const client = await producer();
      let followUpDelivered = false;
      void client
        .produce(topic, { value: 'first' })
        .then(() => client.produce(topic, { value: 'follow-up' }))
        .then(() => (followUpDelivered = true));
      await client.flush();
      expect(followUpDelivered).toBe(true);
    });

    test('room() waits while the queue is past queue.buffering.max.messages; produce never refuses', async () => {
      const topic = await newTopic(1);
      const client = await producer({ 'queue.buffering.max.messages': 5 });
      const delivered = range(50).map((i) => client.produce(topic, { value: `v${i}` }));
      let roomy = false;
      const room = client.room().then(() => (roomy = true));
      await Promise.resolve();
      expect(roomy).toBe(false);
      await Promise.all([...delivered, room]);
      expect(roomy).toBe(true);
    });

    test('a transaction commits its messages and offsets together, or aborts them', async () => {
      const topic = await newTopic(1);
      const groupId = uniqueName('conformance-tx-group');
      const client = await producer({}, uniqueName('conformance-tx'));
      if (!client.transaction)
        throw new Error(`the ${driver} producer has no transaction() with a transactional id`);
      // The group's member that read the offsets: librdkafka sends its group metadata with them.
      const member = await startMember(groupId, topic);
      await member.until(() => member.held.size > 0, `the assignment of ${groupId}`);
      const consumer = member.client;
      const result = await client.transaction(async (tx) => {
        await tx.produce(topic, { value: 'committed-0' });
        await tx.produce(topic, { value: 'committed-1' });
        await tx.sendOffsets({ groupId, consumer }, [{ topic, partition: 0, offset: 2 }]);
        return 'done';
      });
      expect(result).toBe('done');
      await expect(
        client.transaction(async (tx) => {
          await tx.produce(topic, { value: 'aborted' });
          throw new Error('abort it');
        }),
      ).rejects.toThrow('abort it');
      await client.produce(topic, { value: 'plain' });
      const reader = await read(topic, (m) => m.values(topic, 0).includes('plain'));
      expect(reader.values(topic, 0)).toEqual(['committed-0', 'committed-1', 'plain']);
    });
  });
}
