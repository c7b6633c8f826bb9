// The real Kafka broker for tests, the sample and the benchmarks: Apache Kafka from Maven Central,
// one combined broker+controller in KRaft mode on loopback. Listeners: PLAINTEXT, SASL_SSL
// (SCRAM-SHA-256/512, a self-signed CA the harness generates) and SASL_PLAINTEXT with OAUTHBEARER
// (unsecured tokens, tests only). Idempotent: a running harness broker is reused, and two processes
// starting it at once get the same broker (a lock directory serialises start and stop).
// Plain Node (no npm dependencies): it runs before anything is installed or built.
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const POM = join(here, 'pom.xml');
const LOG4J_CONFIG = join(here, 'log4j2.properties');
const HOST = '127.0.0.1';
const ADVERTISED = 'localhost';
const STORE_PASSWORD = 'karafka-test-store';
const READY_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 30_000;
const LOCK_TIMEOUT_MS = 180_000;
const PORT_ENV = {
  plaintext: 'KAFKA_PORT',
  saslSsl: 'KAFKA_SASL_SSL_PORT',
  oauth: 'KAFKA_OAUTH_PORT',
  controller: 'KAFKA_CONTROLLER_PORT',
};
const defaultLog = (line) => console.error(`[kafka] ${line}`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** SCRAM users created at format time; test credentials, never real ones. */
export const SCRAM_USERS = {
  'SCRAM-SHA-256': { username: 'karafka256', password: 'karafka-256-secret' },
  'SCRAM-SHA-512': { username: 'karafka512', password: 'karafka-512-secret' },
};

/** The default Kafka version: `<kafka.version>` in pom.xml, its only home. */
export function defaultKafkaVersion() {
  const match = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync(POM, 'utf8'));
  if (!match) throw new Error(`no <kafka.version> in ${POM}`);
  return match[1].trim();
}

/**
 * The directory of the harness's Kafka jars (kafka-clients and its snappy, lz4 and zstd codecs
 * among them), for tests that run the Java client: `java -cp "<dir>/*" ...`.
 */
export function kafkaLibs() {
  const { libs } = paths();
  if (!existsSync(join(libs, '.complete')))
    throw new Error(
      `the harness's Kafka jars are not in ${libs} yet: run \`npm run kafka:start\` once to fetch them`,
    );
  return libs;
}

/**
 * The Kafka version the harness runs: KAFKA_VERSION (the CI matrix runs an older line beside the
 * default, on other ports) or the default from pom.xml.
 */
export function kafkaVersion() {
  const version = process.env.KAFKA_VERSION || defaultKafkaVersion();
  if (!/^\d+\.\d+\.\d+$/.test(version))
    throw new Error(`KAFKA_VERSION must be a Kafka release such as 3.9.1, got "${version}"`);
  return version;
}

function ports() {
  const port = (key, fallback) => {
    const name = PORT_ENV[key];
    const value = Number(process.env[name] || fallback);
    if (!Number.isInteger(value) || value < 1 || value > 65535)
      throw new Error(`${name} must be a TCP port, got "${process.env[name]}"`);
    return value;
  };
  const result = {
    plaintext: port('plaintext', 9092),
    saslSsl: port('saslSsl', 9093),
    oauth: port('oauth', 9094),
    controller: port('controller', 9095),
  };
  if (new Set(Object.values(result)).size !== 4)
    throw new Error(
      `the harness broker needs four different ports, got ${Object.entries(result)
        .map(([key, value]) => `${PORT_ENV[key]}=${value}`)
        .join(' ')}`,
    );
  return result;
}

/** The project's cache outside the clone (jars, Node binaries, the NestJS 11 install). */
export function cacheDir() {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'nestjs-karafka');
}

