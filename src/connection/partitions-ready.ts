import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaClientError, type PartitionInfo } from './kafka-client.js';

const POLL_MS = 100;

/**
 * Resolves once `read` shows `count` partitions, each with a leader. The broker answers a
 * CreateTopics or CreatePartitions request before its metadata shows the result, so a read
 * right after it could see none: `AdminClient` resolves only when they are usable.
 */
export async function untilPartitionsLed(
  topic: string,
  count: number,
  read: () => Promise<PartitionInfo[]>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const partitions = await read().catch(() => []);
    if (partitions.length >= count && partitions.every(({ leader }) => leader >= 0)) return;
    if (Date.now() >= deadline)
      throw new KafkaClientError(
        `${topic} does not show ${count} partitions with a leader ${timeoutMs} ms after it was changed`,
        { retriable: true, topic },
      );
    await sleep(POLL_MS);
  }
}
