import { BadRequestException, Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { KarafkaProducer } from 'nestjs-karafka';
import type { Order } from './order.js';
import { ORDERS_TOPIC } from './orders.consumer.js';
import { OrdersRepository } from './orders.repository.js';

/** Feeds the consumer: POST /orders produces to the orders topic; GET /orders/stats shows what was processed. */
@Controller('orders')
export class OrdersController {
  constructor(
    private readonly producer: KarafkaProducer,
    private readonly repository: OrdersRepository,
  ) {}

  @Post()
  @HttpCode(202)
  async create(@Body() order: Order): Promise<{ accepted: string }> {
    if (typeof order?.id !== 'string' || typeof order.amount !== 'number') {
      throw new BadRequestException('an order needs a string "id" and a numeric "amount"');
    }
    await this.producer.produce({ topic: ORDERS_TOPIC, key: order.id, payload: order });
    return { accepted: order.id };
  }

  @Get('stats')
  stats(): { processed: number } {
    return { processed: this.repository.count() };
  }
}
