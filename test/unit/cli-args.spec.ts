import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CliUsageError, parseCliArgs } from '../../src/cli/cli-args.js';
import { CONFIG_FILE, loadAppModule } from '../../src/cli/load-module.js';
import { applyRouteFilters } from '../../src/cli/route-filters.js';
import type { KarafkaModuleOptions } from '../../src/config/karafka-options.js';
import { resolveKarafkaOptions } from '../../src/config/validate-options.js';
import type { BaseConsumer } from '../../src/consumer/base-consumer.js';
import { buildConsumerGroups } from '../../src/routing/route-builder.js';
import { RouteTable } from '../../src/routing/route-table.js';

function usageError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CliUsageError);
    expect((error as CliUsageError).exitCode).toBe(64);
    return (error as Error).message;
  }
  throw new Error('expected a usage error');
}

const argsError = (argv: string[]) => usageError(() => parseCliArgs(argv));

/** Topics a, b (orders group), c (audit group), d (orders group, "critical" subscription group). */
function table(extra: Partial<KarafkaModuleOptions> = {}) {
  const options = resolveKarafkaOptions({
    kafka: { 'bootstrap.servers': 'x:1' },
    groupId: 'orders',
    ...extra,
  });
  const create = async () => ({}) as BaseConsumer;
  const routes = new RouteTable();
  routes.replace(
    buildConsumerGroups(
      [
        { className: 'A', topics: ['a', 'b'], options: {}, createConsumer: create },
        { className: 'C', topics: ['c'], options: { groupId: 'audit' }, createConsumer: create },
        { className: 'D', topics: ['d'], options: { subscriptionGroup: 'critical' }, createConsumer: create },
        { className: 'E', topics: ['e'], options: { active: false }, createConsumer: create },
      ],
      options,
    ),
  );
  const filter = (...argv: string[]) => {
    applyRouteFilters(routes, parseCliArgs(['server', ...argv]).filters, options);
    return routes
      .activeSubscriptionGroups()
      .flatMap((group) => group.routes.map((route) => route.name))
      .sort();
  };
  return { routes, filter };
}

describe('karafka CLI arguments', () => {
  it('parses commands, module flags, liveness flags and comma lists in dash or underscore spelling', () => {
    const args = parseCliArgs([
      'server',
      '--module',
      'dist/app.js',
      '--export',
      'App',
      '--liveness-port',
      '9000',
      '--exclude_topics',
      'a,b',
      '--topics',
      'c',
      '--topics=d_1',
      '--consumer_groups=orders_eu',
    ]);
    expect(args).toMatchObject({
      command: 'server',
      module: 'dist/app.js',
      exportName: 'App',
      livenessPort: 9000,
      liveness: true,
    });
    expect(args.filters.excludeTopics).toEqual(['a', 'b']);
    // Only the flag's own underscores are dashes: values keep theirs.
    expect(args.filters.topics).toEqual(['c', 'd_1']);
    expect(args.filters.consumerGroups).toEqual(['orders_eu']);
    expect(parseCliArgs(['server', '--no-liveness']).liveness).toBe(false);
    expect(parseCliArgs(['server']).http).toBe(true);
    expect(parseCliArgs(['server', '--no-http']).http).toBe(false);
    expect(parseCliArgs(['topics', 'plan'])).toMatchObject({ command: 'topics', action: 'plan' });
    // The swarm takes the server's flags, and --nodes.
    expect(parseCliArgs(['swarm', '--nodes', '3', '--topics', 'a', '--liveness-port', '9000'])).toMatchObject(
      {
        command: 'swarm',
        nodes: 3,
        livenessPort: 9000,
        filters: { topics: ['a'] },
      },
    );
    expect(parseCliArgs(['swarm']).nodes).toBeUndefined();
    expect(parseCliArgs([]).command).toBe('help');
    expect(parseCliArgs(['server', '--help']).command).toBe('help');
    expect(parseCliArgs(['--version']).command).toBe('version');
  });

  it('names the flag and the fix for bad input (exit code 64)', () => {
    expect(argsError(['server', '--topic', 'a'])).toBe(
      'unknown flag --topic: did you mean --topics? Run "karafka --help" for the flags.',
    );
    expect(argsError(['server', '--module'])).toContain("Option '--module <value>' argument missing");
    expect(argsError(['server', '--liveness-port', '70000'])).toBe(
      '--liveness-port must be a port number (0-65535), got "70000"',
    );
    expect(argsError(['server', '--liveness-port', '30.5'])).toContain(
      '--liveness-port must be a port number',
    );
    expect(argsError(['server', '--no-liveness', '--liveness-port', '3000'])).toContain(
      '--no-liveness contradicts --liveness-port',
    );
    expect(argsError(['info', '--topics', 'a'])).toBe(
      '--topics applies to "karafka server" and "karafka swarm" only; drop it from "karafka info"',
    );
    expect(argsError(['info', '--no-http'])).toBe(
      '--no-http applies to "karafka server" and "karafka swarm" only; drop it from "karafka info"',
    );
    expect(argsError(['server', '--nodes', '3'])).toBe(
      '--nodes applies to "karafka swarm" only; drop it from "karafka server"',
    );
    expect(argsError(['swarm', '--nodes', '0'])).toBe('--nodes must be a whole number of 1 or more, got "0"');
    expect(argsError(['swarm', '--nodes', 'two'])).toBe(
      '--nodes must be a whole number of 1 or more, got "two"',
    );
    expect(argsError(['serve'])).toContain('unknown command "serve" (did you mean "server"?)');
    expect(argsError(['topics'])).toContain('karafka topics needs an action: create, delete or plan');
    expect(argsError(['server', 'extra'])).toContain('unexpected argument "extra"');
  });
});

