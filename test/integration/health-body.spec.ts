import type { INestApplication } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BaseConsumer, Consumer, KarafkaModule, KarafkaRunner, type Messages } from 'nestjs-karafka';
import { HealthController } from '../../sample/src/health/health.controller.js';
import { CaptureLogger } from '../support/capture-logger.js';
import { brokers, uniqueName } from '../support/kafka/connection.mjs';
import { createTopic } from '../support/kafka-topics.js';
import { waitFor } from '../support/wait-for.js';

const PARTITIONS = 1_000;
const topic = uniqueName('wide');

@Consumer(topic)
class WideConsumer extends BaseConsumer {
  async consume(messages: Messages): Promise<void> {
    for (const message of messages) this.markAsConsumed(message);
  }
}

describe('the /health body on a real 1,000-partition assignment', () => {
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    await createTopic(topic, PARTITIONS);
    const moduleRef = await Test.createTestingModule({
      imports: [
        KarafkaModule.forRoot({
          kafka: { 'bootstrap.servers': brokers() },
          groupId: uniqueName('wide-group'),
          maxWaitTime: 500,
          shutdownTimeout: 10_000,
        }),
        TerminusModule.forRoot({ logger: false }),
      ],
      controllers: [HealthController],
      providers: [WideConsumer],
    }).compile();
    app = moduleRef.createNestApplication({ logger: new CaptureLogger() });
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
    const runner = app.get(KarafkaRunner);
    await waitFor(
      () => runner.status().listeners[0]?.assigned.length === PARTITIONS,
      60_000,
      `all ${PARTITIONS} partitions assigned`,
    );
  });

  afterAll(async () => {
    await app?.close();
  });

  it('GET /health stays under 4 KB and counts the partitions; /health/details lists every one', async () => {
    const health = await fetch(`${base}/health`);
    const body = await health.text();
    expect(health.status).toBe(200);
    expect(Buffer.byteLength(body)).toBeLessThan(4_096);
    expect(JSON.parse(body).info.karafka.subscriptionGroups).toMatchObject([
      { assignedPartitions: PARTITIONS },
    ]);

    const details = await fetch(`${base}/health/details`);
    expect(details.status).toBe(200);
    const detailed = (await details.json()) as {
      info: { karafka: { subscriptionGroups: { assigned: string[] }[] } };
    };
    expect(new Set(detailed.info.karafka.subscriptionGroups[0].assigned)).toEqual(
      new Set(Array.from({ length: PARTITIONS }, (_, partition) => `${topic}/${partition}`)),
    );
  });
});
