/**
 * The timers of one in-memory client or cluster, counted, so a test can prove that `stop()`
 * leaves none behind.
 */
export class Timers {
  private readonly live = new Set<NodeJS.Timeout | NodeJS.Immediate>();

  get count(): number {
    return this.live.size;
  }

  after(ms: number, work: () => void): () => void {
    const handle = setTimeout(() => {
      this.live.delete(handle);
      work();
    }, ms);
    this.live.add(handle);
    return () => {
      clearTimeout(handle);
      this.live.delete(handle);
    };
  }

  soon(work: () => void): () => void {
    const handle = setImmediate(() => {
      this.live.delete(handle);
      work();
    });
    this.live.add(handle);
    return () => {
      clearImmediate(handle);
      this.live.delete(handle);
    };
  }

  clearAll(): void {
    for (const handle of this.live) {
      clearTimeout(handle as NodeJS.Timeout);
      clearImmediate(handle as NodeJS.Immediate);
    }
    this.live.clear();
  }
}
