import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { brokers, uniqueName } from '../support/kafka/connection.mjs';
import { committedOffsets, createTopic, produceNumbered } from '../support/kafka-topics.js';
import { waitFor } from '../support/wait-for.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const cli = join(root, 'dist/cli/main.js');
const fixture = join(root, 'test/fixtures/cli-app/dist/app.module.js');
const embedded = join(root, 'test/fixtures/cli-app/dist/embedded.js');

/** True when a source file is newer than its build (or has none). */
function distIsStale(): boolean {
  const sources = readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' }).filter((file) =>
    file.endsWith('.ts'),
  );
  return sources.some((file) => {
    try {
      return (
        statSync(join(root, 'dist', file.replace(/\.ts$/, '.js'))).mtimeMs <
        statSync(join(root, 'src', file)).mtimeMs
      );
    } catch {
      return true;
    }
  });
}

beforeAll(() => {
  // The CLI runs compiled JavaScript, as in production: the package (rebuilt when a source is
  // newer than dist), and the fixture app, compiled by tsc against the package's published types.
  if (distIsStale()) execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root });
  execFileSync(process.execPath, [tsc, '-p', 'test/fixtures/cli-app/tsconfig.json'], { cwd: root });
}, 120_000);

interface Run {
  child: ChildProcess;
  output: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

const runs: Run[] = [];
afterEach(() => {
  for (const run of runs.splice(0)) run.child.kill('SIGKILL');
});

function start(command: string, args: string[], env: Record<string, string>): Run {
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, KAFKA_BROKERS: brokers(), NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exit = new Promise<Awaited<Run['exit']>>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const run = { child, output: () => output, exit };
  runs.push(run);
  return run;
}

/** `karafka server` run by node itself, as the deployment guides do (npx would not pass signals on). */
function server(env: Record<string, string>, ...flags: string[]): Run {
  const host = flags.includes('--no-liveness') ? [] : ['--liveness-host', '127.0.0.1'];
  return start(process.execPath, [cli, 'server', '--module', fixture, ...host, ...flags], env);
}

/** Waits for a line in the output; fails at once, with the output, when the process ended first. */
async function waitForOutput(run: Run, text: string | RegExp, what: string): Promise<void> {
  await waitFor(
    () => {
      const output = run.output();
      if (typeof text === 'string' ? output.includes(text) : text.test(output)) return true;
      if (run.child.exitCode !== null || run.child.signalCode !== null) {
        throw new Error(`the process ended before ${what}:\n${output}`);
      }
      return false;
    },
    30_000,
    what,
  );
}

const count = (run: Run, pattern: RegExp) =>
  run
    .output()
    .split('\n')
    .filter((line) => pattern.test(line)).length;

const title = (run: Run) =>
  execFileSync('ps', ['-o', 'args=', '-p', String(run.child.pid)], { encoding: 'utf8' }).trim();

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** A window in which nothing must happen: long enough for several fetches (maxWaitTime 300 ms). */
const quietWindow = () => new Promise((resolve) => setTimeout(resolve, 2_000));

describe('karafka server: real processes, real signals, real broker', () => {
  it(
    'consumes; SIGTERM during a slow batch exits 0 after it; a restart reprocesses nothing committed',
    { tags: ['smoke'] },
    async () => {
      const topic = uniqueName('cli');
      const groupId = uniqueName('group');
      await createTopic(topic, 1);
      await produceNumbered(topic, 5, 1);
      const env = { TOPICS: topic, GROUP_ID: groupId, SLOW_MS: '2000' };
      const port = await freePort();
      const first = server(env, '--liveness-port', String(port));
      await waitForOutput(first, `batch-start ${topic}/0 0-4`, 'the slow batch');
      expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(204);
      first.child.kill('SIGTERM');
      const { code } = await first.exit;
      expect(code).toBe(0);
      const output = first.output();
      expect(output.indexOf(`batch-end ${topic}/0 0-4`)).toBeGreaterThan(output.indexOf('SIGTERM: stopping'));
      expect(output).toContain(`shutdown ${topic}/0`);
      // The process owns the signals: no embedding warning.
      expect(output).not.toContain('no shutdown hooks');
      expect((await committedOffsets(groupId, topic)).get(0)).toBe(5);

      const again = server({ ...env, SLOW_MS: '0' }, '--liveness-port', String(await freePort()));
      await produceNumbered(topic, 1, 1, 5);
      await waitForOutput(again, 'batch-end', 'the new message');
      expect(again.output()).toContain(`batch-start ${topic}/0 5-5`);
      expect(again.output()).not.toContain(`${topic}/0 0-4`);
      again.child.kill('SIGTERM');
      expect((await again.exit).code).toBe(0);
    },
  );

  it('past shutdownTimeout, SIGTERM exits 2 in about that time and names the stuck consumer and partition', async () => {
    const topic = uniqueName('cli-stuck');
    await createTopic(topic, 1);
    await produceNumbered(topic, 3, 1);
    const run = server(
      { TOPICS: topic, GROUP_ID: uniqueName('group'), SLOW_MS: '10000', SHUTDOWN_TIMEOUT: '2000' },
      '--no-liveness',
    );
    await waitForOutput(run, `batch-start ${topic}/0`, 'the 10 s batch');
    const signalled = Date.now();
    run.child.kill('SIGTERM');
    const { code, at } = await run.exit;
    expect(code).toBe(2);
    expect(at - signalled).toBeGreaterThanOrEqual(2_000);
    expect(at - signalled).toBeLessThan(2_000 + 1_500);
    expect(run.output()).toMatch(
      new RegExp(
        `shutdownTimeout \\(2000 ms\\) passed with work still running: FixtureConsumer0 consume ${topic}/0 offsets 0-2 for \\d+ ms`,
      ),
    );
    expect(run.output()).not.toContain(`batch-end ${topic}/0`);
  });

  it('SIGTTIN prints the running jobs; SIGTSTP quiets (no new batch, liveness still answers); then SIGTERM exits 0', async () => {
    const topic = uniqueName('cli-quiet');
    const groupId = uniqueName('group');
    await createTopic(topic, 1);
    const port = await freePort();
    const run = server(
      { TOPICS: topic, GROUP_ID: groupId, SLOW_MS: '1500' },
      '--liveness-port',
      String(port),
    );
    await produceNumbered(topic, 5, 1);
    await waitForOutput(run, 'batch-start', 'a batch');
    run.child.kill('SIGTTIN');
    await waitForOutput(
      run,
      new RegExp(
        `SIGTTIN: state running; running jobs: FixtureConsumer0 consume ${topic}/0 offsets 0-4 for \\d+ ms`,
      ),
      'the TTIN dump',
    );
    expect(run.output()).toMatch(
      new RegExp(
        `SIGTTIN: subscription group ${groupId}/default: running, joined, polled \\d+ ms ago, assigned ${topic}/0`,
      ),
    );

    run.child.kill('SIGTSTP');
    await waitFor(() => title(run) === 'karafka cli-fixture (quiet)', 10_000, 'the quiet state');
    // Quiet finished the in-flight batch, ran shutdown() and committed it (the child's stdout may
    // reach us a moment after its title changed).
    await waitForOutput(run, `batch-end ${topic}/0 0-4`, 'the in-flight batch to end');
    await waitForOutput(run, `shutdown ${topic}/0`, 'shutdown()');
    const batches = count(run, /batch-start/);
    await produceNumbered(topic, 5, 1, 5);
    await quietWindow();
    expect(count(run, /batch-start/)).toBe(batches);
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(204);
    run.child.kill('SIGTERM');
    expect((await run.exit).code).toBe(0);
    // The messages sent while quiet were neither processed nor committed.
    expect((await committedOffsets(groupId, topic)).get(0)).toBe(5);
  });

  it('a second SIGINT forces the stop (exit 2) and names what was running; the process title tells the state', async () => {
    const topic = uniqueName('cli-force');
    await createTopic(topic, 1);
    await produceNumbered(topic, 3, 1);
    const run = server(
      { TOPICS: topic, GROUP_ID: uniqueName('group'), SLOW_MS: '20000', SHUTDOWN_TIMEOUT: '60000' },
      '--no-liveness',
    );
    await waitForOutput(run, `batch-start ${topic}/0`, 'the slow batch');
    expect(title(run)).toBe('karafka cli-fixture (running)');
    run.child.kill('SIGINT');
    await waitForOutput(run, 'SIGINT: stopping', 'the graceful stop to begin');
    await waitFor(() => title(run) === 'karafka cli-fixture (stopping)', 10_000, 'the stopping title');
    const forcedAt = Date.now();
    run.child.kill('SIGINT');
    const { code, at } = await run.exit;
    expect(code).toBe(2);
    expect(at - forcedAt).toBeLessThan(1_000);
    expect(run.output()).toMatch(
      new RegExp(`forced stop; still running: FixtureConsumer0 consume ${topic}/0 offsets 0-2 for \\d+ ms`),
    );
  });

  it('--topics narrows what is consumed (SIGQUIT stops it); an unknown topic exits 64 listing the known ones', async () => {
    const [a, b] = [uniqueName('cli-a'), uniqueName('cli-b')];
    await Promise.all([createTopic(a, 1), createTopic(b, 1)]);
    await Promise.all([produceNumbered(a, 2, 1), produceNumbered(b, 2, 1)]);
    const groupId = uniqueName('group');
    const env = { TOPICS: `${a},${b}`, GROUP_ID: groupId };
    const only = server(env, '--topics', a, '--no-liveness');
    await waitForOutput(only, `batch-end ${a}/0`, `a batch of ${a}`);
    await quietWindow();
    expect(only.output()).not.toContain(`batch-start ${b}/`);
    only.child.kill('SIGQUIT');
    expect((await only.exit).code).toBe(0);
    // -1: the group never committed anything on b.
    expect((await committedOffsets(groupId, b)).get(0)).toBe(-1);

    const nope = server(env, '--topics', 'nope', '--no-liveness');
    const { code } = await nope.exit;
    expect(code).toBe(64);
    expect(nope.output()).toContain(`unknown topic "nope". Known topics: ${[a, b].sort().join(', ')}`);
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
      await waitForOutput(run, 'batch-end', 'consumption');
      expect(run.output()).toContain(`liveness listener not started: 127.0.0.1:${port} is already in use`);
      run.child.kill('SIGTERM');
      expect((await run.exit).code).toBe(0);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('embedded in a Nest HTTP app: warns without enableShutdownHooks(); with them, SIGTERM drains the batch silently', async () => {
    const topic = uniqueName('cli-embedded');
    await createTopic(topic, 1);
    await produceNumbered(topic, 2, 1);
    const bare = start(process.execPath, [embedded], { TOPICS: topic, GROUP_ID: uniqueName('group') });
    await waitForOutput(bare, 'no shutdown hooks are enabled', 'the warning');
    const url = /http (\S+)/.exec(bare.output())![1];
    expect(await (await fetch(`${url}/ping`)).text()).toBe('pong');

    const hooked = start(process.execPath, [embedded], {
      TOPICS: topic,
      GROUP_ID: uniqueName('group'),
      SLOW_MS: '1500',
      SHUTDOWN_HOOKS: '1',
    });
    await waitForOutput(hooked, `batch-start ${topic}/0`, 'a batch');
    hooked.child.kill('SIGTERM');
    // Nest closes the app, then re-raises the signal to end the process.
    expect(await hooked.exit).toMatchObject({ code: null, signal: 'SIGTERM' });
    expect(hooked.output()).toContain(`batch-end ${topic}/0 0-1`);
    expect(hooked.output()).toContain(`shutdown ${topic}/0`);
    // The check ran (1 s after start, before the 1.5 s batch ended) and found the hooks.
    expect(hooked.output()).not.toContain('no shutdown hooks');
  });

  it('karafka info (through the package bin) prints the routes, topics plan the declared ones; bad flags exit 64', async () => {
    const topic = uniqueName('cli-info');
    const env = { TOPICS: topic, GROUP_ID: 'info-group' };
    const info = start('npx', ['--no', '--', 'karafka', 'info', '--module', fixture], env);
    expect((await info.exit).code).toBe(0);
    expect(info.output()).toContain('consumer group info-group');
    expect(info.output()).toContain(
      `topic ${topic} -> FixtureConsumer0 initialOffset=earliest maxMessages=5`,
    );
    const plan = start(process.execPath, [cli, 'topics', 'plan', '--module', fixture], env);
    expect((await plan.exit).code).toBe(0);
    expect(plan.output()).toContain(`? ${topic} (routed, not declared)`);
    const bad = start(process.execPath, [cli, 'server', '--liveness-port', 'abc'], {});
    expect((await bad.exit).code).toBe(64);
    expect(bad.output()).toContain('karafka: --liveness-port must be a port number (0-65535), got "abc"');
    const typo = start(process.execPath, [cli, 'server', '--module', fixture, '--topic', topic], env);
    expect((await typo.exit).code).toBe(64);
    expect(typo.output()).toContain('unknown flag --topic: did you mean --topics?');
  });
});
