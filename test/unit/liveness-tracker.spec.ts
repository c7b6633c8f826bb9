import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { resolveKarafkaOptions } from '../../src/config/validate-options.js';
import { LivenessTracker } from '../../src/health/liveness-tracker.js';
import {
  BaseConsumer,
  Consumer,
  KarafkaModule,
  KarafkaMonitor,
  KarafkaRunner,
  type ErrorEvent,
  type Messages,
} from '../../src/index.js';
import { KAFKA_CLIENT_FACTORY } from '../../src/karafka.constants.js';
import { JobRegistry } from '../../src/processing/job-registry.js';
import type { EngineStatus } from '../../src/processing/karafka-runner.js';
import type { ListenerStatus } from '../../src/processing/listener/listener-states.js';
import { FakeClientFactory, type FakeConsumerClient } from '../support/fake-consumer-client.js';
import { runningListener } from '../support/listener-status.js';
import { waitFor } from '../support/wait-for.js';

const options = resolveKarafkaOptions({
  kafka: { 'bootstrap.servers': 'x:9092' },
  liveness: { pollingTtl: 10_000, consumingTtl: 5_000 },
});

function setup(listeners: Partial<ListenerStatus>[] = [{}], engine: Partial<EngineStatus> = {}) {
  let now = 1_000_000;
  const status: EngineStatus = {
    state: 'running',
    stoppedUnexpectedly: false,
    listeners: listeners.map((l) => runningListener(now, l)),
    ...engine,
  };
  const runner = { status: () => status } as unknown as KarafkaRunner;
  const jobs = new JobRegistry();
  const tracker = new LivenessTracker(runner, jobs, options);
  tracker.now = () => now;
  return {
    tracker,
    jobs,
    status,
    advance: (ms: number) => (now += ms),
    poll: () => (status.listeners[0].lastPollAt = now),
    get now() {
      return now;
    },
  };
}

