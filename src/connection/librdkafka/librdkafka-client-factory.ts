import type { OAuthToken } from '../../config/karafka-options.js';
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
import { expiresAt } from '../oauth-bearer.js';
import { LibrdkafkaAdminClient } from './librdkafka-admin-client.js';
import { librdkafkaBinding } from './librdkafka-binding.js';
import { CODES } from './librdkafka-errors.js';
import { LibrdkafkaConsumerClient } from './librdkafka-consumer-client.js';
import { LibrdkafkaProducerClient } from './librdkafka-producer-client.js';
import { LIBRDKAFKA_KAFKA_KEYS, toLibrdkafkaConfig, type LibrdkafkaConfig } from './librdkafka-settings.js';

/** How the binding's token callback hands librdkafka a token, or why there is none. */
type TokenDone = (
  error: unknown,
  token?: { tokenValue: string; lifetime: number; principal: string },
) => void;
/** librdkafka's token callback, in the binding's callback form. */
type TokenRefresh = (config: unknown, done: TokenDone) => void;

/** Builds librdkafka clients (@confluentinc/kafka-javascript's native API) from librdkafka settings, passed as written. */
export class LibrdkafkaClientFactory implements KafkaClientFactory {
  readonly name = 'librdkafka';
  readonly kafkaKeys: Readonly<Record<string, KafkaSettingKind>> = LIBRDKAFKA_KAFKA_KEYS;
  private readonly tokenRefresh?: TokenRefresh;

  /** Throws KarafkaConfigError naming the install command when the binding is missing. */
  constructor(tokenProvider?: () => Promise<OAuthToken>) {
    librdkafkaBinding();
    if (tokenProvider) {
      this.tokenRefresh = (_config, done) => {
        tokenProvider().then(
          (token) => {
            const principal = 'principalName' in token ? token.principalName : token.principal;
            report(done, null, {
              tokenValue: token.token,
              lifetime: expiresAt(token, Date.now()),
              principal,
            });
          },
          // The binding prefixes the message of what it is given, and the original is in error.occurred already.
          (error: unknown) => report(done, error instanceof Error ? copyOf(error) : error),
        );
      };
    }
  }

  /** The librdkafka configuration of these settings; throws KarafkaConfigError naming a key under `path`. */
  config(kafka: KafkaSettings, path?: string): LibrdkafkaConfig {
    const config = toLibrdkafkaConfig(kafka, this.tokenRefresh !== undefined, path);
    return this.tokenRefresh
      ? ({ ...config, oauthbearer_token_refresh_cb: this.tokenRefresh } as unknown as LibrdkafkaConfig)
      : config;
  }

  validate(kafka: KafkaSettings, path?: string): void {
    this.config(kafka, path);
  }

  consumer(settings: ConsumerClientSettings): ConsumerClient {
    return new LibrdkafkaConsumerClient(settings, this.config(settings.kafka));
  }

  producer(settings: ProducerClientSettings): ProducerClient {
    return new LibrdkafkaProducerClient(settings, this.config(settings.kafka));
  }

  admin(settings: { clientId: string; kafka: KafkaSettings }): AdminClient {
    return new LibrdkafkaAdminClient(settings.clientId, this.config(settings.kafka));
  }
}

/**
 * Hands a token (or its failure) to the binding. A client closed while the provider ran has no
 * native handle left, and the binding then throws "Erroneous state" from inside a promise
 * nobody awaits: there is nobody to tell, so it is dropped.
 */
function report(done: TokenDone, ...result: Parameters<TokenDone>): void {
  try {
    done(...result);
  } catch (error) {
    if ((error as { code?: unknown }).code !== CODES.STATE) throw error;
  }
}

function copyOf(error: Error): Error {
  return Object.create(Object.getPrototypeOf(error), Object.getOwnPropertyDescriptors(error)) as Error;
}
