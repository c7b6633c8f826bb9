import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { USAGE } from '../../src/cli/cli-args.js';
import { DEFAULT_ADMIN } from '../../src/config/karafka-options.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');

function markdown(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? markdown(join(dir, entry.name))
      : entry.name.endsWith('.md')
        ? [join(dir, entry.name)]
        : [],
  );
}

/** What users read: package.json's description, the README and docs/. */
function promises(): { where: string; text: string }[] {
  const description = (JSON.parse(read('package.json')) as { description: string }).description;
  return [
    { where: 'package.json description', text: description },
    ...['README.md', ...markdown('docs')].map((path) => ({ where: path, text: read(path) })),
  ];
}

describe('words that promise what exists', () => {
  it('mention a swarm only once the CLI has a swarm command', () => {
    const swarm = USAGE.includes('swarm') || existsSync(join(root, 'src/swarm'));
    const mentions = promises()
      .filter(({ text }) => /swarm/i.test(text))
      .map(({ where }) => where);
    expect(swarm ? [] : mentions).toEqual([]);
  });
});

describe('the Heroku guide', () => {
  it('lists a Heroku CLI command creating every consumer group it configures, and the admin group', () => {
    const guide = read('docs/deployment/heroku.md');
    const configured = [...guide.matchAll(/groupId: '([^']+)'/g)].map((match) => match[1]);
    const created = [...guide.matchAll(/heroku kafka:consumer-groups:create (\S+)/g)].map(
      (match) => match[1],
    );
    expect(configured.length).toBeGreaterThan(0);
    expect(created).toEqual(expect.arrayContaining([...configured, DEFAULT_ADMIN.groupId]));
  });
});