describe('LivenessTracker', () => {
  it('is healthy while polling, even idle with nothing assigned, for longer than both TTLs', () => {
    const t = setup([{ assigned: [] }]);
    for (let i = 0; i < 30; i++) {
      t.advance(1_000);
      t.poll();
    }
    expect(t.tracker.liveness()).toMatchObject({ healthy: true, reasons: [] });
  });

  it('turns unhealthy when polling stops for longer than pollingTtl, naming it', () => {
    const t = setup();
    t.advance(10_000);
    expect(t.tracker.liveness().healthy).toBe(true);
    t.advance(1);
    const report = t.tracker.liveness();
    expect(report.healthy).toBe(false);
    expect(report.reasons[0]).toMatch(
      /pollingTtl exceeded: subscription group app\/default last polled 10001 ms ago \(pollingTtl 10000 ms\)/,
    );
    t.poll();
    expect(t.tracker.liveness().healthy).toBe(true);
  });

  it('counts a listener that never polled from when it started connecting, with its last error', () => {
    const t = setup([
      {
        state: 'connecting',
        joined: false,
        lastPollAt: undefined,
        lastError: 'KafkaJSConnectionError: connect ECONNREFUSED',
      },
    ]);
    t.advance(9_000);
    expect(t.tracker.liveness().healthy).toBe(true);
    t.advance(2_000);
    expect(t.tracker.liveness().reasons[0]).toMatch(
      /has not polled since it started connecting 12000 ms ago.*ECONNREFUSED/,
    );
  });

  it('stays healthy through a rebalance shorter than the TTLs (not joined, still polling)', () => {
    const t = setup([{ joined: false, assigned: [] }]);
    t.advance(4_000);
    t.poll();
    expect(t.tracker.liveness().healthy).toBe(true);
  });

  it('turns unhealthy when a job runs longer than consumingTtl, naming the consumer and partition, and recovers when it ends', () => {
    const t = setup();
    const id = t.jobs.start(
      {
        kind: 'consume',
        consumerClass: 'OrdersConsumer',
        subscriptionGroup: 'app/default',
        topic: 'orders',
        partition: 3,
      },
      t.now,
    );
    t.advance(5_000);
    t.poll();
    expect(t.tracker.liveness().healthy).toBe(true);
    t.advance(1);
    t.poll();
    const report = t.tracker.liveness();
    expect(report.healthy).toBe(false);
    expect(report.reasons).toEqual([
      'consumingTtl exceeded: OrdersConsumer consume of orders/3 has run for 5001 ms (consumingTtl 5000 ms)',
    ]);
    expect(report.subscriptionGroups[0].jobs).toEqual([
      { consumerClass: 'OrdersConsumer', job: 'consume', topic: 'orders', partition: 3, ageMs: 5_001 },
    ]);
    t.jobs.finish(id);
    expect(t.tracker.liveness().healthy).toBe(true);
  });

  it('turns unhealthy at once when the engine failed for good, or a subscription group crashed', () => {
    expect(
      setup([{}], {
        fatalError: 'KafkaJSSASLAuthenticationError: bad credentials',
        stoppedUnexpectedly: true,
      }).tracker.liveness(),
    ).toMatchObject({
      healthy: false,
      error: 'KafkaJSSASLAuthenticationError: bad credentials',
    });
    expect(setup([{ state: 'crashed', lastError: 'boom' }]).tracker.liveness().reasons).toEqual([
      'subscription group app/default crashed: boom',
    ]);
  });

  it('holds a quiet listener to the polling TTL too (quiet keeps polling, all partitions paused)', () => {
    const t = setup([{ state: 'quiet' }], { state: 'quiet' });
    for (let i = 0; i < 30; i++) {
      t.advance(1_000);
      t.poll();
    }
    expect(t.tracker.liveness().healthy).toBe(true);
    t.advance(10_001);
    expect(t.tracker.liveness().reasons[0]).toMatch(/^pollingTtl exceeded: .* last polled 10001 ms ago/);
  });

  it('counts a listener reconnecting after a client failure from its last poll, not from the reconnect', () => {
    const t = setup();
    t.advance(8_000);
    Object.assign(t.status.listeners[0], {
      state: 'connecting',
      joined: false,
      startedAt: t.now,
      lastError: 'KafkaJSConnectionError: Connection error: connect ECONNREFUSED',
    });
    t.advance(2_001);
    expect(t.tracker.liveness().reasons).toEqual([
      'pollingTtl exceeded: subscription group app/default last polled 10001 ms ago (pollingTtl 10000 ms); last error: KafkaJSConnectionError: Connection error: connect ECONNREFUSED',
    ]);
  });

  it('does not hold polling against a stopped or stopping engine asked to stop', () => {
    const t = setup([{ state: 'stopping' }], { state: 'stopping' });
    t.advance(60_000);
    expect(t.tracker.liveness().healthy).toBe(true);
  });

  it('is ready only when running and every subscription group joined', () => {
    expect(setup([{ joined: true }]).tracker.readiness().ready).toBe(true);
    expect(setup([{ joined: false }]).tracker.readiness().reasons).toEqual([
      'subscription group app/default has not joined its group (running)',
    ]);
    expect(setup([{}], { state: 'quiet' }).tracker.readiness()).toMatchObject({
      ready: false,
      reasons: ['the engine is quiet'],
    });
    expect(setup([{ state: 'connecting', joined: false }]).tracker.readiness().ready).toBe(false);
  });
});

@Injectable()
class Hold {
  failing = false;
  hang?: Promise<void>;
  consumed = 0;
}

@Consumer('events', { pause: { timeout: 10, maxTimeout: 10 } })
class EventsConsumer extends BaseConsumer {
  constructor(private readonly hold: Hold) {
    super();
  }
  async consume(messages: Messages): Promise<void> {
    await this.hold.hang;
    if (this.hold.failing) throw new Error('transient');
    this.hold.consumed += messages.size;
  }
}

/**
 * The tracker over the real engine and an in-memory client. Only Date is faked: the engine's
 * polling and job stamps and the tracker share it, while timers (backoff) run for real.
 */
