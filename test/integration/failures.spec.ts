import { Injectable, type INestApplication, type Type } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BaseConsumer,
  Consumer,
  DLQ_HEADERS,
  KARAFKA_EVENT_NAMES,
  KarafkaMonitor,
  KarafkaRunner,
  type ConsumerOptions,
  type KarafkaEventName,
  type KarafkaModuleOptions,
  type Message,
  type Messages,
} from 'nestjs-karafka';
import { createKarafkaApp } from '../support/karafka-app.js';
import { brokers, connectionInfo, uniqueName } from '../support/kafka/connection.mjs';
import { committedOffsets, createTopic, produceNumbered, testKafka } from '../support/kafka-topics.js';
import { waitFor } from '../support/wait-for.js';

/** Decides per message whether it fails, and records what happened. */
@Injectable()
class Script {
  readonly attempts = new Map<string, number>();
  readonly succeeded: Message<unknown>[] = [];
  failTimes = new Map<string, number>();
  alwaysFail = new Set<string>();

  static key(message: Message<unknown>): string {
    return `${message.partition}@${message.offset}`;
  }
}

function scriptedConsumer(topic: string, options: ConsumerOptions = {}): Type<BaseConsumer> {
  @Consumer(topic, options)
  class ScriptedConsumer extends BaseConsumer {
    constructor(private readonly script: Script) {
      super();
    }

    async consume(messages: Messages): Promise<void> {
      for (const message of messages) {
        const key = Script.key(message);
        const attempt = (this.script.attempts.get(key) ?? 0) + 1;
        this.script.attempts.set(key, attempt);
        void message.payload; // malformed JSON throws here
        if (this.script.alwaysFail.has(key) || attempt <= (this.script.failTimes.get(key) ?? 0)) {
          throw new Error(`scripted failure of ${key} (attempt ${attempt})`);
        }
        this.script.succeeded.push(message);
        this.markAsConsumed(message);
      }
    }
  }
  return ScriptedConsumer;
}

const apps: INestApplication[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close().catch(() => undefined)));
});

type Seen = { name: KarafkaEventName; payload: Record<string, unknown> }[];

async function startApp(
  consumers: Type<BaseConsumer>[],
  options: Partial<KarafkaModuleOptions> = {},
  script = new Script(),
) {
  const { app, logger } = await createKarafkaApp(options, [
    { provide: Script, useValue: script },
    ...consumers,
  ]);
  const seen: Seen = [];
  const monitor = app.get(KarafkaMonitor);
  for (const name of KARAFKA_EVENT_NAMES)
    monitor.subscribe(name, (payload) => void seen.push({ name, payload: payload as never }));
  apps.push(app);
  await app.init();
  return { app, seen, script, logger, monitor, runner: app.get(KarafkaRunner) };
}

const events = (seen: Seen, name: KarafkaEventName) =>
  seen.filter((event) => event.name === name).map((event) => event.payload);

async function readAll(topic: string, count: number) {
  const consumer = testKafka().consumer({ groupId: uniqueName('reader') });
  const messages: {
    key: string | null;
    value: string | null;
    headers: Record<string, string>;
    partition: number;
  }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message, partition }) => {
      const headers = Object.fromEntries(
        Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
      );
      messages.push({
        key: message.key?.toString() ?? null,
        value: message.value?.toString() ?? null,
        headers,
        partition,
      });
    },
  });
  await waitFor(() => messages.length >= count, 30_000, `${count} messages on ${topic}`);
  await consumer.disconnect();
  return messages;
}

