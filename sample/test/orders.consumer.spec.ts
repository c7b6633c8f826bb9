import { Test } from '@nestjs/testing';
import { describe, expect, it } from 'vitest';
import { KarafkaProducer } from 'nestjs-karafka';
import { KarafkaTestKit, KarafkaTestProducer } from 'nestjs-karafka/testing';
import { AppModule } from '../src/app.module.js';
import { ORDERS_PROCESSED_TOPIC, ORDERS_TOPIC } from '../src/orders/orders.consumer.js';
import { OrdersRepository } from '../src/orders/orders.repository.js';

// Runs the sample's consumer with no broker at all: the kit feeds it messages and the test
// producer captures what it produces.
async function kit() {
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(KarafkaProducer)
    .useClass(KarafkaTestProducer)
    .compile();
  return { karafka: new KarafkaTestKit(moduleRef), repository: moduleRef.get(OrdersRepository) };
}

describe('OrdersConsumer (no broker)', () => {
  it('saves each order, announces it, and marks every message', async () => {
    const { karafka, repository } = await kit();
    const consumer = await karafka.consumer(ORDERS_TOPIC);
    await consumer.consume([
      { key: 'a', payload: { id: 'a', amount: 10 } },
      { key: 'b', payload: { id: 'b', amount: 20 } },
    ]);
    expect(consumer.markedOffsets).toEqual([0, 1]);
    expect(repository.count()).toBe(2);
    expect(karafka.producer.to(ORDERS_PROCESSED_TOPIC)).toEqual([
      { topic: ORDERS_PROCESSED_TOPIC, key: 'a', payload: { id: 'a', amount: 10 } },
      { topic: ORDERS_PROCESSED_TOPIC, key: 'b', payload: { id: 'b', amount: 20 } },
    ]);
  });

  it('throws on a malformed order after marking the good ones before it, so the engine retries from it', async () => {
    const { karafka } = await kit();
    const consumer = await karafka.consumer(ORDERS_TOPIC);
    await expect(
      consumer.consume([{ payload: { id: 'a', amount: 1 } }, { payload: { id: 'broken' } }]),
    ).rejects.toThrow('order at offset 1 has no id or amount');
    expect(consumer.markedOffsets).toEqual([0]);
    expect(karafka.producer.messages).toHaveLength(1);
  });
});
