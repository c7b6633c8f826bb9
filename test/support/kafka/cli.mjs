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
    console.log(`  SASL_PLAINTEXT OAUTHBEARER ${info.oauth.brokers}  (unsigned JWTs accepted)`);
    console.log(
      `  SCRAM users: ${Object.entries(info.saslSsl.users)
        .map(([mechanism, user]) => `${user.username} (${mechanism})`)
        .join(', ')}; passwords in the connection info`,
    );
    console.log(`  log: ${info.logFile}`);
    console.log(`  connection info: ${info.connectionFile}`);
  } else if (command === 'stop') {
    const { stoppedPids } = await stopBroker({ log: () => {} });
    console.log(stoppedPids.length ? `stopped (pid ${stoppedPids.join(', ')})` : 'not running');
  } else if (command === 'status') {
    const status = await brokerStatus();
    if (process.argv.includes('--json')) console.log(JSON.stringify(status, null, 2));
    else if (status.running)
      console.log(
        `running: Kafka ${status.version} pid ${status.pid} since ${status.startedAt}\n  PLAINTEXT ${status.brokers}, SASL_SSL ${status.saslSsl.brokers}, OAUTHBEARER ${status.oauth.brokers}\n  log: ${status.logFile}\n  connection info: ${status.connectionFile}`,
      );
    else {
      console.log(`not running (Kafka ${status.version}, data dir ${status.dataDir})`);
      if (status.starting) console.log(`  pid ${status.pid} is alive but does not answer yet (starting?)`);
      if (status.orphanPids)
        console.log(`  broker JVMs without state: ${status.orphanPids.join(', ')} (stop cleans them)`);
    }
  } else {
    console.error('usage: node test/support/kafka/cli.mjs start|stop|status [--json]');
    process.exit(64);
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
