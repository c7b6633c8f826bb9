/** Node's setTimeout fires at once past this (a 32-bit signed delay), so longer pauses are capped. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Karafka's pause time tracker for one partition: a pause that ends by itself after its timeout,
 * or earlier by hand. Only one at a time; a new pause replaces the old one.
 */
export class PauseTracker {
  private timer?: NodeJS.Timeout;

  get paused(): boolean {
    return this.timer !== undefined;
  }

  /** Pauses for `timeoutMs`; `expired` runs when it ends by itself. */
  pause(timeoutMs: number, expired: () => void): void {
    this.cancel();
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        expired();
      },
      Math.min(Math.max(0, timeoutMs), MAX_TIMER_MS),
    );
  }

  /** Ends the pause without running its expiry; true when there was one. */
  cancel(): boolean {
    if (!this.timer) return false;
    clearTimeout(this.timer);
    this.timer = undefined;
    return true;
  }
}
