import { SetMetadata } from '@nestjs/common';
import type { ConsumerOptions } from './consumer-options.js';

export const CONSUMER_METADATA = 'karafka:consumer';

/** What `@Consumer` records on the class. */
export interface ConsumerMetadata {
  topics: string[];
  options: ConsumerOptions;
}

/**
 * Routes one or more topics to this class, Karafka's `topic :name { consumer Klass }`. The class
 * must extend `BaseConsumer` and be listed in a module's `providers`.
 *
 * @example
 * ```ts
 * @Consumer('orders', { deadLetterQueue: { topic: 'orders.dlq', maxRetries: 3 } })
 * export class OrdersConsumer extends BaseConsumer<Order> { ... }
 * ```
 */
export function Consumer(topics: string | string[], options: ConsumerOptions = {}): ClassDecorator {
  const metadata: ConsumerMetadata = { topics: Array.isArray(topics) ? [...topics] : [topics], options };
  // No Injectable() here: it would reset a scope the user set with @Injectable({ scope }).
  return SetMetadata(CONSUMER_METADATA, metadata);
}
