import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppModule } from '../../sample/src/app.module.js';
import { ORDERS_PROCESSED_TOPIC, ORDERS_TOPIC } from '../../sample/src/orders/orders.consumer.js';
import { startTracing } from '../../sample/src/tracing.js';
import { CaptureLogger } from '../support/capture-logger.js';
import { brokers } from '../support/kafka/connection.mjs';
import { image, read, root, type Image } from '../support/sample-assets.js';
import { freePort } from '../support/free-port.js';
import { onLibrdkafka } from '../support/librdkafka.js';
import { waitFor } from '../support/wait-for.js';

describe('the sample app', () => {
  let app: INestApplication;
  let base: string;
  const console = new CaptureLogger();
  const spans = new InMemorySpanExporter();

  beforeAll(async () => {
    startTracing(spans, true);
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

  it('traces an order: the process span links to the send span of POST /orders; the send in consume() is its child', async () => {
    const id = `traced-${Date.now()}`;
    await fetch(`${base}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id, amount: 7 }),
    });
    const sends = () => spans.getFinishedSpans().filter((span) => span.name === `send ${ORDERS_TOPIC}`);
    const processes = () =>
      spans.getFinishedSpans().filter((span) => span.name === `process ${ORDERS_TOPIC}`);
    await waitFor(() => sends().length > 0, 30_000, 'the send span');
    const send = sends().at(-1)!;
    const linked = () =>
      processes().find((span) =>
        span.links.some((link) => link.context.spanId === send.spanContext().spanId),
      );
    await waitFor(() => linked() !== undefined, 30_000, 'the process span linked to it');
    const process = linked()!;
    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(process.kind).toBe(SpanKind.CONSUMER);
    expect(process.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.destination.name': ORDERS_TOPIC,
      'messaging.consumer.group.name': 'sample',
    });
    const announced = spans
      .getFinishedSpans()
      .find(
        (span) =>
          span.name === `send ${ORDERS_PROCESSED_TOPIC}` &&
          span.parentSpanContext?.spanId === process.spanContext().spanId,
      );
    expect(announced?.spanContext().traceId).toBe(process.spanContext().traceId);
  });

  it('serves the Prometheus text on /metrics, with the lag series of its group', async () => {
    const lagLine = new RegExp(
      `^kafka_consumergroup_lag\\{consumergroup="sample",topic="${ORDERS_TOPIC}",partition="\\d+"\\} \\d+$`,
      'm',
    );
    let text = '';
    await waitFor(
      async () => {
        const response = await fetch(`${base}/metrics`);
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
        text = await response.text();
        return lagLine.test(text);
      },
      30_000,
      'the lag series',
    );
    expect(text).toContain('# TYPE kafka_consumergroup_lag gauge');
    expect(text.match(new RegExp(lagLine.source, 'gm'))).toHaveLength(3);
    expect(text).toMatch(
      new RegExp(`^kafka_consumergroup_current_offset\\{consumergroup="sample",topic="${ORDERS_TOPIC}"`, 'm'),
    );
    expect(text).toMatch(
      /^karafka_consumer_messages_total\{consumergroup="sample",topic="sample.orders",partition="\d+"\} [1-9]/m,
    );
  });

  it("keeps a healthy run's console quiet at the default level: no kafkajs line, no per-batch line", async () => {
    // Runs after the order above was produced and consumed, so a batch and the producer were seen.
    expect(console.lines.filter((line) => / kafkajs$|KafkaJS|Response |Request /.test(line))).toEqual([]);
    expect(console.lines.filter((line) => /polled \d+ messages| consumed orders/.test(line))).toEqual([]);
    expect(console.lines.filter((line) => /^(debug|verbose) /.test(line))).toEqual([]);
    // kafkajs's partitioner notice, said once in Karafka's words when the producer was built
    // (librdkafka partitions as Karafka's WaterDrop does: nothing to say).
    expect(
      console.lines.filter((line) => /^log producer: a message's key picks its partition/.test(line)),
    ).toHaveLength(onLibrdkafka ? 0 : 1);
    expect(console.has(/^log app running Karafka$/)).toBe(true);
  });
});

/**
 * Runs an image's CMD as Docker would, in the repository root (the image's /app: package.json,
 * node_modules, dist, sample/dist), with its ENV, the broker and a free PORT (as `-e PORT=...`).
 */
function runImage({ command, env }: Image, port: number, cwd = root) {
  const [file, ...args] = command;
  const npmFree = Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_'));
  const child = spawn(file, args, {
    cwd,
    env: {
      ...Object.fromEntries(npmFree),
      ...env,
      KAFKA_BROKERS: brokers(),
      PORT: String(port),
      NO_COLOR: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exit, output: () => output };
}

async function status(url: string): Promise<number | undefined> {
  try {
    return (await fetch(url)).status;
  } catch {
    return undefined;
  }
}

describe("the sample images' command lines, run as real processes", () => {
  beforeAll(() => {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-p', 'sample/tsconfig.json'], { cwd: root });
  }, 120_000);

  it('sample/Dockerfile.server: karafka server --no-http answers liveness 204 on PORT, serves no controller, stops on SIGTERM with 0', async () => {
    const port = await freePort();
    const run = runImage(image('sample/Dockerfile.server'), port);
    try {
      await waitFor(async () => (await status(`http://127.0.0.1:${port}/`)) === 204, 60_000, 'liveness 204');
      // The liveness listener answers every path: /health is not the sample's Terminus controller.
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      expect(health.status).toBe(204);
      expect(await health.text()).toBe('');
      expect(run.output()).not.toContain('Mapped {/health');
      run.child.kill('SIGTERM');
      expect(await run.exit, run.output()).toEqual({ code: 0, signal: null });
    } finally {
      run.child.kill('SIGKILL');
    }
  });

  it('sample/Dockerfile: the embedded app answers /health 200 on PORT and stops on SIGTERM', async () => {
    const port = await freePort();
    const run = runImage(image('sample/Dockerfile'), port);
    try {
      await waitFor(async () => (await status(`http://127.0.0.1:${port}/health`)) === 200, 60_000, '/health');
      run.child.kill('SIGTERM');
      // Nest closes the app, then re-raises the signal.
      expect(await run.exit).toEqual({ code: null, signal: 'SIGTERM' });
      expect(run.output()).toContain('app stopped');
    } finally {
      run.child.kill('SIGKILL');
    }
  });
});

describe('the Heroku deploy of heroku.md, replayed without Heroku', () => {
  const app = mkdtempSync(join(tmpdir(), 'karafka-heroku-'));
  afterAll(() => rmSync(app, { recursive: true, force: true }));

  it(
    'the documented commands build the sample with heroku-postbuild, and the web process serves /health on PORT',
    { timeout: 180_000 },
    async () => {
      const guide = read('docs/deployment/heroku.md');
      expect(guide).toContain('heroku config:set NPM_CONFIG_PRODUCTION=false');
      expect(guide).toContain('cp sample/Procfile Procfile');
      // What `git push` sends once committed: the files git does not ignore.
      const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
        cwd: root,
        encoding: 'utf8',
      })
        .split('\n')
        .filter(Boolean);
      for (const file of tracked) {
        mkdirSync(join(app, dirname(file)), { recursive: true });
        cpSync(join(root, file), join(app, file));
      }
      // The buildpack: `npm ci` (this checkout's node_modules stand for it), then heroku-postbuild;
      // NPM_CONFIG_PRODUCTION=false keeps the devDependencies, so no prune.
      symlinkSync(join(root, 'node_modules'), join(app, 'node_modules'));
      execFileSync('cp', ['sample/Procfile', 'Procfile'], { cwd: app });
      execFileSync('npm', ['run', 'heroku-postbuild'], { cwd: app, stdio: 'pipe' });

      const web = /^web: (.+)$/m.exec(readFileSync(join(app, 'Procfile'), 'utf8'))![1];
      const port = await freePort();
      // Heroku runs a Procfile command with bash, PORT set.
      const run = runImage(
        { dockerfile: 'Procfile', command: ['bash', '-c', web], env: {}, exposed: [] },
        port,
        app,
      );
      try {
        await waitFor(
          async () => (await status(`http://127.0.0.1:${port}/health`)) === 200,
          60_000,
          '/health',
        );
        run.child.kill('SIGTERM');
        expect(await run.exit).toEqual({ code: null, signal: 'SIGTERM' });
        expect(run.output()).toContain('app stopped');
      } finally {
        run.child.kill('SIGKILL');
      }
    },
  );
});
