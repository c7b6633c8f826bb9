import { describe, expect, it } from 'vitest';
import { resolveKarafkaOptions } from '../../src/config/validate-options.js';
import { LivenessTracker } from '../../src/health/liveness-tracker.js';
import { JobRegistry } from '../../src/processing/job-registry.js';
import type { EngineStatus, KarafkaRunner } from '../../src/processing/karafka-runner.js';
import type { ListenerStatus } from '../../src/processing/subscription-group-listener.js';

const options = resolveKarafkaOptions({
  kafka: { 'bootstrap.servers': 'x:9092' },
  liveness: { pollingTtl: 10_000, consumingTtl: 5_000 },
});

function setup(listeners: Partial<ListenerStatus>[] = [{}], engine: Partial<EngineStatus> = {}) {
  let now = 1_000_000;
  const status: EngineStatus = {
    state: 'running',
    stoppedUnexpectedly: false,
    listeners: listeners.map((l) => ({
      id: 'app/default',
      groupId: 'app',
      state: 'running',
      joined: true,
      lastPollAt: now,
      startedAt: now - 1_000,
      assigned: [],
      ...l,
    })),
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
    expect(report.jobs).toEqual([
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