describe('route filters', () => {
  it('keeps only the included topics, groups or subscription groups; inclusion beats exclusion', () => {
    expect(table().filter('--topics', 'a', '--exclude-topics', 'a')).toEqual(['a']);
    expect(table().filter('--exclude-topics', 'b')).toEqual(['a', 'c', 'd']);
    expect(table().filter('--exclude-consumer-groups', 'audit')).toEqual(['a', 'b', 'd']);
    expect(table().filter('--consumer-groups', 'orders', '--exclude-topics', 'b')).toEqual(['a', 'd']);
    expect(table().filter('--subscription-groups', 'critical')).toEqual(['d']);
    expect(table().filter('--exclude-subscription-groups', 'orders/default')).toEqual(['c', 'd']);
  });

  it('matches topics and consumer groups as written in the code or as named on the cluster', () => {
    const prefixed = { prefix: 'staging.' };
    expect(table(prefixed).filter('--topics', 'a')).toEqual(['a']);
    expect(table(prefixed).filter('--topics', 'staging.a')).toEqual(['a']);
    expect(table(prefixed).filter('--consumer-groups', 'audit')).toEqual(['c']);
    expect(table(prefixed).filter('--consumer-groups', 'staging.audit')).toEqual(['c']);
    expect(table(prefixed).filter('--subscription-groups', 'staging.orders/critical')).toEqual(['d']);
    const mapped = table({ names: { topic: (name) => `${name}.v2` } });
    expect(mapped.filter('--exclude-topics', 'a.v2,b')).toEqual(['c', 'd']);
  });

  it('refuses unknown names and an empty result, listing the known names', () => {
    expect(usageError(() => table().filter('--topics', 'nope'))).toBe(
      'unknown topic "nope". Known topics: a, b, c, d, e',
    );
    expect(usageError(() => table({ prefix: 'p.' }).filter('--exclude-topics', 'x'))).toContain(
      'Known topics: a, b, c, d, e, p.a, p.b, p.c, p.d, p.e',
    );
    expect(usageError(() => table().filter('--consumer-groups', 'x'))).toContain(
      'Known consumer groups: audit, orders',
    );
    expect(usageError(() => table().filter('--subscription-groups', 'x'))).toContain(
      'Known subscription groups: audit/default, critical, default, orders/critical, orders/default',
    );
    expect(usageError(() => table().filter('--exclude-topics', 'a,b,c,d'))).toContain(
      'nothing left to consume after the filters',
    );
    expect(usageError(() => table().filter('--topics', 'e'))).toContain('nothing left to consume');
  });
});

describe('loading the module', () => {
  const dir = mkdtempSync(join(tmpdir(), 'karafka-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'app.mjs'),
    'export class AppModule {}\nexport class Other {}\nexport const x = 1;\n',
  );

  it(`reads the module and its export from --module/--export or ${CONFIG_FILE}`, async () => {
    expect((await loadAppModule('app.mjs', undefined, dir)).name).toBe('AppModule');
    expect((await loadAppModule('app.mjs', 'Other', dir)).name).toBe('Other');
    writeFileSync(join(dir, CONFIG_FILE), JSON.stringify({ module: 'app.mjs', export: 'Other' }));
    expect((await loadAppModule(undefined, undefined, dir)).name).toBe('Other');
    // Flags win over the file.
    expect((await loadAppModule(undefined, 'AppModule', dir)).name).toBe('AppModule');
  });

  it('says what is missing and how to fix it', async () => {
    const empty = mkdtempSync(join(dir, 'empty-'));
    await expect(loadAppModule(undefined, undefined, empty)).rejects.toThrow(
      `no module to run: pass --module dist/app.module.js, or write ${CONFIG_FILE}`,
    );
    await expect(loadAppModule('dist/nope.js', undefined, empty)).rejects.toThrow(
      /--module dist\/nope.js: .* does not exist. Build your app first/,
    );
    await expect(loadAppModule('app.mjs', 'Missing', dir)).rejects.toThrow(
      'app.mjs exports no module class "Missing". Use --export with one of: AppModule, Other',
    );
    writeFileSync(join(empty, CONFIG_FILE), '{ module: ');
    await expect(loadAppModule(undefined, undefined, empty)).rejects.toThrow(
      /karafka.config.json is not valid JSON .* Write e.g. \{"module": "dist\/app.module.js"/,
    );
  });
});