describe('LivenessTracker over the engine (in-memory client, controllable clock)', () => {
  let close: (() => Promise<unknown>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
    vi.useRealTimers();
  });

  async function engine() {
    vi.useFakeTimers({ toFake: ['Date'] });
    const factory = new FakeClientFactory();
    const moduleRef = await Test.createTestingModule({
      imports: [
        KarafkaModule.forRoot({
          kafka: { 'bootstrap.servers': 'fake:9092' },
          logging: false,
          liveness: { pollingTtl: 10_000, consumingTtl: 5_000 },
        }),
      ],
      providers: [Hold, EventsConsumer],
    })
      .overrideProvider(KAFKA_CLIENT_FACTORY)
      .useValue(factory)
      .compile();
    const app = moduleRef.createNestApplication({ logger: false });
    const errors: ErrorEvent[] = [];
    app.get(KarafkaMonitor).subscribe('error.occurred', (event) => void errors.push(event));
    await app.init();
    close = () => app.close();
    await waitFor(() => factory.consumers[0]?.started ?? false, 3_000, 'the client to start');
    const client = factory.consumers[0] as FakeConsumerClient;
    client.assign([{ topic: 'events', partition: 0 }]);
    client.handlers!.polled();
    const advance = (ms: number) => {
      vi.setSystemTime(Date.now() + ms);
      client.handlers!.polled();
    };
    return {
      client,
      errors,
      advance,
      hold: app.get(Hold),
      runner: app.get(KarafkaRunner),
      tracker: app.get(LivenessTracker),
    };
  }

  it('retried consume errors over longer than consumingTtl are not unhealthy; one job past it is', async () => {
    const { client, hold, errors, advance, tracker } = await engine();
    hold.failing = true;
    for (let attempt = 1; attempt <= 8; attempt++) {
      await waitFor(() => !client.isPaused('events', 0), 2_000, 'the retry to resume fetching');
      client.deliver('events', 0, [0]);
      await waitFor(() => errors.length === attempt, 2_000, `consume error ${attempt}`);
      advance(1_000);
      expect(tracker.liveness()).toMatchObject({
        healthy: true,
        reasons: [],
        subscriptionGroups: [{ jobs: [] }],
      });
    }
    expect(errors.every((event) => event.type === 'consumer.consume.error' && !event.fatal)).toBe(true);

    let release!: () => void;
    hold.hang = new Promise((resolve) => (release = resolve));
    hold.failing = false;
    await waitFor(() => !client.isPaused('events', 0), 2_000, 'the retry to resume fetching');
    client.deliver('events', 0, [0]);
    await waitFor(() => tracker.liveness().subscriptionGroups[0].jobs.length === 1, 2_000, 'the hanging job');
    advance(5_000);
    expect(tracker.liveness().healthy).toBe(true);
    advance(1);
    expect(tracker.liveness().reasons).toEqual([
      'consumingTtl exceeded: EventsConsumer consume of events/0 has run for 5001 ms (consumingTtl 5000 ms)',
    ]);
    release();
    await waitFor(() => hold.consumed === 1, 2_000, 'the job to end');
    expect(tracker.liveness()).toMatchObject({ healthy: true, subscriptionGroups: [{ jobs: [] }] });
  });

  it('is unhealthy at once, with the error, when the client dies for good; an error.occurred is fatal', async () => {
    const { client, errors, tracker, runner } = await engine();
    expect(tracker.liveness().healthy).toBe(true);
    client.crash('simulated fatal client failure', false);
    const report = tracker.liveness();
    expect(report).toMatchObject({ healthy: false, error: 'simulated fatal client failure' });
    expect(report.reasons).toContain(
      'the engine failed and will not recover: simulated fatal client failure',
    );
    expect(runner.status().stoppedUnexpectedly).toBe(true);
    expect(errors).toContainEqual(expect.objectContaining({ type: 'connection.client.error', fatal: true }));
  });

  it('quiet: healthy while it keeps polling past both TTLs, not ready; stopped on request: healthy, not ready', async () => {
    const { tracker, runner, advance } = await engine();
    await runner.quiet();
    for (let i = 0; i < 12; i++) advance(1_000);
    expect(tracker.liveness()).toMatchObject({ healthy: true, state: 'quiet' });
    expect(tracker.readiness()).toMatchObject({ ready: false, reasons: ['the engine is quiet'] });
    await runner.stop();
    advance(60_000);
    expect(tracker.liveness()).toMatchObject({ healthy: true, state: 'stopped' });
    expect(tracker.readiness()).toMatchObject({ ready: false, reasons: ['the engine is stopped'] });
  });
});
