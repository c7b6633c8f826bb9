// Real `karafka` processes for the CLI specs: the package's compiled bin, the compiled fixture
// app, their output, their exit, and their cleanup.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll } from 'vitest';
import { brokers } from './kafka/connection.mjs';
import { waitFor } from './wait-for.js';

export const root = fileURLToPath(new URL('../../', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
export const cli = join(root, 'dist/cli/main.js');
export const fixture = join(root, 'test/fixtures/cli-app/dist/app.module.js');
export const embedded = join(root, 'test/fixtures/cli-app/dist/embedded.js');

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

export interface Run {
  child: ChildProcess;
  /** In a process group of its own, killed whole after the test (a swarm's nodes outlive a killed supervisor). */
  detached: boolean;
  output: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

const runs: Run[] = [];

/**
 * Registers the spec's hooks: the CLI runs compiled JavaScript, as in production: the package
 * (rebuilt when a source is newer than dist), and the fixture app, compiled by tsc against the
 * package's published types; every process a test started is killed after it.
 */
export function useCliProcesses(): void {
  beforeAll(() => {
    // The package's build script, not tsc alone: it also makes the bin executable, as `npx karafka` needs.
    if (distIsStale()) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'pipe' });
    execFileSync(process.execPath, [tsc, '-p', 'test/fixtures/cli-app/tsconfig.json'], { cwd: root });
  }, 120_000);
  afterEach(() => {
    for (const run of runs.splice(0)) {
      const ended = run.child.exitCode !== null || run.child.signalCode !== null;
      if (ended && !run.detached) continue;
      try {
        process.kill(-run.child.pid!, 'SIGKILL');
      } catch {
        if (!ended) run.child.kill('SIGKILL');
      }
    }
  });
}

/** The test's environment without what npm sets (the suite may run under npm): children start clean. */
const cleanEnv = () =>
  Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')));

export function start(command: string, args: string[], env: Record<string, string>, detached = false): Run {
  const child = spawn(command, args, {
    cwd: root,
    env: { ...cleanEnv(), KAFKA_BROKERS: brokers(), NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // A process group of its own, so npx and the node it starts (or a swarm's nodes) die together.
    detached,
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exit = new Promise<Awaited<Run['exit']>>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const run = { child, detached, output: () => output, exit };
  runs.push(run);
  return run;
}

/** Waits for a line in the output; fails at once, with the output, when the process ended first. */
export async function waitForOutput(
  run: Run,
  text: string | RegExp,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  await waitFor(
    () => {
      const output = run.output();
      if (typeof text === 'string' ? output.includes(text) : text.test(output)) return true;
      if (run.child.exitCode !== null || run.child.signalCode !== null) {
        throw new Error(`the process ended before ${what}:\n${output}`);
      }
      return false;
    },
    timeoutMs,
    what,
  );
}

export const count = (run: Run, pattern: RegExp) =>
  run
    .output()
    .split('\n')
    .filter((line) => pattern.test(line)).length;

/** The process title of `pid`, as `ps` shows it. */
export const titleOf = (pid: number) =>
  execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).trim();
