import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { brokers, uniqueName } from '../support/kafka/connection.mjs';
import { committedOffsets, createTopic, produceNumbered } from '../support/kafka-topics.js';
import { waitFor } from '../support/wait-for.js';

const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const fixture = fileURLToPath(new URL('../fixtures/cli-app/app.module.mjs', import.meta.url));
const embedded = fileURLToPath(new URL('../fixtures/cli-app/embedded.mjs', import.meta.url));

interface Run {
  child: ChildProcess;
  output: () => string;
  exit: Promise<{ code: number | null; at: number }>;
}

const runs: Run[] = [];
afterEach(() => {
  for (const run of runs.splice(0)) run.child.kill('SIGKILL');
});

function start(command: string[], env: Record<string, string>): Run {
  const child = spawn(process.execPath, command, {
    env: { ...process.env, KAFKA_BROKERS: brokers(), NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exit = new Promise<{ code: number | null; at: number }>((resolve) =>
    child.on('exit', (code) => resolve({ code, at: Date.now() })),
  );
  const run = { child, output: () => output, exit };
  runs.push(run);
  return run;
}

function server(env: Record<string, string>, ...flags: string[]): Run {
  return start([cli, 'server', '--module', fixture, '--liveness-host', '127.0.0.1', ...flags], env);
}

const count = (run: Run, pattern: RegExp) =>
  run
    .output()
    .split('\n')
    .filter((line) => pattern.test(line)).length;

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('karafka server: real processes, real signals, real broker', () => {
  it('consumes; SIGTERM during a slow batch exits 0 after it; a restart reprocesses nothing committed', async () => {
    const topic = uniqueName('cli');
    const groupId = uniqueName('group');
    await createTopic(topic, 1);
    await produceNumbered(topic, 5, 1);
    const env = { TOPICS: topic, GROUP_ID: groupId, SLOW_MS: '2000' };
    const first = server(env, '--liveness-port', String(await freePort()));
    await waitFor(() => first.output().includes(`batch-start ${topic}/0 0-4`), 30_000, 'the slow batch');
    first.child.kill('SIGTERM');
    const { code } = await first.exit;
    expect(code).toBe(0);
    expect(first.output()).toContain(`batch-end ${topic}/0 0-4`);
    expect(first.output()).toContain(`shutdown ${topic}/0`);
    expect((await committedOffsets(groupId, topic)).get(0)).toBe(5);

    const again = server({ ...env, SLOW_MS: '0' }, '--liveness-port', String(await freePort()));
    await produceNumbered(topic, 1, 1, 5);
    await waitFor(() => again.output().includes('batch-end'), 30_000, 'the new message');
    expect(again.output()).toContain(`batch-start ${topic}/0 5-5`);
    expect(again.output()).not.toContain(`${topic}/0 0-4`);
    again.child.kill('SIGTERM');
    expect((await again.exit).code).toBe(0);
  });

  it('past shutdownTimeout, SIGTERM exits 2 in about that time and names the stuck consumer and partition', async () => {
    const topic = uniqueName('cli-stuck');
    await createTopic(topic, 1);
    await produceNumbered(topic, 3, 1);
    const run = server(
      { TOPICS: topic, GROUP_ID: uniqueName('group'), SLOW_MS: '10000', SHUTDOWN_TIMEOUT: '2000' },
      '--no-liveness',
    );
    await waitFor(() => run.output().includes(`batch-start ${topic}/0`), 30_000, 'the 10 s batch');
    const signalled = Date.now();
    run.child.kill('SIGTERM');
    const { code, at } = await run.exit;
    expect(code).toBe(2);
    expect(at - signalled).toBeLessThan(2_000 + 2_500);
    expect(run.output()).toMatch(new RegExp(`FixtureConsumer0 consume ${topic}/0`));
  });

  it('SIGTSTP quiets (no new batch, liveness still answers), then SIGTERM exits 0; SIGTTIN prints the running jobs', async () => {
    const topic = uniqueName('cli-quiet');
    await createTopic(topic, 1);
    const port = await freePort();
    const run = server(
      { TOPICS: topic, GROUP_ID: uniqueName('group'), SLOW_MS: '1500' },
      '--liveness-port',
      String(port),
    );
    await produceNumbered(topic, 5, 1);
    await waitFor(() => run.output().includes('batch-start'), 30_000, 'a batch');
    run.child.kill('SIGTTIN');
    await waitFor(
      () => /SIGTTIN: state running; running jobs: FixtureConsumer0 consume/.test(run.output()),
      10_000,
      'the TTIN dump',
    );
    expect(run.output()).toMatch(/SIGTTIN: subscription group .*: running, joined/);
    run.child.kill('SIGTSTP');
    await waitFor(
      () => count(run, /batch-end/) === count(run, /batch-start/),
      10_000,
      'the in-flight batch to end',
    );
    const batches = count(run, /batch-start/);
    await produceNumbered(topic, 5, 1, 5);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(count(run, /batch-start/)).toBe(batches);
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(204);
    run.child.kill('SIGTERM');
    expect((await run.exit).code).toBe(0);
  });

  it('a second SIGINT forces the stop (exit 2) and names what was running; the process title tells the state', async () => {
    const topic = uniqueName('cli-force');
    await createTopic(topic, 1);
    await produceNumbered(topic, 3, 1);
    const run = server(
      { TOPICS: topic, GROUP_ID: uniqueName('group'), SLOW_MS: '20000', SHUTDOWN_TIMEOUT: '60000' },
      '--no-liveness',
    );
    await waitFor(() => run.output().includes(`batch-start ${topic}/0`), 30_000, 'the slow batch');
    const title = execFileSync('ps', ['-o', 'args=', '-p', String(run.child.pid)], {
      encoding: 'utf8',
    }).trim();
    expect(title).toBe('karafka cli-fixture (running)');
    run.child.kill('SIGINT');
    await waitFor(() => run.output().includes('SIGINT: stopping'), 10_000, 'the graceful stop to begin');
    const forcedAt = Date.now();
    run.child.kill('SIGINT');
    const { code, at } = await run.exit;
    expect(code).toBe(2);
    expect(at - forcedAt).toBeLessThan(2_000);
    expect(run.output()).toMatch(
      new RegExp(`forced stop; still running: FixtureConsumer0 consume ${topic}/0`),
    );
  });

  it('--topics narrows what is consumed; an unknown topic exits non-zero listing the known ones', async () => {
    const [a, b] = [uniqueName('cli-a'), uniqueName('cli-b')];
    await Promise.all([createTopic(a, 1), createTopic(b, 1)]);
    await Promise.all([produceNumbered(a, 2, 1), produceNumbered(b, 2, 1)]);
    const env = { TOPICS: `${a},${b}`, GROUP_ID: uniqueName('group') };
    const only = server(env, '--topics', a, '--no-liveness');
    await waitFor(() => only.output().includes(`batch-end ${a}/0`), 30_000, `a batch of ${a}`);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(only.output()).not.toContain(`batch-start ${b}/`);
    only.child.kill('SIGTERM');
    await only.exit;

    const nope = server(env, '--topics', 'nope', '--no-liveness');
    const { code } = await nope.exit;
    expect(code).not.toBe(0);
    expect(nope.output()).toContain('unknown topic "nope"');
    expect(nope.output()).toContain(a);
    expect(nope.output()).toContain(b);
  });

  it('with the liveness port taken by another process, still consumes and logs the clash', async () => {
    const topic = uniqueName('cli-port');
    await createTopic(topic, 1);
    await produceNumbered(topic, 2, 1);
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const run = server({ TOPICS: topic, GROUP_ID: uniqueName('group') }, '--liveness-port', String(port));
      await waitFor(() => run.output().includes('batch-end'), 30_000, 'consumption');
      expect(run.output()).toMatch(/liveness listener not started: 127\.0\.0\.1:\d+ is already in use/);
      run.child.kill('SIGTERM');
      expect((await run.exit).code).toBe(0);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('an embedded app without enableShutdownHooks() logs the warning', async () => {
    const topic = uniqueName('cli-embedded');
    await createTopic(topic, 1);
    const run = start([embedded], { TOPICS: topic, GROUP_ID: uniqueName('group') });
    const { code } = await run.exit;
    expect(code).toBe(0);
    expect(run.output()).toContain('no shutdown hooks are enabled');
  });

  it('karafka info prints the routes, topics plan the declared ones; bad flags are usage errors', async () => {
    const topic = uniqueName('cli-info');
    const info = start([cli, 'info', '--module', fixture], { TOPICS: topic, GROUP_ID: 'info-group' });
    expect((await info.exit).code).toBe(0);
    expect(info.output()).toContain('consumer group info-group');
    expect(info.output()).toContain(`topic ${topic} -> FixtureConsumer0`);
    const plan = start([cli, 'topics', 'plan', '--module', fixture], {
      TOPICS: topic,
      GROUP_ID: 'info-group',
    });
    expect((await plan.exit).code).toBe(0);
    expect(plan.output()).toContain(`? ${topic} (routed, not declared)`);
    const bad = start([cli, 'server', '--liveness-port', 'abc'], {});
    expect((await bad.exit).code).toBe(64);
    expect(bad.output()).toContain('--liveness-port must be a port number');
  });
});
