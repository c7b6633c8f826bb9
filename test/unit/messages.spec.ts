import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { describe, expect, it } from 'vitest';
import { BaseConsumer, Consumer, jsonDeserializer, KarafkaModule, Message, Messages } from 'nestjs-karafka';
import { KarafkaTestKit } from 'nestjs-karafka/testing';

/** The Array methods that change an array: not on a batch. */
const MUTATORS = ['push', 'pop', 'shift', 'unshift', 'splice', 'sort', 'reverse', 'fill', 'copyWithin'];

interface Order {
  id: string;
  amount: number;
}

@Injectable()
class Seen {
  summary?: unknown;
}

/** Ordinary TypeScript over an array: this file compiling under `npm run typecheck` is half the test. */
@Consumer('orders', { manualOffsetManagement: true })
class OrdersConsumer extends BaseConsumer<Order> {
  constructor(private readonly seen: Seen) {
    super();
  }

  async consume(messages: Messages<Order>): Promise<void> {
    const amounts = messages.map((message) => message.payload.amount);
    const asArray: readonly Message<Order>[] = messages; // usable where a read-only array is expected
    this.seen.summary = {
      length: messages.length,
      first: messages[0].payload.id,
      last: messages[messages.length - 1].payload.id,
      amounts,
      big: messages.filter((message) => message.payload.amount > 10).map((message) => message.payload.id),
      total: messages.reduce((sum, message) => sum + message.payload.amount, 0),
      anyFree: messages.some((message) => message.payload.amount === 0),
      allPositive: messages.every((message) => message.payload.amount > 0),
      found: messages.find((message) => message.payload.id === 'b')?.offset,
      tail: messages.slice(1).map((message) => message.offset),
      at: messages.at(-1)?.offset,
      offsets: [...asArray.keys()],
    };
    messages.forEach((message) => this.markAsConsumed(message));
  }
}

function batch(amounts: number[], offset = 0): Message<Order>[] {
  return amounts.map(
    (amount, i) =>
      new Message<Order>(
        'orders',
        0,
        {
          offset: offset + i,
          key: null,
          value: Buffer.from(JSON.stringify({ id: String.fromCharCode(97 + i), amount })),
          headers: {},
          timestamp: 0,
        },
        jsonDeserializer as never,
      ),
  );
}

describe('Messages, a read-only array over the batch', () => {
  it('runs a consumer written with length, indexing and the array methods', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [KarafkaModule.forRoot({ kafka: { 'bootstrap.servers': 'unused:9092' } })],
      providers: [Seen, OrdersConsumer],
    }).compile();
    const consumer = await new KarafkaTestKit(moduleRef).consumer<Order>('orders');
    await consumer.consume([
      { payload: { id: 'a', amount: 5 } },
      { payload: { id: 'b', amount: 20 } },
      { payload: { id: 'c', amount: 7 } },
    ]);
    expect(moduleRef.get(Seen).summary).toEqual({
      length: 3,
      first: 'a',
      last: 'c',
      amounts: [5, 20, 7],
      big: ['b'],
      total: 32,
      anyFree: false,
      allPositive: true,
      found: 1,
      tail: [1, 2],
      at: 2,
      offsets: [0, 1, 2],
    });
    expect(consumer.markedOffsets).toEqual([0, 1, 2]);
  });

  it("reads the engine's list, never a copy, and keeps size, first, last and metadata", () => {
    const list = batch([1, 2, 3], 40);
    const messages = new Messages(list, 'orders', 0, 50);
    // The callbacks see the very list the engine passed.
    expect(messages.map((_, __, array) => array)[0]).toBe(list);
    expect(messages.every((_, __, array) => array === list)).toBe(true);
    expect(messages[2]).toBe(list[2]);
    expect(messages.size).toBe(3);
    expect(messages.first()).toBe(list[0]);
    expect(messages.last()).toBe(list[2]);
    expect(messages.metadata).toMatchObject({ firstOffset: 40, lastOffset: 42, size: 3, highWatermark: 50 });
    expect([...messages]).toEqual(list);
    expect(messages.toArray()).not.toBe(list);
    expect(messages).toBeInstanceOf(Messages);
  });

  it('answers only canonical indices, and refuses writes and mutating methods', () => {
    const messages = new Messages(batch([1, 2]), 'orders', 0, 2);
    expect(messages[5]).toBeUndefined();
    expect((messages as unknown as Record<string, unknown>)['01']).toBeUndefined();
    expect((messages as unknown as Record<string, unknown>)['-1']).toBeUndefined();
    expect(() => {
      (messages as unknown as Message[])[0] = messages[1];
    }).toThrow(TypeError);
    expect(messages[0].offset).toBe(0);
    for (const mutator of MUTATORS) expect(mutator in messages, mutator).toBe(false);
    expect(messages.filter(() => true)).toBeInstanceOf(Array);
    expect(messages.slice()).not.toBeInstanceOf(Messages);
  });

  it('has every read-only array method of Array.prototype', () => {
    const messages = new Messages(batch([1]), 'orders', 0, 1);
    const expected = Object.getOwnPropertyNames(Array.prototype).filter(
      (name) => name !== 'constructor' && !MUTATORS.includes(name),
    );
    for (const name of expected) expect(name in messages, name).toBe(true);
    expect(messages.length).toBe(1);
  });
});
