import { Injectable, type Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BaseConsumer,
  Consumer,
  KarafkaModule,
  KarafkaMonitor,
  KarafkaProducer,
  KarafkaProducerModule,
  ProduceError,
  type ErrorEvent,
  type Messages,
} from 'nestjs-karafka';
import type { ProducedMessage } from '../../src/connection/kafka-client.js';
import { KAFKA_CLIENT_FACTORY } from '../../src/karafka.constants.js';
import { FakeClientFactory, FakeProducerClient } from '../support/fake-consumer-client.js';
import { waitFor } from '../support/wait-for.js';

/** Records connects, requests and disconnects; sends wait for `release()` while `held`. */
class RecordingProducer extends FakeProducerClient {
  readonly log: string[] = [];
  readonly requests: { topic: string; messages: ProducedMessage[] }[] = [];
  held = false;
  failOn?: (topic: string, request: number) => Error | undefined;
  private gate?: Promise<void>;
  private open?: () => void;

  override async connect(): Promise<void> {
    this.log.push('connect');
  }

  override async send(topic: string, messages: ProducedMessage[]): Promise<void> {
    this.requests.push({ topic, messages });
    if (this.held) {
      this.gate ??= new Promise((resolve) => (this.open = resolve));
      await this.gate;
    }
    const failure = this.failOn?.(topic, this.requests.length);
    if (failure) throw failure;
    await super.send(topic, messages);
    this.log.push(`acked ${topic} x${messages.length}`);
  }

  override async disconnect(): Promise<void> {
    this.log.push('disconnect');
  }

  /** While `roomAfter` requests are in, room() waits for `release()`. */
  roomAfter = Infinity;
  override room(): Promise<void> {
    if (this.requests.length < this.roomAfter) return Promise.resolve();
    this.gate ??= new Promise((resolve) => (this.open = resolve));
    return this.gate;
  }

  release(): void {
    this.held = false;
    this.open?.();
  }
}

class RecordingFactory extends FakeClientFactory {
  readonly recorder = new RecordingProducer();
  producersCreated = 0;

  override producer(): RecordingProducer {
    this.producersCreated++;
    return this.recorder;
  }
}

@Injectable()
class Poison {
  offsets = new Set<number>();
}

@Consumer('farewells')
class FarewellConsumer extends BaseConsumer {
  constructor(private readonly producer: KarafkaProducer) {
    super();
  }

  consume(): void {}

  override async shutdown(): Promise<void> {
    await this.producer.produce({ topic: 'farewell', payload: `bye from ${this.partition}` });
  }
}

@Consumer('orders', { pause: { timeout: 5 }, deadLetterQueue: { topic: 'orders.dlq', maxRetries: 0 } })
class OrdersConsumer extends BaseConsumer {
  constructor(private readonly poison: Poison) {
    super();
  }

