import { Injectable } from '@nestjs/common';
import type { ProduceMessage } from '../producer/karafka-producer.js';
import { KarafkaTransaction } from '../producer/karafka-transaction.js';

/** A transaction that keeps its messages until it commits. */
class RecordedTransaction extends KarafkaTransaction {
  readonly produced: ProduceMessage[] = [];

  constructor() {
    super({ prefix: '', names: {} }, { produce: async () => undefined, sendOffsets: async () => undefined });
  }

  override async produce(message: ProduceMessage): Promise<void> {
    this.produced.push(message);
  }
}

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

  /** Runs `work`; what it produced is kept once it resolves, dropped when it throws (an abort). */
  async transaction<T>(work: (tx: KarafkaTransaction) => Promise<T>): Promise<T> {
    const transaction = new RecordedTransaction();
    const result = await work(transaction);
    this.messages.push(...transaction.produced);
    return result;
  }

  /** The messages produced to one topic. */
  to(topic: string): ProduceMessage[] {
    return this.messages.filter((message) => message.topic === topic);
  }

  clear(): void {
    this.messages.length = 0;
  }
}
