// `npm run sample`: brings up the local broker unless KAFKA_BROKERS is set, builds, then starts the sample app.
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

if (!process.env.KAFKA_BROKERS) {
  const { startBroker } = await import('../test/support/kafka/broker.mjs');
  const broker = await startBroker();
  process.env.KAFKA_BROKERS = broker.brokers;
  console.log(`local Kafka broker at ${broker.brokers} (stop it with: npm run kafka:stop)`);
}

run('npx', ['tsc', '-p', 'tsconfig.build.json']);
run('npx', ['tsc', '-p', 'sample/tsconfig.json']);

const app = spawn(process.execPath, [join(root, 'sample/dist/main.js')], {
  cwd: root,
  stdio: 'inherit',
  env: process.env,
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => app.kill(signal));
app.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
