import type { Logger } from '@nestjs/common';
import type { ResolvedKarafkaOptions } from '../config/karafka-options.js';

/**
 * Karafka's embedding caveats, checked once the host has booted: the host owns the signals, so
 * without shutdown hooks a SIGTERM kills in-flight work without a stop; and a host deadline
 * shorter than shutdownTimeout cuts the stop short.
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
  if (terminusGraceMs !== undefined && terminusGraceMs > 0 && terminusGraceMs < options.shutdownTimeout) {
    logger.warn(
      `@nestjs/terminus gracefulShutdownTimeoutMs (${terminusGraceMs} ms) is shorter than shutdownTimeout (${options.shutdownTimeout} ms): size the host's deadline for both (terminus waits first, then Karafka drains), or lower shutdownTimeout.`,
    );
  }
  if (options.hostShutdownTimeout !== undefined && options.hostShutdownTimeout < options.shutdownTimeout) {
    logger.warn(
      `hostShutdownTimeout (${options.hostShutdownTimeout} ms) is shorter than shutdownTimeout (${options.shutdownTimeout} ms): the host may kill the process while Karafka still drains. Raise the host's deadline (e.g. terminationGracePeriodSeconds, TimeoutStopSec) or lower shutdownTimeout.`,
    );
  }
}
