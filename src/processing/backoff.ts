import type { PauseOptions } from '../config/karafka-options.js';

/** Pause before retry number `retry` (1 = first retry), Karafka's exponential backoff. */
export function pauseTimeout(pause: PauseOptions, retry: number): number {
  if (!pause.withExponentialBackoff) return pause.timeout;
  return Math.min(pause.timeout * 2 ** Math.max(0, retry - 1), pause.maxTimeout);
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
