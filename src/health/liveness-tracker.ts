import { Inject, Injectable } from '@nestjs/common';
import type { ResolvedKarafkaOptions } from '../config/karafka-options.js';
import type { AppState } from '../instrumentation/karafka-events.js';
import { KARAFKA_OPTIONS } from '../karafka.constants.js';
import { JobRegistry } from '../processing/job-registry.js';
import { KarafkaRunner } from '../processing/karafka-runner.js';

/** One user-code job in flight, as health reports it. */
export interface RunningJobHealth {
  consumerClass: string;
  /** `consume`, `revoked` or `shutdown`. */
  job: string;
  topic: string;
  partition: number;
  ageMs: number;
}

/** One subscription group (one Kafka consumer), as health reports it. */
export interface SubscriptionGroupHealth {
  id: string;
  state: string;
  /** Has joined its consumer group (stays true through a rebalance; false after a client crash). */
  joined: boolean;
  /** Since the last fetch-loop iteration (or since connecting began, before the first one). */
  lastPollAgeMs?: number;
  /** `topic/partition` of every partition it owns now. */
  assigned: string[];
  /** Messages behind the high watermark, by `topic/partition` (partitions with a position yet). */
  lag: Record<string, number>;
  /** Its jobs in flight, with their ages. */
  jobs: RunningJobHealth[];
  /** The client's last error, free of secrets. */
  error?: string;
  /** Subscribed topics the cluster does not have: the others are consumed meanwhile. */
  missingTopics?: string[];
}

/** What the liveness checks found; free of secrets, fit for a health body. */
export interface LivenessReport {
  healthy: boolean;
  /** Why it is unhealthy, one sentence each; empty when healthy. */
  reasons: string[];
  state: AppState;
  pollingTtl: number;
  consumingTtl: number;
  subscriptionGroups: SubscriptionGroupHealth[];
  /** The error that made the engine give up, if any. */
  error?: string;
}

export interface ReadinessReport {
  ready: boolean;
  reasons: string[];
  state: AppState;
  subscriptionGroups: { id: string; state: string; joined: boolean }[];
}

/** Where polling counts: a listener connecting, consuming or quiet (quiet keeps polling). */
const POLLING_STATES = new Set(['connecting', 'running', 'quiet']);

/**
 * Karafka's Kubernetes LivenessListener, computed on demand from the engine: unhealthy when a
 * subscription group has not polled for `pollingTtl`, a consume/revoked/shutdown job has run
 * longer than `consumingTtl`, or the engine failed for good. Never unhealthy for an idle topic,
 * no assignment, a short rebalance or a retried consume error.
 */
@Injectable()
export class LivenessTracker {
  /**
   * The clock ages are measured on, replaceable in tests. The engine stamps polls and jobs with
   * `Date.now()`: against a real engine, fake `Date` instead (`vi.useFakeTimers({ toFake: ['Date'] })`).
   */
  now: () => number = Date.now;

  constructor(
    private readonly runner: KarafkaRunner,
    private readonly jobs: JobRegistry,
    @Inject(KARAFKA_OPTIONS) private readonly options: ResolvedKarafkaOptions,
  ) {}

  liveness(): LivenessReport {
    const now = this.now();
    const { pollingTtl, consumingTtl } = this.options.liveness;
    const status = this.runner.status();
    const reasons: string[] = [];
    if (status.fatalError) reasons.push(`the engine failed and will not recover: ${status.fatalError}`);

    const jobs = this.jobs.list().map((job) => ({
      subscriptionGroup: job.subscriptionGroup,
      health: {
        consumerClass: job.consumerClass,
        job: job.kind,
        topic: job.topic,
        partition: job.partition,
        ageMs: now - job.startedAt,
      } satisfies RunningJobHealth,
    }));

    const subscriptionGroups = status.listeners.map((listener): SubscriptionGroupHealth => {
      const since = listener.lastPollAt ?? listener.startedAt;
      const lastPollAgeMs = since === undefined ? undefined : now - since;
      if (listener.state === 'crashed')
        reasons.push(`subscription group ${listener.id} crashed: ${listener.lastError ?? 'unknown error'}`);
      else if (
        POLLING_STATES.has(listener.state) &&
        lastPollAgeMs !== undefined &&
        lastPollAgeMs > pollingTtl
      ) {
        const cause =
          listener.lastPollAt === undefined
            ? `has not polled since it started connecting ${lastPollAgeMs} ms ago`
            : `last polled ${lastPollAgeMs} ms ago`;
        reasons.push(
          `pollingTtl exceeded: subscription group ${listener.id} ${cause} (pollingTtl ${pollingTtl} ms)${listener.lastError ? `; last error: ${listener.lastError}` : ''}`,
        );
      }
      return {
        id: listener.id,
        state: listener.state,
        joined: listener.joined,
        lastPollAgeMs,
        assigned: listener.assigned.map(({ topic, partition }) => `${topic}/${partition}`),
        lag: listener.lag,
        jobs: jobs.filter((job) => job.subscriptionGroup === listener.id).map((job) => job.health),
        ...(listener.lastError ? { error: listener.lastError } : {}),
        ...(listener.missingTopics.length > 0 ? { missingTopics: listener.missingTopics } : {}),
      };
    });

    // Every running job counts, also one whose listener is already gone (a stop past its timeout).
    for (const { health: job } of jobs) {
      if (job.ageMs > consumingTtl) {
        reasons.push(
          `consumingTtl exceeded: ${job.consumerClass} ${job.job} of ${job.topic}/${job.partition} has run for ${job.ageMs} ms (consumingTtl ${consumingTtl} ms)`,
        );
      }
    }

    return {
      healthy: reasons.length === 0,
      reasons,
      state: status.state,
      pollingTtl,
      consumingTtl,
      subscriptionGroups,
      ...(status.fatalError ? { error: status.fatalError } : {}),
    };
  }

  /** Ready when the engine runs and every subscription group has joined its consumer group. */
  readiness(): ReadinessReport {
    const status = this.runner.status();
    const reasons: string[] = [];
    if (status.state !== 'running') reasons.push(`the engine is ${status.state}`);
    else {
      for (const { id, state, joined } of status.listeners) {
        if (!joined) reasons.push(`subscription group ${id} has not joined its group (${state})`);
        else if (state !== 'running') reasons.push(`subscription group ${id} is ${state}`);
      }
    }
    return {
      ready: reasons.length === 0,
      reasons,
      state: status.state,
      subscriptionGroups: status.listeners.map(({ id, state, joined }) => ({ id, state, joined })),
    };
  }
}
