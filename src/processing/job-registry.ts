import { Injectable } from '@nestjs/common';
import type { JobKind } from '../instrumentation/karafka-events.js';

/** A user-code job the engine is running now. */
export interface RunningJob {
  id: number;
  kind: JobKind;
  consumerClass: string;
  subscriptionGroup: string;
  topic: string;
  partition: number;
  startedAt: number;
  firstOffset?: number;
  lastOffset?: number;
}

/** Every consume/revoked/shutdown job in flight, for liveness, forced-stop reports and TTIN dumps. */
@Injectable()
export class JobRegistry {
  private nextId = 1;
  private readonly running = new Map<number, RunningJob>();

  start(job: Omit<RunningJob, 'id' | 'startedAt'>, now = Date.now()): number {
    const id = this.nextId++;
    this.running.set(id, { ...job, id, startedAt: now });
    return id;
  }

  finish(id: number): void {
    this.running.delete(id);
  }

  list(): RunningJob[] {
    return [...this.running.values()];
  }

  /** One line per job: `OrdersConsumer consume orders/3 offsets 10-99 for 1234 ms`. */
  describe(now = Date.now()): string[] {
    return this.list().map((job) => {
      const offsets = job.firstOffset === undefined ? '' : ` offsets ${job.firstOffset}-${job.lastOffset}`;
      return `${job.consumerClass} ${job.kind} ${job.topic}/${job.partition}${offsets} for ${now - job.startedAt} ms`;
    });
  }
}
