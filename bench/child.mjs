// One measured system per process, so RSS and GC never mix. MODE selects it. Prints JSON lines on
// stdout: {"ready":true} once the consumer owns its partitions (latency mode), then the result.
// Plain ESM over the built package (npm run build first): Nest decorators are applied by hand.
// KARAFKA_LIB (a file URL of another build's dist/index.js) runs that build instead: --compare-ref.
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, Transport } from '@nestjs/microservices';
import { Kafka, logLevel } from 'kafkajs';
import { FETCH } from './settings.mjs';

const { BaseConsumer, Consumer, KarafkaModule, KarafkaMonitor, KarafkaProducer, KarafkaRunner } =
  await import(process.env.KARAFKA_LIB ?? 'nestjs-karafka');

const {
  MODE,
  TOPIC,
  TOPICS,
  GROUP_ID,
  KAFKA_BROKERS,
  EXPECTED = '0',
  CONCURRENCY,
  IO_MS = '0',
  MAX_MESSAGES,
  IDLE_MS = '1000',
  BATCH_MS = '0',
  DURATION_MS = '0',
  INITIAL_OFFSET,
  SIZE = '100',
  IDEMPOTENCE,
  DRIVER,
} = process.env;
const expected = Number(EXPECTED);
const ioMs = Number(IO_MS);
/** Memory section: every batch takes this long, and the run ends this long after its first message. */
const batchMs = Number(BATCH_MS);
const durationMs = Number(DURATION_MS);
const brokers = KAFKA_BROKERS.split(',');

let count = 0;
let firstAt = 0;
let lastAt = 0;
let cpuAtFirst;
let cpuWindow;
const latencies = [];
/** Latency mode: per partition, when each fetched batch reached the engine and how many of it are left. */
const arrivals = new Map();
const inEngine = [];
let finish;
const done = new Promise((resolve) => (finish = resolve));

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts the timed window; with DURATION_MS it ends by itself that long after. */
function start() {
  firstAt = performance.now();
  cpuAtFirst = process.cpuUsage();
  if (durationMs > 0) setTimeout(end, durationMs).unref();
}

function end() {
  if (lastAt) return;
  lastAt = performance.now();
  cpuWindow = process.cpuUsage(cpuAtFirst);
  finish();
}

/** Counts what user code was handed; the clock starts at the first message, so boot and group join are not timed. */
function seen(n) {
  if (lastAt) return;
  if (count === 0) start();
  count += n;
  if (count >= expected) end();
}

/** Memory section: peaks of the V8 heap and of the memory outside it (Buffers), sampled; RSS once a second. */
const memory = { peakHeapMb: 0, peakExternalMb: 0, rssMbEachSecond: [] };
if (durationMs > 0) {
  let ticks = 0;
  setInterval(() => {
    const { heapUsed, external, rss } = process.memoryUsage();
    memory.peakHeapMb = Math.max(memory.peakHeapMb, heapUsed / 2 ** 20);
    memory.peakExternalMb = Math.max(memory.peakExternalMb, external / 2 ** 20);
    if (ticks++ % 10 === 0) memory.rssMbEachSecond.push(Math.round(rss / 2 ** 20));
  }, 100).unref();
}

/** Peak resident set size: the kernel's high-water mark, VmHWM. */
function peakRssMb() {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kb) return Number(kb) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

