import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveKarafkaOptions } from '../../src/config/validate-options.js';
import { checkEmbedding } from '../../src/processing/embedding-checks.js';

@Module({})
class HostModule {}

const options = resolveKarafkaOptions({ kafka: { 'bootstrap.servers': 'x:1' } });

function warnings(): string[] {
  const lines: string[] = [];
  checkEmbedding(options, { warn: (line: unknown) => void lines.push(String(line)) });
  return lines;
}

describe('the embedding check for shutdown hooks', () => {
  // The test runner may listen to SIGTERM itself: set its listeners aside for each test.
  let saved: NodeJS.SignalsListener[] = [];
  beforeEach(() => {
    saved = process.listeners('SIGTERM');
    process.removeAllListeners('SIGTERM');
  });
  afterEach(() => {
    process.removeAllListeners('SIGTERM');
    for (const listener of saved) process.on('SIGTERM', listener);
  });

  it('warns while nothing listens to SIGTERM, and not once Nest 12 enableShutdownHooks() does', async () => {
    const app = await NestFactory.createApplicationContext(HostModule, { logger: false });
    expect(warnings()).toEqual([expect.stringContaining('no shutdown hooks are enabled')]);
    app.enableShutdownHooks();
    expect(warnings()).toEqual([]);
    await app.close();
    expect(warnings()).toHaveLength(1);
  });

  it('counts hooks limited to SIGTERM, or a handler of the host, but not SIGINT alone', async () => {
    const app = await NestFactory.createApplicationContext(HostModule, { logger: false });
    app.enableShutdownHooks(['SIGINT']);
    expect(warnings()).toHaveLength(1);
    app.enableShutdownHooks(['SIGTERM']);
    expect(warnings()).toEqual([]);
    await app.close();
    const own = () => undefined;
    process.on('SIGTERM', own);
    expect(warnings()).toEqual([]);
  });
});
