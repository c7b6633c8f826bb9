import { didYouMean } from '../../config/did-you-mean.js';
import { KNOWN_KAFKA_SETTINGS } from '../../config/kafka-settings.js';
import { KarafkaConfigError } from '../../config/karafka-config.error.js';
import type { KafkaSettingKind, KafkaSettingValue, KafkaSettings } from '../kafka-client.js';

/** The `kafka` keys the librdkafka driver honours: every known one, passed to librdkafka as written. */
export const LIBRDKAFKA_KAFKA_KEYS: Readonly<Record<string, KafkaSettingKind>> = KNOWN_KAFKA_SETTINGS;

/** librdkafka's configuration: the user's keys as written, plus what the driver sets itself. */
export type LibrdkafkaConfig = Record<string, KafkaSettingValue>;

const ASSIGNORS = ['range', 'roundrobin', 'cooperative-sticky'];
const GROUP_PROTOCOLS = ['classic', 'consumer'];
/** Keys of the classic group protocol the broker owns under KIP-848 (librdkafka refuses them with group.protocol consumer). */
const CLASSIC_ONLY = ['partition.assignment.strategy', 'session.timeout.ms', 'heartbeat.interval.ms'];

/**
 * Checks `kafka` settings for librdkafka and returns them as its configuration. Throws
 * {@link KarafkaConfigError} naming the key under `path` for what librdkafka would refuse later,
 * at connect time, with a less helpful message.
 */
export function toLibrdkafkaConfig(
  settings: KafkaSettings,
  withOAuth: boolean,
  path = 'kafka',
): LibrdkafkaConfig {
  const at = (key: string) => `${path}['${key}']`;
  const config: LibrdkafkaConfig = {};
  for (const [key, value] of Object.entries(settings)) {
    if (value === undefined) continue;
    if (!(key in LIBRDKAFKA_KAFKA_KEYS)) {
      throw new KarafkaConfigError(
        at(key),
        'is not honoured by the librdkafka driver',
        didYouMean(key, Object.keys(LIBRDKAFKA_KAFKA_KEYS)),
      );
    }
    config[key] = value;
  }
  const servers = settings['bootstrap.servers'];
  if (typeof servers !== 'string' || servers.trim() === '' || /:\/\//.test(servers)) {
    throw new KarafkaConfigError(
      at('bootstrap.servers'),
      typeof servers === 'string' && servers.trim() !== '' ? 'has a URL scheme' : 'is required',
      `set it to a comma list of host:port, e.g. 'localhost:9092', without any scheme://`,
    );
  }
  const strategy = settings['partition.assignment.strategy'];
  if (strategy !== undefined) {
    const unknown = String(strategy)
      .split(',')
      .map((s) => s.trim())
      .find((s) => !ASSIGNORS.includes(s));
    if (unknown !== undefined)
      throw new KarafkaConfigError(
        at('partition.assignment.strategy'),
        `"${unknown}" is not an assignor of librdkafka`,
        `use one of ${ASSIGNORS.join(', ')} (a comma list)`,
      );
  }
  const protocol = settings['group.protocol'];
  if (protocol !== undefined && !GROUP_PROTOCOLS.includes(String(protocol))) {
    throw new KarafkaConfigError(
      at('group.protocol'),
      `"${protocol}" is not a group protocol`,
      `use 'classic' or 'consumer' (KIP-848, Kafka 4)`,
    );
  }
  if (protocol === 'consumer') {
    const classic = CLASSIC_ONLY.find((key) => settings[key] !== undefined);
    if (classic)
      throw new KarafkaConfigError(
        at(classic),
        "is a classic-protocol setting, but group.protocol is 'consumer' (KIP-848), where the broker assigns and times sessions",
        "remove it (group.remote.assignor picks the broker's assignor)",
      );
  }
  const oauth = String(settings['sasl.mechanisms'] ?? '').toUpperCase() === 'OAUTHBEARER';
  if (oauth && !withOAuth)
    throw new KarafkaConfigError(
      'oauth.tokenProvider',
      'is required with sasl.mechanisms OAUTHBEARER',
      'pass oauth: { tokenProvider: async () => ({ token, lifetimeMs, principalName }) }',
    );
  if (withOAuth && !oauth)
    throw new KarafkaConfigError(
      'oauth.tokenProvider',
      'is set but the kafka settings do not use OAUTHBEARER, so it would never be called',
      `set 'security.protocol' to 'sasl_ssl' and 'sasl.mechanisms' to 'OAUTHBEARER', or remove oauth`,
    );
  return config;
}
