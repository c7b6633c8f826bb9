// npm run bench [-- --quick] [--messages N] [--partitions P] [--size BYTES] [--runs R]
//                  [--skip karafka,kafkajs,microservices,java,heap-capped,io,latency,lifecycle,partitions,produce]
//                  [--only <the same names>] [--compare-ref <git ref>] [--cpu-prof] [--keep-topics] [--node PATH]
//                  [--memory-mb MB] [--memory-partitions P] [--memory-seconds S] [--memory-runs R]
// --node runs the measured children under another Node binary (for example one the CI matrix
// cached: ~/.cache/nestjs-karafka/node-24.22.3/bin/node); the results record which Node ran them.
// Seeds a topic once, then measures every system from the same data with a fresh group, each in
// its own process, in rounds (the order rotates, so drift on a shared machine hits all alike).
// Prints messages/s and the ratios against the baselines of this run; writes bench/results/.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, homedir, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaVersion, startBroker, stopBroker } from '../test/support/kafka/broker.mjs';
import { checks, table } from './report.mjs';
import { FETCH } from './settings.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
// karafkaLibrdkafka: (a) on the librdkafka driver; librdkafka: the binding's raw native consume loop.
// karafkaTraced: (a) with an OpenTelemetry SDK registered (bench/otel-sdk.mjs), exporting nothing.
const SYSTEMS = [
  'karafka',
  'kafkajs',
  'karafkaTraced',
  'karafkaLibrdkafka',
  'librdkafka',
  'microservices',
  'java',
];
const MEASUREMENTS = [...SYSTEMS, 'heap-capped', 'io', 'latency', 'lifecycle', 'partitions', 'produce'];
/** The produce section's systems and their child modes; the librdkafka ones when the binding loads. */
const PRODUCERS = {
  produceAsync: 'produce-async',
  produceMany: 'produce-many',
  kafkajsSend: 'produce-kafkajs',
  produceAsyncNotIdempotent: 'produce-async',
  produceAsyncLibrdkafka: 'produce-async',
  librdkafkaProduce: 'produce-librdkafka',
};

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    messages: { type: 'string' },
    partitions: { type: 'string' },
    size: { type: 'string' },
    runs: { type: 'string' },
    skip: { type: 'string' },
    only: { type: 'string' },
    'compare-ref': { type: 'string' },
    'memory-mb': { type: 'string' },
    'memory-partitions': { type: 'string' },
    'memory-seconds': { type: 'string' },
    'memory-runs': { type: 'string' },
    'cpu-prof': { type: 'boolean' },
    'keep-topics': { type: 'boolean' },
    node: { type: 'string' },
  },
});
function positive(option, fallback) {
  const value = values[option] === undefined ? fallback : Number(values[option]);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`--${option} must be a positive integer, got "${values[option]}"`);
  return value;
}
const quick = Boolean(values.quick);
const MESSAGES = positive('messages', quick ? 100_000 : 1_000_000);
const PARTITIONS = positive('partitions', 6);
const SIZE = positive('size', 100);
const RUNS = positive('runs', 3);
const IO_MESSAGES = quick ? 5_000 : 20_000;
const LATENCY_RATE = 2_000;
const LATENCY_SECONDS = quick ? 5 : 10;
/** Memory across partitions: a backlog of ~1,000 B messages, each batch taking 50 ms (issue 12, defect 9). */
const MEMORY = {
  partitions: positive('memory-partitions', 1_000),
  size: 1_000,
  messages: Math.round((positive('memory-mb', quick ? 40 : 400) * 1e6) / 1_000),
  seconds: positive('memory-seconds', quick ? 10 : 45),
  runs: positive('memory-runs', 1),
  batchMs: 50,
};
function measurements(option) {
  const list = (values[option] ?? '').split(',').filter(Boolean);
  for (const what of list)
    if (!MEASUREMENTS.includes(what))
      throw new Error(`--${option}: unknown "${what}"; one of ${MEASUREMENTS.join(', ')}`);
  return list;
}
const skip = new Set(measurements('skip'));
const only = measurements('only');
if (only.length > 0) for (const what of MEASUREMENTS) if (!only.includes(what)) skip.add(what);

/** The Node binary the children run under, and its version (asked from it, not assumed). */
function nodeUnderTest(path) {
  if (path === undefined) return { path: process.execPath, version: process.version };
  try {
    return { path, version: execFileSync(path, ['--version'], { encoding: 'utf8' }).trim() };
  } catch (error) {
    throw new Error(`--node ${path}: not a Node binary that runs (${error.message})`, { cause: error });
  }
}
const NODE = nodeUnderTest(values.node);

