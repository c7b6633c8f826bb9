import { Injectable, type INestApplication, type Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BaseConsumer,
  Consumer,
  KarafkaModule,
  KarafkaProducer,
  type KarafkaModuleOptions,
  type Messages,
} from 'nestjs-karafka';
import { CaptureLogger } from '../support/capture-logger.js';
import { javaConsume, javaProduce } from '../support/java-client.js';
import { brokers, uniqueName } from '../support/kafka/connection.mjs';
import { createTopic } from '../support/kafka-topics.js';
import { storedBatches, storedCodecs } from '../support/log-segments.js';
import { waitFor } from '../support/wait-for.js';

const CODECS = ['snappy', 'lz4', 'zstd'] as const;
const XERIAL_MAGIC = Buffer.from('\x82SNAPPY\x00', 'latin1');

/** The n's each topic's consumer was handed, deduplicated (delivery is at least once). */
@Injectable()
class Received {
  readonly byTopic = new Map<string, Set<number>>();

  count(topic: string): number {
    return this.byTopic.get(topic)?.size ?? 0;
  }
}

/** Records the n's of every message of the topics a subclass is routed to. */
@Injectable()
class RecordingConsumer extends BaseConsumer<{ n: number }> {
  constructor(private readonly received: Received) {
    super();
  }

  async consume(messages: Messages<{ n: number }>): Promise<void> {
    const seen = this.received.byTopic.get(this.topic) ?? new Set<number>();
    this.received.byTopic.set(this.topic, seen);
    for (const message of messages) seen.add(message.payload.n);
  }
}

/** A RecordingConsumer routed to `topics`, a class of its own for each app. */
function routedTo(topics: string[], options: Parameters<typeof Consumer>[1] = {}): Type<BaseConsumer> {
  class Routed extends RecordingConsumer {}
  Consumer(topics, options)(Routed);
  return Routed;
}

const apps: INestApplication[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function startApp(
  consumers: Type<BaseConsumer>[],
  options: Partial<KarafkaModuleOptions> = {},
): Promise<{ app: INestApplication; received: Received; logger: CaptureLogger }> {
  const received = new Received();
  const logger = new CaptureLogger();
  const moduleRef = await Test.createTestingModule({
    imports: [
      KarafkaModule.forRoot({
        maxWaitTime: 500,
        shutdownTimeout: 10_000,
        ...options,
        kafka: { 'bootstrap.servers': brokers(), ...options.kafka },
      }),
    ],
    providers: [{ provide: Received, useValue: received }, ...consumers],
  }).compile();
  const app = moduleRef.createNestApplication({ logger });
  apps.push(app);
  await app.init();
  return { app, received, logger };
}

describe('compressed record batches against a real broker', () => {
  it('a @Consumer reads 500 records each of snappy (xerial-framed), lz4 and zstd written by the Java producer', async () => {
    const topics = Object.fromEntries(CODECS.map((codec) => [uniqueName(`java-${codec}`), codec]));
    await Promise.all(Object.keys(topics).map((topic) => createTopic(topic, 3)));
    await javaProduce(500, topics);
    for (const [topic, codec] of Object.entries(topics))
      expect(storedCodecs(topic), topic).toEqual(new Set([codec]));
    const [snappyTopic] = Object.keys(topics);
    // The Java client frames snappy as snappy-java does; a batch's records start at its byte 61.
    expect(storedBatches(snappyTopic).every((batch) => batch.subarray(61, 69).equals(XERIAL_MAGIC))).toBe(
      true,
    );

    const { received } = await startApp([routedTo(Object.keys(topics))]);
    await waitFor(
      () => Object.keys(topics).every((topic) => received.count(topic) === 500),
      60_000,
      'all 1,500 records',
    );
    for (const topic of Object.keys(topics)) {
      expect([...received.byTopic.get(topic)!].sort((a, b) => a - b)).toEqual([...Array(500).keys()]);
    }
  });

  it.each(CODECS)(
    "a producer with compression.type '%s' writes batches so compressed, which the @Consumer and the Java consumer read back",
    async (codec) => {
      const topic = uniqueName(`produce-${codec}`);
      await createTopic(topic, 2);
      const { app, received } = await startApp([routedTo([topic])], {
        kafka: { 'compression.type': codec },
      });
      await app
        .get(KarafkaProducer)
        .produceMany(Array.from({ length: 300 }, (_, n) => ({ topic, key: String(n), payload: { n } })));
      expect(storedCodecs(topic)).toEqual(new Set([codec]));
      await waitFor(() => received.count(topic) === 300, 30_000, `300 ${codec} records`);
      expect(await javaConsume(topic, 300)).toEqual({ records: 300, distinct: 300 });
    },
  );

  it("the dead letter copy is produced with the producer's compression", async () => {
    const topic = uniqueName('dlq-compression');
    const dlq = `${topic}.dlq`;
    await Promise.all([createTopic(topic, 1), createTopic(dlq, 1)]);
    const { app } = await startApp([routedTo([topic], { deadLetterQueue: { topic: dlq, maxRetries: 0 } })], {
      kafka: { 'compression.type': 'lz4' },
    });
    await app.get(KarafkaProducer).produce({ topic, payload: '{not json'.repeat(100) });
    await waitFor(() => storedCodecs(dlq).size > 0, 30_000, 'the dead letter copy');
    expect(storedCodecs(dlq)).toEqual(new Set(['lz4']));
  });
});
