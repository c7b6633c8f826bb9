import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cli,
  fixture,
  start,
  titleOf,
  useCliProcesses,
  waitForOutput,
  type Run,
} from '../support/cli-process.js';
import { uniqueName } from '../support/kafka/connection.mjs';
import {
  committedOffsets,
  createTopic,
  produceNumbered,
  testKafka,
  withAdmin,
} from '../support/kafka-topics.js';
import { freePort } from '../support/free-port.js';
import { waitFor } from '../support/wait-for.js';
import { librdkafkaUnavailable } from '../support/librdkafka.js';

useCliProcesses();

const PARTITIONS = 6;
/** Booting four Nest processes on a loaded machine takes a while: conditions get this long. */
const BOOT_MS = 60_000;

/** `karafka swarm --nodes 3` in a process group of its own, so a failed test kills the nodes too. */
function swarm(env: Record<string, string>, ...flags: string[]): Run {
  return start(process.execPath, [cli, 'swarm', '--module', fixture, '--nodes', '3', ...flags], env, true);
}

/** Every node the supervisor started, in order: `node <index> started (pid <pid>)`. */
function startedNodes(run: Run): { index: number; pid: number }[] {
  return [...run.output().matchAll(/node (\d+) started \(pid (\d+)\)/g)].map((match) => ({
    index: Number(match[1]),
    pid: Number(match[2]),
  }));
}

/** The pid now in each node slot. */
function currentNodes(run: Run): Map<number, number> {
  return new Map(startedNodes(run).map(({ index, pid }) => [index, pid]));
}

/** Alive and not a zombie (an orphan's zombie waits for init to reap it). */
function alive(pid: number): boolean {
  try {
    return !execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' })
      .trim()
      .startsWith('Z');
  } catch {
    return false;
  }
}

/** Waits until the consumer group is stable with `members` members, each with partitions. */
async function waitForMembers(groupId: string, members: number): Promise<void> {
  await waitFor(
    () =>
      withAdmin(async (admin) => {
        const { groups } = await admin.describeGroups([groupId]);
        return (
          groups[0]?.state === 'Stable' &&
          groups[0].members.length === members &&
          groups[0].members.every((member) => member.memberAssignment.length > 0)
        );
      }),
    BOOT_MS,
    `${members} members in ${groupId}`,
  );
}

/** `partition:offset` of every message some batch finished (a batch-end line). */
function processed(run: Run, topic: string): Set<string> {
  const done = new Set<string>();
  for (const [, partition, first, last] of run
    .output()
    .matchAll(new RegExp(`batch-end ${topic}/(\\d+) (\\d+)-(\\d+)`, 'g'))) {
    for (let offset = Number(first); offset <= Number(last); offset++) done.add(`${partition}:${offset}`);
  }
  return done;
}

/** The `partition:offset` of messages 0..count-1 of produceNumbered over PARTITIONS partitions. */
function numbered(count: number): string[] {
  return Array.from({ length: count }, (_, n) => `${n % PARTITIONS}:${Math.floor(n / PARTITIONS)}`);
}

async function waitForProcessed(run: Run, topic: string, count: number): Promise<void> {
  await waitFor(
    () => numbered(count).every((key) => processed(run, topic).has(key)),
    BOOT_MS,
    `${count} messages processed`,
  );
}

/** One JSON message to one partition. */
async function produceOne(topic: string, partition: number, payload: object): Promise<void> {
  const producer = testKafka().producer();
  await producer.connect();
  try {
    await producer.send({ topic, messages: [{ partition, value: JSON.stringify(payload) }], acks: -1 });
  } finally {
    await producer.disconnect();
  }
}

/** The partitions each node held at its last SIGTTIN dump, by node index. */
function lastDumps(run: Run, groupId: string): Map<string, string> {
  const dump = new RegExp(
    `\\[karafka node (\\d)\\] SIGTTIN: subscription group ${groupId}/default: .*assigned (.+)`,
    'g',
  );
  return new Map([...run.output().matchAll(dump)].map((m) => [m[1], m[2].split(', ').sort().join(', ')]));
}

const status = async (port: number) => (await fetch(`http://127.0.0.1:${port}/`)).status;

