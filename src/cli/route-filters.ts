import type { Route, SubscriptionGroup } from '../routing/route.js';
import type { RouteTable } from '../routing/route-table.js';
import { CliUsageError, type RouteFilters } from './cli-args.js';

function check(kind: string, asked: string[], known: Set<string>): void {
  const unknown = asked.filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new CliUsageError(
      `unknown ${kind} ${unknown.map((name) => `"${name}"`).join(', ')}. Known ${kind}s: ${[...known].sort().join(', ') || 'none'}`,
    );
  }
}

/**
 * Karafka's `--topics`/`--consumer-groups`/`--subscription-groups` (and their `--exclude-`
 * forms) on the route table. Names as written or as on the cluster; inclusion beats exclusion.
 * An unknown name, or nothing left to consume, is a usage error listing the known names.
 */
export function applyRouteFilters(routes: RouteTable, filters: RouteFilters): void {
  const all = routes.subscriptionGroups;
  const topicNames = new Set(
    all.flatMap((group) => group.routes.flatMap((route) => [route.name, route.topic])),
  );
  const groupNames = new Set(all.map((group) => group.groupId));
  const subscriptionNames = new Set(all.flatMap((group) => [group.name, group.id]));
  check('topic', [...filters.topics, ...filters.excludeTopics], topicNames);
  check('consumer group', [...filters.consumerGroups, ...filters.excludeConsumerGroups], groupNames);
  check(
    'subscription group',
    [...filters.subscriptionGroups, ...filters.excludeSubscriptionGroups],
    subscriptionNames,
  );

  const matches = (names: string[], ...candidates: string[]) =>
    candidates.some((candidate) => names.includes(candidate));
  const keep = (include: string[], exclude: string[], ...candidates: string[]) =>
    include.length > 0 ? matches(include, ...candidates) : !matches(exclude, ...candidates);
  routes.narrow(
    (route: Route, group: SubscriptionGroup) =>
      keep(filters.topics, filters.excludeTopics, route.name, route.topic) &&
      keep(filters.consumerGroups, filters.excludeConsumerGroups, group.groupId) &&
      keep(filters.subscriptionGroups, filters.excludeSubscriptionGroups, group.name, group.id),
  );
  if (routes.activeSubscriptionGroups().length === 0) {
    throw new CliUsageError(
      `nothing left to consume after the filters. Known topics: ${[...topicNames].sort().join(', ') || 'none'}`,
    );
  }
}
