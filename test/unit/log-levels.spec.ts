import { Logger } from '@nestjs/common';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kafkajsLogging } from '../../src/connection/kafkajs/kafkajs-logger.js';
import { resolveKarafkaOptions } from '../../src/config/validate-options.js';
import type { KarafkaLogLevel, KarafkaModuleOptions } from '../../src/config/karafka-options.js';
import { engineLogger } from '../../src/instrumentation/leveled-logger.js';
import { KarafkaLoggerListener } from '../../src/instrumentation/logger-listener.js';
import { KarafkaMonitor } from '../../src/index.js';
import { CaptureLogger } from '../support/capture-logger.js';
import { configError } from '../support/config-error.js';

const kafka = { 'bootstrap.servers': 'localhost:9092' };
const where = { subscriptionGroup: 'app/default', groupId: 'app', topic: 'orders', partition: 0 };

let capture: CaptureLogger;
beforeEach(() => {
  capture = new CaptureLogger();
  Logger.overrideLogger(capture);
});
afterEach(() => Logger.overrideLogger(['log', 'error', 'warn', 'debug', 'verbose', 'fatal']));

/** A logger listener at `options`, and a monitor to publish to it. */
function listener(options: Partial<KarafkaModuleOptions>): KarafkaMonitor {
  const monitor = new KarafkaMonitor();
  new KarafkaLoggerListener(monitor, resolveKarafkaOptions({ kafka, ...options })).onModuleInit();
  return monitor;
}

/** One of each kind of event the listener logs. */
function publishAll(monitor: KarafkaMonitor): void {
  monitor.instrument('app.running', { state: 'running' });
  monitor.instrument('connection.listener.fetch_loop.received', {
    ...where,
    messagesCount: 3,
    highWatermark: 9,
  });
  const job = { ...where, consumerClass: 'OrdersConsumer', durationMs: 2 };
  monitor.instrument('consumer.consumed', { ...job, job: 'consume', firstOffset: 0, lastOffset: 2 });
  monitor.instrument('consumer.revoked', { ...job, job: 'revoked' });
  monitor.instrument('consumer.consuming.pause', { ...job, offset: 1, timeoutMs: 10, attempt: 1 });
  monitor.instrument('error.occurred', {
    ...where,
    type: 'consumer.consume.error',
    fatal: false,
    error: new Error('boom'),
  });
}

describe('logLevel: what the logger listener says', () => {
  it("at the default 'info', logs lifecycle, pauses and errors, no per-batch line, and does not even listen per batch", () => {
    const monitor = listener({});
    expect(monitor.listens('consumer.consumed')).toBe(false);
    expect(monitor.listens('connection.listener.fetch_loop.received')).toBe(false);
    publishAll(monitor);
    expect(capture.lines).toEqual([
      'log app running Karafka',
      'warn pausing [OrdersConsumer orders/0@1] for 10 ms (attempt 1) Karafka',
      // Nest's Logger.error passes an empty stack before the context.
      'error consumer.consume.error [app/default orders/0]: Error: boom undefined Karafka',
    ]);
  });

  it.each<[KarafkaLogLevel, string[]]>([
    ['error', ['error']],
    ['warn', ['warn', 'error']],
    ['debug', ['log', 'debug', 'warn', 'error']],
    ['verbose', ['log', 'verbose', 'verbose', 'debug', 'warn', 'error']],
  ])('at %s, writes lines at the Nest levels %j', (level, nestLevels) => {
    publishAll(listener({ logLevel: level }));
    expect(capture.lines.map((line) => line.split(' ')[0])).toEqual(nestLevels);
  });

  it('puts the fetch and batch lines at verbose, and revoked jobs at debug', () => {
    publishAll(listener({ logLevel: 'verbose' }));
    expect(capture.lines).toContain('verbose polled 3 messages from orders/0 [app/default] Karafka');
    expect(capture.lines).toContain('verbose OrdersConsumer consumed orders/0 0-2 in 2 ms Karafka');
    expect(capture.lines).toContain('debug OrdersConsumer revoked orders/0 in 2 ms Karafka');
  });

  it('logs nothing with logging: false, whatever the level', () => {
    publishAll(listener({ logging: false, logLevel: 'verbose' }));
    expect(capture.lines).toEqual([]);
  });

  it('refuses an unknown level, naming the option and the values', () => {
    const error = configError(() => resolveKarafkaOptions({ kafka, logLevel: 'trace' as KarafkaLogLevel }));
    expect(error.message).toContain('logLevel');
    expect(error.message).toContain('"error", "warn", "info", "debug", "verbose"');
  });
});

