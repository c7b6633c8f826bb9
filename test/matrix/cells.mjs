// The compatibility matrix CI proves, in one place: test/matrix/run.mjs runs these cells (from
// .ci/run), and test/unit/compat-matrix.spec.ts checks that the README's requirements table,
// package.json's engines and its peer ranges say exactly this.
import { readFileSync } from 'node:fs';
import { defaultKafkaVersion } from '../support/kafka/broker.mjs';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));

/**
 * Node binaries from the npm registry's node-<platform>-<arch> package. 22.12.0 is the floor of
 * the 22 line (the first with require(esm) unflagged, which a CommonJS app needs), so it is tested
 * as it is; 24 is tested at its newest release.
 */
export const NODE = { 22: '22.12.0', 24: '24.22.3' };

/** The older Kafka line, run by the harness beside the default one on its own ports. */
export const KAFKA_OLDER = '3.9.2';
export const KAFKA_OLDER_PORTS = {
  KAFKA_PORT: '19092',
  KAFKA_SASL_SSL_PORT: '19093',
  KAFKA_OAUTH_PORT: '19094',
  KAFKA_CONTROLLER_PORT: '19095',
};

/**
 * NestJS 11 at the floors of the peer ranges (reflect-metadata and rxjs too), so the low end of
 * every range is proven; the NestJS 12 cells run the lockfile's versions, the high end.
 */
export const NEST_11 = {
  '@nestjs/common': '11.0.0',
  '@nestjs/core': '11.0.0',
  '@nestjs/platform-express': '11.0.0',
  '@nestjs/terminus': '11.0.0',
  '@nestjs/testing': '11.0.0',
  '@opentelemetry/api': '1.9.0',
  'prom-client': '15.0.0',
  'reflect-metadata': '0.1.12',
  rxjs: '7.1.0',
};
const dev = pkg.devDependencies;
export const NEST_12 = Object.fromEntries(Object.keys(NEST_11).map((name) => [name, dev[name]]));

/**
 * `suite`: the unit project and the `smoke` tests (engine, health over HTTP, CLI signals, SCRAM);
 * `smoke`: the smoke tests only (the unit project never reaches a broker, so it adds nothing on a
 * second Kafka line); `esm-app`/`cjs-app`: the `npm pack` tarball installed into a scratch Nest
 * app of that module system, compiled by tsc with `nest new`'s settings, consuming from the broker.
 */
export const CELLS = [
  { run: 'suite', node: 22, nest: 11, kafka: 4 },
  { run: 'suite', node: 22, nest: 12, kafka: 4 },
  { run: 'suite', node: 24, nest: 11, kafka: 4 },
  { run: 'suite', node: 24, nest: 12, kafka: 4 },
  { run: 'smoke', node: 22, nest: 12, kafka: 3 },
  { run: 'smoke', node: 24, nest: 11, kafka: 3 },
  { run: 'esm-app', node: 22, nest: 12, kafka: 4 },
  { run: 'cjs-app', node: 22, nest: 12, kafka: 4 },
  { run: 'cjs-app', node: 24, nest: 11, kafka: 3 },
];

export const kafkaOf = (cell) => (cell.kafka === 3 ? KAFKA_OLDER : defaultKafkaVersion());
export const nestOf = (cell) => (cell.nest === 11 ? NEST_11 : NEST_12);

const RUNS = {
  suite: 'unit project + smoke',
  smoke: 'smoke',
  'esm-app': 'packed tarball in an ESM app',
  'cjs-app': 'packed tarball in a CommonJS app',
};

/** A cell's name in logs and in the README table. */
export function cellName(cell) {
  return `Node ${NODE[cell.node]}, NestJS ${nestOf(cell)['@nestjs/core']}, Kafka ${kafkaOf(cell)}: ${RUNS[cell.run]}`;
}

/** The README's requirements table, generated from the cells (the unit spec compares the two). */
export function requirementsTable() {
  const rows = [
    `| the CI machine's Node (20), NestJS ${NEST_12['@nestjs/core']}, Kafka ${defaultKafkaVersion()} | the whole suite (\`npm test\`) |`,
    ...CELLS.map((cell) => {
      const nest = nestOf(cell);
      return `| Node ${NODE[cell.node]}, NestJS ${nest['@nestjs/core']} (reflect-metadata ${nest['reflect-metadata']}, rxjs ${nest.rxjs}), Kafka ${kafkaOf(cell)} | ${RUNS[cell.run]} |`;
    }),
  ];
  return ['| CI cell | what runs |', '| --- | --- |', ...rows].join('\n');
}
