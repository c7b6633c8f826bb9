import { Injectable } from '@nestjs/common';
import type { ProduceMessage } from '../producer/karafka-producer.js';

/**
 * Stands in for `KarafkaProducer` in tests: keeps what would have been produced, no broker.
 *
 * @example
 * ```ts
 * Test.createTestingModule({ imports: [AppModule] }).overrideProvider(KarafkaProducer).useClass(KarafkaTestProducer)
 * ```
 */
@Injectable()
export class KarafkaTestProducer {
  /** Every message produced, in order (topics as written, before any prefix). */
  readonly messages: ProduceMessage[] = [];

  async produce(message: ProduceMessage): Promise<void> {
    this.messages.push(message);
  }

  async produceMany(messages: ProduceMessage[]): Promise<void> {
    this.messages.push(...messages);
  }

  produceAsync(message: ProduceMessage): void {
    this.messages.push(message);
  }

  /** The messages produced to one topic. */
  to(topic: string): ProduceMessage[] {
    return this.messages.filter((message) => message.topic === topic);
  }

  clear(): void {
    this.messages.length = 0;
  }
}
