import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ChildFixtures, exited } from '../support/child-fixture.js';
import { brokers, uniqueName } from '../support/kafka/connection.mjs';
import { committedOffsets, createTopic, produceNumbered } from '../support/kafka-topics.js';
import { waitFor } from '../support/wait-for.js';

const fixture = fileURLToPath(new URL('../fixtures/at-least-once-app.mjs', import.meta.url));
const TOTAL = 20_000;
const PARTITIONS = 6;

const fixtures = new ChildFixtures(fixture);
afterEach(() => fixtures.killAll());

function records(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

describe('at-least-once under kill -9', () => {
  it('loses nothing when the consumer process is SIGKILLed 3 times at random moments', async () => {
    const topic = uniqueName('alo');
    const groupId = uniqueName('group');
    const file = join(mkdtempSync(join(tmpdir(), 'karafka-alo-')), 'processed.log');
    await createTopic(topic, PARTITIONS);
    await produceNumbered(topic, TOTAL, PARTITIONS);
    const env = { TOPIC: topic, GROUP_ID: groupId, RECORD_FILE: file, KAFKA_BROKERS: brokers() };

    const killedAt: number[] = [];
    let uncommittedAtKills = 0;
    for (let kill = 1; kill <= 3; kill++) {
      const before = records(file).length;
      const child = fixtures.start(env);
      // Kill at a random moment after this run processed something, well before the end.
      const target = before + 500 + Math.floor(Math.random() * 3_000);
      await waitFor(
        () => records(file).length >= Math.min(target, TOTAL - 2_000),
        60_000,
        `run ${kill} to make progress`,
      );
      child.kill('SIGKILL');
      await exited(child);
      killedAt.push(records(file).length);
      // What a restart may repeat: processed messages at or above the committed offsets.
      const committed = await committedOffsets(groupId, topic);
      const processed = new Set(records(file).map((line) => line.split(' ').slice(1).join(' ')));
      uncommittedAtKills += [...processed].filter((entry) => {
        const [partition, offset] = entry.split(' ').map(Number);
        return offset >= (committed.get(partition) ?? -1);
      }).length;
    }
    const last = fixtures.start(env);
    await waitFor(
      async () => {
        const offsets = await committedOffsets(groupId, topic);
        return [...offsets.values()].reduce((sum, offset) => sum + Math.max(0, offset), 0) === TOTAL;
      },
      90_000,
      'every offset to be committed',
    );
    last.kill('SIGTERM');
    await exited(last);

    const lines = records(file);
    const keys = new Set(lines.map((line) => line.split(' ')[0]));
    for (let n = 0; n < TOTAL; n++)
      if (!keys.has(String(n))) throw new Error(`message ${n} was never processed`);
    const duplicates = lines.length - keys.size;
    // A kill may repeat only what was processed but not committed when it happened.
    expect(duplicates).toBeLessThanOrEqual(uncommittedAtKills);
    console.log(
      `at-least-once: ${TOTAL} messages, kills after ${killedAt.join(', ')} records, ${duplicates} duplicates, uncommitted window ${uncommittedAtKills}`,
    );
  });
});
