import type { INestApplicationContext } from '@nestjs/common';
import type { ProducedMessage, RawHeaders } from '../connection/kafka-client.js';
import { CONSUMER_CONTEXT, type BaseConsumer, type ConsumerContext } from '../consumer/base-consumer.js';
import { Message } from '../consumer/message.js';
import { Messages } from '../consumer/messages.js';
import { marksAfterConsume } from '../processing/partition/after-consume.js';
import { KarafkaProducer } from '../producer/karafka-producer.js';
import { ConsumerTransaction } from '../producer/karafka-transaction.js';
import type { Route } from '../routing/route.js';
import { ConsumerExplorer } from '../routing/consumer.explorer.js';
import { RouteTable } from '../routing/route-table.js';
import { KarafkaTestProducer } from './karafka-test-producer.js';

/** One `this.transaction(...)` of a consumer under test: what it produced and marked, and whether it committed. */
export interface TestTransaction {
  /** Topics as written (no prefix), payloads encoded as the producer sends them. */
  produced: { topic: string; message: ProducedMessage }[];
  /** Offsets marked inside; they count as marked only when it committed. */
  markedOffsets: number[];
  committed: boolean;
}

/** A message to feed a consumer; what is left out is filled in (offsets go on from the last one). */
export interface TestMessage {
  /** Objects are encoded as JSON, strings and Buffers as they are; the route's deserializer reads them back. */
  payload?: unknown;
  key?: string | Buffer | null;
  headers?: Record<string, string | Buffer>;
  offset?: number;
  timestamp?: number;
}

function encode(payload: unknown): Buffer | null {
  if (payload === null || payload === undefined) return null;
  if (Buffer.isBuffer(payload)) return payload;
  return Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
}

/**
 * One consumer instance of a route, attached to a recording context instead of the engine:
 * `consume()` runs it on given messages and the kit records what it marked, paused and seeked.
 */
export class ConsumerUnderTest<T = unknown> implements ConsumerContext {
  readonly groupId: string;
  /** What `attempt` and `isRetrying()` tell the consumer: set it above 1 to test the retry path. */
  attempt = 1;
  /** Offsets of the messages marked as consumed, in order; like the engine, a mark never moves back. */
  readonly markedOffsets: number[] = [];
  /** Every `pause(offset, timeoutMs)` call, in order. */
  readonly pauses: { offset: number; timeoutMs?: number }[] = [];
  /** Every `seek(offset)` call, in order. */
  readonly seeks: number[] = [];
  /** How many times `resume()` was called. */
  resumed = 0;
  /** Every `this.transaction(...)`, in order. */
  readonly transactions: TestTransaction[] = [];
  private revokedFlag = false;
  private nextOffset = 0;

  constructor(
    readonly instance: BaseConsumer<T>,
    private readonly route: Route,
    readonly topic: string,
    readonly partition: number,
  ) {
    this.groupId = route.groupId;
    instance[CONSUMER_CONTEXT] = this;
  }

  /**
   * Runs `consume()` on the messages as one batch. When it returns, the last message is marked,
   * as the engine does, unless the route uses `manualOffsetManagement`. When it throws, the error
   * reaches you (the engine would pause and retry from the first unmarked message).
   */
  async consume(messages: TestMessage[]): Promise<void> {
    const batch = messages.map((message) => {
      const offset = message.offset ?? this.nextOffset;
      this.nextOffset = offset + 1;
      const key = message.key === undefined || message.key === null ? null : Buffer.from(message.key);
      const raw = {
        offset,
        key,
        value: encode(message.payload),
        headers: (message.headers ?? {}) as RawHeaders,
        timestamp: message.timestamp ?? Date.now(),
      };
      return new Message<T>(this.topic, this.partition, raw, this.route.deserializer as never);
    });
    const pausesOrSeeks = this.pauses.length + this.seeks.length;
    await this.instance.consume(new Messages(batch, this.topic, this.partition, this.nextOffset));
    const last = batch[batch.length - 1];
    // The engine's own rule: no mark with manual offsets, nor after the consumer paused or sought.
    const pausedOrSought = this.pauses.length + this.seeks.length > pausesOrSeeks;
    if (last && marksAfterConsume(this.route, pausedOrSought)) this.markAsConsumed(last);
  }