function paths() {
  const { plaintext } = ports();
  // One data dir per PLAINTEXT port: brokers on other ports (KAFKA_PORT=...) are separate.
  const dataDir = join(tmpdir(), `nestjs-karafka-kafka-${plaintext}`);
  const versionDir = join(cacheDir(), `kafka-${kafkaVersion()}`);
  return {
    dataDir,
    cacheDir: dirname(versionDir),
    libs: join(versionDir, 'libs'),
    lockDir: `${dataDir}.lock`, // beside the data dir, which a fresh start wipes
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
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

function commandLine(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined; // no /proc (macOS) or gone
  }
}

/** Alive and, where /proc tells, really our broker (a recycled PID is not). */
function isOurBroker(pid, p) {
  if (!isAlive(pid)) return false;
  const cmd = commandLine(pid);
  return cmd === undefined || (cmd.includes('kafka.Kafka') && cmd.includes(p.properties));
}

/** Broker JVMs running on this data dir whatever the state file says (Linux only). */
function orphans(p) {
  if (!existsSync('/proc')) return [];
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmd = commandLine(entry);
    if (cmd?.includes('kafka.Kafka') && cmd.includes(p.properties)) found.push(Number(entry));
  }
  return found;
}

function readState(p) {
  if (!existsSync(p.stateFile)) return undefined;
  try {
    return JSON.parse(readFileSync(p.stateFile, 'utf8'));
  } catch {
    return undefined;
  }
}

function readConnection(p) {
  return JSON.parse(readFileSync(p.connectionFile, 'utf8'));
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
    body.writeInt16BE(3, 0); // api key: Metadata
    body.writeInt16BE(1, 2); // api version 1
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
    socket.on('close', () => finish(false));
  });
}

