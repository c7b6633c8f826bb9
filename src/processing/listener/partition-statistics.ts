import type { PartitionStatistics } from '../../instrumentation/karafka-events.js';
import type { OffsetCommitter } from '../offset-committer.js';
import type { PartitionExecutor } from '../partition/partition-executor.js';

/** Position, committed offset, high watermark and lag of every partition that has a position yet. */
export function partitionStatistics(
  executors: PartitionExecutor[],
  committer: OffsetCommitter,
): PartitionStatistics[] {
  const partitions: PartitionStatistics[] = [];
  for (const executor of executors) {
    const { offset, highWatermark } = executor.snapshot();
    if (offset === undefined || highWatermark < 0) continue;
    partitions.push({
      topic: executor.topic,
      partition: executor.partition,
      offset,
      committedOffset: committer.committedOffset(executor),
      highWatermark,
      lag: Math.max(0, highWatermark - offset),
    });
  }
  return partitions;
}

/**
 * A listener's `statistics.emitted`: every `statistics.interval.ms`, its partitions' figures and
 * the client library's own last statistics (librdkafka's), when it gives any.
 */
export class ListenerStatistics {
  private timer?: NodeJS.Timeout;
  private client?: Record<string, unknown>;

  constructor(
    private readonly partitions: () => PartitionStatistics[],
    private readonly emit: (statistics: {
      partitions: PartitionStatistics[];
      client?: Record<string, unknown>;
    }) => void,
  ) {}

  /** The client library's statistics, kept for the next emission. */
  received(statistics: Record<string, unknown>): void {
    this.client = statistics;
  }

  start(intervalMs: unknown): void {
    if (typeof intervalMs !== 'number' || intervalMs <= 0) return;
    this.timer = setInterval(() => {
      const { client } = this;
      this.emit({ partitions: this.partitions(), ...(client ? { client } : {}) });
    }, intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Each partition's lag, by `topic/partition`, for health details. */
  lag(): Record<string, number> {
    return Object.fromEntries(this.partitions().map((p) => [`${p.topic}/${p.partition}`, p.lag]));
  }
}
