import { describe, expect, it } from 'vitest';
import { KafkaClientError, type PartitionInfo } from '../../src/connection/kafka-client.js';
import { untilPartitionsLed } from '../../src/connection/partitions-ready.js';

const led = (partition: number, leader = 1): PartitionInfo => ({
  partition,
  leader,
  replicas: [1],
  isr: [1],
});

describe('untilPartitionsLed', () => {
  it('waits through a missing topic, too few partitions and a leaderless one', async () => {
    const answers: (() => Promise<PartitionInfo[]>)[] = [
      () => Promise.reject(new Error('UNKNOWN_TOPIC_OR_PARTITION')),
      () => Promise.resolve([]),
      () => Promise.resolve([led(0), led(1)]),
      () => Promise.resolve([led(0), led(1), led(2, -1)]),
      () => Promise.resolve([led(0), led(1), led(2)]),
    ];
    let reads = 0;
    await untilPartitionsLed('orders', 3, () => answers[reads++]!(), 5_000);
    expect(reads).toBe(answers.length);
  });

  it('fails, naming the topic, when the metadata never shows them', async () => {
    const failure = await untilPartitionsLed('orders', 3, () => Promise.resolve([led(0)]), 250).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(KafkaClientError);
    expect(failure).toMatchObject({ retriable: true, topic: 'orders' });
    expect((failure as Error).message).toMatch(/orders does not show 3 partitions with a leader/);
  });
});
