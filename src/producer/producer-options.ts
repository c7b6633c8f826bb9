import type { KafkaSettings } from '../connection/kafka-client.js';
import { KarafkaConfigError } from '../config/karafka-config.error.js';
import type { OAuthOptions } from '../config/karafka-options.js';
import { validateKafkaSettings } from '../config/kafka-settings.js';
import { func, nonEmptyString, shape } from '../config/option-checks.js';

/**
 * A producer of its own (seed 004's `CUSTOM_PRODUCER = WaterDrop::Producer.new`): it inherits
 * nothing from `KarafkaModule.forRoot`, as WaterDrop's custom producers need their own config.
 */
export interface CustomProducerOptions {
  /** librdkafka-style settings of its cluster, as `KarafkaModule`'s `kafka`. */
  kafka: KafkaSettings;
  /** Its own OAUTHBEARER token provider, when `sasl.mechanisms` is OAUTHBEARER. */
  oauth?: OAuthOptions;
  /** Default 'karafka'. */
  clientId?: string;
  /** Prepended to every topic it produces to. Default ''. */
  prefix?: string;
}

export interface ResolvedCustomProducerOptions extends Required<Omit<CustomProducerOptions, 'oauth'>> {
  oauth?: OAuthOptions;
}

const checks = shape({
  kafka: (value, path) => void validateKafkaSettings(value, path),
  oauth: shape({ tokenProvider: func }),
  clientId: nonEmptyString,
  prefix: (value, path) => {
    if (typeof value !== 'string')
      throw new KarafkaConfigError(path, 'must be a string', "use e.g. 'tenant.' or ''");
  },
});

/** Checks a custom producer's options (`path` names it in errors) and applies the defaults. */
export function resolveCustomProducerOptions(
  options: CustomProducerOptions,
  path: string,
): ResolvedCustomProducerOptions {
  checks(options, path);
  if (options.kafka?.['bootstrap.servers'] === undefined) {
    throw new KarafkaConfigError(
      `${path}.kafka['bootstrap.servers']`,
      'is required',
      "set it to a comma list of host:port, e.g. 'localhost:9092'",
    );
  }
  if (String(options.kafka['sasl.mechanisms']).toUpperCase() === 'OAUTHBEARER' && !options.oauth) {
    throw new KarafkaConfigError(
      `${path}.oauth.tokenProvider`,
      "is required with 'sasl.mechanisms': 'OAUTHBEARER'",
      'give this producer its own oauth: { tokenProvider }: it does not share the module one',
    );
  }
  return { clientId: 'karafka', prefix: '', ...options };
}