function emit(line) {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function report(extra = {}) {
  const ms = lastAt - firstAt;
  emit({
    mode: MODE,
    messages: count,
    ms,
    perSecond: (count / ms) * 1000,
    // CPU of this process (every thread, GC included) per message: steadier than wall time on a shared machine.
    cpuUsPerMessage: (cpuWindow.user + cpuWindow.system) / count,
    peakRssMb: peakRssMb(),
    ...(durationMs > 0 ? memory : {}),
    ...extra,
  });
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function karafkaApp(topics) {
  const classes = topics.map((topic, index) => {
    const name = `BenchConsumer${index}`;
    const Klass = {
      [name]: class extends BaseConsumer {
        async consume(messages) {
          if (MODE === 'latency') {
            const now = Date.now();
            const fetched = arrivals.get(messages.metadata.partition) ?? [];
            for (const message of messages) {
              latencies.push(now - message.payload.t);
              const batch = fetched[0];
              if (!batch) continue;
              inEngine.push(now - batch.at);
              if (--batch.left === 0) fetched.shift();
            }
            seen(messages.size);
          } else if (ioMs > 0) {
            for (const _message of messages) {
              await sleep(ioMs);
              seen(1);
            }
          } else {
            if (batchMs > 0) await sleep(batchMs);
            seen(messages.size);
          }
          // No markAsConsumed: the default marks the whole batch once consume returns.
        }
      },
    }[name];
    Consumer(topic)(Klass);
    return Klass;
  });
  class BenchModule {}
  Module({
    imports: [
      KarafkaModule.forRoot({
        kafka: {
          'bootstrap.servers': KAFKA_BROKERS,
          'max.partition.fetch.bytes': FETCH.maxBytesPerPartition,
          'fetch.max.bytes': FETCH.maxBytes,
          // Produce section: the same acks (all), without the idempotent producer.
          ...(IDEMPOTENCE === 'false' ? { 'enable.idempotence': false } : {}),
        },
        groupId: GROUP_ID,
        maxWaitTime: FETCH.maxWaitTimeInMs,
        // The library's defaults (concurrency 5, maxMessages 100) unless a measurement sets them.
        ...(CONCURRENCY ? { concurrency: Number(CONCURRENCY) } : {}),
        ...(MAX_MESSAGES ? { maxMessages: Number(MAX_MESSAGES) } : {}),
        ...(INITIAL_OFFSET ? { initialOffset: INITIAL_OFFSET } : {}),
        ...(DRIVER ? { driver: DRIVER } : {}),
        logging: false,
      }),
    ],
    providers: classes,
  })(BenchModule);
  return NestFactory.createApplicationContext(BenchModule, { logger: false });
}

/** Resolves once every subscription group joined and owns partitions, read from the public status. */
async function joined(app) {
  const runner = app.get(KarafkaRunner);
  for (;;) {
    const { listeners } = runner.status();
    if (listeners.length > 0 && listeners.every((l) => l.joined && l.assigned.length > 0)) return;
    await sleep(20);
  }
}

if (MODE === 'karafka' || MODE === 'io') {
  const app = await karafkaApp([TOPIC]);
  await done;
  report();
  await app.close();
} else if (MODE === 'idle') {
  // The floor: the same subscription from the end of the topic, so nothing is fetched.
  const app = await karafkaApp([TOPIC]);
  await joined(app);
  start();
  await done;
  report();
  await app.close();
} else if (MODE === 'latency') {
  const app = await karafkaApp([TOPIC]);
  // Splits the latency: produce to fetched (client and broker), fetched to consume (this engine).
  app
    .get(KarafkaMonitor)
    .subscribe('connection.listener.fetch_loop.received', ({ partition, messagesCount }) => {
      if (!arrivals.has(partition)) arrivals.set(partition, []);
      arrivals.get(partition).push({ at: Date.now(), left: messagesCount });
    });
  await joined(app);
  emit({ ready: true });
  await done;
  const sorted = latencies.sort((a, b) => a - b);
  const engine = inEngine.sort((a, b) => a - b);
  report({
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1],
    engineP50: percentile(engine, 50),
    engineP99: percentile(engine, 99),
  });
  await app.close();
} else if (MODE === 'kafkajs') {
  const consumer = new Kafka({ brokers, logLevel: logLevel.NOTHING }).consumer({
    groupId: GROUP_ID,
    ...FETCH,
  });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  // As kafkajs users run eachBatch: auto-resolve, and autoCommit, which commits after every batch.
  await consumer.run({
    eachBatch: async ({ batch }) => {
      if (batchMs > 0) await sleep(batchMs);
      seen(batch.messages.length);
    },
  });
  await done;
  report();
  await consumer.disconnect();
} else if (MODE === 'librdkafka') {
  // The binding's native API as its users run it: a consume(1000) loop, auto commit on.
  const { createRequire } = await import('node:module');
  const { KafkaConsumer } = createRequire(import.meta.url)('@confluentinc/kafka-javascript');
  const consumer = new KafkaConsumer(
    {
      'bootstrap.servers': KAFKA_BROKERS,
      'group.id': GROUP_ID,
      'max.partition.fetch.bytes': FETCH.maxBytesPerPartition,
      'fetch.max.bytes': FETCH.maxBytes,
      'fetch.wait.max.ms': FETCH.maxWaitTimeInMs,
    },
    { 'auto.offset.reset': 'earliest' },
  );
  await new Promise((resolve, reject) =>
    consumer.connect({}, (error) => (error ? reject(error) : resolve())),
  );
  consumer.setDefaultConsumeTimeout(FETCH.maxWaitTimeInMs);
  consumer.subscribe([TOPIC]);
  const loop = () =>
    consumer.consume(1000, (error, messages) => {
      if (!error && messages.length > 0) seen(messages.length);
      if (!lastAt) loop();
    });
  loop();
  await done;
  report();
  await new Promise((resolve) => consumer.disconnect(resolve));
} else if (MODE === 'microservices') {
  class Handler {
    onEvent() {
      seen(1);
    }
  }
  EventPattern(TOPIC)(
    Handler.prototype,
    'onEvent',
    Object.getOwnPropertyDescriptor(Handler.prototype, 'onEvent'),
  );
  Controller()(Handler);
  class MicroserviceModule {}
  Module({ controllers: [Handler] })(MicroserviceModule);
  const app = await NestFactory.createMicroservice(MicroserviceModule, {
    transport: Transport.KAFKA,
    logger: false,
    options: {
      client: { brokers, logLevel: logLevel.NOTHING },
      consumer: { groupId: GROUP_ID, ...FETCH },
      subscribe: { fromBeginning: true },
      // Otherwise the group id gets a '-server' suffix.
      postfixId: '',
    },
  });
  await app.listen();
  await done;
  report();
  await app.close();
} else if (MODE === 'lifecycle') {
  const bootStarted = performance.now();
  const app = await karafkaApp(TOPICS.split(','));
  await done;
  const bootToFirstMessageMs = firstAt - bootStarted;
  // Every route got its message; now idle, as an app is when it is told to stop.
  await sleep(Number(IDLE_MS));
  const stopStarted = performance.now();
  await app.close();
  const stopMs = performance.now() - stopStarted;
  report({ bootToFirstMessageMs, stopMs, routes: TOPICS.split(',').length });
} else if (MODE.startsWith('produce-')) {
  // Produce section: EXPECTED messages of ~SIZE B to TOPIC, keyed, built before the clock starts.
  const messages = Array.from({ length: expected }, (_, n) => {
    const base = JSON.stringify({ n, pad: '' });
    return {
      topic: TOPIC,
      key: String(n),
      payload: { n, pad: 'x'.repeat(Math.max(0, Number(SIZE) - base.length)) },
    };
  });
  if (MODE === 'produce-kafkajs') {
    // As a kafkajs user sends a backlog: idempotent, acks all, sequential sends of 10,000.
    const producer = new Kafka({ brokers, logLevel: logLevel.NOTHING }).producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
    await producer.connect();
    start();
    for (let from = 0; from < expected; from += 10_000) {
      const batch = messages
        .slice(from, from + 10_000)
        .map(({ key, payload }) => ({ key, value: JSON.stringify(payload) }));
      await producer.send({ topic: TOPIC, acks: -1, messages: batch });
    }
    await producer.disconnect();
  } else if (MODE === 'produce-librdkafka') {
    // The binding's native producer as its users run it: idempotent, acks all, produce() per
    // message (waiting for room when its queue is full), then flush.
    const { createRequire } = await import('node:module');
    const { Producer } = createRequire(import.meta.url)('@confluentinc/kafka-javascript');
    const producer = new Producer(
      { 'bootstrap.servers': KAFKA_BROKERS, 'enable.idempotence': true, dr_cb: true },
      { acks: -1 },
    );
    await new Promise((resolve, reject) =>
      producer.connect({}, (error) => (error ? reject(error) : resolve())),
    );
    producer.setPollInterval(20);
    let delivered = 0;
    const allDelivered = new Promise((resolve, reject) =>
      producer.on('delivery-report', (error) => {
        if (error) reject(error);
        else if (++delivered === expected) resolve();
      }),
    );
    start();
    for (const { key, payload } of messages) {
      const value = Buffer.from(JSON.stringify(payload));
      for (;;) {
        try {
          producer.produce(TOPIC, null, value, key);
          break;
        } catch (error) {
          if (error.code !== -184) throw error; // queue full: let delivery reports make room
          await sleep(5);
        }
      }
    }
    await allDelivered;
    await new Promise((resolve) => producer.disconnect(resolve));
  } else {
    const app = await karafkaApp([]);
    const producer = app.get(KarafkaProducer);
    await producer.produce({ topic: TOPIC, key: 'connect', payload: {} }); // connected before the clock starts
    start();
    if (MODE === 'produce-async') for (const message of messages) producer.produceAsync(message);
    else await producer.produceMany(messages);
    // Until everything is acknowledged: close flushes what produceAsync queued.
    await app.close();
  }
  count = expected;
  end();
  report();
} else {
  throw new Error(`unknown MODE ${MODE}`);
}
process.exit(0);
