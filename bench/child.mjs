// One measured system per process, so RSS and GC never mix. MODE selects it; prints one JSON line.
// Plain ESM over the built package (npm run build first): Nest decorators are applied by hand.
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, Transport } from '@nestjs/microservices';
import { Kafka, logLevel } from 'kafkajs';
import { BaseConsumer, Consumer, KarafkaModule, KarafkaRunner } from 'nestjs-karafka';

const {
  MODE,
  TOPIC,
  TOPICS,
  GROUP_ID,
  KAFKA_BROKERS,
  EXPECTED = '0',
  CONCURRENCY = '5',
  IO_MS = '0',
  MAX_MESSAGES = '100',
} = process.env;
const expected = Number(EXPECTED);
const brokers = KAFKA_BROKERS.split(',');
// The same fetch settings for every Node system: 1 MiB per partition, 10 MiB per response, 500 ms long poll.
const FETCH = { maxBytesPerPartition: 1_048_576, maxBytes: 10_485_760, maxWaitTimeInMs: 500 };

let count = 0;
let firstAt = 0;
const latencies = [];
let finish;
const done = new Promise((resolve) => (finish = resolve));

function seen(n, payload) {
  if (count === 0) firstAt = performance.now();
  count += n;
  if (payload && MODE === 'latency') latencies.push(Date.now() - payload.t);
  if (count >= expected) finish();
}

function report(extra = {}) {
  const ms = performance.now() - firstAt;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(
    `${JSON.stringify({ mode: MODE, messages: count, ms, perSecond: (count / ms) * 1000, peakRssMb, ...extra })}\n`,
  );
}

async function karafkaApp(topics, options = {}) {
  const classes = topics.map((topic, index) => {
    const Klass = {
      [`BenchConsumer${index}`]: class extends BaseConsumer {
        async consume(messages) {
          if (MODE === 'latency') for (const message of messages) seen(1, message.payload);
          else if (Number(IO_MS) > 0)
            for (const _ of messages) {
              await new Promise((r) => setTimeout(r, Number(IO_MS)));
              seen(1);
            }
          else seen(messages.size);
        }
      },
    }[`BenchConsumer${index}`];
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
        },
        groupId: GROUP_ID,
        maxWaitTime: FETCH.maxWaitTimeInMs,
        concurrency: Number(CONCURRENCY),
        maxMessages: Number(MAX_MESSAGES),
        logging: false,
        ...options,
      }),
    ],
    providers: classes,
  })(BenchModule);
  return NestFactory.createApplicationContext(BenchModule, { logger: false });
}

function percentile(p) {
  const sorted = [...latencies].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

if (MODE === 'karafka' || MODE === 'io' || MODE === 'latency') {
  const app = await karafkaApp([TOPIC]);
  await done;
  report(MODE === 'latency' ? { p50: percentile(50), p99: percentile(99) } : {});
  await app.close();
} else if (MODE === 'kafkajs') {
  const consumer = new Kafka({ brokers, logLevel: logLevel.NOTHING }).consumer({
    groupId: GROUP_ID,
    ...FETCH,
  });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  // As kafkajs users run eachBatch: auto-resolve and auto-commit after every batch.
  await consumer.run({ eachBatch: async ({ batch }) => seen(batch.messages.length) });
  await done;
  report();
  await consumer.disconnect();
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
  class MsModule {}
  Module({ controllers: [Handler] })(MsModule);
  const app = await NestFactory.createMicroservice(MsModule, {
    transport: Transport.KAFKA,
    logger: false,
    options: {
      client: { brokers, logLevel: logLevel.NOTHING },
      consumer: { groupId: GROUP_ID, ...FETCH },
      subscribe: { fromBeginning: true },
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
  await new Promise((r) => setTimeout(r, 1_500)); // idle
  const runner = app.get(KarafkaRunner);
  const stopStarted = performance.now();
  await runner.stop();
  const stopMs = performance.now() - stopStarted;
  report({ bootToFirstMessageMs, stopMs });
  await app.close();
} else {
  throw new Error(`unknown MODE ${MODE}`);
}
process.exit(0);
