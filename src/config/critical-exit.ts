import type { Logger } from '@nestjs/common';

/**
 * `onCriticalError: 'exit'`: close the app, then exit 1 so a supervisor (systemd's
 * `Restart=on-failure`, Kubernetes, Docker's `restart: on-failure`) restarts the process.
 * With shutdown hooks (Nest's `enableShutdownHooks()`, the `karafka server` CLI) the process
 * signals itself, so the host closes the whole app as on a stop: the engine commits what was
 * processed, the producers flush, the app's own hooks run. Nest then re-raises the signal to end
 * the process, and that second SIGTERM exits 1 instead (a SIGTERM death counts as a clean stop to
 * systemd). Without hooks, `close` stops what Karafka owns. Either way the process exits 1 by
 * `deadlineMs`.
 */
export function exitAfterClosing(
  logger: Pick<Logger, 'error'>,
  deadlineMs: number,
  close: () => Promise<unknown>,
): void {
  setTimeout(() => {
    logger.error(`the app did not close within ${deadlineMs} ms (shutdownTimeout): exiting with code 1 now`);
    process.exit(1);
  }, deadlineMs);
  if (process.listenerCount('SIGTERM') === 0) {
    void close().finally(() => process.exit(1));
    return;
  }
  let signals = 0;
  process.on('SIGTERM', () => {
    if (++signals > 1) process.exit(1);
  });
  process.kill(process.pid, 'SIGTERM');
}
