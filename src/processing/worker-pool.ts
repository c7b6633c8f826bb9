/**
 * Karafka's worker pool: at most `capacity` consume jobs at once across every partition and
 * subscription group, first come first served.
 */
export class WorkerPool {
  private active = 0;
  private readonly queue: (() => Promise<void>)[] = [];

  constructor(readonly capacity: number) {}

  get running(): number {
    return this.active;
  }

  schedule(task: () => Promise<void>): void {
    this.queue.push(task);
    this.drain();
  }

  private drain(): void {
    while (this.active < this.capacity && this.queue.length > 0) {
      const task = this.queue.shift()!;
      this.active++;
      task()
        .catch(() => undefined)
        .finally(() => {
          this.active--;
          this.drain();
        });
    }
  }
}
