// The engine's parts without Nest: the partition pieces on their own, and a subscription group
// listener on the in-memory driver.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { resolveKarafkaOptions } from '../../src/config/validate-options.js';
import { BaseConsumer } from '../../src/consumer/base-consumer.js';
import { jsonDeserializer } from '../../src/consumer/deserializers.js';
import type { Messages } from '../../src/consumer/messages.js';
import { KarafkaMonitor } from '../../src/instrumentation/karafka-monitor.js';
import { DeadLetterDispatcher } from '../../src/processing/dead-letter-dispatcher.js';
import { PartitionProducers } from '../../src/producer/partition-producers.js';
import { JobRegistry } from '../../src/processing/job-registry.js';
import { KafkaClientError, type ConsumerClient } from '../../src/connection/kafka-client.js';
import { ConnectionSupervisor } from '../../src/processing/listener/connection-supervisor.js';
import { ListenerStates } from '../../src/processing/listener/listener-states.js';
import { SubscriptionGroupListener } from '../../src/processing/listener/subscription-group-listener.js';
import {
  deadLettersNow,
  marksAfterConsume,
  marksAfterDispatch,
  retryOffset,
} from '../../src/processing/partition/after-consume.js';
import { PartitionPosition } from '../../src/processing/partition/partition-position.js';
import { PauseTracker } from '../../src/processing/partition/pause-tracker.js';
import { RetryCounter } from '../../src/processing/partition/retry-counter.js';
import { PrefetchBudget } from '../../src/processing/prefetch-budget.js';
import { WorkerPool } from '../../src/processing/worker-pool.js';
import type { Route, SubscriptionGroup } from '../../src/routing/route.js';
import { InMemoryClientFactory, InMemoryKafka } from '../support/in-memory-kafka/index.js';
import { waitFor } from '../support/wait-for.js';

afterEach(() => void vi.useRealTimers());

describe('partition parts', () => {
  it('counts attempts per message and starts again when the first unprocessed offset moves', () => {
    const retries = new RetryCounter();
    expect(retries.attemptAt(0)).toBe(1);
    expect(retries.failedAt(0)).toBe(1);
    expect(retries.attemptAt(0)).toBe(2);
    expect(retries.failedAt(1)).toBe(1); // 0 then succeeded: 1 has its own count
    expect(retries.failedAt(1)).toBe(2);
    expect(retries.attemptAt(1)).toBe(3);
    expect(retries.attemptAt(2)).toBe(1);
  });

  it('caps a pause past what setTimeout can hold instead of firing at once (M7)', () => {
    vi.useFakeTimers();
    const tracker = new PauseTracker();
    const expired = vi.fn();
    tracker.pause(2 ** 40, expired);
    vi.advanceTimersByTime(1_000);
    expect(expired).not.toHaveBeenCalled();
    expect(tracker.paused).toBe(true);
    expect(tracker.cancel()).toBe(true);
    expect(tracker.paused).toBe(false);
  });

  it('announces a spent budget to every partition, and room again at half', () => {
    const budget = new PrefetchBudget(100);
    const seen: boolean[] = [];
    const unwatch = budget.watch((spent) => seen.push(spent));
    budget.take(60);
    budget.take(40);
    budget.give(30);
    budget.give(20);
    unwatch();
    budget.take(100);
    expect(seen).toEqual([true, false]);
    expect(budget.spent).toBe(true);
  });

  it('takes from a batch only what is new, and follows a reset position', () => {
    const position = new PartitionPosition();
    const message = (offset: number) => ({ offset, key: null, value: null, headers: {}, timestamp: 0 });
    const batch = (offsets: number[], resetFrom?: number) => ({
      topic: 't',
      partition: 0,
      highWatermark: 100,
      messages: offsets.map(message),
      resetFrom,
    });
    expect(position.admit(batch([0, 1, 2])).map((m) => m.offset)).toEqual([0, 1, 2]);
    expect(position.admit(batch([1, 2, 3])).map((m) => m.offset)).toEqual([3]);
    expect(position.admit(batch([50, 51], 4)).map((m) => m.offset)).toEqual([50, 51]);
    expect(position.next).toBe(50);
    expect(position.mark(10)).toBe(true);
    expect(position.mark(9)).toBe(false);
  });

  it('after consume: marks, retry start, DLQ and mark after dispatch follow Karafka', () => {
    const auto = {
      manualOffsetManagement: false,
      deadLetterQueue: { topic: 'd', maxRetries: 2, independent: false },
    };
    const manual = { ...auto, manualOffsetManagement: true };
    expect(marksAfterConsume(auto, false)).toBe(true);
    expect(marksAfterConsume(auto, true)).toBe(false);
    expect(marksAfterConsume(manual, false)).toBe(false);
    expect(retryOffset(10, undefined)).toBe(10);
    expect(retryOffset(10, 13)).toBe(13);
    expect(deadLettersNow(auto, 3)).toBe(true);
    expect(deadLettersNow(auto, 2)).toBe(false);
    expect(deadLettersNow({ deadLetterQueue: undefined }, 99)).toBe(false);
    expect(marksAfterDispatch(auto, 3, undefined)).toBe(true);
    expect(marksAfterDispatch(manual, 3, undefined)).toBe(false); // 0-2 unmarked (F8)
    expect(marksAfterDispatch(manual, 3, 3)).toBe(true);
  });

  it('refuses a move the state table does not allow', () => {
    const states = new ListenerStates();
    expect(states.to('running')).toBe(false);
    expect(states.to('connecting')).toBe(true);
    expect(states.to('crashed')).toBe(true);
    expect(states.to('running')).toBe(false);
    expect(states.state).toBe('crashed');
  });
});

