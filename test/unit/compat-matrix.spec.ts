import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NEST_11, NEST_12, NODE, requirementsTable } from '../matrix/cells.mjs';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const pkg = JSON.parse(read('package.json')) as {
  engines: { node: string };
  peerDependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** `^a.b.c || ^d.e.f` -> the floor of each alternative. */
const floors = (range: string) => range.split('||').map((part) => part.trim().replace(/^\^/, ''));

describe('what the README and package.json promise is what the CI matrix runs', () => {
  it('the README requirements table is the matrix, cell for cell', () => {
    expect(read('README.md')).toContain(requirementsTable());
  });

  it('engines: the Node 22 line from the version its cells run, and the Node 24 line', () => {
    expect(pkg.engines.node).toBe(`^${NODE[22]} || ^24.0.0`);
  });

  it('every peer range starts at the NestJS 11 cells and reaches the NestJS 12 cells', () => {
    const line = (version: string) =>
      version
        .split('.')
        .slice(0, version.startsWith('0.') ? 2 : 1)
        .join('.');
    for (const [name, range] of Object.entries(pkg.peerDependencies)) {
      // The librdkafka driver's binding: pinned in devDependencies, not a NestJS peer.
      if (name === '@confluentinc/kafka-javascript') {
        expect(range).toBe(`^${pkg.devDependencies[name]}`);
        continue;
      }
      expect(floors(range)[0], `${name}'s floor`).toBe(NEST_11[name]);
      expect(line(floors(range).at(-1)!), `${name}'s newest line`).toBe(line(NEST_12[name]));
    }
  });
});
