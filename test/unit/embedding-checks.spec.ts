import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveKarafkaOptions } from '../../src/config/validate-options.js';
import { checkEmbedding } from '../../src/processing/embedding-checks.js';

function warnings(options: Parameters<typeof resolveKarafkaOptions>[0], terminusGraceMs?: number): string[] {
  const lines: string[] = [];
  checkEmbedding(
    resolveKarafkaOptions(options),
    { warn: (line: unknown) => void lines.push(String(line)) },
    terminusGraceMs,
  );
  return lines;
}

describe('embedding checks', () => {
  const kafka = { 'bootstrap.servers': 'x:1' };
  // Shutdown hooks enabled, so only the deadline checks speak.
  const hooks = () => undefined;
  beforeAll(() => void process.on('SIGTERM', hooks));
  afterAll(() => void process.off('SIGTERM', hooks));

  it('warns when the host deadline is shorter than shutdownTimeout', () => {
    expect(warnings({ kafka, shutdownTimeout: 30_000, hostShutdownTimeout: 10_000 })).toEqual([
      expect.stringContaining('shutdownTimeout (30000 ms) exceeds hostShutdownTimeout (10000 ms)'),
    ]);
  });

  it("warns when Terminus's delay plus shutdownTimeout exceeds the host deadline, as Terminus waits before the stop", () => {
    expect(warnings({ kafka, shutdownTimeout: 30_000, hostShutdownTimeout: 40_000 }, 15_000)).toEqual([
      expect.stringContaining(
        'gracefulShutdownTimeoutMs (15000 ms) before the stop begins, then Karafka drains for up to shutdownTimeout (30000 ms): 45000 ms exceeds hostShutdownTimeout (40000 ms)',
      ),
    ]);
  });

  it('stays silent when the host deadline covers both, and when no host deadline is known', () => {
    expect(warnings({ kafka, shutdownTimeout: 30_000, hostShutdownTimeout: 40_000 }, 5_000)).toEqual([]);
    expect(warnings({ kafka, shutdownTimeout: 30_000, hostShutdownTimeout: 40_000 }, 0)).toEqual([]);
    expect(warnings({ kafka, shutdownTimeout: 30_000, hostShutdownTimeout: 30_000 })).toEqual([]);
    // A Terminus delay shorter than shutdownTimeout is no problem by itself (the old, inverted rule).
    expect(warnings({ kafka, shutdownTimeout: 30_000 }, 5_000)).toEqual([]);
  });
});
