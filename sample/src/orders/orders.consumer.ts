import { BaseConsumer, Consumer, KarafkaProducer, type Messages } from 'nestjs-karafka';
import type { Order } from './order.js';
import { OrdersRepository } from './orders.repository.js';

export const ORDERS_TOPIC = 'sample.orders';
export const ORDERS_DLQ_TOPIC = 'sample.orders.dlq';
export const ORDERS_PROCESSED_TOPIC = 'sample.orders.processed';

/** Saves each order and announces it; a malformed one goes to the DLQ after three retries. */
@Consumer(ORDERS_TOPIC, {
  deadLetterQueue: { topic: ORDERS_DLQ_TOPIC, maxRetries: 3 },
  config: { partitions: 3 },
})
export class OrdersConsumer extends BaseConsumer<Order> {
  constructor(
    private readonly repository: OrdersRepository,
    private readonly producer: KarafkaProducer,
  ) {
    super();
  }

  async consume(messages: Messages<Order>): Promise<void> {
    for (const message of messages) {
      const order = message.payload;
      if (typeof order?.id !== 'string' || typeof order.amount !== 'number') {
        throw new Error(`order at offset ${message.offset} has no id or amount`);
      }
      await this.repository.save(order);
      await this.producer.produce({
        topic: ORDERS_PROCESSED_TOPIC,
        key: order.id,
        payload: { id: order.id, amount: order.amount },
      });
      this.markAsConsumed(message);
    }
  }
}
