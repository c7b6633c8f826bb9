// The engine defects of issue 12 (ENGINE-DEFECTS.md F1–F9), each as a user meets it against the
// real broker, through the public API only. Every case failed on the engine of the first round.
import { Injectable, type INestApplication, type Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  BaseConsumer,
  Consumer,
  KarafkaModule,
  KarafkaMonitor,
  KarafkaRunner,
  LivenessTracker,
  type ConsumerOptions,
  type KarafkaEventName,
  type KarafkaModuleOptions,
  type Messages,
} from 'nestjs-karafka';
import { CaptureLogger } from '../support/capture-logger.js';
import { brokers, uniqueName } from '../support/kafka/connection.mjs';
import { committedOffsets, createTopic, produceNumbered, withAdmin } from '../support/kafka-topics.js';
import { waitFor } from '../support/wait-for.js';
import { kafkajsHarness } from '../conformance/kafkajs-harness.js';

const execFileAsync = promisify(execFile);
const HARNESS_CLI = fileURLToPath(new URL('../support/kafka/cli.mjs', import.meta.url));

type Payload = { n: number };
type Handler = (consumer: BaseConsumer<Payload>, messages: Messages<Payload>) => Promise<void> | void;

/** What a test's consumer does, swappable while the app runs. */
@Injectable()
class Behaviour {
  handle: Handler = (consumer, messages) => {
    for (const message of messages) consumer.markAsConsumed(message);
  };
}

function routeTo(topic: string, options: ConsumerOptions = {}): Type<BaseConsumer> {
  @Consumer(topic, { initialOffset: 'earliest', ...options })
  class ScriptedConsumer extends BaseConsumer<Payload> {
    constructor(private readonly behaviour: Behaviour) {
      super();
    }

    consume(messages: Messages<Payload>): Promise<void> | void {
      return this.behaviour.handle(this, messages);
    }
  }
  return ScriptedConsumer;
}

const apps: INestApplication[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close().catch(() => undefined)));
});

type Seen = Awaited<ReturnType<typeof startApp>>['events'];
const dispatched = (events: Seen) =>
  waitFor(() => events.some((e) => e.name === 'dead_letter_queue.dispatched'), 20_000, 'the DLQ dispatch');

async function startApp(
  consumers: Type<BaseConsumer>[],
  options: Partial<KarafkaModuleOptions>,
  behaviour = new Behaviour(),
) {
  const logger = new CaptureLogger();
  const moduleRef = await Test.createTestingModule({
    imports: [
      KarafkaModule.forRoot({
        kafka: { 'bootstrap.servers': brokers(), 'session.timeout.ms': 6_000, 'heartbeat.interval.ms': 500 },
        maxWaitTime: 200,
        shutdownTimeout: 10_000,
        ...options,
      }),
    ],
    providers: [{ provide: Behaviour, useValue: behaviour }, ...consumers],
  }).compile();
  const app = moduleRef.createNestApplication({ logger });
  const events: { name: KarafkaEventName; payload: Record<string, unknown> }[] = [];
  const monitor = app.get(KarafkaMonitor);
  for (const name of [
    'consumer.consuming.pause',
    'rebalance.partitions_assigned',
    'rebalance.partitions_revoked',
    'dead_letter_queue.dispatched',
    'error.occurred',
  ] as const) {
    monitor.subscribe(name, (payload) => void events.push({ name, payload: payload as never }));
  }
  await app.init();
  apps.push(app);
  const runner = app.get(KarafkaRunner);
  const assigned = () => runner.status().listeners.flatMap((listener) => listener.assigned);
  return { app, runner, events, logger, behaviour, assigned };
}

