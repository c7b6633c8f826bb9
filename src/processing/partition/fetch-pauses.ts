/** Why a partition is not fetched: a full prefetch, a spent process budget, a retry backoff or pause, a quiet or stopping engine. */
export type FetchPauseReason = 'prefetch' | 'budget' | 'backoff' | 'closed';

/**
 * The reasons a partition is paused in the client, each set and cleared on its own: the client
 * is paused while any holds and resumed when the last one clears.
 */
export class FetchPauses {
  private readonly reasons = new Set<FetchPauseReason>();

  constructor(private readonly client: { pause(): void; resume(): void }) {}

  has(reason: FetchPauseReason): boolean {
    return this.reasons.has(reason);
  }

  set(reason: FetchPauseReason, on: boolean): void {
    if (on === this.reasons.has(reason)) return;
    if (on) {
      this.reasons.add(reason);
      if (this.reasons.size === 1) this.client.pause();
    } else {
      this.reasons.delete(reason);
      if (this.reasons.size === 0) this.client.resume();
    }
  }

  /** After the client forgot its pauses (a revoke kept by the same member): pause again if needed. */
  reapply(): void {
    if (this.reasons.size > 0) this.client.pause();
  }
}
