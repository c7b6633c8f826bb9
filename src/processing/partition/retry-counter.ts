/**
 * Attempts of the first unprocessed message of one partition. Counted per message: the count
 * starts again whenever the first unprocessed offset moves, so a message reaches the DLQ only
 * after its own `maxRetries + 1` attempts.
 */
export class RetryCounter {
  private offset?: number;
  private failures = 0;

  /** The attempt a job starting at `firstOffset` is: 1, or 1 + the failures of that message. */
  attemptAt(firstOffset: number): number {
    return firstOffset === this.offset ? this.failures + 1 : 1;
  }

  /** A job failed at `offset`; returns how many attempts that message has had. */
  failedAt(offset: number): number {
    if (offset !== this.offset) {
      this.offset = offset;
      this.failures = 0;
    }
    return ++this.failures;
  }

  reset(): void {
    this.offset = undefined;
    this.failures = 0;
  }
}