describe('engine defects (real broker)', () => {
  it.each([
    ['a consumer pause', 'pause'],
    ['the backoff after a failed DLQ dispatch', 'dlq'],
  ] as const)(
    'a partition revoked during %s and later assigned back to the same member is consumed again (F1, F2)',
    async (_, cause) => {
      const topic = uniqueName('revoked-paused');
      const groupId = uniqueName('group');
      await createTopic(topic, 2);
      await produceNumbered(topic, 10, 2);
      const long = { timeout: 600_000, maxTimeout: 600_000, withExponentialBackoff: false };
      // The DLQ topic name is invalid, so every dispatch fails and the partition backs off.
      const options: ConsumerOptions =
        cause === 'dlq'
          ? { pause: long, deadLetterQueue: { topic: 'not a topic!', maxRetries: 0 } }
          : { pause: long };
      const holdBack: Handler = (consumer, messages) => {
        if (cause === 'pause') return consumer.pause(messages.first()!.offset);
        throw new Error('not yet');
      };
      const processed: number[] = [];
      const a = await startApp(
        [routeTo(topic, options)],
        { groupId },
        Object.assign(new Behaviour(), { handle: holdBack }),
      );
      await waitFor(
        () => a.events.filter((e) => e.name === 'consumer.consuming.pause').length >= 2,
        20_000,
        'both paused',
      );

      const b = await startApp(
        [routeTo(topic, options)],
        { groupId },
        Object.assign(new Behaviour(), { handle: holdBack }),
      );
      await waitFor(
        () => a.assigned().length === 1 && b.assigned().length === 1,
        30_000,
        'the partitions split',
      );
      const lost = 1 - a.assigned()[0].partition;
      a.behaviour.handle = (consumer, messages) => {
        if (consumer.partition !== lost) return holdBack(consumer, messages);
        for (const message of messages) {
          processed.push(message.offset);
          consumer.markAsConsumed(message);
        }
      };
      await b.app.close();
      await waitFor(() => a.assigned().length === 2, 30_000, 'the partition to come back');
      await waitFor(() => processed.length === 5, 15_000, `partition ${lost} to be consumed again`);
      expect(processed).toEqual([0, 1, 2, 3, 4]);
    },
  );

  it('a seek out of range resets once by initialOffset, logs it, and never commits a negative offset (F5)', async () => {
    const topic = uniqueName('out-of-range');
    const groupId = uniqueName('group');
    await createTopic(topic, 1);
    await produceNumbered(topic, 100, 1);
    await withAdmin(async (admin) => {
      await admin.fetchTopicMetadata({ topics: [topic] });
      await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '50' }] });
    });
    const seen: number[] = [];
    let replayed = false;
    const behaviour = Object.assign(new Behaviour(), {
      handle: ((consumer, messages) => {
        for (const message of messages) {
          seen.push(message.offset);
          consumer.markAsConsumed(message);
          // "Replay from the start": offset 0 was deleted by retention.
          if (message.offset === 99 && !replayed) {
            replayed = true;
            return consumer.seek(0);
          }
        }
      }) as Handler,
    });
    const { logger } = await startApp([routeTo(topic)], { groupId }, behaviour);
    const commits: number[] = [];
    await waitFor(
      async () => {
        commits.push((await committedOffsets(groupId, topic)).get(0) ?? -1);
        return seen.length >= 100;
      },
      30_000,
      'the replay after the reset',
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    commits.push((await committedOffsets(groupId, topic)).get(0) ?? -1);
    // 50..99, then once more 50..99 from the log start: no loop, nothing before 50.
    expect(seen).toEqual(
      [...Array(50).keys()].map((i) => 50 + i).concat([...Array(50).keys()].map((i) => 50 + i)),
    );
    expect(commits.filter((offset) => offset < -1 || offset === -2)).toEqual([]);
    expect(commits.at(-1)).toBe(100);
    expect(logger.has(/offset 0 is out of range.*reset to 50/)).toBe(true);
  });

  it('with manualOffsetManagement, a dead-lettered message never commits past earlier unmarked ones (F8)', async () => {
    const topic = uniqueName('manual-dlq');
    const groupId = uniqueName('group');
    const dlq = uniqueName('manual-dlq.dlq');
    await createTopic(topic, 1);
    await createTopic(dlq, 1);
    await produceNumbered(topic, 4, 1);
    // Buffers 0-2 (a batch insert later), offset 3 is poison.
    const behaviour = Object.assign(new Behaviour(), {
      handle: ((_, messages) => {
        if (messages.last()!.offset === 3) throw new Error('poison 3');
      }) as Handler,
    });
    const { events } = await startApp(
      [
        routeTo(topic, {
          manualOffsetManagement: true,
          maxMessages: 3,
          deadLetterQueue: { topic: dlq, maxRetries: 0 },
        }),
      ],
      { groupId },
      behaviour,
    );
    await dispatched(events);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await committedOffsets(groupId, topic)).get(0)).toBe(-1);
  });

  it('counts retries per message: one that follows a message which failed and then succeeded gets its own attempts (F6)', async () => {
    const topic = uniqueName('retries');
    const groupId = uniqueName('group');
    const dlq = uniqueName('retries.dlq');
    await createTopic(topic, 1);
    await createTopic(dlq, 1);
    await produceNumbered(topic, 2, 1);
    const attemptsOf1: number[] = [];
    let zeroFailed = false;
    const behaviour = Object.assign(new Behaviour(), {
      handle: ((consumer, messages) => {
        for (const message of messages) {
          if (message.offset === 0 && !zeroFailed) {
            zeroFailed = true;
            throw new Error('transient 0');
          }
          if (message.offset === 1) {
            attemptsOf1.push(consumer.attempt);
            throw new Error('poison 1');
          }
          consumer.markAsConsumed(message);
        }
      }) as Handler,
    });
    const { events } = await startApp(
      [
        routeTo(topic, {
          pause: { timeout: 50, maxTimeout: 50 },
          deadLetterQueue: { topic: dlq, maxRetries: 2 },
        }),
      ],
      { groupId },
      behaviour,
    );
    await dispatched(events);
    expect(attemptsOf1).toHaveLength(3);
    expect(events.find((e) => e.name === 'dead_letter_queue.dispatched')!.payload).toMatchObject({
      offset: 1,
      attempt: 3,
    });
    const failuresOf1 = events.filter((e) => e.name === 'error.occurred' && e.payload.offset === 1);
    expect(failuresOf1).toHaveLength(3);
  });

  it('a missing topic does not stop the others of its subscription group; it is named, and consumed once created (F9)', async () => {
    const present = uniqueName('present');
    const missing = uniqueName('missing');
    await createTopic(present, 1);
    await produceNumbered(present, 5, 1);
    const seen: string[] = [];
    const behaviour = Object.assign(new Behaviour(), {
      handle: ((consumer, messages) => {
        for (const message of messages) {
          seen.push(`${consumer.topic}@${message.offset}`);
          consumer.markAsConsumed(message);
        }
      }) as Handler,
    });
    const { app, runner, logger } = await startApp(
      [routeTo(present), routeTo(missing)],
      {
        groupId: uniqueName('group'),
        kafka: { 'bootstrap.servers': brokers(), 'topic.metadata.refresh.interval.ms': 1_000 },
      },
      behaviour,
    );
    await waitFor(() => seen.filter((s) => s.startsWith(present)).length === 5, 20_000, 'the present topic');
    expect(runner.status().listeners[0].missingTopics).toEqual([missing]);
    expect(app.get(LivenessTracker).liveness().subscriptionGroups[0].missingTopics).toEqual([missing]);
    expect(logger.has(new RegExp(`topic ${missing} does not exist`))).toBe(true);
    await createTopic(missing, 1);
    await produceNumbered(missing, 3, 1);
    await waitFor(() => seen.filter((s) => s.startsWith(missing)).length === 3, 30_000, 'the created topic');
    expect(runner.status().listeners[0].missingTopics).toEqual([]);
  });

  it('stopping while the first group join is in progress leaves no member in the group (F7)', async () => {
    // A broker with Kafka's default group.initial.rebalance.delay.ms (3 s): the first join of a
    // new group waits that long, and the app stops in the middle of it.
    const broker = await slowJoinBroker();
    const topic = uniqueName('join-stop');
    const groupId = uniqueName('group');
    const kafka = new Kafka({ clientId: 'test-setup', brokers: [broker], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      const { app, runner } = await startApp([routeTo(topic)], {
        groupId,
        clientId: 'joins-then-stops',
        kafka: { 'bootstrap.servers': broker },
      });
      await waitFor(() => runner.status().listeners[0].state === 'running', 10_000, 'the client to connect');
      await new Promise((resolve) => setTimeout(resolve, 1_000)); // inside the 3 s join
      expect(runner.status().listeners[0].joined).toBe(false);
      apps.splice(apps.indexOf(app), 1);
      await app.close();
      await new Promise((resolve) => setTimeout(resolve, 8_000)); // a zombie would have joined by now
      const [group] = (await admin.describeGroups([groupId])).groups;
      expect(group.members.map((member) => member.clientId)).toEqual([]);
    } finally {
      await admin.disconnect();
    }
  });

  it('stops cleanly after one subscription group crashed for good: the other commits and leaves the group (F3)', async () => {
    const healthy = uniqueName('crash-healthy');
    const doomed = uniqueName('crash-doomed');
    const [healthyGroup, doomedGroup] = [uniqueName('group'), uniqueName('group')];
    await createTopic(healthy, 2);
    await createTopic(doomed, 1);
    await produceNumbered(healthy, 20, 2);
    // A member speaking another assignment protocol holds the doomed group: the app's join fails
    // with INCONSISTENT_GROUP_PROTOCOL, which kafkajs never retries (its consumer is gone for good).
    const conflicting = await kafkajsHarness().conflictingMember!(doomedGroup);
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => void uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const consumed: string[] = [];
      const behaviour = Object.assign(new Behaviour(), {
        handle: ((consumer, messages) => {
          for (const message of messages) {
            consumed.push(`${consumer.partition}:${message.offset}`);
            consumer.markAsConsumed(message);
          }
        }) as Handler,
      });
      const { app, events } = await startApp(
        [routeTo(healthy, { groupId: healthyGroup }), routeTo(doomed, { groupId: doomedGroup })],
        {},
        behaviour,
      );
      await waitFor(
        () => events.some((e) => e.name === 'error.occurred' && e.payload.fatal === true),
        30_000,
        'the doomed group to crash for good',
      );
      await waitFor(() => consumed.length === 20, 30_000, 'the healthy group to consume');
      apps.splice(apps.indexOf(app), 1);
      const started = Date.now();
      await expect(app.close()).resolves.toBeUndefined();
      expect(Date.now() - started).toBeLessThan(15_000);
      expect([...(await committedOffsets(healthyGroup, healthy)).values()]).toEqual([10, 10]);
      const [group] = await withAdmin(async (admin) => (await admin.describeGroups([healthyGroup])).groups);
      expect(group.members).toEqual([]);
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
      await conflicting.undo();
    }
  });

  it('stops cleanly while the client waits to restart after the broker went away, and no pause timer throws (F3)', async () => {
    const broker = await slowJoinBroker();
    const topic = uniqueName('broker-gone');
    const kafka = new Kafka({ clientId: 'test-setup', brokers: [broker], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [0, 1].map((partition) => ({ partition, value: '{"n":0}' })) });
    await producer.disconnect();
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => void uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      // Both partitions keep failing with a short backoff: retry timers fire all through the teardown.
      const failing = Object.assign(new Behaviour(), {
        handle: (() => {
          throw new Error('keeps failing');
        }) as Handler,
      });
      const groupId = uniqueName('group');
      const { app, events } = await startApp(
        [routeTo(topic, { pause: { timeout: 100, maxTimeout: 100 } })],
        {
          groupId,
          kafka: { 'bootstrap.servers': broker, 'retry.backoff.ms': 100, 'reconnect.backoff.max.ms': 500 },
        },
        failing,
      );
      await waitFor(
        () => events.filter((e) => e.name === 'consumer.consuming.pause').length >= 2,
        20_000,
        'retries',
      );
      await stopSlowJoinBroker!();
      stopSlowJoinBroker = undefined;
      await waitFor(
        () => events.some((e) => e.name === 'error.occurred' && e.payload.type === 'connection.client.error'),
        60_000,
        'the client to give up on the broker',
      );
      apps.splice(apps.indexOf(app), 1);
      const started = Date.now();
      await expect(app.close()).resolves.toBeUndefined();
      expect(Date.now() - started).toBeLessThan(15_000);
      // The broker comes back (empty): a client the stop left behind would rejoin the group.
      const back = new Kafka({
        clientId: 'test-check',
        brokers: [await slowJoinBroker()],
        logLevel: logLevel.NOTHING,
      });
      const check = back.admin();
      await check.connect();
      try {
        await new Promise((resolve) => setTimeout(resolve, 8_000));
        const [group] = (await check.describeGroups([groupId])).groups;
        expect(group.members.map((member) => member.clientId)).toEqual([]);
      } finally {
        await check.disconnect();
      }
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});

const SLOW_JOIN_PORTS = {
  KAFKA_PORT: '19292',
  KAFKA_SASL_SSL_PORT: '19293',
  KAFKA_OAUTH_PORT: '19294',
  KAFKA_CONTROLLER_PORT: '19295',
};

/** A second harness broker, on its own ports, with Kafka's default initial rebalance delay; stopped after the suite. */
async function slowJoinBroker(): Promise<string> {
  if (stopSlowJoinBroker) return `localhost:${SLOW_JOIN_PORTS.KAFKA_PORT}`;
  const env = { ...process.env, ...SLOW_JOIN_PORTS, KAFKA_INITIAL_REBALANCE_DELAY_MS: '3000' };
  await execFileAsync(process.execPath, [HARNESS_CLI, 'start'], { env });
  stopSlowJoinBroker = () =>
    execFileAsync(process.execPath, [HARNESS_CLI, 'stop'], { env }).then(() => undefined);
  return `localhost:${SLOW_JOIN_PORTS.KAFKA_PORT}`;
}

let stopSlowJoinBroker: (() => Promise<void>) | undefined;
afterAll(async () => {
  await stopSlowJoinBroker?.();
});
