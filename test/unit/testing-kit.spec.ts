import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { describe, expect, it } from 'vitest';
import { BaseConsumer, Consumer, KarafkaModule, KarafkaProducer, type Messages } from 'nestjs-karafka';
import { KarafkaTestKit, KarafkaTestProducer } from 'nestjs-karafka/testing';

@Injectable()
class Audit {
  readonly seen: string[] = [];
}

@Consumer('payments', { manualOffsetManagement: true })
class PaymentsConsumer extends BaseConsumer<{ id: string }> {
  constructor(
    private readonly audit: Audit,
    private readonly producer: KarafkaProducer,
  ) {
    super();
  }

  async consume(messages: Messages<{ id: string }>): Promise<void> {
    for (const message of messages) {
      if (message.payload.id === 'later') return this.pause(message.offset, 5_000);
      this.audit.seen.push(`${message.key}:${message.payload.id}:${message.headers.source}`);
      this.producer.produceAsync({ topic: 'payments.audit', payload: message.payload });
      if (message.payload.id !== 'skip-mark') this.markAsConsumed(message);
    }
  }

  override async revoked(): Promise<void> {
    this.audit.seen.push(`revoked:${this.isRevoked()}`);
  }
}

@Consumer('refunds')
class RefundsConsumer extends BaseConsumer<{ replayFrom?: number }> {
  constructor(private readonly audit: Audit) {
    super();
  }

  override initialized(): void {
    this.audit.seen.push(`initialized ${this.topic}/${this.partition}`);
  }

  consume(messages: Messages<{ replayFrom?: number }>): void {
    this.audit.seen.push(`retrying:${this.isRetrying()}`);
    const replayFrom = messages.first()?.payload.replayFrom;
    if (replayFrom !== undefined) this.seek(replayFrom);
  }
}

@Consumer('invoices', { manualOffsetManagement: true })
class InvoicesConsumer extends BaseConsumer<{ id: string; fail?: boolean }> {
  async consume(messages: Messages<{ id: string; fail?: boolean }>): Promise<void> {
    await this.transaction(async (tx) => {
      for (const message of messages) {
        await tx.produce({ topic: 'invoices.sent', key: message.payload.id, payload: message.payload });
        tx.markAsConsumed(message);
        if (message.payload.fail) throw new Error('the mail server is down');
      }
    });
  }
}

async function kit() {
  const moduleRef = await Test.createTestingModule({
    imports: [KarafkaModule.forRoot({ kafka: { 'bootstrap.servers': 'unused:9092' }, prefix: 'env.' })],
    providers: [Audit, PaymentsConsumer, RefundsConsumer, InvoicesConsumer],
  })
    .overrideProvider(KarafkaProducer)
    .useClass(KarafkaTestProducer)
    .compile();
  return { karafka: new KarafkaTestKit(moduleRef), audit: moduleRef.get(Audit) };
}

describe('KarafkaTestKit', () => {
  it('feeds messages with filled-in offsets, keys and headers, honouring manual offset management', async () => {
    const { karafka, audit } = await kit();
    const consumer = await karafka.consumer<{ id: string }>('payments', 2);
    expect(consumer.topic).toBe('env.payments');
    await consumer.consume([
      { key: 'k1', payload: { id: 'a' }, headers: { source: 'web' } },
      { key: 'k2', payload: { id: 'skip-mark' } },
    ]);
    await consumer.consume([{ payload: { id: 'c' } }]);
    expect(audit.seen).toEqual(['k1:a:web', 'k2:skip-mark:undefined', 'null:c:undefined']);
    expect(consumer.markedOffsets).toEqual([0, 2]);
    expect(karafka.producer.to('payments.audit').map((m) => m.payload)).toEqual([
      { id: 'a' },
      { id: 'skip-mark' },
      { id: 'c' },
    ]);
  });

  it('records consumer transactions; their marks count only when they committed', async () => {
    const { karafka } = await kit();
    const consumer = await karafka.consumer('invoices');
    await consumer.consume([{ payload: { id: 'a' } }, { payload: { id: 'b' } }]);
    await expect(consumer.consume([{ payload: { id: 'c', fail: true } }])).rejects.toThrow('mail server');
    expect(
      consumer.transactions.map(({ committed, markedOffsets }) => ({ committed, markedOffsets })),
    ).toEqual([
      { committed: true, markedOffsets: [0, 1] },
      { committed: false, markedOffsets: [2] },
    ]);
    expect(consumer.transactions[0].produced.map(({ topic, message }) => [topic, message.key])).toEqual([
      ['invoices.sent', 'a'],
      ['invoices.sent', 'b'],
    ]);
    expect(consumer.markedOffsets).toEqual([0, 1]);
  });

  it('KarafkaTestProducer keeps what a committed transaction produced, not an aborted one', async () => {
    const producer = new KarafkaTestProducer();
    await producer.transaction(async (tx) =>
      tx.produceMany([
        { topic: 'a', payload: 1 },
        { topic: 'b', payload: 2 },
      ]),
    );
    await expect(
      producer.transaction(async (tx) => {
        await tx.produce({ topic: 'a', payload: 'aborted' });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(producer.messages.map((message) => message.payload)).toEqual([1, 2]);
  });

  it('records pauses and runs revoked() with isRevoked() true', async () => {
    const { karafka, audit } = await kit();
    const consumer = await karafka.consumer('payments');
    await consumer.consume([{ payload: { id: 'later' }, offset: 41 }]);
    expect(consumer.pauses).toEqual([{ offset: 41, timeoutMs: 5_000 }]);
    await consumer.revoke();
    expect(audit.seen).toEqual(['revoked:true']);
  });

  it('runs initialized() first, marks the last message of an automatic route, records seeks and the attempt', async () => {
    const { karafka, audit } = await kit();
    const consumer = await karafka.consumer('refunds', 1);
    expect(audit.seen).toEqual(['initialized env.refunds/1']);
    await consumer.consume([{ payload: {} }, { payload: { replayFrom: 0 } }]);
    consumer.attempt = 2;
    await consumer.consume([{ payload: {}, offset: 7 }]);
    expect(audit.seen.slice(1)).toEqual(['retrying:false', 'retrying:true']);
    expect(consumer.seeks).toEqual([]);
    expect(consumer.markedOffsets).toEqual([1, 7]);
    await consumer.consume([{ payload: { replayFrom: 3 } }]);
    expect(consumer.seeks).toEqual([3]);
  });

  it('names the routed topics when asked for an unknown one', async () => {
    const { karafka } = await kit();
    await expect(karafka.consumer('nope')).rejects.toThrow('routed topics: payments, refunds');
  });
});