/** Whether the librdkafka binding (an optional peer, built by .ci/librdkafka-binding.sh) loads: else its rows are left out. */
function librdkafkaLoads() {
  try {
    createRequire(import.meta.url)('@confluentinc/kafka-javascript');
    return true;
  } catch (error) {
    log(`librdkafka rows skipped: the binding does not load (${error.message.split('\n')[0]})`);
    return false;
  }
}

const runId = Date.now().toString(36);
const name = (what) => `bench-${runId}-${what}`;
const log = (line) => console.error(`[bench] ${line}`);

/** This repository's cache folder, shared with the broker harness. */
function cache(...parts) {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'nestjs-karafka', ...parts);
}

/** The commit of the tree being measured, and whether it has uncommitted changes. */
function commitOf(dir) {
  const git = (...args) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
  return { commit: git('rev-parse', '--short', 'HEAD'), dirty: git('status', '--porcelain').length > 0 };
}

function machine() {
  return {
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: NODE.version,
    kafka: kafkaVersion(),
  };
}

// --- Kafka -------------------------------------------------------------------------------------

const external = process.env.KAFKA_BROKERS;
const broker = external ? { brokers: external, startedByUs: false } : await startBroker({ log });
const kafka = new Kafka({
  clientId: 'bench',
  brokers: broker.brokers.split(','),
  logLevel: logLevel.NOTHING,
  // The first write to 1,000 new partitions takes about 30 s here: past kafkajs's default 30 s the
  // request would be sent again.
  requestTimeout: 120_000,
});
/** Topics this run created or reused: deleted at the end unless --keep-topics. */
const createdTopics = [];

async function withAdmin(fn) {
  // Retries for about 2 minutes: a busy broker takes a while to elect leaders for 1,000 partitions.
  const admin = kafka.admin({ retry: { retries: 10 } });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

async function createTopic(topic, partitions) {
  createdTopics.push(topic); // before the wait for leaders, which may fail after the topic exists
  await withAdmin((admin) =>
    admin.createTopics({
      topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
      waitForLeaders: true,
    }),
  );
}

async function deleteTopics() {
  if (createdTopics.length > 0) await withAdmin((admin) => admin.deleteTopics({ topics: createdTopics }));
}

/** JSON of about `size` bytes: `{"n":…,"pad":"xxx…"}`, plus `extra` fields. */
function payload(n, extra = {}, size = SIZE) {
  const base = JSON.stringify({ n, ...extra, pad: '' });
  return JSON.stringify({ n, ...extra, pad: 'x'.repeat(Math.max(0, size - base.length)) });
}

async function seed(topic, count, partitions, size = SIZE) {
  // Idempotent: a retried request must not seed a message twice.
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  const started = performance.now();
  try {
    for (let start = 0; start < count; start += 20_000) {
      const batch = Array.from({ length: Math.min(20_000, count - start) }, (_, i) => ({
        key: String(start + i),
        value: payload(start + i, {}, size),
        partition: (start + i) % partitions,
      }));
      await producer.send({ topic, messages: batch });
    }
  } finally {
    await producer.disconnect();
  }
  log(
    `seeded ${count} messages of ~${size} B over ${partitions} partitions of ${topic} in ${Math.round(performance.now() - started)} ms`,
  );
}

/**
 * A topic of `count` messages of ~`size` B over `partitions`, named by that content: one that an
 * earlier run kept (--keep-topics) holding exactly that many messages from offset 0 is reused;
 * otherwise it is created and seeded (under a fresh name if a stale one is in the way).
 */
async function seededTopic(what, partitions, count, size = SIZE) {
  const topic = `bench-${what}-${partitions}x${count}x${size}`;
  /** How many messages the topic holds, or why it is not what this run seeds; undefined if absent. */
  const content = async (name) => {
    const offsets = await withAdmin(async (admin) =>
      (await admin.listTopics()).includes(name) ? admin.fetchTopicOffsets(name) : undefined,
    );
    if (!offsets) return undefined;
    const held = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
    const same = offsets.length === partitions && held === count && offsets.every((p) => p.low === '0');
    return { same, what: `${held} messages over ${offsets.length} partitions` };
  };
  const kept = await content(topic);
  if (kept?.same) {
    log(`reusing ${topic}: it holds the ${count} messages this run seeds`);
    createdTopics.push(topic);
    return topic;
  }
  if (kept) {
    log(`${topic} holds ${kept.what}: deleting it and seeding a fresh topic`);
    await withAdmin((admin) => admin.deleteTopics({ topics: [topic] }));
  }
  const fresh = kept ? `${topic}-${runId}` : topic;
  await createTopic(fresh, partitions);
  await seed(fresh, count, partitions, size);
  const seeded = await content(fresh);
  if (!seeded?.same) throw new Error(`seeding ${fresh} left ${seeded?.what}, not ${count} messages`);
  return fresh;
}

// --- Measured processes ------------------------------------------------------------------------

/** Runs bench/child.mjs; resolves with its result line. `onReady` hears its {"ready":true} line. */
function child(env, { execArgv = [], onReady, timeoutMs = 900_000 } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(NODE.path, [...execArgv, join(here, 'child.mjs')], {
      env: { ...process.env, KAFKA_BROKERS: broker.brokers, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buffered = '';
    let result;
    proc.stdout.on('data', (chunk) => {
      buffered += chunk;
      let newline;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        let parsed;
        try {
          parsed = JSON.parse(line);
        } catch {
          continue; // not one of ours: a library writing to stdout
        }
        if (parsed?.ready) onReady?.();
        else if (parsed?.mode) result = parsed;
      }
    });
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0 && result) resolve(result);
      else reject(new Error(`${env.MODE} exited with ${signal ?? code}${result ? '' : ' before reporting'}`));
    });
  });
}

