import type { Logger } from '@nestjs/common';
import type { ResolvedKarafkaOptions } from '../config/karafka-options.js';

/**
 * Karafka's embedding caveats, checked once the host has booted: the host owns the signals, so
 * without shutdown hooks a SIGTERM kills in-flight work without a stop; and a host deadline
 * shorter than Terminus's delay plus shutdownTimeout cuts the stop short.
 */
export function checkEmbedding(
  options: ResolvedKarafkaOptions,
  logger: Pick<Logger, 'warn'>,
  terminusGraceMs?: number,
): void {
  // SIGTERM is what Kubernetes, systemd and Docker send. Any listener counts: Nest's
  // enableShutdownHooks() adds one, and so does a host that stops the runner by hand.
  if (process.listenerCount('SIGTERM') === 0) {
    logger.warn(
      'Karafka runs embedded but no shutdown hooks are enabled (nothing listens to SIGTERM): a SIGTERM will kill in-flight batches without committing them or running shutdown(). Call app.enableShutdownHooks() (or stop KarafkaRunner from your own SIGTERM handler).',
    );
  }
  // Terminus's gracefulShutdownTimeoutMs is a delay before shutdown begins, not a deadline:
  // the host must wait for it and then for the drain.
  const delay = terminusGraceMs ?? 0;
  const host = options.hostShutdownTimeout;
  if (host === undefined || delay + options.shutdownTimeout <= host) return;
  const needed =
    delay > 0
      ? `@nestjs/terminus waits gracefulShutdownTimeoutMs (${delay} ms) before the stop begins, then Karafka drains for up to shutdownTimeout (${options.shutdownTimeout} ms): ${delay + options.shutdownTimeout} ms`
      : `shutdownTimeout (${options.shutdownTimeout} ms)`;
  logger.warn(
    `${needed} exceeds hostShutdownTimeout (${host} ms): the host may kill the process while Karafka still drains. Raise the host's deadline (e.g. terminationGracePeriodSeconds, TimeoutStopSec), or lower ${delay > 0 ? 'gracefulShutdownTimeoutMs or ' : ''}shutdownTimeout.`,
  );
}
