import { createRequire } from 'node:module';
import { Logger } from '@nestjs/common';
import { offsetResetWarning } from '../offset-reset.js';

/** A position kafkajs reset by itself, for the driver that owns the member. */
export interface OffsetReset {
  groupId: string;
  memberId: string;
  topic: string;
  partition: number;
  from: number;
}

const listeners = new Set<(reset: OffsetReset) => void>();

/** Hears every reset of every kafkajs consumer in the process; returns the unsubscribe. */
export function onOffsetReset(listener: (reset: OffsetReset) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

interface OffsetManager {
  groupId: string;
  memberId: string;
  cluster: {
    fetchTopicsOffset(
      topics: { topic: string; fromBeginning: boolean; partitions: { partition: number }[] }[],
    ): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
  };
  topicConfigurations: Record<string, { fromBeginning: boolean }>;
  resolvedOffsets: Record<string, Record<number, string>>;
  nextOffset(topic: string, partition: number): { toString(): string };
  setDefaultOffset(position: { topic: string; partition: number }): Promise<void>;
}

let installed = false;

/**
 * kafkajs answers OFFSET_OUT_OF_RANGE by *committing* -2 or -1 for the partition, then reading
 * the group's offset again. That commit is a lie the broker keeps: a later restart with
 * `auto.offset.reset: latest` jumps to the end and skips everything between. The Java client and
 * librdkafka only move their position. This makes kafkajs 2.2.4 (pinned) do the same: look the
 * reset offset up and fetch on from there, committing nothing.
 */
export function installOffsetResetWithoutCommit(): void {
  if (installed) return;
  installed = true;
  const require = createRequire(import.meta.url);
  const OffsetManagerClass = require('kafkajs/src/consumer/offsetManager/index.js') as {
    prototype: OffsetManager;
  };
  const logger = new Logger('Karafka kafkajs');
  OffsetManagerClass.prototype.setDefaultOffset = async function (this: OffsetManager, { topic, partition }) {
    const fromBeginning = this.topicConfigurations[topic]?.fromBeginning ?? false;
    const [answer] = await this.cluster.fetchTopicsOffset([
      { topic, fromBeginning, partitions: [{ partition }] },
    ]);
    const offset = answer?.partitions.find((p) => p.partition === partition)?.offset;
    if (offset === undefined) return;
    const from = this.nextOffset(topic, partition).toString();
    logger.warn(offsetResetWarning(topic, partition, from, offset, fromBeginning ? 'earliest' : 'latest'));
    this.resolvedOffsets[topic][partition] = offset;
    const reset = { groupId: this.groupId, memberId: this.memberId, topic, partition, from: Number(from) };
    for (const listener of listeners) listener(reset);
  };
}
