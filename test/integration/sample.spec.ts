import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppModule } from '../../sample/src/app.module.js';
import { CaptureLogger } from '../support/capture-logger.js';
import { waitFor } from '../support/wait-for.js';

describe('the sample app', () => {
  let app: INestApplication;
  let base: string;
  const console = new CaptureLogger();

  beforeAll(async () => {
    app = await NestFactory.create(AppModule, { logger: console });
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await app?.close();
  });

  it('answers /health 200 with karafka up, and /health/ready 200 once its group joined', async () => {
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', info: { karafka: { status: 'up' } } });
    await waitFor(async () => (await fetch(`${base}/health/ready`)).status === 200, 30_000, 'readiness');
  });

  it('consumes what its producer endpoint accepts', async () => {
    const before = ((await (await fetch(`${base}/orders/stats`)).json()) as { processed: number }).processed;
    const id = `order-${Date.now()}`;
    const accepted = await fetch(`${base}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id, amount: 42 }),
    });
    expect(accepted.status).toBe(202);
    await waitFor(
      async () =>
        ((await (await fetch(`${base}/orders/stats`)).json()) as { processed: number }).processed >=
        before + 1,
      30_000,
      'the order to be processed',
    );
    const invalid = await fetch(`${base}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"id":1}',
    });
    expect(invalid.status).toBe(400);
  });

  it("keeps a healthy run's console quiet at the default level: no kafkajs line, no per-batch line", async () => {
    // Runs after the order above was produced and consumed, so a batch and the producer were seen.
    expect(console.lines.filter((line) => / kafkajs$|KafkaJS|Response |Request /.test(line))).toEqual([]);
    expect(console.lines.filter((line) => /polled \d+ messages| consumed orders/.test(line))).toEqual([]);
    expect(console.lines.filter((line) => /^(debug|verbose) /.test(line))).toEqual([]);
    // kafkajs's partitioner notice, said once in Karafka's words when the producer was built.
    expect(
      console.lines.filter((line) => /^log producer: a message's key picks its partition/.test(line)),
    ).toHaveLength(1);
    expect(console.has(/^log app running Karafka$/)).toBe(true);
  });
});