describe('karafka swarm: a supervisor and 3 real node processes on the real broker', () => {
  it('3 nodes share a 6-partition topic; kill -9 of a node is replaced within about 5 s and nothing is lost; SIGTERM drains every node and exits 0', async () => {
    const topic = uniqueName('swarm');
    const groupId = uniqueName('group');
    await createTopic(topic, PARTITIONS);
    const port = await freePort();
    // The module's own liveness.port is the supervisor's listener; each node refuses to open it.
    const run = swarm({
      TOPICS: topic,
      GROUP_ID: groupId,
      LIVENESS_PORT: String(port),
      ONCE_DIR: mkdtempSync(join(tmpdir(), 'swarm-once-')),
    });
    await waitForMembers(groupId, 3);
    const first = currentNodes(run);
    expect([...first.keys()].sort()).toEqual([0, 1, 2]);
    expect(titleOf(run.child.pid!)).toBe('karafka cli-fixture swarm (supervising)');
    for (const [index, pid] of first)
      expect(titleOf(pid)).toBe(`karafka cli-fixture node ${index} (running)`);
    expect(await status(port)).toBe(204);
    for (const index of first.keys()) {
      expect(run.output()).toContain(
        `liveness listener not started on 127.0.0.1:${port}: this process is node ${index} of a karafka swarm`,
      );
    }
    expect(run.output()).not.toContain('already in use');

    await produceNumbered(topic, 60, PARTITIONS);
    await waitForProcessed(run, topic, 60);

    // TTIN: every node dumps its subscription group; each owns partitions, together all six.
    run.child.kill('SIGTTIN');
    const dump = new RegExp(
      `\\[karafka node (\\d)\\] SIGTTIN: subscription group ${groupId}/default: .*assigned (.+)`,
      'g',
    );
    await waitFor(
      () => new Set([...run.output().matchAll(dump)].map((m) => m[1])).size === 3,
      15_000,
      'three dumps',
    );
    const assigned = new Map([...run.output().matchAll(dump)].map((m) => [m[1], m[2].split(', ')]));
    for (const partitions of assigned.values()) expect(partitions.length).toBeGreaterThan(0);
    expect([...assigned.values()].flat().sort()).toEqual(
      Array.from({ length: PARTITIONS }, (_, p) => `${topic}/${p}`).sort(),
    );

    const victim = first.get(1)!;
    process.kill(victim, 'SIGKILL');
    const killedAt = Date.now();
    await waitFor(() => currentNodes(run).get(1) !== victim, 15_000, 'a new node 1');
    const replacedIn = Date.now() - killedAt;
    expect(replacedIn).toBeGreaterThanOrEqual(4_900); // swarm.nodeRestartTimeout, 5 s by default
    expect(replacedIn).toBeLessThan(8_000);
    expect(run.output()).toContain(`node 1 (pid ${victim}) killed by SIGKILL; starting it again in 5000 ms`);
    await produceNumbered(topic, 60, PARTITIONS, 60);
    await waitForProcessed(run, topic, 120);
    // The new node joined the group and took partitions.
    await waitForMembers(groupId, 3);

    // SIGTERM while a batch runs: it finishes, every node exits 0, then the supervisor.
    await produceOne(topic, 0, { sleepMs: 2_000 });
    await waitForOutput(run, `batch-start ${topic}/0 20-20`, 'the slow batch', BOOT_MS);
    const nodes = [...currentNodes(run).values()];
    run.child.kill('SIGTERM');
    const { code } = await run.exit;
    expect(code, run.output()).toBe(0);
    const output = run.output();
    expect(output.indexOf(`batch-end ${topic}/0 20-20`)).toBeGreaterThan(
      output.indexOf('SIGTERM: stopping every node'),
    );
    for (const [index, pid] of currentNodes(run))
      expect(output).toContain(`node ${index} (pid ${pid}) exited with code 0`);
    expect(nodes.filter(alive)).toEqual([]);
    const committed = await committedOffsets(groupId, topic);
    expect([...committed].sort(([a], [b]) => a - b)).toEqual(
      Array.from({ length: PARTITIONS }, (_, p) => [p, p === 0 ? 21 : 20]),
    );
  });

  it('a node whose consumer hangs past consumingTtl, one over swarm.nodeMemoryLimit and one gone silent are stopped (killed when deaf to SIGTERM) and replaced; a stop cut short exits 2', async () => {
    const topic = uniqueName('swarm-sick');
    const groupId = uniqueName('group');
    await createTopic(topic, PARTITIONS);
    const run = swarm(
      {
        TOPICS: topic,
        GROUP_ID: groupId,
        ONCE_DIR: mkdtempSync(join(tmpdir(), 'swarm-once-')),
        CONSUMING_TTL: '2000',
        SHUTDOWN_TIMEOUT: '3000',
        SWARM: JSON.stringify({ nodeRestartTimeout: 1_000, nodeReportTimeout: 8_000, nodeMemoryLimit: 250 }),
      },
      '--no-liveness',
    );
    await waitForMembers(groupId, 3);

    const replaced = async (reason: RegExp, what: string) => {
      await waitForOutput(run, reason, what, BOOT_MS);
      const [, index, pid] = reason.exec(run.output())!;
      await waitFor(() => !alive(Number(pid)), 15_000, `${what}: pid ${pid} to end`);
      await waitFor(
        () => currentNodes(run).get(Number(index)) !== Number(pid),
        15_000,
        `${what}: a new node ${index}`,
      );
    };

    // Hangs 30 s on its first delivery: the node's report turns unhealthy after 2 s.
    await produceOne(topic, 0, { sleepMs: 30_000 });
    await replaced(
      new RegExp(
        `node (\\d) \\(pid (\\d+)\\) reported unhealthy: consumingTtl exceeded: FixtureConsumer0 consume of ${topic}/0 has run for \\d+ ms \\(consumingTtl 2000 ms\\): SIGTERM`,
      ),
      'the hanging node',
    );
    // Redelivered (not committed) and processed by whichever node owns partition 0 now.
    await waitForOutput(run, `batch-end ${topic}/0 0-0`, 'the hung message, processed again', BOOT_MS);

    // Holds 300 MB once processed: about 400 MB resident, over the 250 MB limit.
    await produceOne(topic, 1, { bloatMb: 300 });
    await replaced(
      /node (\d) \(pid (\d+)\) uses \d+ MB, over swarm\.nodeMemoryLimit \(250 MB\): SIGTERM/,
      'the node over its memory limit',
    );

    // A blocked event loop sends no report and handles no SIGTERM: silent, then killed.
    await produceOne(topic, 2, { blockMs: 60_000 });
    await replaced(
      /node (\d) \(pid (\d+)\) silent for \d+ ms, past swarm\.nodeReportTimeout \(8000 ms\): SIGTERM/,
      'the silent node',
    );
    expect(run.output()).toMatch(/SIGKILL: still alive \d+ ms after SIGTERM \(silent for/);
    await waitForMembers(groupId, 3);

    // A swarm stop cut short (a batch outlives shutdownTimeout in its node) exits 2.
    await produceOne(topic, 3, { sleepMs: 30_000 });
    await waitForOutput(run, `batch-start ${topic}/3 0-0`, 'the long batch', BOOT_MS);
    run.child.kill('SIGTERM');
    expect((await run.exit).code, run.output()).toBe(2);
    expect(run.output()).toMatch(
      new RegExp(
        `shutdownTimeout \\(3000 ms\\) passed with work still running: FixtureConsumer0 consume ${topic}/3`,
      ),
    );
  });

  it('liveness answers 204, and 500 with the reason once the control loop is held past controllingTtl; TSTP quiets every node; kill -9 of the supervisor ends every node within seconds', async () => {
    const topic = uniqueName('swarm-live');
    await createTopic(topic, PARTITIONS);
    const port = await freePort();
    const run = swarm(
      {
        TOPICS: topic,
        GROUP_ID: uniqueName('group'),
        CONTROLLING_TTL: '2000',
        NESTJS_KARAFKA_SWARM_TEST_HOOKS: '1',
      },
      '--liveness-port',
      String(port),
      '--liveness-host',
      '127.0.0.1',
    );
    await waitFor(
      () => (run.output().match(/app running/g) ?? []).length === 3,
      BOOT_MS,
      'three running nodes',
    );
    await waitFor(async () => (await status(port)) === 204, 10_000, 'the supervisor listener');

    run.child.kill('SIGUSR2');
    await waitForOutput(run, 'SIGUSR2: control loop held', 'the hold');
    await waitFor(async () => (await status(port)) === 500, 10_000, 'a 500');
    const body = (await (await fetch(`http://127.0.0.1:${port}/`)).json()) as {
      reasons: string[];
      lastControlAgeMs: number;
      nodes: { state: string }[];
    };
    expect(body.lastControlAgeMs).toBeGreaterThanOrEqual(2_000);
    expect(body.reasons[0]).toMatch(
      /^controllingTtl exceeded: the swarm supervisor's control loop last ran \d+ ms ago \(controllingTtl 2000 ms\)$/,
    );
    expect(body.nodes.map((node) => node.state)).toEqual(['running', 'running', 'running']);
    run.child.kill('SIGUSR2');
    await waitFor(async () => (await status(port)) === 204, 5_000, '204 again');

    // TSTP quiets every node; the supervisor, quiet too, still answers 204.
    run.child.kill('SIGTSTP');
    for (const [index, pid] of currentNodes(run)) {
      await waitFor(
        () => titleOf(pid) === `karafka cli-fixture node ${index} (quiet)`,
        10_000,
        `node ${index} quiet`,
      );
    }
    expect(titleOf(run.child.pid!)).toBe('karafka cli-fixture swarm (quiet)');
    expect(await status(port)).toBe(204);

    const nodes = [...currentNodes(run).values()];
    const supervisor = run.child.pid!;
    process.kill(supervisor, 'SIGKILL');
    const killedAt = Date.now();
    await waitFor(() => nodes.every((pid) => !alive(pid)), 10_000, 'every node to end');
    expect(Date.now() - killedAt).toBeLessThan(6_000);
    for (const pid of nodes) {
      expect(run.output()).toMatch(
        new RegExp(`\\[Nest\\] ${pid} .*the swarm supervisor \\(pid ${supervisor}\\) is gone`),
      );
    }
    expect(run.output()).not.toContain('already in use');
  });

  it.skipIf(librdkafkaUnavailable())(
    'on the librdkafka driver each node is a static member of its own (group.instance.id suffixed by its index): a node killed and restarted gets its partitions back, no other node moves',
    async () => {
      const topic = uniqueName('swarm-static');
      const groupId = uniqueName('group');
      await createTopic(topic, PARTITIONS);
      const run = swarm({
        KARAFKA_DRIVER: 'librdkafka',
        TOPICS: topic,
        GROUP_ID: groupId,
        // Longer than a restart (5 s and a boot): the broker keeps the killed member's partitions.
        KAFKA: JSON.stringify({ 'group.instance.id': 'swarm-static', 'session.timeout.ms': 45_000 }),
      });
      await waitForMembers(groupId, 3);
      await produceNumbered(topic, 60, PARTITIONS);
      await waitForProcessed(run, topic, 60);
      run.child.kill('SIGTTIN');
      await waitFor(() => lastDumps(run, groupId).size === 3, 15_000, 'three dumps');
      const before = lastDumps(run, groupId);
      // Nodes sharing one instance id would fence each other; suffixed, all three hold partitions.
      expect([...before.values()].every((partitions) => partitions.length > 0)).toBe(true);

      const victim = currentNodes(run).get(1)!;
      process.kill(victim, 'SIGKILL');
      await waitFor(() => currentNodes(run).get(1) !== victim, 15_000, 'a new node 1');
      await produceNumbered(topic, 60, PARTITIONS, 60);
      await waitForProcessed(run, topic, 120);
      const dumped = run.output().length;
      run.child.kill('SIGTTIN');
      await waitFor(
        () => lastDumps({ ...run, output: () => run.output().slice(dumped) }, groupId).size === 3,
        15_000,
        'three dumps after the restart',
      );
      expect(lastDumps(run, groupId)).toEqual(before);
      expect(run.output()).not.toMatch(/fenced|FENCED/);
      run.child.kill('SIGTERM');
      expect((await run.exit).code, run.output()).toBe(0);
    },
  );
});
