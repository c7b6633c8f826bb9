// node test/matrix/run.mjs [--cells 1,3] [--keep]: runs the compatibility matrix (test/matrix/cells.mjs)
// one cell after another and exits 1 when any cell failed. Needs the build (dist/). Starts the
// harness brokers it needs (the default Kafka and the older line on its own ports), reuses
// running ones, and stops at the end only those it started. --keep leaves its scratch dir.
import { execFileSync, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startBroker, stopBroker } from '../support/kafka/broker.mjs';
import { CELLS, KAFKA_OLDER, KAFKA_OLDER_PORTS, NEST_11, NODE, cellName, kafkaOf, nestOf } from './cells.mjs';
import { nodeBinary, packageEntries, packagesDir } from './installs.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const here = dirname(fileURLToPath(import.meta.url));
const pkg = (await import(join(root, 'package.json'), { with: { type: 'json' } })).default;
const log = (line) => console.error(`[matrix] ${line}`);
const CELL_TIMEOUT_MS = 300_000;

const { values } = parseArgs({ options: { cells: { type: 'string' }, keep: { type: 'boolean' } } });
const picked = values.cells ? values.cells.split(',').map(Number) : CELLS.map((_, index) => index + 1);
for (const number of picked)
  if (!CELLS[number - 1]) throw new Error(`--cells: no cell ${number}; there are 1 to ${CELLS.length}`);
if (!existsSync(join(root, 'dist/index.js'))) throw new Error('dist/ is missing: run `npm run build` first');

const work = mkdtempSync(join(tmpdir(), 'nestjs-karafka-matrix-'));
const olderEnv = { KAFKA_VERSION: KAFKA_OLDER, ...KAFKA_OLDER_PORTS };

/** Runs `work` with the env that selects a Kafka line for the harness (none: the default line). */
async function onLine(env, work) {
  const saved = { ...process.env };
  for (const name of ['KAFKA_VERSION', ...Object.keys(KAFKA_OLDER_PORTS)]) delete process.env[name];
  Object.assign(process.env, env);
  try {
    return await work();
  } finally {
    process.env = saved;
  }
}

/** Runs a command to its end; resolves with its exit code (its output goes to ours). */
function run(command, args, { cwd = root, env = {}, capture = false } = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'],
    });
    let output = '';
    child.stdout?.on('data', (chunk) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    const timer = setTimeout(() => {
      log(`${command} ${args.join(' ')} ran past ${CELL_TIMEOUT_MS / 1000} s: killing it`);
      child.kill('SIGKILL');
    }, CELL_TIMEOUT_MS);
    child.on('error', (error) => (output += String(error)));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/**
 * A copy of the clone whose node_modules is the clone's, with the NestJS 11 install laid over it:
 * the sources, specs and dist/ resolve @nestjs/*, reflect-metadata and rxjs from NestJS 11, while
 * vitest and the rest stay the clone's. Built once per run.
 */
let nest11Copy;
function nest11Tree() {
  if (nest11Copy) return nest11Copy;
  const dir = join(work, 'nest-11');
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((file) => file && existsSync(join(root, file)));
  for (const file of [...files, 'dist']) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    // Timestamps kept: cli.spec.ts rebuilds dist/ only when a source is newer.
    cpSync(join(root, file), join(dir, file), { recursive: true, preserveTimestamps: true });
  }
  const nest = packagesDir('nest-11', NEST_11);
  const modules = join(dir, 'node_modules');
  const link = (from, name) => {
    mkdirSync(dirname(join(modules, name)), { recursive: true });
    rmSync(join(modules, name), { force: true });
    symlinkSync(join(from, name), join(modules, name));
  };
  for (const name of packageEntries(join(root, 'node_modules'))) link(join(root, 'node_modules'), name);
  for (const name of packageEntries(nest)) link(nest, name);
  link(join(root, 'node_modules'), '.bin'); // specs run `npx tsc`
  nest11Copy = dir;
  return dir;
}

/** The machine's npm, to run under another Node (the registry's Node packages carry no npm). */
const npmCli = () => realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());

let tarball;
function packedTarball() {
  tarball ??= join(
    work,
    execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: root, encoding: 'utf8' })
      .trim()
      .split('\n')
      .pop(),
  );
  return tarball;
}

/** `nest new`'s tsconfig.json (@nestjs/schematics 12, strict off), `types` without its test runner's. */
const NEST_NEW_TSCONFIG = {
  compilerOptions: {
    module: 'nodenext',
    moduleResolution: 'nodenext',
    resolvePackageJsonExports: true,
    esModuleInterop: true,
    isolatedModules: true,
    declaration: true,
    removeComments: true,
    emitDecoratorMetadata: true,
    experimentalDecorators: true,
    allowSyntheticDefaultImports: true,
    target: 'ES2023',
    types: ['node'],
    sourceMap: true,
    outDir: './dist',
    rootDir: '.',
    incremental: true,
    skipLibCheck: true,
    strict: false,
    strictPropertyInitialization: false,
  },
};
const NEST_NEW_TSCONFIG_BUILD = {
  extends: './tsconfig.json',
  compilerOptions: { rootDir: './src' },
  include: ['src'],
  exclude: ['node_modules', 'test', 'dist', '**/*spec.ts'],
};