/**
 * --compare-ref: that commit of this repository, built once into the cache from `git archive`
 * (the repository's worktrees are left alone) with this tree's node_modules linked in, so both
 * builds load the same Nest and kafkajs. Returns the URL of its dist/index.js for KARAFKA_LIB.
 */
function buildRef(ref) {
  const sha = execFileSync('git', ['rev-parse', '--verify', `${ref}^{commit}`], {
    cwd: root,
    encoding: 'utf8',
  }).trim();
  const dir = cache('bench-ref', sha);
  if (!existsSync(join(dir, '.complete'))) {
    log(`building ${ref} (${sha.slice(0, 7)}) into ${dir}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    execFileSync('sh', ['-c', 'git archive "$1" | tar -x -C "$2"', 'sh', sha, dir], { cwd: root });
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    try {
      execFileSync('npm', ['run', 'build'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      throw new Error(
        `--compare-ref ${ref}: npm run build failed in ${dir} (its dependencies must be in this tree's node_modules):\n${String(error.stdout).slice(-2_000)}`,
        { cause: error },
      );
    }
    writeFileSync(join(dir, '.complete'), new Date().toISOString());
  }
  return { ref, commit: sha.slice(0, 7), lib: pathToFileURL(join(dir, 'dist', 'index.js')).href };
}

