import { Injectable } from '@nestjs/common';
import type { Order } from './order.js';

/** Stands in for a database: remembers processed orders. */
@Injectable()
export class OrdersRepository {
  private readonly orders = new Map<string, Order>();

  async save(order: Order): Promise<void> {
    this.orders.set(order.id, order);
  }

  count(): number {
    return this.orders.size;
  }
}
