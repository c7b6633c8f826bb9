import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BaseConsumer,
  Consumer,
  KarafkaModule,
  KarafkaMonitor,
  KarafkaRunner,
  type KarafkaEventName,
  type Messages,
} from '../../src/index.js';
import { KAFKA_CLIENT_FACTORY } from '../../src/karafka.constants.js';
import { FakeClientFactory, type FakeConsumerClient } from '../support/fake-consumer-client.js';

@Injectable()
class Store {
  readonly seen: number[] = [];
  failuresLeft = 0;
  poison = new Set<number>();
  pauseAt?: number;
  revoked: number[] = [];
  shutdowns = 0;
  running = 0;
  maxRunning = 0;
  hold?: Promise<void>;
}

@Consumer('orders', {
  pause: { timeout: 10, maxTimeout: 40 },
  deadLetterQueue: { topic: 'orders.dlq', maxRetries: 2 },
})
class OrdersConsumer extends BaseConsumer<{ n: number }> {
  constructor(private readonly store: Store) {
    super();
  }

  async consume(messages: Messages<{ n: number }>): Promise<void> {
    this.store.running++;
    this.store.maxRunning = Math.max(this.store.maxRunning, this.store.running);
    try {
      await this.store.hold;
      for (const message of messages) {
        if (this.store.poison.has(message.offset)) throw new Error(`poison ${message.offset}`);
        if (message.offset === this.store.pauseAt) {
          this.store.pauseAt = undefined;
          return this.pause(message.offset, 10);
        }
        if (this.store.failuresLeft > 0 && message.partition === 0) {
          this.store.failuresLeft--;
          throw new Error('transient');
        }
        this.store.seen.push(message.payload.n);
        this.markAsConsumed(message);
      }
    } finally {
      this.store.running--;
    }
  }

  override revoked(): void {
    this.store.revoked.push(this.partition);
  }

  override shutdown(): void {
    this.store.shutdowns++;
  }
}

const waitFor = async (condition: () => boolean, ms = 2_000) => {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 2));
  }
};

async function boot(options: Record<string, unknown> = {}, factory = new FakeClientFactory()) {
  const moduleRef = await Test.createTestingModule({
    imports: [
      KarafkaModule.forRoot({
        kafka: { 'bootstrap.servers': 'fake:9092' },
        logging: false,
        maxMessages: 3,
        ...options,
      }),
    ],
    providers: [Store, OrdersConsumer],
  })
    .overrideProvider(KAFKA_CLIENT_FACTORY)
    .useValue(factory)
    .compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  const events: { name: KarafkaEventName; payload: unknown }[] = [];
  const monitor = app.get(KarafkaMonitor);
  for (const name of [
    'consumer.consuming.pause',
    'consumer.consuming.retry',
    'dead_letter_queue.dispatched',
    'error.occurred',
    'consumer.revoked',
  ] as const) {
    monitor.subscribe(name, (payload) => void events.push({ name, payload }));
  }
  await waitFor(() => factory.consumers.some((consumer) => consumer.started), 3_000);
  const client = factory.consumers.find((consumer) => consumer.started) as FakeConsumerClient;
  return { app, factory, client, store: app.get(Store), events, runner: app.get(KarafkaRunner) };
}

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