describe('subscription group listener without Nest, on the in-memory driver', () => {
  it('consumes, commits, shares partitions in a rebalance, and leaves nothing running after stop', async () => {
    const kafka = new InMemoryKafka();
    kafka.createTopic('orders', 3);
    for (const partition of [0, 1, 2])
      kafka.produce(
        'orders',
        partition,
        [...Array(100).keys()].map((n) => JSON.stringify({ n })),
      );
    const clients = new InMemoryClientFactory(kafka);
    const options = resolveKarafkaOptions({
      kafka: { 'bootstrap.servers': kafka.bootstrapServers },
      logging: false,
    });
    const seen: string[] = [];
    class Orders extends BaseConsumer<{ n: number }> {
      consume(messages: Messages<{ n: number }>): void {
        for (const message of messages) seen.push(`${message.partition}@${message.offset}`);
      }
    }
    const route: Route = {
      name: 'orders',
      topic: 'orders',
      consumerClass: 'Orders',
      groupId: 'g',
      subscriptionGroup: 'default',
      initialOffset: 'earliest',
      maxMessages: 10,
      maxWaitTime: 50,
      manualOffsetManagement: false,
      deserializer: jsonDeserializer as Route['deserializer'],
      active: true,
      pause: { timeout: 10, maxTimeout: 10, withExponentialBackoff: false },
      kafka: options.kafka,
      createConsumer: async () => new Orders(),
    };
    const group: SubscriptionGroup = {
      id: 'g/default',
      name: 'default',
      groupId: 'g',
      maxWaitTime: 50,
      kafka: options.kafka,
      routes: [route],
    };
    const listener = () =>
      new SubscriptionGroupListener(group, {
        options,
        clients,
        pool: new WorkerPool(2),
        jobs: new JobRegistry(),
        monitor: new KarafkaMonitor(),
        deadLetters: new DeadLetterDispatcher({ run: async () => undefined } as never),
        budget: new PrefetchBudget(1024 * 1024),
        transactions: new PartitionProducers(clients, 'test'),
        onFatal: () => undefined,
      });
    const first = listener();
    first.start();
    await waitFor(() => new Set(seen).size === 300, 5_000, 'every message');
    const second = listener();
    second.start();
    await waitFor(
      () =>
        first.status().assigned.length + second.status().assigned.length === 3 &&
        second.status().assigned.length > 0,
      5_000,
      'the partitions shared',
    );
    for (const each of [first, second]) {
      await each.drain();
      await each.finish();
    }
    for (const partition of [0, 1, 2])
      expect(kafka.group('g').committedOffset({ topic: 'orders', partition })).toBe(100);
    expect(first.state).toBe('stopped');
    await waitFor(() => kafka.liveTimers === 0, 1_000, 'no timer left');
  });
});

describe('connection supervisor', () => {
  it('reports and retries a failed connect at once, while the failed client still lets go; stop waits for it', async () => {
    const releases: (() => void)[] = [];
    const stopsDone: boolean[] = [];
    const failures: string[] = [];
    const client = (n: number) =>
      ({
        start: async () => {
          throw new KafkaClientError(`connect ${n} refused`, { retriable: true });
        },
        // As librdkafka's native consumer: its connect runs on to its timeout before it disconnects.
        stop: () =>
          new Promise<void>((resolve) =>
            releases.push(() => {
              stopsDone[n] = true;
              resolve();
            }),
          ),
      }) as unknown as ConsumerClient;
    let created = 0;
    const states = new ListenerStates();
    states.to('connecting');
    const supervisor = new ConnectionSupervisor({
      createClient: () => client(created++),
      handlers: {} as never,
      states,
      logger: { warn: () => undefined } as never,
      failed: (error) => void failures.push(error.message),
      fatal: () => undefined,
      connected: () => undefined,
    });
    supervisor.start();
    await waitFor(() => failures.length === 2, 5_000, 'the second failure, about a second after the first');
    expect(stopsDone).toEqual([]);
    let stopped = false;
    const stopping = supervisor.stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stopped).toBe(false);
    for (const release of releases) release();
    await stopping;
    expect(stopsDone.filter(Boolean)).toHaveLength(created);
  });
});
