import { connect, createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  cli,
  count,
  embedded,
  fixture,
  start,
  titleOf,
  useCliProcesses,
  waitForOutput,
  type Run,
} from '../support/cli-process.js';
import { connectionInfo, uniqueName } from '../support/kafka/connection.mjs';
import { committedOffsets, createTopic, produceNumbered, testKafka } from '../support/kafka-topics.js';
import { freePort } from '../support/free-port.js';
import { waitFor } from '../support/wait-for.js';

useCliProcesses();

/** `karafka server` run by node itself, as the deployment guides do (npx would not pass signals on). */
function server(env: Record<string, string>, ...flags: string[]): Run {
  const host = flags.includes('--no-liveness') ? [] : ['--liveness-host', '127.0.0.1'];
  return start(process.execPath, [cli, 'server', '--module', fixture, ...host, ...flags], env);
}

const title = (run: Run) => titleOf(run.child.pid!);

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
      // The process owns the signals: no embedding warning; run by node, no npm warning.
      expect(output).not.toContain('no shutdown hooks');
      expect(output).not.toContain('running under npm');
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

  it('SIGTERM while the consumer still connects exits 0 (nothing to pause yet)', async () => {
    const topic = uniqueName('cli-early');
    await createTopic(topic, 1);
    const run = server({ TOPICS: topic, GROUP_ID: uniqueName('group') }, '--no-liveness');
    await waitForOutput(run, 'app running', 'the engine to start');
    run.child.kill('SIGTERM');
    expect((await run.exit).code, run.output()).toBe(0);
    expect(run.output()).not.toContain('KafkaJSNonRetriableError');
  });

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

  it("--no-liveness turns off the module's own liveness.port; without it, that port answers 204", async () => {
    const topic = uniqueName('cli-live');
    await createTopic(topic, 1);
    await produceNumbered(topic, 1, 1);
    const port = await freePort();
    const env = { TOPICS: topic, LIVENESS_PORT: String(port) };
    const on = server({ ...env, GROUP_ID: uniqueName('group') });
    await waitForOutput(on, 'batch-end', 'consumption');
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(204);
    on.child.kill('SIGTERM');
    expect((await on.exit).code).toBe(0);

    const off = server({ ...env, GROUP_ID: uniqueName('group') }, '--no-liveness');
    await waitForOutput(off, 'batch-end', 'consumption');
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
    expect(off.output()).not.toContain('liveness listener on');
    off.child.kill('SIGTERM');
    expect((await off.exit).code).toBe(0);
  });

  it('run through npx, says at start that npm does not pass SIGTERM on and to run it with node', async () => {
    const topic = uniqueName('cli-npx');
    const run = start(
      'npx',
      ['--no', '--', 'karafka', 'server', '--module', fixture, '--no-liveness'],
      { TOPICS: topic, GROUP_ID: uniqueName('group') },
      true,
    );
    await waitForOutput(run, 'running under npm (npm exec)', 'the npm warning');
    expect(run.output()).toContain('Run the bin with node itself: node node_modules/.bin/karafka server');
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
    expect(info.output()).toContain('admin group karafka_admin (KarafkaAdmin reads)');
    expect(info.output()).toContain(
      `topic ${topic} -> FixtureConsumer0 initialOffset=earliest maxMessages=5`,
    );
    const plan = start(process.execPath, [cli, 'topics', 'plan', '--module', fixture], env);
    expect((await plan.exit).code).toBe(0);
    expect(plan.output()).toContain(`? ${topic} (routed, not declared)`);
    const bad = start(process.execPath, [cli, 'server', '--liveness-port', 'abc'], {});
    expect((await bad.exit).code).toBe(64);
    expect(bad.output()).toContain('karafka: --liveness-port must be a port number (0-65535), got "abc"');
    // The cluster's refusal, as one line with the seed's hint (one broker cannot hold 3 replicas).
    const create = start(process.execPath, [cli, 'topics', 'create', '--module', fixture], {
      ...env,
      TOPIC_CONFIG: JSON.stringify({ partitions: 1, replicationFactor: 3 }),
    });
    expect((await create.exit).code).toBe(1);
    expect(create.output()).toMatch(
      new RegExp(
        `^karafka: create topics ${topic}: .*Invalid replication factor: it exceeds the brokers available`,
        'm',
      ),
    );
    expect(create.output()).not.toContain('    at ');
    const typo = start(process.execPath, [cli, 'server', '--module', fixture, '--topic', topic], env);
    expect((await typo.exit).code).toBe(64);
    expect(typo.output()).toContain('unknown flag --topic: did you mean --topics?');
  });

  it.skipIf(connectionInfo() === null)(
    "onCriticalError 'exit' closes the app (the batch in flight finishes and commits, pending produces flush), then exits 1 within shutdownTimeout",
    async () => {
      const info = connectionInfo()!;
      const [good, bad, produced] = [uniqueName('crit-good'), uniqueName('crit-bad'), uniqueName('crit-out')];
      await Promise.all([createTopic(good, 1), createTopic(bad, 1), createTopic(produced, 1)]);
      await produceNumbered(good, 5, 1);
      // The bad route reaches the SASL_SSL listener through a proxy that holds its connections
      // until released: its authentication fails (a real, fatal broker error) when the test says.
      const held: Socket[] = [];
      let release = () => undefined as void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const [host, port] = info.saslSsl.brokers.split(',')[0].split(':');
      const proxy = createServer((socket) => {
        held.push(socket);
        socket.pause();
        void released.then(() => {
          const upstream = connect(Number(port), host);
          socket.pipe(upstream).pipe(socket);
          socket.resume();
          upstream.on('error', () => socket.destroy());
          socket.on('error', () => upstream.destroy());
        });
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      try {
        const groupId = uniqueName('group');
        const run = start(process.execPath, [embedded], {
          TOPICS: good,
          GROUP_ID: groupId,
          SLOW_MS: '2000',
          SHUTDOWN_TIMEOUT: '8000',
          SHUTDOWN_HOOKS: '1',
          ON_CRITICAL: 'exit',
          PRODUCE_TOPIC: produced,
          BAD_TOPIC: bad,
          BAD_KAFKA: JSON.stringify({
            'bootstrap.servers': `127.0.0.1:${(proxy.address() as { port: number }).port}`,
            'security.protocol': 'sasl_ssl',
            'sasl.mechanisms': 'SCRAM-SHA-512',
            'sasl.username': info.saslSsl.users['SCRAM-SHA-512'].username,
            'sasl.password': 'wrong-password',
            'ssl.ca.location': info.saslSsl.caPemPath,
            'ssl.endpoint.identification.algorithm': 'none',
            // librdkafka's connect runs to this timeout even after a refused login, and an exit waits for it.
            'socket.connection.setup.timeout.ms': 3_000,
          }),
        });
        await waitForOutput(run, `batch-start ${good}/0 0-4`, 'the slow batch');
        release();
        await waitForOutput(run, 'engine failed and will not recover', 'the fatal error');
        const failedAt = Date.now();
        const { code, signal, at } = await run.exit;
        expect({ code, signal }, run.output()).toEqual({ code: 1, signal: null });
        expect(at - failedAt).toBeLessThan(8_000);
        const output = run.output();
        expect(output.indexOf(`batch-end ${good}/0 0-4`)).toBeGreaterThan(output.indexOf('engine failed'));
        expect(output).toContain(`shutdown ${good}/0`);
        // The whole app was closed, the host's own hooks included.
        expect(output).toContain('host closed (SIGTERM)');
        // The batch in flight was committed before the exit.
        expect((await committedOffsets(groupId, good)).get(0)).toBe(5);
        // What shutdown() produced fire-and-forget was flushed before the exit.
        const read: string[] = [];
        const reader = testKafka().consumer({ groupId: uniqueName('crit-reader') });
        await reader.connect();
        await reader.subscribe({ topic: produced, fromBeginning: true });
        await reader.run({ eachMessage: async ({ message }) => void read.push(String(message.value)) });
        try {
          await waitFor(() => read.length >= 1, 15_000, 'the message produced in shutdown()');
          expect(read.map((value) => JSON.parse(value))).toContainEqual({ shutdown: `${good}/0` });
        } finally {
          await reader.disconnect();
        }
      } finally {
        release();
        for (const socket of held) socket.destroy();
        await new Promise<void>((resolve) => proxy.close(() => resolve()));
      }
    },
  );
});
