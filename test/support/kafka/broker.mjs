// The real Kafka broker for tests and the sample: Apache Kafka from Maven Central, one combined
// broker+controller in KRaft mode on loopback. Listeners: PLAINTEXT, SASL_SSL (SCRAM-SHA-256/512,
// a self-signed CA the harness generates) and SASL_PLAINTEXT with OAUTHBEARER (unsecured tokens,
// tests only). Idempotent: a running harness broker is reused.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const POM = join(here, 'pom.xml');
const HOST = '127.0.0.1';
const ADVERTISED = 'localhost';
const STORE_PASSWORD = 'karafka-test-store';
const READY_TIMEOUT_MS = 90_000;

/** SCRAM users created at format time; test credentials, never real ones. */
export const SCRAM_USERS = {
  'SCRAM-SHA-256': { username: 'karafka256', password: 'karafka-256-secret' },
  'SCRAM-SHA-512': { username: 'karafka512', password: 'karafka-512-secret' },
};

export function kafkaVersion() {
  const match = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync(POM, 'utf8'));
  if (!match) throw new Error(`no <kafka.version> in ${POM}`);
  return match[1];
}

function ports() {
  const port = (name, fallback) => {
    const value = Number(process.env[name] ?? fallback);
    if (!Number.isInteger(value) || value < 1 || value > 65535)
      throw new Error(`${name} must be a TCP port, got "${process.env[name]}"`);
    return value;
  };
  return {
    plaintext: port('KAFKA_PORT', 9092),
    saslSsl: port('KAFKA_SASL_SSL_PORT', 9093),
    oauth: port('KAFKA_OAUTH_PORT', 9094),
    controller: port('KAFKA_CONTROLLER_PORT', 9095),
  };
}

function paths() {
  const { plaintext } = ports();
  const dataDir = join(tmpdir(), `nestjs-karafka-kafka-${plaintext}`);
  const cacheRoot = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  const libs = join(cacheRoot, 'nestjs-karafka', `kafka-${kafkaVersion()}`, 'libs');
  return {
    dataDir,
    libs,
    stateFile: join(dataDir, 'broker.json'),
    connectionFile: join(dataDir, 'connection.json'),
    logFile: join(dataDir, 'server.log'),
    stdoutFile: join(dataDir, 'stdout.log'),
    properties: join(dataDir, 'server.properties'),
    logDirs: join(dataDir, 'kraft'),
    tls: join(dataDir, 'tls'),
  };
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readState() {
  const { stateFile } = paths();
  if (!existsSync(stateFile)) return undefined;
  try {
    return JSON.parse(readFileSync(stateFile, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Sends a Kafka Metadata v1 request (no topics) and resolves true once the broker answers with
 * itself among the brokers: it is up and serving metadata, not just accepting connections.
 */
export function probe(port, host = HOST, timeoutMs = 2_000) {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const clientId = Buffer.from('harness');
    const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 4);
    body.writeInt16BE(3, 0); // Metadata
    body.writeInt16BE(1, 2); // v1
    body.writeInt32BE(1, 4); // correlation id
    body.writeInt16BE(clientId.length, 8);
    clientId.copy(body, 10);
    body.writeInt32BE(0, 10 + clientId.length); // an empty topic list: brokers only
    const size = Buffer.alloc(4);
    size.writeInt32BE(body.length);
    let received = Buffer.alloc(0);
    const finish = (ok) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('connect', () => socket.write(Buffer.concat([size, body])));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      // [size][correlation id][brokers array length]...
      if (received.length >= 12) finish(received.readInt32BE(4) === 1 && received.readInt32BE(8) >= 1);
    });
    socket.on('error', () => finish(false));
  });
}

