// npm run bench [-- --quick] [--messages N] [--partitions P] [--size BYTES] [--runs R]
//                  [--skip karafka,kafkajs,microservices,java,heap-capped,io,latency,lifecycle]
//                  [--cpu-prof] [--keep-topics] [--node PATH]
// --node runs the measured children under another Node binary (for example one the CI matrix
// cached: ~/.cache/nestjs-karafka/node-24.22.3/bin/node); the results record which Node ran them.
// Seeds a topic once, then measures every system from the same data with a fresh group, each in
// its own process, in rounds (the order rotates, so drift on a shared machine hits all alike).
// Prints messages/s and the ratios against the baselines of this run; writes bench/results/.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, homedir, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaVersion, startBroker, stopBroker } from '../test/support/kafka/broker.mjs';
import { checks, table } from './report.mjs';
import { FETCH } from './settings.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const SYSTEMS = ['karafka', 'kafkajs', 'microservices', 'java'];
const MEASUREMENTS = [...SYSTEMS, 'heap-capped', 'io', 'latency', 'lifecycle'];

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    messages: { type: 'string' },
    partitions: { type: 'string' },
    size: { type: 'string' },
    runs: { type: 'string' },
    skip: { type: 'string' },
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
const skip = new Set((values.skip ?? '').split(',').filter(Boolean));
for (const what of skip)
  if (!MEASUREMENTS.includes(what))
    throw new Error(`--skip: unknown "${what}"; one of ${MEASUREMENTS.join(', ')}`);

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

const runId = Date.now().toString(36);
const name = (what) => `bench-${runId}-${what}`;
const log = (line) => console.error(`[bench] ${line}`);

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
});
const createdTopics = [];

async function createTopic(topic, partitions) {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    createdTopics.push(topic);
  } finally {
    await admin.disconnect();
  }
}

async function deleteTopics() {
  if (createdTopics.length === 0) return;
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: createdTopics });
  } finally {
    await admin.disconnect();
  }
}

/** JSON of about SIZE bytes: `{"n":…,"pad":"xxx…"}`, plus `extra` fields. */
function payload(n, extra = {}) {
  const base = JSON.stringify({ n, ...extra, pad: '' });
  return JSON.stringify({ n, ...extra, pad: 'x'.repeat(Math.max(0, SIZE - base.length)) });
}

async function seed(topic, count, partitions) {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const started = performance.now();
  try {
    for (let start = 0; start < count; start += 20_000) {
      const batch = Array.from({ length: Math.min(20_000, count - start) }, (_, i) => ({
        key: String(start + i),
        value: payload(start + i),
        partition: (start + i) % partitions,
      }));
      await producer.send({ topic, messages: batch, acks: 1 });
    }
  } finally {
    await producer.disconnect();
  }
  log(
    `seeded ${count} messages of ~${SIZE} B over ${partitions} partitions of ${topic} in ${Math.round(performance.now() - started)} ms`,
  );
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

/** kafka-tools fetched with Maven into the cache, as the harness fetches the broker (first run only). */
function kafkaTools() {
  const brokerVersion = kafkaVersion();
  const libs = join(
    process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'),
    'nestjs-karafka',
    `kafka-tools-${brokerVersion}`,
    'libs',
  );
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

/** The median run by messages/s; the highest peak RSS of all runs; every run's rate. */
function summarize(samples) {
  if (samples.length === 0) return undefined;
  const middle = median(samples.map((s) => s.perSecond));
  const representative = samples.find((s) => s.perSecond === middle);
  const rss = samples.map((s) => s.peakRssMb).filter(Number.isFinite);
  const cpu = samples.map((s) => s.cpuUsPerMessage).filter(Number.isFinite);
  return {
    ...representative,
    runs: samples.map((s) => s.perSecond),
    ...(cpu.length > 0 ? { cpuUsPerMessage: median(cpu) } : {}),
    ...(rss.length > 0 ? { peakRssMb: Math.max(...rss) } : {}),
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

const results = {
  startedAt: new Date().toISOString(),
  machine: { ...machine(), loadAverage: { start: loadavg().map((n) => +n.toFixed(2)) } },
  broker: { brokers: broker.brokers, startedByBench: broker.startedByUs, external: Boolean(external) },
  settings: { messages: MESSAGES, partitions: PARTITIONS, size: SIZE, runs: RUNS, fetch: FETCH, quick },
};
if (loadavg()[0] > cpus().length / 2)
  log(
    `the machine is busy (load average ${loadavg()[0].toFixed(2)} on ${cpus().length} cores): expect noisy rates`,
  );
try {
  const backlog = name('backlog');
  await createTopic(backlog, PARTITIONS);
  await seed(backlog, MESSAGES, PARTITIONS);

  const tools = skip.has('java') ? undefined : await attempt('java', () => kafkaTools());
  if (tools && !tools.error) results.machine.kafkaTools = { tools: tools.tools, clients: tools.clients };
  const samples = Object.fromEntries(SYSTEMS.map((system) => [system, []]));
  for (let round = 0; round < RUNS; round++) {
    const order = [...SYSTEMS.slice(round % SYSTEMS.length), ...SYSTEMS.slice(0, round % SYSTEMS.length)];
    for (const system of order) {
      if (skip.has(system) || (system === 'java' && (!tools || tools.error))) continue;
      log(`round ${round + 1}/${RUNS}: ${system}`);
      const group = name(`${system}-${round}`);
      const result = await attempt(system, () =>
        system === 'java'
          ? java(tools, backlog, group)
          : child({ MODE: system, TOPIC: backlog, GROUP_ID: group, EXPECTED: String(MESSAGES) }),
      );
      if (result.error) continue;
      samples[system].push(result);
      const rss = result.peakRssMb ? `, peak RSS ${Math.round(result.peakRssMb)} MB` : '';
      log(`${system}: ${Math.round(result.perSecond)} msg/s${rss}`);
    }
  }
  for (const system of SYSTEMS) results[system] = summarize(samples[system]);
  if (tools?.error) results.java = tools;

  if (values['cpu-prof']) {
    const dir = join(here, 'results', 'profiles');
    log(`profiling (a) into ${dir} (not counted)`);
    await attempt('cpu-prof', () =>
      child(
        { MODE: 'karafka', TOPIC: backlog, GROUP_ID: name('karafka-profiled'), EXPECTED: String(MESSAGES) },
        { execArgv: ['--cpu-prof', `--cpu-prof-dir=${dir}`] },
      ),
    );
  }

  if (!skip.has('heap-capped')) {
    log('(a) with the V8 old space capped at 256 MB');
    results.heapCapped = await attempt('heap-capped', () =>
      child(
        { MODE: 'karafka', TOPIC: backlog, GROUP_ID: name('karafka-capped'), EXPECTED: String(MESSAGES) },
        { execArgv: ['--max-old-space-size=256'] },
      ),
    );
  }

  if (!skip.has('io')) {
    const topic = name('io');
    await createTopic(topic, 10);
    await seed(topic, IO_MESSAGES, 10);
    results.io = {};
    for (const concurrency of [1, 5, 10]) {
      log(`simulated I/O (1 ms per message), concurrency ${concurrency}`);
      results.io[concurrency] = await attempt(`io ${concurrency}`, () =>
        child({
          MODE: 'io',
          TOPIC: topic,
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
console.log(
  `\nnestjs-karafka benchmark: ${MESSAGES.toLocaleString('en-US')} messages of ~${SIZE} B over ${PARTITIONS} partitions, median of ${RUNS} run${RUNS === 1 ? '' : 's'}\n` +
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
