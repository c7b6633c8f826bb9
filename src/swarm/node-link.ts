import type { NodeReport } from './node-report.js';

/** How often a node checks that its supervisor is still its parent: the backstop to the IPC 'disconnect'. */
const PARENT_CHECK_MS = 1_000;

export interface NodeLinkOptions {
  /** The supervisor's pid: the node's parent while the supervisor lives. */
  supervisorPid: number;
  intervalMs: number;
  /** The node's liveness now. */
  liveness: () => Pick<NodeReport, 'healthy' | 'reasons'>;
  /** The supervisor is gone (its IPC channel closed, or the node was re-parented): called once. */
  onOrphaned: (why: string) => void;
}

/**
 * The node's side of the swarm: reports liveness and memory over the IPC channel (at once, then
 * every `intervalMs`), and notices when the supervisor is gone, even killed with SIGKILL: the
 * channel closes ('disconnect'), and as a backstop the parent pid changes. Returns a function
 * that stops reporting.
 */
export function linkToSupervisor(options: NodeLinkOptions): () => void {
  let orphaned = false;
  const orphan = (why: string) => {
    if (orphaned) return;
    orphaned = true;
    options.onOrphaned(why);
  };
  const report = () => {
    if (!process.connected) return;
    const { healthy, reasons } = options.liveness();
    const message: NodeReport = {
      type: 'karafka:node-report',
      healthy,
      reasons,
      rssMb: Math.round(process.memoryUsage.rss() / 1024 / 1024),
    };
    process.send?.(message);
  };
  const onDisconnect = () => orphan('its IPC channel closed');
  process.on('disconnect', onDisconnect);
  const reporting = setInterval(report, options.intervalMs);
  const watching = setInterval(() => {
    if (process.ppid !== options.supervisorPid) orphan(`the node's parent is now pid ${process.ppid}`);
  }, PARENT_CHECK_MS);
  reporting.unref();
  watching.unref();
  if (!process.connected) orphan('its IPC channel is closed');
  report();
  return () => {
    clearInterval(reporting);
    clearInterval(watching);
    process.off('disconnect', onDisconnect);
  };
}
