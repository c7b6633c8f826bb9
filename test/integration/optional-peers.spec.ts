import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const ABSENT = new Set(['@opentelemetry', 'prom-client']);

describe('without @opentelemetry/api and prom-client installed', () => {
  const app = mkdtempSync(join(tmpdir(), 'karafka-no-peers-'));
  afterAll(() => rmSync(app, { recursive: true, force: true }));

  it(
    'the built package loads and boots, consumer jobs run unwrapped; KarafkaPrometheusModule names what to install',
    { timeout: 120_000 },
    () => {
      execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', join(app, 'dist')], {
        cwd: root,
      });
      // The app's node_modules: the repository's, less the two optional peers.
      mkdirSync(join(app, 'node_modules'));
      for (const entry of readdirSync(join(root, 'node_modules'))) {
        if (!ABSENT.has(entry))
          symlinkSync(join(root, 'node_modules', entry), join(app, 'node_modules', entry));
      }
      writeFileSync(join(app, 'package.json'), JSON.stringify({ type: 'module' }));
      writeFileSync(
        join(app, 'main.mjs'),
        `import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { KarafkaModule, KarafkaMonitor, KarafkaPrometheusModule } from './dist/index.js';

for (const peer of ['@opentelemetry/api', 'prom-client']) {
  try { await import(peer); console.log('present ' + peer); } catch { console.log('absent ' + peer); }
}
const karafka = KarafkaModule.forRoot({ kafka: { 'bootstrap.servers': '127.0.0.1:1' }, autoStart: false, logging: false });
class App {}
Module({ imports: [karafka] })(App);
const context = await NestFactory.createApplicationContext(App, { logger: false });
const monitor = context.get(KarafkaMonitor);
console.log('job runs unwrapped ' + (await monitor.aroundJob({}, 'consume', [], 1, async () => 'ran')));
await context.close();
class WithPrometheus {}
Module({ imports: [karafka, KarafkaPrometheusModule.forRoot({ path: false })] })(WithPrometheus);
try {
  await NestFactory.createApplicationContext(WithPrometheus, { logger: false, abortOnError: false });
} catch (error) {
  console.log(error.message);
}
`,
      );
      const output = execFileSync(process.execPath, ['main.mjs'], { cwd: app, encoding: 'utf8' });
      expect(output.split('\n')).toEqual([
        'absent @opentelemetry/api',
        'absent prom-client',
        'job runs unwrapped ran',
        expect.stringMatching(
          /KarafkaPrometheusModule.*needs the optional peer dependency prom-client.*npm install prom-client/,
        ),
        '',
      ]);
    },
  );
});
