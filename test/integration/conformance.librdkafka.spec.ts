import { describe, it } from 'vitest';
import { describeConsumerClientContract } from '../conformance/consumer-client-contract.js';
import { librdkafkaHarness } from '../conformance/librdkafka-harness.js';
import { describeProducerClientContract } from '../conformance/producer-client-contract.js';
import { librdkafkaUnavailable } from '../support/librdkafka.js';

const unavailable = librdkafkaUnavailable();
if (unavailable) describe('Kafka client contract: librdkafka', () => it.skip(`skipped: ${unavailable}`));
else {
  describeConsumerClientContract('librdkafka', librdkafkaHarness());
  describeProducerClientContract('librdkafka', librdkafkaHarness());
}
