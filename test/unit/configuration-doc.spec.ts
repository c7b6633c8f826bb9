import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LIVENESS,
  DEFAULT_OPTIONS,
  DEFAULT_PAUSE,
  DEFAULT_SWARM,
} from '../../src/config/karafka-options.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const doc = readFileSync(join(root, 'docs/configuration.md'), 'utf8');
/** Options whose own keys have a section of their own (the librdkafka keys of `kafka`). */
const DOCUMENTED_ELSEWHERE = new Set(['kafka']);

const program = ts.createProgram(
  ['src/config/karafka-options.ts', 'src/routing/consumer-options.ts'].map((file) => join(root, file)),
  { strict: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext },
);
const checker = program.getTypeChecker();

/** The interface `name` exported by `file`, as the checker sees it. */
function exportedType(file: string, name: string): ts.Type {
  const source = program.getSourceFile(join(root, file))!;
  const symbol = checker
    .getExportsOfModule(checker.getSymbolAtLocation(source)!)
    .find((s) => s.name === name);
  if (!symbol) throw new Error(`${file} exports no ${name}`);
  return checker.getDeclaredTypeOfSymbol(symbol);
}

/** An object of named options declared in the sources (not a function, union or string map). */
function isOptionGroup(type: ts.Type): boolean {
  if (type.isUnion() || !(type.flags & ts.TypeFlags.Object) || type.getCallSignatures().length > 0)
    return false;
  const properties = checker.getPropertiesOfType(type);
  return (
    properties.length > 0 &&
    properties.every((p) =>
      p.declarations?.every((d) => d.getSourceFile().fileName.startsWith(join(root, 'src'))),
    )
  );
}

/** Every option of `type` and, as `parent.child`, of its nested option objects. */
function optionPaths(type: ts.Type, prefix = ''): string[] {
  return checker.getPropertiesOfType(type).flatMap((property) => {
    const path = `${prefix}${property.name}`;
    const value = checker.getNonNullableType(checker.getTypeOfSymbol(property));
    const nested =
      !DOCUMENTED_ELSEWHERE.has(path) && isOptionGroup(value) ? optionPaths(value, `${path}.`) : [];
    return [path, ...nested];
  });
}

/** The rows of the table under `## heading`: the options named in the first cell, and the cells. */
function tableRows(heading: string): { options: string[]; cells: string[] }[] {
  const start = doc.indexOf(`\n## ${heading}\n`);
  expect(start, `docs/configuration.md has a "## ${heading}" section`).toBeGreaterThan(-1);
  const section = doc.slice(start + 1).split('\n## ')[0];
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const cells = line.split(' | ').map((cell) => cell.replace(/^\| |\s*\|$/g, '').trim());
      return { options: [...cells[0].matchAll(/`([^`]+)`/g)].map((match) => match[1]), cells };
    });
}

const sorted = (items: Iterable<string>) => [...new Set(items)].sort();

describe('docs/configuration.md and the option types', () => {
  it('documents every KarafkaModule option, nested ones as parent.child, and no option that does not exist', () => {
    const typed = optionPaths(exportedType('src/config/karafka-options.ts', 'KarafkaModuleOptions'));
    expect(typed).toEqual(
      expect.arrayContaining(['declareTopics', 'logLevel', 'liveness.port', 'pause.timeout']),
    );
    expect(sorted(tableRows('Module options').flatMap((row) => row.options))).toEqual(sorted(typed));
  });

  it('documents every @Consumer option, nested ones as parent.child, and no option that does not exist', () => {
    const typed = optionPaths(exportedType('src/routing/consumer-options.ts', 'ConsumerOptions'));
    expect(typed).toEqual(expect.arrayContaining(['config', 'config.partitions', 'deadLetterQueue.topic']));
    expect(sorted(tableRows('`@Consumer` options').flatMap((row) => row.options))).toEqual(sorted(typed));
  });

  it('gives the defaults the code applies', () => {
    const defaults: Record<string, unknown> = {
      ...DEFAULT_OPTIONS,
      ...Object.fromEntries(Object.entries(DEFAULT_PAUSE).map(([key, value]) => [`pause.${key}`, value])),
      ...Object.fromEntries(
        Object.entries(DEFAULT_LIVENESS).map(([key, value]) => [`liveness.${key}`, value]),
      ),
      ...Object.fromEntries(Object.entries(DEFAULT_SWARM).map(([key, value]) => [`swarm.${key}`, value])),
    };
    const documented = Object.fromEntries(
      tableRows('Module options').map((row) => [row.options[0], row.cells[1]]),
    );
    for (const [option, value] of Object.entries(defaults)) {
      expect(documented[option], option).toBe(
        `\`${typeof value === 'string' ? `'${value}'` : String(value)}\``,
      );
    }
  });
});
