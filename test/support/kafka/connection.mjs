// What integration tests need to reach the broker: set by the global setup (or by you, through
// KAFKA_BROKERS, for a broker you run).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

export { kafkaLibs } from './broker.mjs';

/** Bootstrap servers, 'host:port[,host:port]'. */
export function brokers() {
  const value = process.env.KAFKA_BROKERS;
  if (!value)
    throw new Error(
      'KAFKA_BROKERS is not set: run integration tests through `npm test` (its global setup starts a broker) or export KAFKA_BROKERS',
    );
  return value;
}

/** The harness broker's SASL_SSL and OAUTHBEARER listeners, or null for an external broker. */
export function connectionInfo() {
  const file = process.env.KAFKA_CONNECTION_INFO;
  return file ? JSON.parse(readFileSync(file, 'utf8')) : null;
}

/** A topic or group name no other test uses. */
export function uniqueName(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}
