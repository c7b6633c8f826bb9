import { describe, expect, it } from 'vitest';
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

  it('warns when a known host deadline is shorter than shutdownTimeout', () => {
    const hooks = () => undefined;
    process.on('SIGTERM', hooks);
    try {
      expect(warnings({ kafka, shutdownTimeout: 30_000, hostShutdownTimeout: 10_000 })).toEqual([
        expect.stringContaining('hostShutdownTimeout (10000 ms) is shorter than shutdownTimeout (30000 ms)'),
      ]);
      expect(warnings({ kafka, shutdownTimeout: 30_000 }, 5_000)).toEqual([
        expect.stringContaining(
          'gracefulShutdownTimeoutMs (5000 ms) is shorter than shutdownTimeout (30000 ms)',
        ),
      ]);
      expect(warnings({ kafka, shutdownTimeout: 30_000, hostShutdownTimeout: 40_000 }, 0)).toEqual([]);
    } finally {
      process.off('SIGTERM', hooks);
    }
  });
});
