import type { ResolvedKarafkaOptions } from '../config/karafka-options.js';
import { clusterGroupId, clusterTopicName } from '../config/cluster-names.js';
import type { Route, SubscriptionGroup } from '../routing/route.js';
import type { RouteTable } from '../routing/route-table.js';
import { CliUsageError, type RouteFilters } from './cli-args.js';

const listed = (names: Iterable<string>) => [...new Set(names)].sort().join(', ') || 'none';

/**
 * Karafka's `--topics`/`--consumer-groups`/`--subscription-groups` (and their `--exclude-`
 * forms) on the route table. A topic or consumer group matches by the name written in the code
 * or by its name on the cluster (prefixed, mapped); a subscription group by name or id.
 * Inclusion beats exclusion. An unknown name, or nothing left to consume, is a usage error
 * listing the known names.
 */
export function applyRouteFilters(
  routes: RouteTable,
  filters: RouteFilters,
  options: ResolvedKarafkaOptions,
): void {
  const all = routes.subscriptionGroups;
  // Each filter name, mapped to the cluster names it stands for; a name given with the prefix
  // is a cluster name already (no warning about it: on the command line that is fine).
  const written = (name: string) => options.prefix === '' || !name.startsWith(options.prefix);
  const topicOf = (name: string) => (written(name) ? [name, clusterTopicName(options, name)] : [name]);
  const groupOf = (name: string) => (written(name) ? [name, clusterGroupId(options, name)] : [name]);
  const subscriptionOf = (name: string) => [name];

  const knownTopics = all.flatMap((group) => group.routes.flatMap((route) => [route.name, route.topic]));
  const knownGroups = all.map((group) => group.groupId);
  const knownSubscriptions = all.flatMap((group) => [group.name, group.id]);
  const check = (kind: string, asked: string[], known: string[], mapped: (name: string) => string[]) => {
    const unknown = asked.filter((name) => !mapped(name).some((candidate) => known.includes(candidate)));
    if (unknown.length > 0) {
      throw new CliUsageError(
        `unknown ${kind} ${unknown.map((name) => `"${name}"`).join(', ')}. Known ${kind}s: ${listed(known)}`,
      );
    }
  };
  check('topic', [...filters.topics, ...filters.excludeTopics], knownTopics, topicOf);
  check(
    'consumer group',
    [...filters.consumerGroups, ...filters.excludeConsumerGroups],
    knownGroups,
    groupOf,
  );
  check(
    'subscription group',
    [...filters.subscriptionGroups, ...filters.excludeSubscriptionGroups],
    knownSubscriptions,
    subscriptionOf,
  );

  const keep = (
    include: string[],
    exclude: string[],
    mapped: (name: string) => string[],
    ...candidates: string[]
  ) => {
    const matches = (names: string[]) =>
      names.some((name) => mapped(name).some((candidate) => candidates.includes(candidate)));
    return include.length > 0 ? matches(include) : !matches(exclude);
  };
  routes.narrow(
    (route: Route, group: SubscriptionGroup) =>
      keep(filters.topics, filters.excludeTopics, topicOf, route.name, route.topic) &&
      keep(filters.consumerGroups, filters.excludeConsumerGroups, groupOf, group.groupId) &&
      keep(
        filters.subscriptionGroups,
        filters.excludeSubscriptionGroups,
        subscriptionOf,
        group.name,
        group.id,
      ),
  );
  if (routes.activeSubscriptionGroups().length === 0) {
    throw new CliUsageError(
      `nothing left to consume after the filters (inactive routes never run). Known topics: ${listed(knownTopics)}`,
    );
  }
}
