import type { KarafkaLogLevel, OAuthToken } from '../../config/karafka-options.js';
import type {
  AdminClient,
  ConsumerClient,
  ConsumerClientSettings,
  KafkaClientFactory,
  KafkaSettingKind,
  KafkaSettings,
  ProducerClient,
  ProducerClientSettings,
} from '../kafka-client.js';
import { installKafkajsCodecs } from './compression/index.js';
import { hookAbortedTransactions } from './kafkajs-aborted-transactions.js';
import { KafkajsAdminClient } from './kafkajs-admin-client.js';
import { KafkajsConsumerClient } from './kafkajs-consumer-client.js';
import { kafkajsLogging, type KafkajsLogging } from './kafkajs-logger.js';
import { KafkajsProducerClient } from './kafkajs-producer-client.js';
import { KAFKAJS_KAFKA_KEYS, toKafkajsSettings, type KafkajsSettings } from './kafkajs-settings.js';

/** Builds kafkajs clients from librdkafka-style settings. */
export class KafkajsClientFactory implements KafkaClientFactory {
  readonly name = 'kafkajs';
  readonly kafkaKeys: Readonly<Record<string, KafkaSettingKind>> = KAFKAJS_KAFKA_KEYS;
  private readonly oauthBearerProvider?: () => Promise<{ value: string }>;
  private readonly logging: KafkajsLogging;

  /** `logLevel` is the module's option: how much of kafkajs's own logging reaches Nest's Logger. */
  constructor(tokenProvider?: () => Promise<OAuthToken>, logLevel: KarafkaLogLevel = 'info') {
    installKafkajsCodecs();
    // After the codecs: their hook reloads the Fetch response modules this one wraps.
    hookAbortedTransactions();
    this.logging = kafkajsLogging(logLevel);
    if (tokenProvider) this.oauthBearerProvider = async () => ({ value: (await tokenProvider()).token });
  }

  /**
   * Maps and checks settings; throws KarafkaConfigError for what kafkajs cannot honour, naming
   * the key under `path` (where the user wrote it).
   */
  settings(kafka: ConsumerClientSettings['kafka'], path?: string): KafkajsSettings {
    return { ...toKafkajsSettings(kafka, this.oauthBearerProvider, path), logging: this.logging };
  }

  validate(kafka: KafkaSettings, path?: string): void {
    this.settings(kafka, path);
  }

  consumer(settings: ConsumerClientSettings): ConsumerClient {
    return new KafkajsConsumerClient(settings, this.settings(settings.kafka));
  }

  producer(settings: ProducerClientSettings): ProducerClient {
    return new KafkajsProducerClient(settings, this.settings(settings.kafka));
  }

  admin(settings: { clientId: string; kafka: KafkaSettings }): AdminClient {
    return new KafkajsAdminClient(settings.clientId, this.settings(settings.kafka));
  }
}
