import type { ModuleRef } from '@nestjs/core';
import { describe, expect, it } from 'vitest';
import { resolveKarafkaOptions } from '../../src/config/validate-options.js';
import { KarafkaHealthIndicator } from '../../src/health/karafka-health.indicator.js';
import { LivenessTracker } from '../../src/health/liveness-tracker.js';
import { JobRegistry } from '../../src/processing/job-registry.js';
import type { EngineStatus, KarafkaRunner } from '../../src/processing/karafka-runner.js';
import type { ListenerStatus } from '../../src/processing/listener/listener-states.js';
import { runningListener } from '../support/listener-status.js';

const CONSUMING_TTL = 5_000;
const PARTITIONS = 1_000;
const options = resolveKarafkaOptions({
  kafka: { 'bootstrap.servers': 'x:9092' },
  liveness: { pollingTtl: 10_000, consumingTtl: CONSUMING_TTL },
});

/** The real indicator and Terminus's HealthIndicatorService over an engine owning 1,000 partitions. */
async function setup(listener: Partial<ListenerStatus> = {}) {
  const now = 1_000_000;
  const status: EngineStatus = {
    state: 'running',
    stoppedUnexpectedly: false,
    listeners: [
      runningListener(now, {
        assigned: Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: 'events', partition })),
        ...listener,
      }),
    ],
  };
  const jobs = new JobRegistry();
  const tracker = new LivenessTracker({ status: () => status } as unknown as KarafkaRunner, jobs, options);
  tracker.now = () => now;
  // No TerminusModule: the indicator builds its own HealthIndicatorService.
  const moduleRef = {
    get: () => {
      throw new Error('no TerminusModule');
    },
  } as unknown as ModuleRef;
  const indicator = new KarafkaHealthIndicator(tracker, moduleRef);
  await indicator.onModuleInit();
  /** A job per partition, `ageMs` old. */
  const stuckJobs = (ageMs: number) => {
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const job = {
        kind: 'consume' as const,
        consumerClass: 'EventsConsumer',
        subscriptionGroup: 'app/default',
      };
      jobs.start({ ...job, topic: 'events', partition }, now - ageMs);
    }
  };
  /** Terminus's body: the indicator's result twice (`info` or `error`, and `details`). */
  const body = (detailed = false) => {
    const result = indicator.isHealthy('karafka', { detailed });
    const up = result.karafka.status === 'up';
    return JSON.stringify({
      status: up ? 'ok' : 'error',
      info: up ? result : {},
      error: up ? {} : result,
      details: result,
    });
  };
  return { indicator, stuckJobs, body };
}

describe('the /health body with 1,000 assigned partitions', () => {
  it('stays under 4 KB while healthy: counts, no partition list', async () => {
    const { indicator, body } = await setup();
    expect(Buffer.byteLength(body())).toBeLessThan(4_096);
    expect(indicator.isHealthy('karafka').karafka).toEqual({
      status: 'up',
      reasons: [],
      state: 'running',
      pollingTtl: 10_000,
      consumingTtl: CONSUMING_TTL,
      subscriptionGroups: [
        {
          id: 'app/default',
          state: 'running',
          joined: true,
          lastPollAgeMs: 0,
          assignedPartitions: 1_000,
          runningJobs: 0,
        },
      ],
    });
  });

  it('stays under 4 KB when every partition is stuck: five reasons and five partitions, the rest counted', async () => {
    const { indicator, stuckJobs, body } = await setup({
      lastError: `Not authorized to access topics: ${'x'.repeat(5_000)}`,
    });
    stuckJobs(CONSUMING_TTL + 1);
    expect(Buffer.byteLength(body())).toBeLessThan(4_096);
    const down = indicator.isHealthy('karafka').karafka;
    expect(down.status).toBe('down');
    expect(down.reasons).toEqual([
      ...[0, 1, 2, 3, 4].map(
        (p) =>
          `consumingTtl exceeded: EventsConsumer consume of events/${p} has run for 5001 ms (consumingTtl 5000 ms)`,
      ),
      'and 995 more reasons',
    ]);
    expect(down.subscriptionGroups[0]).toMatchObject({
      assignedPartitions: 1_000,
      runningJobs: 1_000,
      overduePartitions: [
        'events/0',
        'events/1',
        'events/2',
        'events/3',
        'events/4',
        'and 995 more partitions',
      ],
    });
    expect(down.subscriptionGroups[0].error).toHaveLength(300);
  });

  it('lists only the overdue partitions, not every running job', async () => {
    const { indicator, stuckJobs } = await setup();
    stuckJobs(1); // young jobs: running, not overdue
    const up = indicator.isHealthy('karafka').karafka;
    expect(up.status).toBe('up');
    expect(up.subscriptionGroups[0]).not.toHaveProperty('overduePartitions');
    expect(up.subscriptionGroups[0]).toMatchObject({ runningJobs: 1_000 });
  });

  it('gives every partition and job when asked for the detailed report', async () => {
    const { indicator, stuckJobs, body } = await setup();
    stuckJobs(CONSUMING_TTL + 1);
    const detailed = indicator.isHealthy('karafka', { detailed: true }).karafka;
    expect(detailed.reasons).toHaveLength(1_000);
    expect(detailed.subscriptionGroups[0].assigned).toHaveLength(1_000);
    expect(detailed.subscriptionGroups[0].jobs).toHaveLength(1_000);
    expect(Buffer.byteLength(body(true))).toBeGreaterThan(50_000);
  });
});
