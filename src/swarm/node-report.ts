/** What a node sends its supervisor over the IPC channel, at least every {@link REPORT_INTERVAL_MS}. */
export interface NodeReport {
  type: 'karafka:node-report';
  /** The node's liveness (pollingTtl, consumingTtl, a failed engine). */
  healthy: boolean;
  /** Why it is unhealthy; empty when healthy. */
  reasons: string[];
  /** Resident set size, in MB, for `swarm.nodeMemoryLimit`. */
  rssMb: number;
}

/** Longest time between two reports of a node (Karafka's liveness_interval). */
export const REPORT_INTERVAL_MS = 10_000;

/** How often a node reports: every 10 s, or more often when the supervisor waits less (a third of `nodeReportTimeout`). */
export function reportInterval(nodeReportTimeout: number): number {
  return Math.min(REPORT_INTERVAL_MS, Math.max(100, Math.floor(nodeReportTimeout / 3)));
}

export function isNodeReport(message: unknown): message is NodeReport {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as { type?: unknown }).type === 'karafka:node-report'
  );
}