describe('failure handling against a real broker', () => {
  it('retries a failing message with growing backoff while another partition flows, then processes it once', async () => {
    const topic = uniqueName('retry');
    await createTopic(topic, 2);
    const script = new Script();
    script.failTimes.set('0@0', 2);
    const { seen } = await startApp(
      [scriptedConsumer(topic, { pause: { timeout: 300, maxTimeout: 5_000 } })],
      {},
      script,
    );
    await produceNumbered(topic, 1, 2, 0); // n=0 → partition 0
    await waitFor(() => events(seen, 'consumer.consuming.pause').length >= 1, 30_000, 'the first pause');
    await produceNumbered(topic, 10, 2, 1); // partition 1 gets 5 while partition 0 is paused
    await waitFor(() => script.succeeded.some((m) => Script.key(m) === '0@0'), 30_000, '0@0 to succeed');
    const pauses = events(seen, 'consumer.consuming.pause').filter((p) => p.partition === 0);
    expect(pauses.map((p) => p.timeoutMs)).toEqual([300, 600]);
    expect(script.succeeded.filter((m) => Script.key(m) === '0@0')).toHaveLength(1);
    const firstPartitionOneSuccess = script.succeeded.findIndex((m) => m.partition === 1);
    const zeroSuccess = script.succeeded.findIndex((m) => Script.key(m) === '0@0');
    expect(firstPartitionOneSuccess).toBeGreaterThanOrEqual(0);
    expect(firstPartitionOneSuccess).toBeLessThan(zeroSuccess);
    expect(events(seen, 'consumer.consuming.retry').filter((p) => p.partition === 0)).toHaveLength(2);
  });

  it('dead-letters a poison message after exactly maxRetries + 1 attempts, with origin headers, and moves past it', async () => {
    const topic = uniqueName('poison');
    const dlq = `${topic}.dlq`;
    await Promise.all([createTopic(topic, 1), createTopic(dlq, 1)]);
    const script = new Script();
    script.alwaysFail.add('0@2');
    const groupId = uniqueName('group');
    const { seen } = await startApp(
      [scriptedConsumer(topic, { pause: { timeout: 100 }, deadLetterQueue: { topic: dlq, maxRetries: 2 } })],
      { groupId },
      script,
    );
    await produceNumbered(topic, 5, 1);
    await waitFor(() => script.succeeded.length === 4, 30_000, 'the four good messages');
    expect(script.attempts.get('0@2')).toBe(3);
    expect(script.succeeded.map((m) => m.offset)).toEqual([0, 1, 3, 4]);
    const [dead] = await readAll(dlq, 1);
    expect(dead.key).toBe('2');
    expect(JSON.parse(dead.value!)).toEqual({ n: 2 });
    expect(dead.headers).toMatchObject({
      [DLQ_HEADERS.topic]: topic,
      [DLQ_HEADERS.partition]: '0',
      [DLQ_HEADERS.offset]: '2',
      [DLQ_HEADERS.consumerGroup]: groupId,
      [DLQ_HEADERS.errorClass]: 'Error',
      [DLQ_HEADERS.errorMessage]: 'scripted failure of 0@2 (attempt 3)',
    });
    await waitFor(
      async () => (await committedOffsets(groupId, topic)).get(0) === 5,
      30_000,
      'the commit past the poison message',
    );
    expect(events(seen, 'dead_letter_queue.dispatched')).toHaveLength(1);
  });

  it('without a DLQ, retries forever with capped backoff, never commits the failing offset, and stays live', async () => {
    const topic = uniqueName('forever');
    await createTopic(topic, 1);
    const script = new Script();
    script.alwaysFail.add('0@1');
    const groupId = uniqueName('group');
    const { seen, runner } = await startApp(
      [scriptedConsumer(topic, { pause: { timeout: 100, maxTimeout: 400 } })],
      { groupId },
      script,
    );
    await produceNumbered(topic, 3, 1);
    await waitFor(() => events(seen, 'consumer.consuming.pause').length >= 5, 30_000, 'five pauses');
    const timeouts = events(seen, 'consumer.consuming.pause').map((p) => p.timeoutMs);
    expect(timeouts.slice(0, 5)).toEqual([100, 200, 400, 400, 400]);
    expect((await committedOffsets(groupId, topic)).get(0)).toBe(1);
    expect(script.succeeded.map((m) => m.offset)).toEqual([0]);
    expect(runner.status().fatalError).toBeUndefined();
    expect(runner.status().listeners[0].state).toBe('running');
  });

  it('malformed JSON goes to the DLQ when one is configured, and is an error naming topic, partition and offset otherwise', async () => {
    const [withDlq, without] = [uniqueName('badjson'), uniqueName('badjson')];
    const dlq = `${withDlq}.dlq`;
    await Promise.all([createTopic(withDlq, 1), createTopic(without, 1), createTopic(dlq, 1)]);
    const producer = testKafka().producer();
    await producer.connect();
    for (const topic of [withDlq, without]) {
      await producer.send({
        topic,
        messages: [
          { key: 'bad', value: '{not json' },
          { key: 'good', value: '{"n":1}' },
        ],
      });
    }
    await producer.disconnect();
    const script = new Script();
    const { seen } = await startApp(
      [
        scriptedConsumer(withDlq, {
          pause: { timeout: 100 },
          deadLetterQueue: { topic: dlq, maxRetries: 0 },
        }),
        scriptedConsumer(without, { pause: { timeout: 100 } }),
      ],
      {},
      script,
    );
    const [dead] = await readAll(dlq, 1);
    expect(dead.value).toBe('{not json');
    expect(dead.headers[DLQ_HEADERS.errorClass]).toBe('DeserializationError');
    await waitFor(
      () => script.succeeded.some((m) => m.topic === withDlq),
      30_000,
      'the message after the malformed one',
    );
    await waitFor(
      () => events(seen, 'error.occurred').some((e) => e.topic === without),
      30_000,
      'an error for the topic without DLQ',
    );
    const error = events(seen, 'error.occurred').find((e) => e.topic === without)!;
    expect(error).toMatchObject({ type: 'consumer.consume.error', topic: without, partition: 0, offset: 0 });
    expect((error.error as Error).message).toContain(`cannot deserialize ${without}/0@0`);
  });

  it('publishes every documented event, and a throwing subscriber does not stop consumption', async () => {
    const topic = uniqueName('events');
    const dlq = `${topic}.dlq`;
    await Promise.all([createTopic(topic, 2), createTopic(dlq, 1)]);
    const script = new Script();
    script.alwaysFail.add('0@0');
    const info = connectionInfo();
    const oauth = info
      ? {
          kafka: {
            'bootstrap.servers': info.oauth.brokers,
            'security.protocol': 'sasl_plaintext',
            'sasl.mechanisms': 'OAUTHBEARER',
            'statistics.interval.ms': 300,
          },
          oauth: { tokenProvider: () => unsecuredToken('karafka') },
        }
      : { kafka: { 'bootstrap.servers': brokers(), 'statistics.interval.ms': 300 } };
    const groupId = uniqueName('group');
    const consumer = scriptedConsumer(topic, {
      pause: { timeout: 100 },
      deadLetterQueue: { topic: dlq, maxRetries: 1 },
    });
    const first = await startApp([consumer], { ...oauth, groupId }, script);
    for (const name of KARAFKA_EVENT_NAMES) {
      first.monitor.subscribe(name, () => {
        throw new Error('a broken subscriber');
      });
    }
    await produceNumbered(topic, 10, 2);
    await waitFor(
      () => script.succeeded.length === 9,
      30_000,
      'nine good messages despite a throwing subscriber',
    );
    const second = await startApp([consumer], { ...oauth, groupId }, new Script());
    await waitFor(
      () => events(first.seen, 'consumer.revoked').length > 0,
      30_000,
      'a revocation on the first instance',
    );
    await first.runner.quiet();
    await first.app.close();
    await second.app.close();
    const missing = KARAFKA_EVENT_NAMES.filter((name) => !first.seen.some((event) => event.name === name));
    expect(missing.filter((name) => info || name !== 'oauthbearer.token_refresh')).toEqual([]);
    expect(first.logger.has(/a subscriber of ".*" failed: a broken subscriber/)).toBe(true);
  });
});

function unsecuredToken(subject: string) {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return {
    token: `${encode({ alg: 'none' })}.${encode({ sub: subject, iat: now, exp: now + 3600 })}.`,
    lifetimeMs: 3_600_000,
    principal: subject,
  };
}