/** The packed package in a scratch app of `kind` ('esm' | 'cjs'), built with tsc and run. */
async function packedApp(cell, kind, node, brokerInfo) {
  const dir = join(work, `app-${kind}-${cell.node}-${cell.nest}-${cell.kafka}`);
  cpSync(join(here, 'app/src'), join(dir, 'src'), { recursive: true });
  const nest = nestOf(cell);
  const dependencies = {
    'nestjs-karafka': `file:${packedTarball()}`,
    ...Object.fromEntries(
      ['@nestjs/common', '@nestjs/core', '@nestjs/platform-express', 'reflect-metadata', 'rxjs'].map(
        (name) => [name, nest[name]],
      ),
    ),
  };
  const devDependencies = {
    typescript: pkg.devDependencies.typescript,
    '@types/node': pkg.devDependencies['@types/node'],
  };
  const manifest = {
    name: `matrix-${kind}-app`,
    private: true,
    ...(kind === 'esm' ? { type: 'module' } : {}),
  };
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ ...manifest, dependencies, devDependencies }, null, 2),
  );
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(NEST_NEW_TSCONFIG, null, 2));
  writeFileSync(join(dir, 'tsconfig.build.json'), JSON.stringify(NEST_NEW_TSCONFIG_BUILD, null, 2));
  // npm under the cell's Node, engine-strict: the install fails if `engines` refuses that Node.
  const steps = [
    [node, [npmCli(), 'install', '--no-audit', '--no-fund', '--prefer-offline', '--engine-strict']],
    [node, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json']],
  ];
  for (const [command, args] of steps) {
    const { code } = await run(command, args, { cwd: dir });
    if (code !== 0) return `${command} ${args.join(' ')} exited ${code}`;
  }
  const suffix = `${Date.now().toString(36)}-${cell.node}-${cell.nest}`;
  const { code, output } = await run(node, ['dist/main.js'], {
    cwd: dir,
    capture: true,
    env: {
      KAFKA_BROKERS: brokerInfo.brokers,
      TOPIC: `matrix-${kind}-${suffix}`,
      GROUP_ID: `matrix-${suffix}`,
    },
  });
  const expected = `consumed 10 messages as ${kind === 'esm' ? 'ESM' : 'CommonJS'}`;
  if (code !== 0) return `the app exited ${code}`;
  if (!output.includes(expected)) return `the app did not print "${expected}"`;
  return undefined;
}

/** The unit project and/or the smoke tests under the cell's Node, in the clone or the NestJS 11 copy. */
async function vitest(cell, node, brokerInfo) {
  const cwd = cell.nest === 11 ? nest11Tree() : root;
  const vitestBin = join(cwd, 'node_modules/vitest/vitest.mjs');
  const env = {
    KAFKA_BROKERS: brokerInfo.brokers,
    KAFKA_CONNECTION_INFO: brokerInfo.connectionFile,
    MATRIX_EXPECTED_VERSIONS: JSON.stringify({
      node: NODE[cell.node],
      nest: nestOf(cell)['@nestjs/core'],
      kafka: kafkaOf(cell),
    }),
  };
  const runs = [
    ...(cell.run === 'suite' ? [['--project', 'unit']] : []),
    ['--project', 'integration', '--tags-filter', 'smoke'],
  ];
  for (const args of runs) {
    const { code } = await run(node, [vitestBin, 'run', '--reporter=dot', ...args], { cwd, env });
    if (code !== 0) return `vitest ${args.join(' ')} exited ${code}`;
  }
  return undefined;
}

const started = Date.now();
const results = [];
const brokers = {};
try {
  const cells = picked.map((number) => ({ number, ...CELLS[number - 1] }));
  const lines = new Set(cells.map((cell) => cell.kafka));
  for (const [line, env] of [
    [4, {}],
    [3, olderEnv],
  ])
    if (lines.has(line)) brokers[line] = { ...(await onLine(env, () => startBroker({ log }))), env };
  for (const cell of cells) {
    const name = `cell ${cell.number}/${CELLS.length} (${cellName(cell)})`;
    log(`${name}: starting`);
    const cellStarted = Date.now();
    let failure;
    try {
      const node = nodeBinary(NODE[cell.node]);
      failure = cell.run.endsWith('-app')
        ? await packedApp(cell, cell.run.slice(0, 3), node, brokers[cell.kafka])
        : await vitest(cell, node, brokers[cell.kafka]);
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
    }
    const seconds = Math.round((Date.now() - cellStarted) / 1000);
    results.push({ name, failure, seconds });
    log(`${name}: ${failure ? `FAILED: ${failure}` : 'passed'} in ${seconds} s`);
  }
} finally {
  for (const info of Object.values(brokers))
    if (info.startedByUs) await onLine(info.env, () => stopBroker({ log }));
  if (values.keep) log(`scratch dir kept: ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

console.log('\nCompatibility matrix:');
for (const { name, failure, seconds } of results)
  console.log(`  ${failure ? 'FAIL' : 'pass'}  ${name}, ${seconds} s${failure ? `: ${failure}` : ''}`);
const failed = results.filter((result) => result.failure).length;
console.log(
  `${results.length - failed} of ${results.length} cells passed in ${Math.round((Date.now() - started) / 1000)} s`,
);
process.exit(failed ? 1 : 0);
