import type { KafkaSettings } from '../connection/kafka-client.js';
import { KarafkaConfigError } from './karafka-config.error.js';

/** What {@link herokuKafkaConfig} returns: spread both into `KarafkaModule.forRoot`. */
export interface HerokuKafkaConfig {
  kafka: KafkaSettings;
  /** KAFKA_PREFIX, or '' on dedicated plans, which have none. */
  prefix: string;
}

function required(env: NodeJS.ProcessEnv, name: string, what: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new KarafkaConfigError(
      name,
      `is not set (${what})`,
      `attach the Heroku Kafka add-on to this app (heroku addons:attach), or run with "heroku local" so the config vars are present`,
    );
  }
  return value;
}

/**
 * The cluster settings of Heroku's Kafka add-on, read from its config vars: `KAFKA_URL` (a
 * comma list of `kafka+ssl://host:port`, the scheme stripped), `KAFKA_CLIENT_CERT`,
 * `KAFKA_CLIENT_CERT_KEY` and `KAFKA_TRUSTED_CERT` (PEMs), and `KAFKA_PREFIX` (multi-tenant
 * plans). The broker certificate chain is verified against `KAFKA_TRUSTED_CERT`, but not the
 * host name: Heroku's broker certificates are not issued for the host names in `KAFKA_URL`.
 *
 * @example
 * ```ts
 * const heroku = herokuKafkaConfig();
 * KarafkaModule.forRoot({ ...heroku, groupId: 'app' }); // group "<KAFKA_PREFIX>app"
 * ```
 */
export function herokuKafkaConfig(env: NodeJS.ProcessEnv = process.env): HerokuKafkaConfig {
  const url = required(env, 'KAFKA_URL', 'the brokers, kafka+ssl://host:port,...');
  const brokers = url
    .split(',')
    .map((broker) => broker.trim().replace(/^kafka\+ssl:\/\//i, ''))
    .filter(Boolean);
  const other = brokers.find((broker) => broker.includes('://'));
  if (other !== undefined || brokers.length === 0) {
    throw new KarafkaConfigError(
      'KAFKA_URL',
      other === undefined
        ? 'lists no broker'
        : `has a broker with an unsupported scheme "${other.slice(0, other.indexOf('://'))}://"`,
      'it must be a comma list of kafka+ssl://host:port, as the Heroku Kafka add-on sets it',
    );
  }
  return {
    kafka: {
      'bootstrap.servers': brokers.join(','),
      'security.protocol': 'ssl',
      'ssl.certificate.pem': required(env, 'KAFKA_CLIENT_CERT', 'the client certificate, PEM'),
      'ssl.key.pem': required(env, 'KAFKA_CLIENT_CERT_KEY', "the client certificate's private key, PEM"),
      'ssl.ca.pem': required(env, 'KAFKA_TRUSTED_CERT', 'the CA of the broker certificates, PEM'),
      // The chain is still checked against KAFKA_TRUSTED_CERT; only the host name is not.
      'ssl.endpoint.identification.algorithm': 'none',
    },
    prefix: env.KAFKA_PREFIX ?? '',
  };
}
