// What the matrix needs installed, fetched once into the cache outside the clone and reused: Node
// binaries from the npm registry, and NestJS 11 at the peer floors. Each lands in a staging dir
// renamed into place when complete, so an interrupted install is never taken for a finished one.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from '../support/kafka/broker.mjs';

const log = (line) => console.error(`[matrix] ${line}`);

function npm(args, cwd) {
  try {
    return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    throw new Error(`npm ${args.join(' ')} failed in ${cwd}:\n${error.stdout ?? ''}${error.stderr ?? ''}`, {
      cause: error,
    });
  }
}

/** Builds `dir` through `fill(staging)` unless it is there already; returns `dir`. */
function once(dir, what, fill) {
  if (existsSync(dir)) return dir;
  const staging = `${dir}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  log(`installing ${what} into ${dir} (once)`);
  try {
    fill(staging);
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return dir;
}

/** The path of a Node binary of `version` (the registry's node-<platform>-<arch> package). */
export function nodeBinary(version) {
  const name = `node-${process.platform}-${process.arch}`;
  const dir = once(join(cacheDir(), `node-${version}`), `${name}@${version}`, (staging) => {
    const tarball = npm(['pack', `${name}@${version}`, '--silent'], staging)
      .trim()
      .split('\n')
      .pop();
    // Only the binary: the package also holds headers and docs the tests do not need.
    execFileSync('tar', ['xzf', tarball, '--strip-components=1', 'package/bin/node'], { cwd: staging });
    rmSync(join(staging, tarball));
  });
  const binary = join(dir, 'bin', 'node');
  const reported = execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
  if (reported !== `v${version}`) throw new Error(`${binary} reports ${reported}, expected v${version}`);
  return binary;
}

/** A node_modules holding exactly `packages` (name -> version) and their dependencies. */
export function packagesDir(label, packages) {
  const key = createHash('sha256').update(JSON.stringify(packages)).digest('hex').slice(0, 12);
  const dir = once(
    join(cacheDir(), `${label}-${key}`),
    `${label} (${Object.entries(packages)
      .map(([n, v]) => `${n}@${v}`)
      .join(' ')})`,
    (staging) => {
      writeFileSync(
        join(staging, 'package.json'),
        JSON.stringify({ name: `matrix-${label}`, private: true, dependencies: packages }, null, 2),
      );
      npm(['install', '--no-audit', '--no-fund', '--ignore-scripts'], staging);
    },
  );
  return join(dir, 'node_modules');
}

/** Top-level entries of a node_modules (a scope's packages as `@scope/name`). */
export function packageEntries(modules) {
  return readdirSync(modules)
    .filter((entry) => !entry.startsWith('.'))
    .flatMap((entry) =>
      entry.startsWith('@') ? readdirSync(join(modules, entry)).map((name) => `${entry}/${name}`) : [entry],
    );
}