describe("logLevel: kafkajs's own lines, through kafkajs's real logger", () => {
  /** kafkajs's root logger of a client built with our logging (no connection is made). */
  const kafkajsLogger = (level: KarafkaLogLevel) =>
    new Kafka({ brokers: ['localhost:9092'], ...kafkajsLogging(level) }).logger();

  it("drops its protocol chatter below verbose and says a notice once, at info, in Karafka's words", () => {
    expect(kafkajsLogging('info').logLevel).toBe(logLevel.WARN);
    const logger = kafkajsLogger('info');
    logger.error('Response GroupCoordinator(key: 10, version: 2)', {
      error: 'The coordinator is not available',
    });
    logger.warn('The group is rebalancing, re-joining');
    logger.debug('Request Metadata(key: 3, version: 6)');
    const partitioner =
      'KafkaJS v2.0.0 switched default partitioner. To retain the same partitioning behavior as in previous versions, create the producer with the option "createPartitioner: Partitioners.LegacyPartitioner".';
    logger.warn(partitioner);
    kafkajsLogger('info').warn(partitioner); // another client of the same process
    expect(capture.lines).toHaveLength(1);
    expect(capture.lines[0]).toMatch(
      /^log producer: a message's key picks its partition with murmur2.*Karafka$/,
    );
  });

  it('at verbose, traces every request at verbose with the error and broker, never other fields', () => {
    expect(kafkajsLogging('verbose').logLevel).toBe(logLevel.DEBUG);
    const logger = kafkajsLogger('verbose');
    logger.debug('Request Metadata(key: 3, version: 6)', { broker: 'localhost:9092', size: 42 });
    logger.namespace('Connection').error('Response GroupCoordinator(key: 10, version: 2)', {
      error: 'The coordinator is not available',
      broker: 'localhost:9092',
      payload: 'request data',
    });
    expect(capture.lines).toEqual([
      'verbose Request Metadata(key: 3, version: 6) (broker localhost:9092) kafkajs',
      'verbose [Connection] Response GroupCoordinator(key: 10, version: 2) (The coordinator is not available, broker localhost:9092) kafkajs',
    ]);
  });
});

describe("logLevel: the engine's own lines (runner, listeners, partitions)", () => {
  const say = (options: Partial<KarafkaModuleOptions>) => {
    const logger = engineLogger('Karafka', resolveKarafkaOptions({ kafka, ...options }));
    logger.log('consuming orders');
    logger.warn('cannot connect: refused; retrying in 1000 ms');
    logger.error('engine failed and will not recover: fenced');
    return capture.lines.splice(0);
  };

  it("follow logLevel, and with logging: false keep only the engine's errors, which are never silent", () => {
    expect(say({})).toEqual([
      'log consuming orders Karafka',
      'warn cannot connect: refused; retrying in 1000 ms Karafka',
      'error engine failed and will not recover: fenced undefined Karafka',
    ]);
    expect(say({ logLevel: 'warn' })).toEqual([
      'warn cannot connect: refused; retrying in 1000 ms Karafka',
      'error engine failed and will not recover: fenced undefined Karafka',
    ]);
    expect(say({ logging: false })).toEqual([
      'error engine failed and will not recover: fenced undefined Karafka',
    ]);
  });
});
