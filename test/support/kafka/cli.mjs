// npm run kafka:start | kafka:stop | kafka:status
import { brokerStatus, startBroker, stopBroker } from './broker.mjs';

const command = process.argv[2];
try {
  if (command === 'start') {
    const info = await startBroker();
    console.log(
      `${info.startedByUs ? 'started' : 'already running'}: Kafka ${info.version} (pid ${info.pid})`,
    );
    console.log(`  PLAINTEXT                 ${info.brokers}`);
    console.log(`  SASL_SSL (SCRAM-SHA-*)    ${info.saslSsl.brokers}  CA: ${info.saslSsl.caPemPath}`);
    console.log(`  SASL_PLAINTEXT OAUTHBEARER ${info.oauth.brokers}`);
    console.log(`  log: ${info.logFile}`);
    console.log(`  connection info: ${info.connectionFile}`);
  } else if (command === 'stop') {
    await stopBroker();
  } else if (command === 'status') {
    const status = await brokerStatus();
    if (!status.running) console.log(`not running (data dir ${status.dataDir})`);
    else
      console.log(
        `running: Kafka ${status.version} pid ${status.pid} since ${status.startedAt}\n  PLAINTEXT ${status.brokers}, SASL_SSL ${status.saslSsl.brokers}, OAUTHBEARER ${status.oauth.brokers}\n  log: ${status.logFile}`,
      );
  } else {
    console.error('usage: node test/support/kafka/cli.mjs start|stop|status');
    process.exit(64);
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
