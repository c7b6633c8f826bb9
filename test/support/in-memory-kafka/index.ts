/**
 * An in-memory Kafka and the `in-memory` driver of the client contract, for unit tests of the
 * engine: it passes the conformance suite (test/conformance/) as a real driver must.
 */
export { InMemoryKafka, type InMemoryKafkaOptions } from './cluster.js';
export { InMemoryClientFactory } from './factory.js';
export { InMemoryConsumerClient } from './consumer-client.js';
export { InMemoryProducerClient } from './producer-client.js';
export { InMemoryAdminClient } from './admin-client.js';
