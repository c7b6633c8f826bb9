import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ChildFixtures, exited } from '../support/child-fixture.js';
import { brokers, uniqueName } from '../support/kafka/connection.mjs';
import { javaConsume } from '../support/java-client.js';
import {
  committedOffsets,
  createTopic,
  produceNumbered,
  readTopic,
  withAdmin,
} from '../support/kafka-topics.js';
import { waitFor } from '../support/wait-for.js';

const fixture = fileURLToPath(new URL('../fixtures/exactly-once-app.mjs', import.meta.url));
const TOTAL = 10_000;
const PARTITIONS = 6;

const fixtures = new ChildFixtures(fixture);
afterEach(() => fixtures.killAll());

async function committedTotal(groupId: string, topic: string): Promise<number> {
  const offsets = await committedOffsets(groupId, topic);
  return [...offsets.values()].reduce((sum, offset) => sum + Math.max(0, offset), 0);
}

describe('exactly-once consume-transform-produce under kill -9', () => {
  it('the output read read_committed holds each input exactly once after 3 SIGKILLs at random moments', async () => {
    const input = uniqueName('eos-in');
    const output = uniqueName('eos-out');
    const groupId = uniqueName('eos-group');
    await createTopic(input, PARTITIONS);
    await createTopic(output, PARTITIONS);
    await produceNumbered(input, TOTAL, PARTITIONS);
    const env = { INPUT: input, OUTPUT: output, GROUP_ID: groupId, KAFKA_BROKERS: brokers() };

    const killedAt: number[] = [];
    for (let kill = 1; kill <= 3; kill++) {
      const before = await committedTotal(groupId, input);
      const child = fixtures.start(env);
      // Kill at a random moment after this run committed something, well before the end.
      const target = Math.min(before + 300 + Math.floor(Math.random() * 2_000), TOTAL - 2_000);
      await waitFor(
        async () => (await committedTotal(groupId, input)) >= target,
        90_000,
        `run ${kill} to make progress`,
      );
      // Somewhere inside the next transactions, not at a commit boundary.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 300));
      child.kill('SIGKILL');
      await exited(child);
      killedAt.push(await committedTotal(groupId, input));
    }
    const last = fixtures.start(env);
    await waitFor(
      async () => (await committedTotal(groupId, input)) === TOTAL,
      120_000,
      'every input offset committed',
    );
    last.kill('SIGTERM');
    await exited(last);

    // Read twice: by kafkajs as the driver patches it, and by the Java client, Kafka's reference reader.
    const read = await readTopic(output, PARTITIONS);
    const counts = new Map<string, number>();
    for (const message of read) counts.set(message.key, (counts.get(message.key) ?? 0) + 1);
    const missing = Array.from({ length: TOTAL }, (_, n) => String(n)).filter((key) => !counts.has(key));
    const repeated = [...counts].filter(([, count]) => count > 1).map(([key]) => key);
    expect(missing).toEqual([]);
    expect(repeated).toEqual([]);
    expect(read).toHaveLength(TOTAL);
    // TOTAL records and the sentinels readTopic appended: a repeated one would leave an n unread.
    expect(await javaConsume(output, TOTAL + PARTITIONS, 'read_committed')).toEqual({
      records: TOTAL + PARTITIONS,
      distinct: TOTAL,
    });
    const offsets = await withAdmin((admin) => admin.fetchTopicOffsets(output));
    const written = offsets.reduce((sum, partition) => sum + Number(partition.high), 0);
    console.log(
      `exactly-once: ${TOTAL} inputs, kills after ${killedAt.join(', ')} committed offsets; ${written} output offsets (records, aborted records, markers), ${read.length} records read_committed`,
    );
  });
});
