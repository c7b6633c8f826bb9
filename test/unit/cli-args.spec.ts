import { describe, expect, it } from 'vitest';
import { CliUsageError, parseCliArgs } from '../../src/cli/cli-args.js';
import { applyRouteFilters } from '../../src/cli/route-filters.js';
import { resolveKarafkaOptions } from '../../src/config/validate-options.js';
import type { BaseConsumer } from '../../src/consumer/base-consumer.js';
import { buildConsumerGroups } from '../../src/routing/route-builder.js';
import { RouteTable } from '../../src/routing/route-table.js';

function usageError(argv: string[]): string {
  try {
    parseCliArgs(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(CliUsageError);
    return (error as Error).message;
  }
  throw new Error('expected a usage error');
}

function table(): RouteTable {
  const options = resolveKarafkaOptions({ kafka: { 'bootstrap.servers': 'x:1' }, groupId: 'orders' });
  const create = async () => ({}) as BaseConsumer;
  const routes = new RouteTable();
  routes.replace(
    buildConsumerGroups(
      [
        { className: 'A', topics: ['a', 'b'], options: {}, createConsumer: create },
        { className: 'C', topics: ['c'], options: { groupId: 'audit' }, createConsumer: create },
        { className: 'D', topics: ['d'], options: { subscriptionGroup: 'critical' }, createConsumer: create },
      ],
      options,
    ),
  );
  return routes;
}

const topics = (routes: RouteTable) => routes.routes.map((route) => route.topic).sort();

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
      '--topics',
      'd',
    ]);
    expect(args).toMatchObject({
      command: 'server',
      module: 'dist/app.js',
      exportName: 'App',
      livenessPort: 9000,
      liveness: true,
    });
    expect(args.filters.excludeTopics).toEqual(['a', 'b']);
    expect(args.filters.topics).toEqual(['c', 'd']);
    expect(parseCliArgs(['server', '--no-liveness']).liveness).toBe(false);
    expect(parseCliArgs([]).command).toBe('help');
  });

  it('names the flag and the fix for bad input', () => {
    expect(usageError(['server', '--topic', 'a'])).toContain("Unknown option '--topic'");
    expect(usageError(['server', '--liveness-port', '70000'])).toContain(
      '--liveness-port must be a port number',
    );
    expect(usageError(['serve'])).toContain('unknown command "serve"');
  });
});

describe('route filters', () => {
  it('keeps only the included topics, groups or subscription groups; inclusion beats exclusion', () => {
    const byTopic = table();
    applyRouteFilters(byTopic, {
      ...parseCliArgs(['server', '--topics', 'a', '--exclude-topics', 'a']).filters,
    });
    expect(topics(byTopic)).toEqual(['a']);
    const byGroup = table();
    applyRouteFilters(byGroup, parseCliArgs(['server', '--exclude-consumer-groups', 'audit']).filters);
    expect(topics(byGroup)).toEqual(['a', 'b', 'd']);
    const bySubscription = table();
    applyRouteFilters(bySubscription, parseCliArgs(['server', '--subscription-groups', 'critical']).filters);
    expect(topics(bySubscription)).toEqual(['d']);
  });

  it('refuses unknown names and an empty result, listing the known names', () => {
    expect(() => applyRouteFilters(table(), parseCliArgs(['server', '--topics', 'nope']).filters)).toThrow(
      /unknown topic "nope". Known topics: a, b, c, d/,
    );
    expect(() =>
      applyRouteFilters(table(), parseCliArgs(['server', '--consumer-groups', 'x']).filters),
    ).toThrow(/Known consumer groups: audit, orders/);
    expect(() =>
      applyRouteFilters(table(), parseCliArgs(['server', '--exclude-topics', 'a,b,c,d']).filters),
    ).toThrow(/nothing left to consume/);
  });
});
