import type {
  ConsumerClientSettings,
  KafkaClientFactory,
  KafkaSettingKind,
  KafkaSettings,
  ProducerClientSettings,
} from '../../../src/connection/kafka-client.js';
import { KarafkaConfigError } from '../../../src/config/karafka-config.error.js';
import { InMemoryAdminClient } from './admin-client.js';
import type { InMemoryKafka } from './cluster.js';
import { InMemoryConsumerClient } from './consumer-client.js';
import { InMemoryProducerClient } from './producer-client.js';

/** The keys the in-memory driver reads; the others have no meaning without a network. */
const KAFKA_KEYS: Readonly<Record<string, KafkaSettingKind>> = {
  'bootstrap.servers': 'string',
  'client.id': 'string',
  'auto.offset.reset': 'string',
  'max.partition.fetch.bytes': 'number',
  'fetch.max.bytes': 'number',
};

/** The `in-memory` driver: every client it makes talks to one {@link InMemoryKafka}. */
export class InMemoryClientFactory implements KafkaClientFactory {
  readonly name = 'in-memory';
  readonly kafkaKeys = KAFKA_KEYS;
  /** Every consumer made, in order: engine tests reach them to crash one or look at it. */
  readonly consumers: InMemoryConsumerClient[] = [];
  readonly producers: InMemoryProducerClient[] = [];

  constructor(readonly kafka: InMemoryKafka) {}

  validate(kafka: KafkaSettings, path = 'kafka'): void {
    for (const [key, value] of Object.entries(kafka)) {
      const kind = KAFKA_KEYS[key];
      if (!kind) {
        throw new KarafkaConfigError(
          `${path}['${key}']`,
          'is not honoured by the in-memory driver',
          `remove it, or use one of ${Object.keys(KAFKA_KEYS).join(', ')}`,
        );
      }
      if (value !== undefined && typeof value !== (kind === 'secret' ? 'string' : kind)) {
        throw new KarafkaConfigError(`${path}['${key}']`, `must be a ${kind}`, `set it to a ${kind}`);
      }
    }
  }

  consumer(settings: ConsumerClientSettings): InMemoryConsumerClient {
    this.validate(settings.kafka);
    const client = new InMemoryConsumerClient(this.kafka, settings);
    this.consumers.push(client);
    return client;
  }

  producer(settings: ProducerClientSettings): InMemoryProducerClient {
    this.validate(settings.kafka);
    const client = new InMemoryProducerClient(this.kafka, settings);
    this.producers.push(client);
    return client;
  }

  admin(settings: { clientId: string; kafka: KafkaSettings }): InMemoryAdminClient {
    this.validate(settings.kafka);
    return new InMemoryAdminClient(this.kafka, settings);
  }
}