function portTaken(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    socket.setTimeout(2_000, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

function tryLock(lockDir, owner) {
  try {
    mkdirSync(lockDir);
  } catch (error) {
    if (error.code === 'EEXIST') return false;
    throw error;
  }
  writeFileSync(owner, String(process.pid));
  return true;
}

/**
 * Serialises start and stop across processes (a vitest run and `npm run sample` starting the broker
 * at once): mkdir is atomic. A lock whose owner died is taken over.
 */
async function withLock(p, work) {
  const owner = join(p.lockDir, 'owner');
  const deadline = Date.now() + LOCK_TIMEOUT_MS;
  while (!tryLock(p.lockDir, owner)) {
    let holder;
    try {
      holder = Number(readFileSync(owner, 'utf8'));
    } catch {
      // the owner is being written, or its process died between mkdir and write
      holder = Date.now() - statSync(p.lockDir, { throwIfNoEntry: false })?.mtimeMs > 10_000 ? 0 : undefined;
    }
    if (holder !== undefined && holder !== process.pid && !isAlive(holder)) {
      rmSync(p.lockDir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline)
      throw new Error(
        `another process (pid ${holder}) has held ${p.lockDir} for ${LOCK_TIMEOUT_MS / 1000} s while starting or stopping the broker; if it is gone, remove that directory`,
      );
    await sleep(200);
  }
  try {
    return await work();
  } finally {
    rmSync(p.lockDir, { recursive: true, force: true });
  }
}

function javaVersionText() {
  // `java -version` writes to stderr; execFileSync returns stdout only, so read both.
  try {
    return execFileSync('sh', ['-c', 'java -version 2>&1'], { encoding: 'utf8' });
  } catch (error) {
    throw new Error(
      'Java 17+ is required for the local Kafka broker (`java -version` did not run). Install a JDK 17+, or set KAFKA_BROKERS to a running broker.',
      { cause: error },
    );
  }
}

function ensureJava() {
  const output = javaVersionText();
  const major = Number(/version "(?:1\.)?(\d+)/.exec(output)?.[1] ?? 0);
  if (major < 17)
    throw new Error(`Java 17+ is required for the local Kafka broker, found: ${output.split('\n')[0]}`);
}

function pomHash() {
  return createHash('sha256').update(readFileSync(POM)).digest('hex');
}

/**
 * Copies the broker's jars into the cache, once per pom.xml content: offline first (the local Maven
 * repository may have them), Maven Central otherwise. A changed pom refetches into a clean dir,
 * so two versions of a jar never share the classpath.
 */
function fetchJars(p, log) {
  const marker = join(p.libs, '.complete');
  const hash = pomHash();
  if (existsSync(marker) && readFileSync(marker, 'utf8').trim() === hash) return;
  const staging = `${p.libs}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const mvn = (offline) =>
    execFileSync(
      'mvn',
      [
        '-q',
        '-B',
        ...(offline ? ['-o'] : []),
        '-f',
        POM,
        'dependency:copy-dependencies',
        `-DoutputDirectory=${staging}`,
        `-Dkafka.version=${kafkaVersion()}`,
        '-DincludeScope=runtime',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' },
    );
  log(`copying the Apache Kafka ${kafkaVersion()} jars into ${p.libs} (once)`);
  try {
    try {
      mvn(true);
    } catch (offlineError) {
      if (offlineError.code === 'ENOENT') throw offlineError;
      log('not all in the local Maven repository: fetching from Maven Central');
      mvn(false);
    }
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    const hint =
      error.code === 'ENOENT'
        ? 'Maven (mvn) is not installed: install Maven 3.8+, or set KAFKA_BROKERS to a running broker'
        : 'Maven could not fetch Kafka (is Maven Central reachable?)';
    throw new Error(`${hint}:\n${error.stdout ?? ''}${error.stderr ?? ''}`, { cause: error });
  }
  writeFileSync(join(staging, '.complete'), hash);
  rmSync(p.libs, { recursive: true, force: true });
  mkdirSync(dirname(p.libs), { recursive: true });
  renameSync(staging, p.libs);
}

function has(command) {
  try {
    execFileSync(command, ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * A throwaway CA (PEM, for clients) and a broker certificate for localhost and 127.0.0.1 signed by
 * it, in a PKCS12 keystore with the chain. openssl when installed (fast); keytool otherwise.
 */
function generateTls(dir) {
  mkdirSync(dir, { recursive: true });
  const caPemPath = join(dir, 'ca.pem');
  const keystore = join(dir, 'broker.p12');
  const run = (command, args) => {
    try {
      execFileSync(command, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    } catch (error) {
      throw new Error(
        `generating the test TLS material failed: ${command} ${args.join(' ')}\n${error.stdout ?? ''}${error.stderr ?? ''}`,
        { cause: error },
      );
    }
  };
  if (has('openssl')) {
    writeFileSync(
      join(dir, 'broker.ext'),
      [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '',
      ].join('\n'),
    );
    // OpenSSL 1.1.1+/3.x (-addext).
    // prettier-ignore
    run('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '3650',
      '-subj', '/CN=nestjs-karafka test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      '-keyout', 'ca.key', '-out', 'ca.pem',
    ]);
    // prettier-ignore
    run('openssl', [
      'req', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-subj', '/CN=localhost',
      '-keyout', 'broker.key', '-out', 'broker.csr',
    ]);
    // prettier-ignore
    run('openssl', [
      'x509', '-req', '-sha256', '-days', '3650', '-in', 'broker.csr',
      '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', `0x${randomBytes(8).toString('hex')}`,
      '-extfile', 'broker.ext', '-out', 'broker.pem',
    ]);
    // prettier-ignore
    run('openssl', [
      'pkcs12', '-export', '-name', 'broker', '-in', 'broker.pem', '-inkey', 'broker.key',
      '-certfile', 'ca.pem', '-out', 'broker.p12', '-passout', `pass:${STORE_PASSWORD}`,
    ]);
  } else {
    const store = (file) => ['-keystore', file, '-storetype', 'PKCS12', '-storepass', STORE_PASSWORD];
    const san = 'SAN=dns:localhost,ip:127.0.0.1';
    // prettier-ignore
    run('keytool', [
      '-genkeypair', '-alias', 'ca', '-keyalg', 'RSA', '-keysize', '2048',
      '-dname', 'CN=nestjs-karafka test CA', '-ext', 'bc:c', '-validity', '3650', ...store('ca.p12'),
    ]);
    run('keytool', ['-exportcert', '-rfc', '-alias', 'ca', '-file', 'ca.pem', ...store('ca.p12')]);
    // prettier-ignore
    run('keytool', [
      '-genkeypair', '-alias', 'broker', '-keyalg', 'RSA', '-keysize', '2048',
      '-dname', 'CN=localhost', '-ext', san, '-validity', '3650', ...store('broker.p12'),
    ]);
    run('keytool', ['-certreq', '-alias', 'broker', '-file', 'broker.csr', ...store('broker.p12')]);
    // prettier-ignore
    run('keytool', [
      '-gencert', '-rfc', '-alias', 'ca', '-infile', 'broker.csr', '-outfile', 'broker.pem',
      '-ext', san, '-ext', 'eku=serverAuth', '-validity', '3650', ...store('ca.p12'),
    ]);
    run('keytool', ['-importcert', '-noprompt', '-alias', 'ca', '-file', 'ca.pem', ...store('broker.p12')]);
    // prettier-ignore
    run('keytool', ['-importcert', '-noprompt', '-alias', 'broker', '-file', 'broker.pem', ...store('broker.p12')]);
  }
  return { caPemPath, keystore };
}

function serverProperties({ plaintext, saslSsl, oauth, controller }, p, { keystore, caPemPath }) {
  const scramJaas = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
  return [
    '# Written by test/support/kafka/broker.mjs: a one-node test broker on loopback, not for production.',
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
    // Kafka's default is 3 s; tests that need the real wait set KAFKA_INITIAL_REBALANCE_DELAY_MS (and their own ports).
    `group.initial.rebalance.delay.ms=${Number(process.env.KAFKA_INITIAL_REBALANCE_DELAY_MS ?? 0)}`,
    'log.flush.interval.messages=9223372036854775807',
    // SASL_SSL: SCRAM users are written into the metadata log at format time (--add-scram).
    'listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512',
    `listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=${scramJaas}`,
    `listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=${scramJaas}`,
    `listener.name.sasl_ssl.ssl.keystore.location=${keystore}`,
    'listener.name.sasl_ssl.ssl.keystore.type=PKCS12',
    `listener.name.sasl_ssl.ssl.keystore.password=${STORE_PASSWORD}`,
    `listener.name.sasl_ssl.ssl.key.password=${STORE_PASSWORD}`,
    // The CA as the broker's truststore (PEM, KIP-651): used only if client certificates are asked for.
    `listener.name.sasl_ssl.ssl.truststore.location=${caPemPath}`,
    'listener.name.sasl_ssl.ssl.truststore.type=PEM',
    // OAUTHBEARER with the broker's unsecured validator (unsigned JWTs, alg "none"): tests only.
    'listener.name.oauth.sasl.enabled.mechanisms=OAUTHBEARER',
    'listener.name.oauth.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="broker";',
    'listener.name.oauth.oauthbearer.sasl.server.callback.handler.class=org.apache.kafka.common.security.oauthbearer.internals.unsecured.OAuthBearerUnsecuredValidatorCallbackHandler',
    '',
  ].join('\n');
}

function javaArgs(p, mainClass, args, heap = ['-Xms256m', '-Xmx1g']) {
  return [
    ...heap,
    '-XX:+UseG1GC',
    '-Djava.awt.headless=true',
    `-Dkafka.logs.dir=${p.dataDir}`,
    `-Dlog4j2.configurationFile=${LOG4J_CONFIG}`,
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

/** The log's ERROR lines and their causes, deduplicated: the reason, above the stack-trace tail. */
function errorsIn(file, max = 8) {
  if (!existsSync(file)) return '';
  const found = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const text = line.trim();
    if ((/\] (ERROR|FATAL) /.test(text) || text.startsWith('Caused by:')) && !found.includes(text))
      found.push(text);
  }
  return found.length ? `Errors in ${file}:\n${found.slice(0, max).join('\n')}\n` : '';
}

function tail(file, lines = 30) {
  if (!existsSync(file)) return `(no ${file})`;
  const text = readFileSync(file, 'utf8').trimEnd();
  return text ? text.split('\n').slice(-lines).join('\n') : `(${file} is empty)`;
}

function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal); // the broker leads its own process group (detached)
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

async function terminate(pids, log) {
  const live = pids.filter(isAlive);
  if (live.length === 0) return [];
  for (const pid of live) signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (live.some(isAlive) && Date.now() < deadline) await sleep(200);
  for (const pid of live.filter(isAlive)) {
    log(`broker pid ${pid} ignored SIGTERM for ${STOP_TIMEOUT_MS / 1000} s; killing it`);
    signalGroup(pid, 'SIGKILL');
  }
  while (live.some(isAlive)) await sleep(100);
  log(`stopped the Kafka broker (pid ${live.join(', ')})`);
  return live;
}

/** Under the lock: stops whatever broker runs on this data dir and removes the state file. */
async function stopLocked(p, log) {
  const state = readState(p);
  const pids = new Set(orphans(p));
  if (state?.pid && isOurBroker(state.pid, p)) pids.add(state.pid);
  const stopped = await terminate([...pids], log);
  rmSync(p.stateFile, { force: true });
  return stopped;
}

/** Waits until the broker answers on `port`; throws with the log's tail when it dies or times out. */
async function waitReady(pid, port, p, timeoutMs) {
  const started = Date.now();
  while (!(await probe(port))) {
    if (!isAlive(pid))
      throw new Error(
        `the Kafka broker (pid ${pid}) exited during startup. ${errorsIn(p.logFile)}Last lines of ${p.logFile}:\n${tail(p.logFile, 20)}\n--- ${p.stdoutFile}:\n${tail(p.stdoutFile, 15)}`,
      );
    if (Date.now() - started > timeoutMs) return false;
    await sleep(250);
  }
  return true;
}

/**
 * Waits until the group coordinator serves groups. The first group request creates
 * __consumer_offsets, and until its partitions are loaded every group request is answered "the
 * coordinator is loading": a retriable error, but one the first spec to join a group would see.
 */
async function waitGroupCoordinator(brokers, timeoutMs) {
  const { Kafka, logLevel } = await import('kafkajs');
  const admin = new Kafka({ clientId: 'harness', brokers: [brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await admin.fetchOffsets({ groupId: 'harness-ready' });
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(200);
      }
    }
  } finally {
    await admin.disconnect();
  }
}

async function startLocked(p, port, log) {
  const state = readState(p);
  if (state && isOurBroker(state.pid, p) && existsSync(p.connectionFile)) {
    // Running, or still starting if the process that started it died before it was ready.
    if ((await probe(port.plaintext)) || (await waitReady(state.pid, port.plaintext, p, READY_TIMEOUT_MS))) {
      const info = readConnection(p);
      if (info.version !== kafkaVersion())
        log(
          `reusing the running Kafka ${info.version} broker, although pom.xml now says ${kafkaVersion()}: stop it (npm run kafka:stop) to switch`,
        );
      return { ...info, pid: state.pid, startedByUs: false };
    }
    log(`the harness broker (pid ${state.pid}) does not answer on ${port.plaintext}; restarting it`);
  } else if (state) {
    log(`removing the stale state of a broker that is gone (pid ${state.pid})`);
  }
  await stopLocked(p, log); // the stale state, and any broker JVM left on this data dir

  for (const [key, value] of Object.entries(port)) {
    if (await portTaken(value))
      throw new Error(
        `port ${value} is taken by a process that is not the harness broker; free it, set ${PORT_ENV[key]} to another port, or point KAFKA_BROKERS at a broker you run`,
      );
  }
  ensureJava();
  fetchJars(p, log);
  rmSync(p.dataDir, { recursive: true, force: true });
  mkdirSync(p.dataDir, { recursive: true });
  const tls = generateTls(p.tls);
  writeFileSync(p.properties, serverProperties(port, p, tls));

  // As Kafka's Uuid.randomUuid: an id starting with '-' would be read as an option by the tool
  // ("argument --cluster-id/-t: expected one argument"), one format in 64.
  let clusterId;
  do clusterId = randomBytes(16).toString('base64url');
  while (clusterId.startsWith('-'));
  const scram = Object.entries(SCRAM_USERS).flatMap(([mechanism, { username, password }]) => [
    '--add-scram',
    `${mechanism}=[name=${username},password=${password}]`,
  ]);
  try {
    execFileSync(
      'java',
      javaArgs(
        p,
        'kafka.tools.StorageTool',
        ['format', '-t', clusterId, '-c', p.properties, ...scram],
        ['-Xmx256m'],
      ),
      { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' },
    );
  } catch (error) {
    throw new Error(
      `formatting the KRaft storage failed (kafka.tools.StorageTool format):\n${error.stdout ?? ''}${error.stderr ?? ''}`,
      { cause: error },
    );
  }

  const out = openSync(p.stdoutFile, 'a');
  const child = spawn('java', javaArgs(p, 'kafka.Kafka', [p.properties]), {
    detached: true, // its own process group: it outlives the process that started it
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  const spawnError = new Promise((resolve) => child.once('error', resolve));
  child.unref();
  await Promise.race([spawnError, sleep(50)]).then((error) => {
    if (error) throw new Error(`could not start java: ${error.message}`, { cause: error });
  });
  writeFileSync(
    p.stateFile,
    JSON.stringify({
      pid: child.pid,
      ports: port,
      version: kafkaVersion(),
      startedAt: new Date().toISOString(),
    }),
  );
  const info = connectionInfo(p, port, tls.caPemPath);
  writeFileSync(p.connectionFile, JSON.stringify(info, null, 2));

  const started = Date.now();
  let ready;
  try {
    ready = await waitReady(child.pid, port.plaintext, p, READY_TIMEOUT_MS);
  } catch (error) {
    rmSync(p.stateFile, { force: true });
    throw error;
  }
  if (!ready) {
    const lastLines = `${errorsIn(p.logFile)}Last lines of ${p.logFile}:\n${tail(p.logFile)}`;
    await stopLocked(p, log);
    throw new Error(
      `the Kafka broker did not answer on port ${port.plaintext} within ${READY_TIMEOUT_MS / 1000} s. ${lastLines}`,
    );
  }
  await waitGroupCoordinator(info.brokers, READY_TIMEOUT_MS);
  log(`Kafka ${info.version} ready in ${Date.now() - started} ms (pid ${child.pid})`);
  return { ...info, pid: child.pid, startedByUs: true };
}

/**
 * Starts the harness broker, or reuses the one already running. Resolves with its connection info
 * (the same object as connection.json), its `pid`, and `startedByUs`.
 * @param {{ log?: (line: string) => void }} [options] progress lines; stderr by default
 */
export async function startBroker({ log = defaultLog } = {}) {
  const p = paths();
  const port = ports();
  return withLock(p, () => startLocked(p, port, log));
}

/**
 * Stops the harness broker (SIGTERM to its process group, SIGKILL after 30 s), and any broker JVM
 * left on its data dir, and removes its state. Idempotent. Resolves with the PIDs it stopped.
 * @param {{ log?: (line: string) => void }} [options]
 * @returns {Promise<{ stoppedPids: number[] }>}
 */
export async function stopBroker({ log = defaultLog } = {}) {
  const p = paths();
  return { stoppedPids: await withLock(p, () => stopLocked(p, log)) };
}

/** What runs where, or that nothing does. */
export async function brokerStatus() {
  const p = paths();
  const state = readState(p);
  const running = Boolean(
    state &&
    isOurBroker(state.pid, p) &&
    existsSync(p.connectionFile) &&
    (await probe(state.ports?.plaintext ?? ports().plaintext)),
  );
  if (!running) {
    const leftovers = orphans(p);
    return {
      running: false,
      dataDir: p.dataDir,
      version: kafkaVersion(),
      ...(state && isOurBroker(state.pid, p) ? { pid: state.pid, starting: true } : {}),
      ...(leftovers.length ? { orphanPids: leftovers } : {}),
      cachedVersions: existsSync(p.cacheDir)
        ? readdirSync(p.cacheDir).filter((name) => /^kafka-\d/.test(name))
        : [],
    };
  }
  const { saslSsl, ...connection } = readConnection(p);
  const { caPem: _pem, ...saslSslWithoutPem } = saslSsl; // the PEM is in caPemPath; keep status short
  return {
    running: true,
    pid: state.pid,
    ports: state.ports,
    startedAt: state.startedAt,
    ...connection,
    saslSsl: saslSslWithoutPem,
  };
}