  /** Records the transaction; its marks apply when `work` resolves, none when it throws (the engine would abort). */
  async transaction<R>(work: (tx: ConsumerTransaction) => Promise<R>): Promise<R> {
    const record: TestTransaction = { produced: [], markedOffsets: [], committed: false };
    this.transactions.push(record);
    const marked: Message<unknown>[] = [];
    const producer = {
      produce: async (topic: string, message: ProducedMessage) =>
        void record.produced.push({ topic, message }),
      sendOffsets: async () => undefined,
    };
    const result = await work(
      new ConsumerTransaction({ prefix: '', names: {} }, producer, (message) => {
        marked.push(message);
        record.markedOffsets.push(message.offset);
      }),
    );
    record.committed = true;
    for (const message of marked) this.markAsConsumed(message);
    return result;
  }

  /** Marks the partition as taken away and runs `revoked()`. */
  async revoke(): Promise<void> {
    this.revokedFlag = true;
    await this.instance.revoked?.();
  }

  /** Runs `shutdown()`, as the engine does when the process stops. */
  async shutdown(): Promise<void> {
    await this.instance.shutdown?.();
  }

  markAsConsumed(message: Message<unknown>): boolean {
    if (this.revokedFlag) return false;
    const last = this.markedOffsets[this.markedOffsets.length - 1];
    if (last === undefined || message.offset > last) this.markedOffsets.push(message.offset);
    return true;
  }

  async markAsConsumedSync(message: Message<unknown>): Promise<boolean> {
    return this.markAsConsumed(message);
  }

  pause(offset: number, timeoutMs?: number): void {
    this.pauses.push({ offset, timeoutMs });
  }

  resume(): void {
    this.resumed++;
  }

  seek(offset: number): void {
    this.seeks.push(offset);
  }

  isRevoked(): boolean {
    return this.revokedFlag;
  }
}

/**
 * karafka-testing's role: runs your consumers on messages you give them, with Nest's injector
 * and no Kafka. Pair it with `KarafkaTestProducer` to see what they produce.
 *
 * @example
 * ```ts
 * const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
 *   .overrideProvider(KarafkaProducer).useClass(KarafkaTestProducer)
 *   .compile();
 * const karafka = new KarafkaTestKit(moduleRef);
 * const consumer = await karafka.consumer('orders');
 * await consumer.consume([{ payload: { id: 'a', amount: 1 } }]);
 * expect(consumer.markedOffsets).toEqual([0]);
 * expect(karafka.producer.messages).toHaveLength(1);
 * ```
 */
export class KarafkaTestKit {
  constructor(private readonly app: INestApplicationContext) {}

  /** The capturing producer, when `KarafkaProducer` was overridden with `KarafkaTestProducer`. */
  get producer(): KarafkaTestProducer {
    const producer = this.app.get(KarafkaProducer);
    if (!(producer instanceof KarafkaTestProducer)) {
      throw new Error(
        'KarafkaProducer is the real one: override it with .overrideProvider(KarafkaProducer).useClass(KarafkaTestProducer)',
      );
    }
    return producer;
  }

  /**
   * A fresh consumer instance of the route for `topic` (the name as written in @Consumer), on
   * `partition`, built by Nest's injector; its `initialized()` hook has run, as the engine runs it.
   */
  async consumer<T = unknown>(topic: string, partition = 0): Promise<ConsumerUnderTest<T>> {
    const routes = this.app.get(RouteTable);
    // Routes are built at module init; a compiled testing module that was not initialised has none yet.
    if (routes.routes.length === 0) this.app.get(ConsumerExplorer).onModuleInit();
    const route = routes.routes.find((candidate) => candidate.name === topic || candidate.topic === topic);
    if (!route)
      throw new Error(
        `no @Consumer route for topic "${topic}"; routed topics: ${routes.routes.map((r) => r.name).join(', ') || 'none'}`,
      );
    const instance = (await route.createConsumer()) as BaseConsumer<T>;
    const consumer = new ConsumerUnderTest<T>(instance, route, route.topic, partition);
    await instance.initialized?.();
    return consumer;
  }
}
