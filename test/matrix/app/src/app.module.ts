// A user's Nest app on the packed nestjs-karafka: it declares its topic, produces COUNT numbers to
// it and consumes them. The same sources compile as an ESM app and as a CommonJS one.
import { Injectable, Module } from '@nestjs/common';
import { BaseConsumer, Consumer, KarafkaModule, type Messages } from 'nestjs-karafka';

export const COUNT = 10;
const topic = process.env.TOPIC ?? 'matrix-app';

/** Resolves `done` once every number arrived. */
@Injectable()
export class Tally {
  private readonly seen = new Set<number>();
  private finish!: () => void;
  readonly done = new Promise<void>((resolve) => (this.finish = resolve));

  add(n: number): void {
    this.seen.add(n);
    if (this.seen.size === COUNT) this.finish();
  }
}

@Consumer(topic, { config: { partitions: 2 } })
export class NumbersConsumer extends BaseConsumer<{ n: number }> {
  constructor(private readonly tally: Tally) {
    super();
  }

  async consume(messages: Messages<{ n: number }>): Promise<void> {
    for (const message of messages) this.tally.add(message.payload.n);
  }
}

@Module({
  imports: [
    KarafkaModule.forRoot({
      kafka: { 'bootstrap.servers': process.env.KAFKA_BROKERS ?? 'localhost:9092' },
      clientId: 'matrix-app',
      groupId: process.env.GROUP_ID ?? 'matrix-app',
      declareTopics: true,
      maxWaitTime: 300,
    }),
  ],
  providers: [Tally, NumbersConsumer],
})
export class AppModule {}
