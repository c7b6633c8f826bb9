import type { KarafkaDriver, KarafkaLogLevel, OAuthToken } from '../config/karafka-options.js';
import type { KafkaClientFactory } from './kafka-client.js';
import { KafkajsClientFactory } from './kafkajs/kafkajs-client-factory.js';
import { LibrdkafkaClientFactory } from './librdkafka/librdkafka-client-factory.js';

/** The client factory of the `driver` option: every consumer, producer, admin and DLQ of the module uses it. */
export function createClientFactory(
  driver: KarafkaDriver,
  tokenProvider?: () => Promise<OAuthToken>,
  logLevel?: KarafkaLogLevel,
): KafkaClientFactory {
  return driver === 'librdkafka'
    ? new LibrdkafkaClientFactory(tokenProvider)
    : new KafkajsClientFactory(tokenProvider, logLevel);
}
