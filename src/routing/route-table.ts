import type { ConsumerGroup, Route, SubscriptionGroup } from './route.js';

/** The routes the explorer found, grouped as Karafka does: consumer groups, subscription groups, topics. */
export class RouteTable {
  private groups: ConsumerGroup[] = [];

  replace(groups: ConsumerGroup[]): void {
    this.groups = groups;
  }

  get consumerGroups(): readonly ConsumerGroup[] {
    return this.groups;
  }

  get subscriptionGroups(): SubscriptionGroup[] {
    return this.groups.flatMap((group) => group.subscriptionGroups);
  }

  get routes(): Route[] {
    return this.subscriptionGroups.flatMap((group) => group.routes);
  }

  /** Subscription groups with at least one active route, each with only its active routes. */
  activeSubscriptionGroups(): SubscriptionGroup[] {
    return this.subscriptionGroups
      .map((group) => ({ ...group, routes: group.routes.filter((route) => route.active) }))
      .filter((group) => group.routes.length > 0);
  }

  /** Keeps only what `select` accepts; groups left empty disappear (the CLI's --topics and friends). */
  narrow(select: (route: Route, group: SubscriptionGroup) => boolean): void {
    this.groups = this.groups
      .map((consumerGroup) => ({
        ...consumerGroup,
        subscriptionGroups: consumerGroup.subscriptionGroups
          .map((group) => ({ ...group, routes: group.routes.filter((route) => select(route, group)) }))
          .filter((group) => group.routes.length > 0),
      }))
      .filter((consumerGroup) => consumerGroup.subscriptionGroups.length > 0);
  }
}
