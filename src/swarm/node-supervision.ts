import type { ChildProcess } from 'node:child_process';
import type { NodeReport } from './node-report.js';

/** What the supervisor knows of one node slot: the process now in it, and its history. */
export interface NodeSlot {
  index: number;
  child?: ChildProcess;
  pid?: number;
  startedAt: number;
  /** When the node last reported (its start, before the first report). */
  lastReportAt: number;
  report?: NodeReport;
  /** Set once SIGTERM was sent: when, why, and when SIGKILL follows if the node still lives. */
  stop?: { at: number; reason: string; killAt: number };
  killedAt?: number;
  /** Set once the process exited. */
  exit?: { at: number; code: number | null; signal: NodeJS.Signals | null };
}

export interface SupervisionLimits {
  shutdownTimeout: number;
  nodeReportTimeout: number;
  nodeRestartTimeout: number;
  nodeMemoryLimit?: number;
}

export type NodeAction =
  { kind: 'terminate'; reason: string } | { kind: 'kill'; reason: string } | { kind: 'restart' };

/**
 * Karafka's Manager#control for one node, as a decision: a stopping node past its deadline is
 * killed; a running one that reported unhealthy, went over the memory limit or fell silent is
 * stopped (SIGTERM, SIGKILL `shutdownTimeout` later); a dead one is started again
 * `nodeRestartTimeout` after it died. `supervising` is false while the swarm is quiet or stopping:
 * nothing is stopped for health then, and nothing restarted.
 */
export function nextAction(
  slot: NodeSlot,
  now: number,
  limits: SupervisionLimits,
  supervising: boolean,
): NodeAction | undefined {
  if (slot.exit) {
    return supervising && now - slot.exit.at >= limits.nodeRestartTimeout ? { kind: 'restart' } : undefined;
  }
  if (slot.stop) {
    return slot.killedAt === undefined && now >= slot.stop.killAt
      ? { kind: 'kill', reason: `still alive ${now - slot.stop.at} ms after SIGTERM (${slot.stop.reason})` }
      : undefined;
  }
  if (!supervising) return undefined;
  const { report } = slot;
  if (report && !report.healthy) {
    return {
      kind: 'terminate',
      reason: `reported unhealthy: ${report.reasons.join('; ') || 'no reason given'}`,
    };
  }
  if (report && limits.nodeMemoryLimit !== undefined && report.rssMb > limits.nodeMemoryLimit) {
    return {
      kind: 'terminate',
      reason: `uses ${report.rssMb} MB, over swarm.nodeMemoryLimit (${limits.nodeMemoryLimit} MB)`,
    };
  }
  const silentFor = now - slot.lastReportAt;
  if (silentFor > limits.nodeReportTimeout) {
    return {
      kind: 'terminate',
      reason: `silent for ${silentFor} ms, past swarm.nodeReportTimeout (${limits.nodeReportTimeout} ms)`,
    };
  }
  return undefined;
}
