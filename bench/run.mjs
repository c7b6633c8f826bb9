// npm run bench [-- --quick] [--messages N] [--partitions P] [--size BYTES]
// Seeds a topic once, then measures every system from the same data with a fresh group, each in
// its own process. Prints messages/s and ratios against the baselines measured in this run.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, homedir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaVersion, startBroker, stopBroker } from '../test/support/kafka/broker.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    messages: { type: 'string' },
    partitions: { type: 'string' },
    size: { type: 'string' },
    skip: { type: 'string' },
  },
});
const MESSAGES = Number(values.messages ?? (values.quick ? 100_000 : 1_000_000));
const PARTITIONS = Number(values.partitions ?? 6);
const SIZE = Number(values.size ?? 100);
const skip = new Set((values.skip ?? '').split(',').filter(Boolean));
const runId = Date.now().toString(36);
const name = (what) => `bench-${what}-${runId}`;

const log = (line) => console.error(`[bench] ${line}`);
const external = process.env.KAFKA_BROKERS;
const broker = external ? { brokers: external, startedByUs: false } : await startBroker({ log });
const brokers = broker.brokers;
const kafka = new Kafka({ clientId: 'bench', brokers: brokers.split(','), logLevel: logLevel.NOTHING });

async function createTopic(topic, partitions) {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  await admin.disconnect();
}

function payload(n, extra = {}) {
  const base = JSON.stringify({ n, ...extra, pad: '' });
  return JSON.stringify({ n, ...extra, pad: 'x'.repeat(Math.max(0, SIZE - base.length)) });
}

async function seed(topic, count, partitions) {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const started = performance.now();
  for (let start = 0; start < count; start += 20_000) {
    const batch = Array.from({ length: Math.min(20_000, count - start) }, (_, i) => ({
      key: String(start + i),
      value: payload(start + i),
      partition: (start + i) % partitions,
    }));
    await producer.send({ topic, messages: batch, acks: 1 });
  }
  await producer.disconnect();
  log(
    `seeded ${count} messages of ~${SIZE} B over ${partitions} partitions of ${topic} in ${Math.round(performance.now() - started)} ms`,
  );
}

function child(env, { timeoutMs = 600_000 } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [join(here, 'child.mjs')], {
      env: { ...process.env, KAFKA_BROKERS: brokers, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (chunk) => (out += chunk));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop();
      if (code !== 0 || !line) return reject(new Error(`${env.MODE} exited ${code}: ${out}`));
      resolve(JSON.parse(line));
    });
  });
}

function javaConsumerPerformance(topic, count) {
  const version = /<kafka\.tools\.version>([^<]+)</.exec(
    readFileSync(join(here, 'java', 'pom.xml'), 'utf8'),
  )[1];
  const libs = join(
    process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'),
    'nestjs-karafka',
    `kafka-tools-${version}`,
    'libs',
  );
  if (!existsSync(join(libs, '.complete'))) {
    log(`fetching kafka-tools ${version} from Maven Central (first run only)`);
    mkdirSync(libs, { recursive: true });
    execFileSync(
      'mvn',
      [
        '-q',
        '-B',
        '-f',
        join(here, 'java', 'pom.xml'),
        'dependency:copy-dependencies',
        `-DoutputDirectory=${libs}`,
        '-DincludeScope=runtime',
      ],
      { stdio: 'inherit' },
    );
    writeFileSync(join(libs, '.complete'), new Date().toISOString());
  }
  const output = execFileSync(
    'java',
    [
      '-Xmx1g',
      '-cp',
      `${libs}/*`,
      'org.apache.kafka.tools.ConsumerPerformance',
      '--bootstrap-server',
      brokers,
      '--topic',
      topic,
      '--messages',
      String(count),
      '--group',
      name('java'),
      '--timeout',
      '120000',
      '--hide-header',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
  const fields = output
    .trim()
    .split('\n')
    .pop()
    .split(',')
    .map((field) => field.trim());
  return {
    mode: 'java',
    messages: Number(fields[4]),
    perSecond: Number(fields[9]),
    totalPerSecond: Number(fields[5]),
  };
}

async function latency() {
  const topic = name('latency');
  await createTopic(topic, PARTITIONS);
  const rate = 2_000;
  const seconds = values.quick ? 5 : 10;
  const total = rate * seconds;
  const measuring = child({
    MODE: 'latency',
    TOPIC: topic,
    GROUP_ID: name('latency-group'),
    EXPECTED: String(total),
    MAX_MESSAGES: '100',
  });
  await new Promise((r) => setTimeout(r, 4_000)); // the group joins
  const producer = kafka.producer();
  await producer.connect();
  const started = Date.now();
  for (let sent = 0; sent < total;) {
    const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * rate));
    const batch = [];
    for (; sent < due; sent++)
      batch.push({
        key: String(sent),
        value: payload(sent, { t: Date.now() }),
        partition: sent % PARTITIONS,
      });
    if (batch.length > 0) await producer.send({ topic, messages: batch, acks: 1 });
    await new Promise((r) => setTimeout(r, 5));
  }
  await producer.disconnect();
  return measuring;
}

