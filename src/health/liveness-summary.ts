import type { LivenessReport, SubscriptionGroupHealth } from './liveness-tracker.js';

/** Most entries of one list in a health body; the rest are counted in a last entry. */
export const HEALTH_LIST_LIMIT = 5;
/** Longest text in a health body: an error can list every topic it concerns. */
const TEXT_LIMIT = 300;

/** One subscription group in a health body: counts, and only what explains a DOWN. */
export interface SubscriptionGroupSummary {
  id: string;
  state: string;
  joined: boolean;
  lastPollAgeMs?: number;
  /** How many partitions it owns; the list is in the detailed report and the TTIN dump. */
  assignedPartitions: number;
  /** How many of its consume/revoked/shutdown jobs are in flight. */
  runningJobs: number;
  /**
   * `topic/partition` of its jobs past `consumingTtl`, the partitions that make liveness DOWN;
   * absent when none. At most {@link HEALTH_LIST_LIMIT}, then `and N more partitions`.
   */
  overduePartitions?: string[];
  /** The client's last error, free of secrets, cut to 300 characters. */
  error?: string;
}

/**
 * The liveness report bounded for a health body, whatever the partition count: per group counts
 * and the overdue partitions; at most {@link HEALTH_LIST_LIMIT} reasons.
 */
export interface LivenessSummary extends Omit<LivenessReport, 'subscriptionGroups'> {
  subscriptionGroups: SubscriptionGroupSummary[];
}

/** The first `limit` items, then one `and N more <noun>` entry for the rest. */
function capped(items: readonly string[], noun: string, limit = HEALTH_LIST_LIMIT): string[] {
  const kept = items.slice(0, limit).map(cut);
  return items.length > limit ? [...kept, `and ${items.length - limit} more ${noun}`] : kept;
}

/** A list for the body, absent when empty so a healthy body stays short. */
function listed<K extends string>(key: K, items: readonly string[], noun: string): { [P in K]?: string[] } {
  return (items.length > 0 ? { [key]: capped(items, noun) } : {}) as { [P in K]?: string[] };
}

function cut(text: string): string {
  return text.length > TEXT_LIMIT ? `${text.slice(0, TEXT_LIMIT - 1)}…` : text;
}

function summarizeGroup(group: SubscriptionGroupHealth, consumingTtl: number): SubscriptionGroupSummary {
  const overdue = group.jobs
    .filter((job) => job.ageMs > consumingTtl)
    .map((job) => `${job.topic}/${job.partition}`);
  return {
    id: group.id,
    state: group.state,
    joined: group.joined,
    lastPollAgeMs: group.lastPollAgeMs,
    assignedPartitions: group.assigned.length,
    runningJobs: group.jobs.length,
    ...listed('overduePartitions', overdue, 'partitions'),
    ...listed('missingTopics', group.missingTopics ?? [], 'topics'),
    ...(group.error ? { error: cut(group.error) } : {}),
  };
}

/** Bounds a liveness report for a health body (see {@link LivenessSummary}). */
export function summarizeLiveness(report: LivenessReport): LivenessSummary {
  const { subscriptionGroups, reasons, error, ...rest } = report;
  return {
    ...rest,
    reasons: capped(reasons, 'reasons'),
    subscriptionGroups: subscriptionGroups.map((group) => summarizeGroup(group, report.consumingTtl)),
    ...(error ? { error: cut(error) } : {}),
  };
}