function portTaken(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    socket.on('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

function requireJava() {
  let output;
  try {
    // `java -version` prints to stderr.
    output = execFileSync('sh', ['-c', 'java -version 2>&1'], { encoding: 'utf8' });
  } catch (error) {
    throw new Error(
      'Java 17+ is required for the local Kafka broker (java did not run). Install a JDK 17+, or set KAFKA_BROKERS to a running broker.',
      { cause: error },
    );
  }
  const major = Number(/version "(\d+)/.exec(output)?.[1] ?? 0);
  if (major < 17)
    throw new Error(`Java 17+ is required for the local Kafka broker, found: ${output.split('\n')[0]}`);
}

function fetchJars(libs, log) {
  const marker = join(libs, '.complete');
  if (existsSync(marker)) return;
  log(`fetching Apache Kafka ${kafkaVersion()} from Maven Central into ${libs} (first run only)`);
  mkdirSync(libs, { recursive: true });
  try {
    execFileSync(
      'mvn',
      [
        '-q',
        '-B',
        '-f',
        POM,
        'dependency:copy-dependencies',
        `-DoutputDirectory=${libs}`,
        '-DincludeScope=runtime',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
  } catch (error) {
    throw new Error(
      `Maven could not fetch Kafka (is Maven installed and Maven Central reachable?):\n${error.stdout ?? ''}${error.stderr ?? ''}`,
      { cause: error },
    );
  }
  writeFileSync(marker, new Date().toISOString());
}

function generateTls(dir) {
  const caPemPath = join(dir, 'ca.pem');
  const keystore = join(dir, 'broker.p12');
  if (existsSync(caPemPath) && existsSync(keystore)) return { caPemPath, keystore };
  mkdirSync(dir, { recursive: true });
  const keytool = (...args) => execFileSync('keytool', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const store = (file) => [
    '-keystore',
    join(dir, file),
    '-storetype',
    'PKCS12',
    '-storepass',
    STORE_PASSWORD,
  ];
  const san = 'SAN=dns:localhost,ip:127.0.0.1';
  keytool(
    '-genkeypair',
    '-alias',
    'ca',
    '-keyalg',
    'RSA',
    '-keysize',
    '2048',
    '-dname',
    'CN=nestjs-karafka test CA',
    '-ext',
    'bc:c',
    '-validity',
    '3650',
    ...store('ca.p12'),
  );
  keytool('-exportcert', '-rfc', '-alias', 'ca', '-file', caPemPath, ...store('ca.p12'));
  keytool(
    '-genkeypair',
    '-alias',
    'broker',
    '-keyalg',
    'RSA',
    '-keysize',
    '2048',
    '-dname',
    'CN=localhost',
    '-ext',
    san,
    '-validity',
    '3650',
    ...store('broker.p12'),
  );
  keytool('-certreq', '-alias', 'broker', '-file', join(dir, 'broker.csr'), ...store('broker.p12'));
  keytool(
    '-gencert',
    '-rfc',
    '-alias',
    'ca',
    '-infile',
    join(dir, 'broker.csr'),
    '-outfile',
    join(dir, 'broker.crt'),
    '-ext',
    san,
    '-validity',
    '3650',
    ...store('ca.p12'),
  );
  keytool('-importcert', '-noprompt', '-alias', 'ca', '-file', caPemPath, ...store('broker.p12'));
  keytool(
    '-importcert',
    '-noprompt',
    '-alias',
    'broker',
    '-file',
    join(dir, 'broker.crt'),
    ...store('broker.p12'),
  );
  return { caPemPath, keystore };
}

function serverProperties({ plaintext, saslSsl, oauth, controller }, p, keystore) {
  const scramJaas = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${HOST}:${controller}`,
    `listeners=PLAINTEXT://${HOST}:${plaintext},SASL_SSL://${HOST}:${saslSsl},OAUTH://${HOST}:${oauth},CONTROLLER://${HOST}:${controller}`,
    `advertised.listeners=PLAINTEXT://${ADVERTISED}:${plaintext},SASL_SSL://${ADVERTISED}:${saslSsl},OAUTH://${ADVERTISED}:${oauth}`,
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,OAUTH:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${p.logDirs}`,
    'num.partitions=1',
    'auto.create.topics.enable=true',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=6',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'log.flush.interval.messages=9223372036854775807',
    // SASL_SSL: SCRAM users are written into the metadata log at format time.
    'listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512',
    `listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=${scramJaas}`,
    `listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=${scramJaas}`,
    `listener.name.sasl_ssl.ssl.keystore.location=${keystore}`,
    'listener.name.sasl_ssl.ssl.keystore.type=PKCS12',
    `listener.name.sasl_ssl.ssl.keystore.password=${STORE_PASSWORD}`,
    `listener.name.sasl_ssl.ssl.key.password=${STORE_PASSWORD}`,
    // OAUTHBEARER with the broker's unsecured validator (unsigned JWTs): for tests only.
    'listener.name.oauth.sasl.enabled.mechanisms=OAUTHBEARER',
    'listener.name.oauth.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="broker";',
    'listener.name.oauth.oauthbearer.sasl.server.callback.handler.class=org.apache.kafka.common.security.oauthbearer.internals.unsecured.OAuthBearerUnsecuredValidatorCallbackHandler',
    '',
  ].join('\n');
}

function javaArgs(p, mainClass, args) {
  return [
    '-Xms256m',
    '-Xmx1g',
    '-XX:+UseG1GC',
    '-Djava.awt.headless=true',
    `-Dkafka.logs.dir=${p.dataDir}`,
    `-Dlog4j2.configurationFile=${join(here, 'log4j2.yaml')}`,
    '-cp',
    `${p.libs}/*`,
    mainClass,
    ...args,
  ];
}

function connectionInfo(p, { plaintext, saslSsl, oauth }, caPemPath) {
  return {
    version: kafkaVersion(),
    brokers: `${ADVERTISED}:${plaintext}`,
    saslSsl: {
      brokers: `${ADVERTISED}:${saslSsl}`,
      caPemPath,
      caPem: readFileSync(caPemPath, 'utf8'),
      users: SCRAM_USERS,
    },
    oauth: { brokers: `${ADVERTISED}:${oauth}` },
    logFile: p.logFile,
    dataDir: p.dataDir,
    connectionFile: p.connectionFile,
  };
}

function tail(file, lines = 30) {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}

/**
 * Starts the harness broker, or reuses the one already running. Resolves with its connection
 * info and `startedByUs`.
 */
export async function startBroker({ log = (line) => console.error(`[kafka] ${line}`) } = {}) {
  const p = paths();
  const port = ports();
  const state = readState();
  if (state && isAlive(state.pid) && (await probe(port.plaintext))) {
    return { ...JSON.parse(readFileSync(p.connectionFile, 'utf8')), pid: state.pid, startedByUs: false };
  }
  if (state) await stopBroker({ log });
  for (const [name, value] of Object.entries(port)) {
    if (await portTaken(value)) {
      const env = {
        plaintext: 'KAFKA_PORT',
        saslSsl: 'KAFKA_SASL_SSL_PORT',
        oauth: 'KAFKA_OAUTH_PORT',
        controller: 'KAFKA_CONTROLLER_PORT',
      }[name];
      throw new Error(
        `port ${value} is taken by a process that is not the harness broker; free it, set ${env} to another port, or point KAFKA_BROKERS at a broker you run`,
      );
    }
  }
  requireJava();
  fetchJars(p.libs, log);
  rmSync(p.dataDir, { recursive: true, force: true });
  mkdirSync(p.dataDir, { recursive: true });
  const { caPemPath, keystore } = generateTls(p.tls);
  writeFileSync(p.properties, serverProperties(port, p, keystore));

  const clusterId = randomBytes(16).toString('base64url');
  const scram = Object.entries(SCRAM_USERS).flatMap(([mechanism, { username, password }]) => [
    '--add-scram',
    `${mechanism}=[name=${username},password=${password}]`,
  ]);
  try {
    execFileSync(
      'java',
      javaArgs(p, 'kafka.tools.StorageTool', ['format', '-t', clusterId, '-c', p.properties, ...scram]),
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
  } catch (error) {
    throw new Error(`formatting KRaft storage failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`, {
      cause: error,
    });
  }

  const out = openSync(p.stdoutFile, 'a');
  const child = spawn('java', javaArgs(p, 'kafka.Kafka', [p.properties]), {
    detached: true,
    stdio: ['ignore', out, out],
  });
  child.unref();
  writeFileSync(
    p.stateFile,
    JSON.stringify({ pid: child.pid, ports: port, startedAt: new Date().toISOString() }),
  );
  const info = connectionInfo(p, port, caPemPath);
  writeFileSync(p.connectionFile, JSON.stringify(info, null, 2));

  const started = Date.now();
  while (!(await probe(port.plaintext))) {
    if (!isAlive(child.pid))
      throw new Error(
        `the Kafka broker exited during startup; last lines of ${p.logFile}:\n${tail(p.logFile)}\n${tail(p.stdoutFile, 10)}`,
      );
    if (Date.now() - started > READY_TIMEOUT_MS) {
      await stopBroker({ log });
      throw new Error(
        `the Kafka broker did not answer within ${READY_TIMEOUT_MS} ms; last lines of ${p.logFile}:\n${tail(p.logFile)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  log(`Kafka ${info.version} ready in ${Date.now() - started} ms (pid ${child.pid})`);
  return { ...info, pid: child.pid, startedByUs: true };
}

/** Stops the harness broker (SIGTERM, then SIGKILL after 30 s) and removes its state. Idempotent. */
export async function stopBroker({ log = (line) => console.error(`[kafka] ${line}`) } = {}) {
  const p = paths();
  const state = readState();
  if (state?.pid && isAlive(state.pid)) {
    const signal = (name) => {
      try {
        process.kill(-state.pid, name);
      } catch {
        try {
          process.kill(state.pid, name);
        } catch {
          // already gone
        }
      }
    };
    signal('SIGTERM');
    const deadline = Date.now() + 30_000;
    while (isAlive(state.pid) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 200));
    if (isAlive(state.pid)) {
      log(`broker pid ${state.pid} ignored SIGTERM for 30 s; killing it`);
      signal('SIGKILL');
      while (isAlive(state.pid)) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    log(`stopped the Kafka broker (pid ${state.pid})`);
  }
  if (existsSync(p.stateFile)) rmSync(p.stateFile, { force: true });
}

/** What runs where, or that nothing does. */
export async function brokerStatus() {
  const p = paths();
  const state = readState();
  const running = Boolean(state && isAlive(state.pid) && (await probe(ports().plaintext)));
  if (!running)
    return {
      running: false,
      dataDir: p.dataDir,
      cachedVersions: existsSync(join(p.libs, '..', '..')) ? readdirSync(join(p.libs, '..', '..')) : [],
    };
  return {
    running: true,
    pid: state.pid,
    ports: state.ports,
    startedAt: state.startedAt,
    ...JSON.parse(readFileSync(p.connectionFile, 'utf8')),
    caPem: undefined,
  };
}