describe('engine (fake client)', () => {
  it('processes batches in chunks of maxMessages, commits after processing, and fetches on', async () => {
    const { app, client, store } = await boot();
    close = () => app.close();
    client.assign([{ topic: 'orders', partition: 0 }]);
    expect(client.deliver('orders', 0, [0, 1, 2, 3, 4])).toBe(true);
    await waitFor(() => store.seen.length === 5);
    await waitFor(() => client.committed.get('orders/0') === 5);
    expect(store.seen).toEqual([0, 1, 2, 3, 4]);
    expect(client.isPaused('orders', 0)).toBe(false);
  });

  it('pauses with growing backoff, retries from the first unmarked message, and keeps other partitions flowing', async () => {
    const { app, client, store, events } = await boot();
    close = () => app.close();
    client.assign([
      { topic: 'orders', partition: 0 },
      { topic: 'orders', partition: 1 },
    ]);
    store.failuresLeft = 2;
    client.deliver('orders', 0, [0, 1, 2]);
    await waitFor(() => events.filter((e) => e.name === 'consumer.consuming.pause').length === 1);
    client.deliver('orders', 1, [0, 1]);
    await waitFor(() => client.committed.get('orders/1') === 2);
    // After a pause the client refetches from the seek; deliver what it would fetch.
    await waitFor(
      () => client.seeks.some((s) => s.partition === 0 && s.offset === 0) && !client.isPaused('orders', 0),
    );
    client.deliver('orders', 0, [0, 1, 2]);
    await waitFor(() => events.filter((e) => e.name === 'consumer.consuming.pause').length === 2);
    await waitFor(() => !client.isPaused('orders', 0));
    client.deliver('orders', 0, [0, 1, 2]);
    await waitFor(() => client.committed.get('orders/0') === 3);
    const pauses = events
      .filter((e) => e.name === 'consumer.consuming.pause')
      .map((e) => (e.payload as { timeoutMs: number }).timeoutMs);
    expect(pauses).toEqual([10, 20]);
    expect(store.seen.filter((n) => n < 3)).toContain(2);
  });

  it('dead-letters a poison message after maxRetries + 1 attempts and moves on', async () => {
    const { app, client, store, events, factory } = await boot();
    close = () => app.close();
    client.assign([{ topic: 'orders', partition: 0 }]);
    store.poison.add(1);
    const lastSeek = () => client.seeks.filter((s) => s.partition === 0).at(-1)?.offset;
    client.deliver('orders', 0, [0, 1, 2]);
    for (const attempt of [2, 3]) {
      await waitFor(() => lastSeek() === 1 && !client.isPaused('orders', 0));
      client.seeks.length = 0;
      expect(events.filter((e) => e.name === 'dead_letter_queue.dispatched')).toHaveLength(0);
      client.deliver('orders', 0, [1, 2]);
      if (attempt === 3) await waitFor(() => events.some((e) => e.name === 'dead_letter_queue.dispatched'));
    }
    const failures = events.filter(
      (e) => e.name === 'error.occurred' && (e.payload as { offset: number }).offset === 1,
    );
    expect(failures).toHaveLength(3);
    expect(factory.producerClient.sent).toHaveLength(1);
    const dlq = factory.producerClient.sent[0];
    expect(dlq.topic).toBe('orders.dlq');
    expect(dlq.message.headers).toMatchObject({
      original_topic: 'orders',
      original_partition: '0',
      original_offset: '1',
      original_error_message: 'poison 1',
    });
    await waitFor(() => client.committed.get('orders/0') === 2);
    client.deliver('orders', 0, [2]);
    await waitFor(() => client.committed.get('orders/0') === 3);
    expect(store.seen).toContain(2);
  });

  it('commits nothing past the offset a consumer paused at', async () => {
    const { app, client, store } = await boot();
    close = () => app.close();
    client.assign([{ topic: 'orders', partition: 0 }]);
    store.pauseAt = 1;
    client.deliver('orders', 0, [0, 1, 2]);
    await waitFor(() => client.seeks.some((s) => s.offset === 1) && !client.isPaused('orders', 0));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(client.committed.get('orders/0')).toBe(1);
    client.deliver('orders', 0, [1, 2]);
    await waitFor(() => client.committed.get('orders/0') === 3);
  });

  it('never runs more than `concurrency` batches, nor two of one partition', async () => {
    const { app, client, store } = await boot({ concurrency: 2 });
    close = () => app.close();
    let release!: () => void;
    store.hold = new Promise((r) => (release = r));
    client.assign([0, 1, 2, 3].map((partition) => ({ topic: 'orders', partition })));
    for (const p of [0, 1, 2, 3]) client.deliver('orders', p, [0, 1, 2, 3, 4, 5]);
    await waitFor(() => store.running === 2);
    await new Promise((r) => setTimeout(r, 20));
    expect(store.running).toBe(2);
    release();
    await waitFor(() => store.seen.length === 24);
    expect(store.maxRunning).toBe(2);
  });

  it('runs revoked() for lost partitions and commits nothing for them afterwards', async () => {
    const { app, client, store } = await boot();
    close = () => app.close();
    let release!: () => void;
    store.hold = new Promise((r) => (release = r));
    client.assign([
      { topic: 'orders', partition: 0 },
      { topic: 'orders', partition: 1 },
    ]);
    client.deliver('orders', 0, [0, 1]);
    await waitFor(() => store.running === 1);
    client.assign([{ topic: 'orders', partition: 1 }]);
    release();
    await waitFor(() => store.revoked.includes(0));
    await new Promise((r) => setTimeout(r, 20));
    expect(client.commits.flat().filter((c) => c.partition === 0)).toEqual([]);
  });

  it('on stop: finishes the running batch, commits it, runs shutdown(), disconnects', async () => {
    const { app, client, store } = await boot();
    let release!: () => void;
    store.hold = new Promise((r) => (release = r));
    client.assign([{ topic: 'orders', partition: 0 }]);
    client.deliver('orders', 0, [0, 1, 2]);
    await waitFor(() => store.running === 1);
    const closing = app.close();
    setTimeout(release, 30);
    await closing;
    expect(client.committed.get('orders/0')).toBe(3);
    expect(store.shutdowns).toBe(1);
    expect(client.stopped).toBe(true);
  });

  it('a client that dies for good: fatal error event, status says so, and onCriticalError decides', async () => {
    const failures: Error[] = [];
    const { app, client, runner, events } = await boot({
      onCriticalError: (error: Error) => failures.push(error),
    });
    close = () => app.close();
    client.crash('bad credentials', false);
    expect(failures.map((error) => error.message)).toEqual(['bad credentials']);
    expect(runner.status()).toMatchObject({ stoppedUnexpectedly: true, listeners: [{ state: 'crashed' }] });
    expect(runner.status().fatalError).toMatch(/bad credentials/);
    expect(events.some((e) => e.name === 'error.occurred' && (e.payload as { fatal: boolean }).fatal)).toBe(
      true,
    );
  });

  it('reconnects by itself when the client gives up on a passing error (an unreachable broker)', async () => {
    const { app, client, runner, factory } = await boot();
    close = () => app.close();
    client.crash('connect ECONNREFUSED 127.0.0.1:9092', true);
    await waitFor(() => factory.consumers.length === 2 && factory.consumers[1].started);
    expect(client.stopped).toBe(true);
    expect(runner.status()).toMatchObject({ stoppedUnexpectedly: false, listeners: [{ state: 'running' }] });
  });

  it('retries a failed connection in the background and can start again after stop', async () => {
    const factory = new FakeClientFactory();
    factory.failStarts = 1;
    const { app, runner } = await boot({}, factory);
    close = () => app.close();
    await waitFor(() => factory.consumers.length === 2 && factory.consumers[1].started, 3_000);
    await runner.stop();
    expect(runner.state).toBe('stopped');
    runner.start();
    await waitFor(() => factory.consumers.length === 3 && factory.consumers[2].started);
    expect(runner.state).toBe('running');
  });
});
