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
