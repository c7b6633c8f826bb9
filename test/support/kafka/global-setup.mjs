// Vitest global setup for the integration project: uses KAFKA_BROKERS when set; otherwise starts
// the harness broker once per run (or reuses a running one) and stops it at the end only if this
// run started it.
import { startBroker, stopBroker } from './broker.mjs';

export default async function setup() {
  if (process.env.KAFKA_BROKERS) return undefined;
  const broker = await startBroker();
  process.env.KAFKA_BROKERS = broker.brokers;
  process.env.KAFKA_CONNECTION_INFO = broker.connectionFile;
  return async () => {
    if (broker.startedByUs) await stopBroker();
  };
}