/** kafka-tools fetched with Maven into the cache, as the harness fetches the broker (first run only). */
function kafkaTools() {
  const brokerVersion = kafkaVersion();
  const libs = cache(`kafka-tools-${brokerVersion}`, 'libs');
  if (!existsSync(join(libs, '.complete'))) {
    log(`fetching kafka-tools for Kafka ${brokerVersion} from Maven Central into ${libs} (first run only)`);
    mkdirSync(libs, { recursive: true });
    execFileSync(
      'mvn',
      [
        '-q',
        '-B',
        '-f',
        join(here, 'java', 'pom.xml'),
        'dependency:copy-dependencies',
        `-Dkafka.version=${brokerVersion}`,
        `-DoutputDirectory=${libs}`,
        '-DincludeScope=runtime',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    writeFileSync(join(libs, '.complete'), new Date().toISOString());
  }
  const jar = (artifact) =>
    readdirSync(libs)
      .map((file) => new RegExp(`^${artifact}-(\\d[^-]*)\\.jar$`).exec(file)?.[1])
      .find(Boolean);
  return { libs, tools: jar('kafka-tools'), clients: jar('kafka-clients') };
}

/** ConsumerPerformance with the Node systems' fetch settings; its fetch rate excludes the group join. */
function java(tools, topic, group) {
  const args = [
    '-Xmx1g',
    '-cp',
    `${tools.libs}/*`,
    'org.apache.kafka.tools.ConsumerPerformance',
    '--bootstrap-server',
    broker.brokers,
    '--topic',
    topic,
    '--num-records',
    String(MESSAGES),
    '--group',
    group,
    '--timeout',
    '120000',
    '--hide-header',
    ...[
      `max.partition.fetch.bytes=${FETCH.maxBytesPerPartition}`,
      `fetch.max.bytes=${FETCH.maxBytes}`,
      `fetch.max.wait.ms=${FETCH.maxWaitTimeInMs}`,
    ].flatMap((property) => ['--command-property', property]),
  ];
  return new Promise((resolve, reject) => {
    const proc = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (chunk) => (out += chunk));
    proc.stderr.on('data', (chunk) => (err += chunk));
    proc.on('error', reject);
    proc.on('exit', (code) => {
      // start.time, end.time, MB, MB.sec, nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
      const fields =
        out
          .trim()
          .split('\n')
          .pop()
          ?.split(',')
          .map((field) => field.trim()) ?? [];
      if (code !== 0 || fields.length < 10)
        return reject(new Error(`ConsumerPerformance exited ${code}: ${(err || out).trim().slice(-500)}`));
      resolve({
        mode: 'java',
        messages: Number(fields[4]),
        perSecond: Number(fields[9]),
        perSecondWithJoin: Number(fields[5]),
        joinMs: Number(fields[6]),
      });
    });
  });
}

// --- Summaries ---------------------------------------------------------------------------------

function median(numbers) {
  const sorted = [...numbers].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** The median run by messages/s; the highest memory peaks of all runs; every run's rate. */
function summarize(samples) {
  if (samples.length === 0) return undefined;
  const middle = median(samples.map((s) => s.perSecond));
  const representative = samples.find((s) => s.perSecond === middle);
  const cpu = samples.map((s) => s.cpuUsPerMessage).filter(Number.isFinite);
  const peaks = {};
  for (const key of ['peakRssMb', 'peakHeapMb', 'peakExternalMb']) {
    const values = samples.map((s) => s[key]).filter(Number.isFinite);
    if (values.length > 0) peaks[key] = Math.max(...values);
  }
  return {
    ...representative,
    runs: samples.map((s) => s.perSecond),
    ...(cpu.length > 0 ? { cpuUsPerMessage: median(cpu) } : {}),
    ...peaks,
  };
}

// --- The run -----------------------------------------------------------------------------------

const failures = [];
/** Runs one measurement; a failure is recorded and reported, and the other measurements go on. */
async function attempt(what, fn) {
  try {
    return await fn();
  } catch (error) {
    log(`${what} failed: ${error.message}`);
    failures.push(what);
    return { error: error.message.split('\n')[0] };
  }
}

async function latency() {
  const topic = name('latency');
  await createTopic(topic, PARTITIONS);
  const total = LATENCY_RATE * LATENCY_SECONDS;
  let ready;
  const joined = new Promise((resolve) => (ready = resolve));
  const measuring = child(
    { MODE: 'latency', TOPIC: topic, GROUP_ID: name('latency'), EXPECTED: String(total) },
    { onReady: ready },
  );
  await Promise.race([joined, measuring]);
  const producer = kafka.producer();
  await producer.connect();
  try {
    const started = Date.now();
    for (let sent = 0; sent < total;) {
      const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * LATENCY_RATE));
      const batch = [];
      for (; sent < due; sent++)
        batch.push({
          key: String(sent),
          value: payload(sent, { t: Date.now() }),
          partition: sent % PARTITIONS,
        });
      if (batch.length > 0) await producer.send({ topic, messages: batch, acks: 1 });
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    await producer.disconnect();
  }
  return { ...(await measuring), rate: LATENCY_RATE };
}

/**
 * Runs each system once a round, for `runs` rounds; the order rotates each round, so drift on a
 * shared machine hits every system alike. Returns each system's summary.
 */
async function rounds(section, systems, runs, measure) {
  const samples = Object.fromEntries(systems.map((system) => [system, []]));
  for (let round = 0; round < runs; round++) {
    const order = [...systems.slice(round % systems.length), ...systems.slice(0, round % systems.length)];
    for (const system of order) {
      log(`${section} round ${round + 1}/${runs}: ${system}`);
      const result = await attempt(`${section} ${system}`, () => measure(system, round));
      if (result.error) continue;
      samples[system].push(result);
      const rss = result.peakRssMb ? `, peak RSS ${Math.round(result.peakRssMb)} MB` : '';
      const heap = result.peakHeapMb ? `, peak heap ${Math.round(result.peakHeapMb)} MB` : '';
      log(`${system}: ${Math.round(result.perSecond)} msg/s${rss}${heap}`);
    }
  }
  return Object.fromEntries(systems.map((system) => [system, summarize(samples[system])]));
}

const compare = values['compare-ref'] ? buildRef(values['compare-ref']) : undefined;
/** The child's environment for a system; karafkaRef is (a) on the --compare-ref build. */
function systemEnv(system) {
  if (system === 'karafkaRef') return { MODE: 'karafka', KARAFKA_LIB: compare.lib };
  if (system === 'karafkaTraced') {
    const sdk = pathToFileURL(join(here, 'otel-sdk.mjs')).href;
    return { MODE: 'karafka', NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${sdk}`.trim() };
  }
  return system === 'karafkaLibrdkafka' ? { MODE: 'karafka', DRIVER: 'librdkafka' } : { MODE: system };
}
/** (a), followed by (a) on the --compare-ref build when there is one. */
const KARAFKA = compare ? ['karafka', 'karafkaRef'] : ['karafka'];

const results = {
  startedAt: new Date().toISOString(),
  tree: commitOf(root),
  ...(compare ? { compareRef: { ref: compare.ref, commit: compare.commit } } : {}),
  machine: { ...machine(), loadAverage: { start: loadavg().map((n) => +n.toFixed(2)) } },
  broker: { brokers: broker.brokers, startedByBench: broker.startedByUs, external: Boolean(external) },
  settings: {
    messages: MESSAGES,
    partitions: PARTITIONS,
    size: SIZE,
    runs: RUNS,
    fetch: FETCH,
    quick,
    memory: MEMORY,
  },
};
if (loadavg()[0] > cpus().length / 2)
  log(
    `the machine is busy (load average ${loadavg()[0].toFixed(2)} on ${cpus().length} cores): expect noisy rates`,
  );
try {
  const throughput = SYSTEMS.flatMap((system) => (system === 'karafka' ? KARAFKA : [system]))
    .filter((system) => !skip.has(system === 'karafkaRef' ? 'karafka' : system))
    .filter((system) => !/librdkafka/i.test(system) || librdkafkaLoads());
  const backlog = throughput.length > 0 || !skip.has('heap-capped') || values['cpu-prof'];
  const topic = backlog ? await seededTopic('backlog', PARTITIONS, MESSAGES) : undefined;

  const tools = skip.has('java') ? undefined : await attempt('java', () => kafkaTools());
  if (tools && !tools.error) results.machine.kafkaTools = { tools: tools.tools, clients: tools.clients };
  Object.assign(
    results,
    await rounds(
      'throughput',
      throughput.filter((system) => system !== 'java' || (tools && !tools.error)),
      RUNS,
      (system, round) =>
        system === 'java'
          ? java(tools, topic, name(`java-${round}`))
          : child({
              ...systemEnv(system),
              TOPIC: topic,
              GROUP_ID: name(`${system}-${round}`),
              EXPECTED: String(MESSAGES),
            }),
    ),
  );
  if (tools?.error) results.java = tools;

  if (!skip.has('produce')) {
    log(`produce: ${MESSAGES} messages of ~${SIZE} B to a fresh ${PARTITIONS}-partition topic a run`);
    const producers = Object.keys(PRODUCERS).filter(
      (system) => !/librdkafka/i.test(system) || librdkafkaLoads(),
    );
    results.produce = await rounds('produce', producers, RUNS, async (system, round) => {
      const topic = name(`produce-${system}-${round}`);
      await createTopic(topic, PARTITIONS);
      return child({
        MODE: PRODUCERS[system],
        TOPIC: topic,
        GROUP_ID: name(`produce-${round}`),
        EXPECTED: String(MESSAGES),
        SIZE: String(SIZE),
        ...(system === 'produceAsyncNotIdempotent' ? { IDEMPOTENCE: 'false' } : {}),
        ...(system === 'produceAsyncLibrdkafka' ? { DRIVER: 'librdkafka' } : {}),
      });
    });
  }

  if (!skip.has('partitions')) {
    const { partitions, messages, size, seconds, runs, batchMs } = MEMORY;
    const memoryTopic = await seededTopic('partitions', partitions, messages, size);
    log(`memory across ${partitions} partitions: ${batchMs} ms per batch, ${seconds} s a run`);
    results.partitions = await rounds('partitions', [...KARAFKA, 'kafkajs', 'idle'], runs, (system, round) =>
      child({
        ...systemEnv(system),
        TOPIC: memoryTopic,
        GROUP_ID: name(`partitions-${system}-${round}`),
        EXPECTED: String(messages),
        BATCH_MS: String(batchMs),
        DURATION_MS: String(seconds * 1000),
        ...(system === 'idle' ? { INITIAL_OFFSET: 'latest' } : {}),
      }),
    );
  }

  if (values['cpu-prof']) {
    // (a) and (a) with the SDK, side by side: what tracing costs shows in the difference.
    for (const [system, folder] of [
      ['karafka', 'profiles'],
      ['karafkaTraced', 'profiles-traced'],
    ]) {
      const dir = join(here, 'results', folder);
      log(`profiling ${system} into ${dir} (not counted)`);
      await attempt(`cpu-prof ${system}`, () =>
        child(
          {
            ...systemEnv(system),
            TOPIC: topic,
            GROUP_ID: name(`${system}-profiled`),
            EXPECTED: String(MESSAGES),
          },
          { execArgv: ['--cpu-prof', `--cpu-prof-dir=${dir}`] },
        ),
      );
    }
  }

  if (!skip.has('heap-capped')) {
    log('(a) with the V8 old space capped at 256 MB');
    results.heapCapped = await attempt('heap-capped', () =>
      child(
        { MODE: 'karafka', TOPIC: topic, GROUP_ID: name('karafka-capped'), EXPECTED: String(MESSAGES) },
        { execArgv: ['--max-old-space-size=256'] },
      ),
    );
  }

  if (!skip.has('io')) {
    const ioTopic = await seededTopic('io', 10, IO_MESSAGES);
    results.io = {};
    for (const concurrency of [1, 5, 10]) {
      log(`simulated I/O (1 ms per message), concurrency ${concurrency}`);
      results.io[concurrency] = await attempt(`io ${concurrency}`, () =>
        child({
          MODE: 'io',
          TOPIC: ioTopic,
          GROUP_ID: name(`io-${concurrency}`),
          EXPECTED: String(IO_MESSAGES),
          CONCURRENCY: String(concurrency),
          IO_MS: '1',
          // Chunks of 20 (of 2,000 messages a partition in a full run): every partition always has a job.
          MAX_MESSAGES: '20',
        }),
      );
    }
  }

  if (!skip.has('latency')) {
    log(`end-to-end latency at ${LATENCY_RATE} msg/s for ${LATENCY_SECONDS} s`);
    results.latency = await attempt('latency', () => latency());
  }

  if (!skip.has('lifecycle')) {
    const routes = [name('route-1'), name('route-2'), name('route-3')];
    for (const route of routes) {
      await createTopic(route, 1);
      await seed(route, 1, 1);
    }
    log('boot to first message, and stop of the idle app, 3 routes');
    results.lifecycle = await attempt('lifecycle', () =>
      child({
        MODE: 'lifecycle',
        TOPICS: routes.join(','),
        GROUP_ID: name('lifecycle'),
        EXPECTED: String(routes.length),
      }),
    );
  }
} finally {
  if (!values['keep-topics'])
    await deleteTopics().catch((error) => log(`could not delete the bench topics: ${error.message}`));
  if (broker.startedByUs) await stopBroker({ log });
}

results.machine.loadAverage.end = loadavg().map((n) => +n.toFixed(2));
results.checks = checks(results);
results.table = table(results);
results.finishedAt = new Date().toISOString();
mkdirSync(join(here, 'results'), { recursive: true });
const file = join(here, 'results', `${results.startedAt.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(join(here, 'results', 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);

const m = results.machine;
const tools = m.kafkaTools
  ? `; ConsumerPerformance from kafka-tools ${m.kafkaTools.tools} on kafka-clients ${m.kafkaTools.clients}`
  : '';
const trees = `${results.tree.commit}${results.tree.dirty ? ' with uncommitted changes' : ''}${compare ? `, compared with ${compare.ref} (${compare.commit})` : ''}`;
console.log(
  `\nnestjs-karafka benchmark at ${trees}: ${MESSAGES.toLocaleString('en-US')} messages of ~${SIZE} B over ${PARTITIONS} partitions, median of ${RUNS} run${RUNS === 1 ? '' : 's'}\n` +
    `${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, Node ${m.node}, Kafka ${m.kafka}${tools}; load average ${m.loadAverage.start.join(' ')} at start, ${m.loadAverage.end.join(' ')} at end\n`,
);
console.log(results.table.join('\n'));
if (quick)
  console.log(
    '\n--quick drains each system in a fraction of a second: its rates and ratios mostly measure warm-up.',
  );
console.log(`\nresults: ${file}`);
if (failures.length > 0) {
  console.error(`\n[bench] failed: ${failures.join(', ')}`);
  process.exitCode = 1;
}