  consume(messages: Messages): void {
    for (const message of messages) {
      if (this.poison.offsets.has(message.offset)) throw new Error(`poison ${message.offset}`);
    }
  }
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function boot(consumers: Type<BaseConsumer>[] = []) {
  const factory = new RecordingFactory();
  const moduleRef = await Test.createTestingModule({
    imports: [
      KarafkaModule.forRoot({
        kafka: { 'bootstrap.servers': 'fake:9092' },
        logging: false,
        prefix: 'staging.',
      }),
    ],
    providers: [Poison, ...consumers],
  })
    .overrideProvider(KAFKA_CLIENT_FACTORY)
    .useValue(factory)
    .compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  let closed = false;
  const close = async () => {
    if (!closed) await app.close();
    closed = true;
  };
  closers.push(close);
  const errors: ErrorEvent[] = [];
  app.get(KarafkaMonitor).subscribe('error.occurred', (event) => void errors.push(event));
  return { app, close, factory, producer: app.get(KarafkaProducer), recorder: factory.recorder, errors };
}

describe('KarafkaProducer', () => {
  it('connects once on first use, applies the prefix, and encodes objects as JSON, strings and Buffers as they are', async () => {
    const { producer, recorder, factory } = await boot();
    expect(recorder.log).toEqual([]);
    await Promise.all([
      producer.produce({ topic: 'orders', key: 'a', payload: { id: 'a', n: 1 }, headers: { source: 'web' } }),
      producer.produce({ topic: 'orders', payload: 'plain text', partition: 2 }),
      producer.produce({ topic: 'raw', payload: Buffer.from([1, 2, 3]) }),
      producer.produce({ topic: 'orders', key: 'a', payload: null }),
    ]);
    expect(factory.producersCreated).toBe(1);
    expect(recorder.log.filter((entry) => entry === 'connect')).toHaveLength(1);
    expect(recorder.sent).toEqual([
      {
        topic: 'staging.orders',
        message: { key: 'a', value: '{"id":"a","n":1}', headers: { source: 'web' }, partition: undefined },
      },
      {
        topic: 'staging.orders',
        message: { key: null, value: 'plain text', headers: undefined, partition: 2 },
      },
      { topic: 'staging.raw', message: { key: null, value: Buffer.from([1, 2, 3]), headers: undefined } },
      {
        topic: 'staging.orders',
        message: { key: 'a', value: null, headers: undefined, partition: undefined },
      },
    ]);
  });

  it('produceMany queues one message after another, each waiting for room in the client queue', async () => {
    const { producer, recorder } = await boot();
    recorder.roomAfter = 3;
    const all = producer.produceMany(Array.from({ length: 10 }, (_, n) => ({ topic: 'big', payload: n })));
    await waitFor(() => recorder.requests.length === 3, 2_000, 'the first three');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(recorder.requests).toHaveLength(3);
    recorder.roomAfter = Infinity;
    recorder.release();
    await all;
    expect(recorder.sent.map((sent) => sent.message.value)).toEqual(
      Array.from({ length: 10 }, (_, n) => String(n)),
    );
  });

  it('rejects with a ProduceError naming the topic, the partition and what of it was acknowledged', async () => {
    const { producer, recorder } = await boot();
    recorder.failOn = (_topic, request) =>
      request === 2 ? new Error('NOT_LEADER_FOR_PARTITION') : undefined;
    const failure = producer.produceMany(
      Array.from({ length: 6_000 }, (_, n) => ({
        topic: 'orders',
        partition: 3,
        payload: 'y'.repeat(100 + (n % 2)),
      })),
    );
    await expect(failure).rejects.toBeInstanceOf(ProduceError);
    const error = (await failure.catch((e: unknown) => e)) as ProduceError;
    expect(error.topic).toBe('staging.orders');
    expect(error.partition).toBe(3);
    expect(error.acknowledged).toBe(5_999);
    expect(error.message).toBe(
      'cannot produce to staging.orders/3 (5999 other messages of it were acknowledged): NOT_LEADER_FOR_PARTITION',
    );

    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(producer.produce({ topic: 'orders', payload: circular })).rejects.toThrow(
      /^cannot produce to staging\.orders: Converting circular structure/,
    );
  });

  it("adds the seed's hint for an ACL denial (no ACLs on the test broker: the error kafkajs raises for it)", async () => {
    const { producer, recorder, errors } = await boot();
    recorder.failOn = () =>
      Object.assign(new Error('Not authorized to access topics: [Topic authorization failed]'), {
        name: 'KafkaJSProtocolError',
        type: 'TOPIC_AUTHORIZATION_FAILED',
      });
    const error = (await producer
      .produce({ topic: 'orders', payload: {} })
      .catch((e: unknown) => e)) as ProduceError;
    expect(error.hint).toMatch(/^Topic authorization failed: Kafka ACLs do not grant this user/);
    expect(error.message).toContain(`Topic authorization failed]. ${error.hint}`);
    producer.produceAsync({ topic: 'orders', payload: {} });
    await waitFor(() => errors.length === 1, 2_000, 'the error event');
    expect(errors[0].hint).toBe(error.hint);
  });

  it('transaction() needs transactional.id, and says so', async () => {
    const { producer } = await boot();
    await expect(producer.transaction(async () => undefined)).rejects.toThrow(
      "KarafkaProducer.transaction needs a transactional producer: set kafka['transactional.id']",
    );
  });

  it('produceAsync reports a failure as error.occurred with the topic and partition', async () => {
    const { producer, recorder, errors } = await boot();
    recorder.failOn = () => new Error('broker says no');
    producer.produceAsync({ topic: 'audit', partition: 1, payload: { a: 1 } });
    await waitFor(() => errors.length === 1, 2_000, 'the error event');
    expect(errors[0]).toMatchObject({
      type: 'producer.produce.error',
      fatal: false,
      topic: 'staging.audit',
      partition: 1,
    });
    expect(errors[0].error.message).toBe('cannot produce to staging.audit/1: broker says no');
  });

  it('on app.close() waits for every fire-and-forget produce before it disconnects, and refuses new ones after', async () => {
    const { producer, recorder, close } = await boot();
    recorder.held = true;
    for (let n = 0; n < 50; n++) producer.produceAsync({ topic: 'burst', payload: { n } });
    const closing = close();
    await waitFor(() => recorder.requests.length > 0, 2_000, 'the first request');
    expect(recorder.log).not.toContain('disconnect');
    recorder.release();
    await closing;
    expect(recorder.sent).toHaveLength(50);
    expect(recorder.log.at(-1)).toBe('disconnect');
    expect(recorder.log.filter((entry) => entry.startsWith('acked'))).toHaveLength(50);
    await expect(producer.produce({ topic: 'late', payload: 1 })).rejects.toThrow(
      'the Karafka producer is closed: the application shut down',
    );
    expect(recorder.log.filter((entry) => entry === 'connect')).toHaveLength(1);
  });

  it("closes after the engine stopped, so a consumer's shutdown() can still produce", async () => {
    const { factory, recorder, close } = await boot([FarewellConsumer]);
    await waitFor(() => factory.consumers.some((consumer) => consumer.started), 2_000, 'the consumer');
    const client = factory.consumers[0];
    client.assign([{ topic: 'staging.farewells', partition: 0 }]);
    client.deliver('staging.farewells', 0, [0]);
    await waitFor(() => client.committed.get('staging.farewells/0') === 1, 2_000, 'the commit');
    await close();
    expect(recorder.log).toEqual(['connect', 'acked staging.farewell x1', 'disconnect']);
  });

  it("shares its one connection with the engine's dead letter queue", async () => {
    const { app, factory, producer, recorder } = await boot([OrdersConsumer]);
    app.get(Poison).offsets.add(0);
    await waitFor(() => factory.consumers.some((consumer) => consumer.started), 2_000, 'the consumer');
    const client = factory.consumers[0];
    client.assign([{ topic: 'staging.orders', partition: 0 }]);
    client.deliver('staging.orders', 0, [0, 1]);
    await waitFor(
      () => recorder.sent.some((sent) => sent.topic === 'staging.orders.dlq'),
      2_000,
      'the DLQ copy',
    );
    await producer.produce({ topic: 'orders.processed', payload: { ok: true } });
    expect(factory.producersCreated).toBe(1);
    expect(recorder.log.filter((entry) => entry === 'connect')).toHaveLength(1);
  });
});

describe('KarafkaProducerModule (custom producers)', () => {
  it('refuses options that cannot work, naming the producer and the field', async () => {
    const boot = (options: Parameters<typeof KarafkaProducerModule.register>[1]) =>
      Test.createTestingModule({
        imports: [
          KarafkaModule.forRoot({ kafka: { 'bootstrap.servers': 'x:1' } }),
          KarafkaProducerModule.register('audit', options),
        ],
      }).compile();
    await expect(boot({ kafka: { 'bootstrap.servers': 'kafka+ssl://ec2-1:9096' } })).rejects.toThrow(
      `KarafkaProducerModule "audit" kafka['bootstrap.servers']: unsupported protocol "KAFKA+SSL"`,
    );
    await expect(boot({ kafka: {} })).rejects.toThrow(
      `KarafkaProducerModule "audit".kafka['bootstrap.servers']: is required`,
    );
    await expect(boot({ kafka: { 'bootstrap.servers': 'x:1', brokers: 'y' } as never })).rejects.toThrow(
      `KarafkaProducerModule "audit".kafka['brokers']: is not a supported kafka setting`,
    );
    await expect(
      boot({
        kafka: {
          'bootstrap.servers': 'x:1',
          'sasl.mechanisms': 'OAUTHBEARER',
          'security.protocol': 'sasl_ssl',
        },
      }),
    ).rejects.toThrow(
      `KarafkaProducerModule "audit".oauth.tokenProvider: is required with 'sasl.mechanisms': 'OAUTHBEARER'`,
    );
  });
});
