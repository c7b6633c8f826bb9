import { Injectable, type INestApplication } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BaseConsumer,
  Consumer,
  KarafkaMonitor,
  KarafkaProducer,
  type ErrorEvent,
  type KafkaSettings,
  type Messages,
} from 'nestjs-karafka';
import { brokers, uniqueName } from '../support/kafka/connection.mjs';
import { createKarafkaApp } from '../support/karafka-app.js';
import { committedOffsets, createTopic, readTopic, withAdmin } from '../support/kafka-topics.js';
import { waitFor } from '../support/wait-for.js';

const apps: INestApplication[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close().catch(() => undefined)));
});

async function producerApp(kafka: KafkaSettings = {}, providers: never[] = [], groupId?: string) {
  const { app } = await createKarafkaApp(
    { kafka: { 'bootstrap.servers': brokers(), ...kafka }, ...(groupId ? { groupId } : {}) },
    providers,
  );
  apps.push(app);
  await app.init();
  const errors: ErrorEvent[] = [];
  app.get(KarafkaMonitor).subscribe('error.occurred', (event) => void errors.push(event));
  return { app, producer: app.get(KarafkaProducer), errors };
}

async function messagesOn(topic: string): Promise<number> {
  const offsets = await withAdmin((admin) => admin.fetchTopicOffsets(topic));
  return offsets.reduce((sum, partition) => sum + Number(partition.high) - Number(partition.low), 0);
}

describe('the producer queue against a real broker', () => {
  it('100,000 produceAsync calls then app.close(): every one is on the broker, exactly once', async () => {
    const topic = uniqueName('queue-100k');
    await createTopic(topic, 6);
    const { app, producer, errors } = await producerApp();
    for (let n = 0; n < 100_000; n++) producer.produceAsync({ topic, key: String(n), payload: { n } });
    await app.close();
    expect(errors).toEqual([]);
    // Idempotent and not transactional: one offset per message, no duplicate from a retried request.
    expect(await messagesOn(topic)).toBe(100_000);
  });

  it('keeps the order per partition under backpressure (queue.buffering.max.messages 50)', async () => {
    const topic = uniqueName('queue-order');
    await createTopic(topic, 4);
    const { app, producer, errors } = await producerApp({
      'queue.buffering.max.messages': 50,
      'batch.num.messages': 20,
      'linger.ms': 1,
    });
    const keys = 12;
    const perKey = 500;
    // A fire-and-forget burst far past the limit (it never waits) while a loop awaits each produce (it waits for room).
    for (let n = 0; n < keys * perKey; n++)
      producer.produceAsync({ topic, key: `async-${n % keys}`, payload: String(Math.floor(n / keys)) });
    for (let n = 0; n < 2 * perKey; n++)
      await producer.produce({ topic, key: `awaited-${n % 2}`, payload: String(Math.floor(n / 2)) });
    await app.close();
    expect(errors).toEqual([]);
    const read = await readTopic(topic, 4);
    expect(read).toHaveLength((keys + 2) * perKey);
    const byKey = new Map<string, { partition: number; sequence: number[] }>();
    for (const message of read.sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
      const entry = byKey.get(message.key) ?? { partition: message.partition, sequence: [] };
      expect(message.partition).toBe(entry.partition); // murmur2 by key: one partition per key
      entry.sequence.push(Number(message.value));
      byKey.set(message.key, entry);
    }
    for (const { sequence } of byKey.values())
      expect(sequence).toEqual(Array.from({ length: perKey }, (_, n) => n));
  });

  it('producer.transaction commits or aborts; read_committed sees only the committed messages', async () => {
    const topic = uniqueName('tx');
    await createTopic(topic, 2);
    const { app, producer } = await producerApp({ 'transactional.id': uniqueName('tx-id') });
    await producer.transaction(async (tx) => {
      await tx.produceMany([0, 1, 2].map((n) => ({ topic, key: `committed-${n}`, payload: n })));
    });
    const failure = producer.transaction(async (tx) => {
      await tx.produce({ topic, key: 'aborted-0', payload: 0, partition: 0 });
      tx.produce({ topic, key: 'aborted-1', payload: 1, partition: 1 }).catch(() => undefined);
      throw new Error('changed my mind');
    });
    await expect(failure).rejects.toThrow('changed my mind');
    const result = await producer.transaction(async (tx) => {
      await tx.produce({ topic, key: 'committed-3', payload: 3 });
      return 'done';
    });
    expect(result).toBe('done');
    producer.produceAsync({ topic, key: 'plain', payload: 'outside any transaction' });
    await app.close();

    const committed = (await readTopic(topic, 2)).map((message) => message.key).sort();
    expect(committed).toEqual(['committed-0', 'committed-1', 'committed-2', 'committed-3', 'plain']);
    const uncommitted = (await readTopic(topic, 2, 'read_uncommitted')).map((message) => message.key);
    expect(uncommitted).toEqual(expect.arrayContaining(['aborted-0', 'aborted-1']));
  });

  it("a route reading read_committed never sees an aborted transaction's messages and goes on across the gaps", async () => {
    const topic = uniqueName('tx-gaps');
    const groupId = uniqueName('tx-gaps-group');
    await createTopic(topic, 1);
    @Injectable()
    class Seen {
      readonly keys: string[] = [];
    }
    @Consumer(topic)
    class GapConsumer extends BaseConsumer {
      constructor(private readonly seen: Seen) {
        super();
      }
      consume(messages: Messages): void {
        for (const message of messages) this.seen.keys.push(String(message.key));
      }
    }
    const { app, producer } = await producerApp(
      { 'transactional.id': uniqueName('tx-gaps-id') },
      [Seen, GapConsumer] as never[],
      groupId,
    );
    const seen = app.get(Seen);
    const expected: string[] = [];
    for (let round = 0; round < 5; round++) {
      await producer.transaction(async (tx) => {
        await tx.produce({ topic, key: `kept-${round}`, payload: round });
      });
      expected.push(`kept-${round}`);
      await producer
        .transaction(async (tx) => {
          await tx.produceMany([0, 1, 2].map((n) => ({ topic, key: `aborted-${round}-${n}`, payload: n })));
          throw new Error('abort');
        })
        .catch(() => undefined);
    }
    // The log ends with an aborted batch and its marker: the group must still commit past every kept message.
    await waitFor(() => seen.keys.length >= expected.length, 30_000, 'the committed messages');
    await producer.produce({ topic, key: 'after', payload: 'plain' });
    expected.push('after');
    await waitFor(() => seen.keys.includes('after'), 30_000, 'the message after the gaps');
    expect(seen.keys).toEqual(expected);
    const [{ high }] = await withAdmin((admin) => admin.fetchTopicOffsets(topic));
    await waitFor(
      async () => (await committedOffsets(groupId, topic)).get(0) === Number(high),
      10_000,
      'the offset after the last message committed',
    );
  });
});
