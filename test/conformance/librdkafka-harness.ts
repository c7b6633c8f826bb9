import { LibrdkafkaClientFactory } from '../../src/connection/librdkafka/librdkafka-client-factory.js';
import type { ConformanceHarness } from './harness.js';
import { kafkajsHarness } from './kafkajs-harness.js';

/**
 * The librdkafka driver on the harness broker. The broker-side tools (topics, producing,
 * transactions, the Java producer of compressed batches, the outside members) are the kafkajs
 * harness's: they stand outside the driver under test. Eager, with librdkafka's default assignors
 * (range, roundrobin); the outside members speak roundrobin, so they share the group's protocol.
 */
export function librdkafkaHarness(): ConformanceHarness {
  return {
    ...kafkajsHarness(),
    factory: () => new LibrdkafkaClientFactory(),
  };
}