const results = {
  startedAt: new Date().toISOString(),
  machine: {
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    kafka: kafkaVersion(),
  },
  settings: { messages: MESSAGES, partitions: PARTITIONS, size: SIZE },
};
try {
  const topic = name('backlog');
  await createTopic(topic, PARTITIONS);
  await seed(topic, MESSAGES, PARTITIONS);
  const run = async (mode) => {
    if (skip.has(mode)) return undefined;
    log(`measuring ${mode}`);
    const result = await child({
      MODE: mode,
      TOPIC: topic,
      GROUP_ID: name(`${mode}-group`),
      EXPECTED: String(MESSAGES),
      CONCURRENCY: '5',
    });
    log(`${mode}: ${Math.round(result.perSecond)} msg/s, peak RSS ${Math.round(result.peakRssMb)} MB`);
    return result;
  };
  results.karafka = await run('karafka');
  results.kafkajs = await run('kafkajs');
  results.microservices = await run('microservices');
  if (!skip.has('java')) {
    log('measuring Kafka ConsumerPerformance (Java)');
    results.java = javaConsumerPerformance(topic, MESSAGES);
  }

  const ioTopic = name('io');
  const ioMessages = values.quick ? 5_000 : 20_000;
  await createTopic(ioTopic, 10);
  await seed(ioTopic, ioMessages, 10);
  results.io = {};
  for (const concurrency of [1, 5, 10]) {
    log(`measuring simulated I/O (1 ms per message), concurrency ${concurrency}`);
    results.io[concurrency] = await child({
      MODE: 'io',
      TOPIC: ioTopic,
      GROUP_ID: name(`io-${concurrency}`),
      EXPECTED: String(ioMessages),
      CONCURRENCY: String(concurrency),
      IO_MS: '1',
      MAX_MESSAGES: '20',
    });
  }

  log('measuring end-to-end latency at 2,000 msg/s');
  results.latency = await latency();

  const routes = [name('r1'), name('r2'), name('r3')];
  for (const route of routes) {
    await createTopic(route, 1);
    await seed(route, 1, 1);
  }
  log('measuring boot-to-first-message and stop of an app with 3 routes');
  results.lifecycle = await child({
    MODE: 'lifecycle',
    TOPICS: routes.join(','),
    GROUP_ID: name('lifecycle'),
    EXPECTED: '1',
  });
} finally {
  if (broker.startedByUs) await stopBroker({ log });
}

const ratio = (a, b) => (a && b ? a.perSecond / b.perSecond : NaN);
const fmt = (n, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : 'n/a';
const verdict = (ok) => (ok ? 'PASS' : 'MISS');
const io = results.io ?? {};
const checks = [
  [
    'a/b (vs raw kafkajs eachBatch)',
    fmt(ratio(results.karafka, results.kafkajs), 2),
    '>= 0.95',
    verdict(ratio(results.karafka, results.kafkajs) >= 0.95),
  ],
  [
    'a/c (vs @nestjs/microservices)',
    fmt(ratio(results.karafka, results.microservices), 2),
    '>= 2',
    verdict(ratio(results.karafka, results.microservices) >= 2),
  ],
  ['a/d (vs Java ConsumerPerformance)', fmt(ratio(results.karafka, results.java), 2), 'reported', ''],
  [
    'peak RSS of (a) draining the backlog',
    `${fmt(results.karafka?.peakRssMb)} MB`,
    '< 256 MB',
    verdict(results.karafka?.peakRssMb < 256),
  ],
  [
    'simulated I/O: concurrency 10 / 1',
    fmt(ratio(io[10], io[1]), 2),
    '>= 8',
    verdict(ratio(io[10], io[1]) >= 8),
  ],
  [
    'stop of an idle app with 3 routes',
    `${fmt(results.lifecycle?.stopMs)} ms`,
    '< 1000 ms',
    verdict(results.lifecycle?.stopMs < 1000),
  ],
];
const table = [
  `| system | messages/s |`,
  `| --- | ---: |`,
  `| (a) nestjs-karafka, pass-through batch consumer | ${fmt(results.karafka?.perSecond)} |`,
  `| (b) raw kafkajs eachBatch (auto-commit per batch) | ${fmt(results.kafkajs?.perSecond)} |`,
  `| (c) @nestjs/microservices Transport.KAFKA, @EventPattern | ${fmt(results.microservices?.perSecond)} |`,
  `| (d) Kafka ConsumerPerformance (Java, fetch rate) | ${fmt(results.java?.perSecond)} |`,
  ...[1, 5, 10].map(
    (c) => `| simulated I/O 1 ms/message, 10 partitions, concurrency ${c} | ${fmt(io[c]?.perSecond)} |`,
  ),
  '',
  `| check | value | target | |`,
  `| --- | ---: | --- | --- |`,
  ...checks.map((row) => `| ${row.join(' | ')} |`),
  `| end-to-end latency at 2,000 msg/s, p50 / p99 | ${fmt(results.latency?.p50)} / ${fmt(results.latency?.p99)} ms | reported | |`,
  `| boot to first message, 3 routes | ${fmt(results.lifecycle?.bootToFirstMessageMs)} ms | reported | |`,
];
results.table = table;
results.finishedAt = new Date().toISOString();
mkdirSync(join(here, 'results'), { recursive: true });
const file = join(here, 'results', `${results.startedAt.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify(results, null, 2));
writeFileSync(join(here, 'results', 'latest.json'), JSON.stringify(results, null, 2));
console.log(
  `\nnestjs-karafka benchmark: ${MESSAGES.toLocaleString('en-US')} messages of ~${SIZE} B, ${PARTITIONS} partitions; ${results.machine.cpu}, ${results.machine.cores} cores, ${results.machine.memoryGb} GB, Node ${results.machine.node}, Kafka ${results.machine.kafka}\n`,
);
console.log(table.join('\n'));
console.log(`\nresults: ${file}`);
