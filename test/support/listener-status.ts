import type { ListenerStatus } from '../../src/processing/listener/listener-states.js';

/** A running, joined subscription group that polled at `now`, with `overrides`. */
export function runningListener(now: number, overrides: Partial<ListenerStatus> = {}): ListenerStatus {
  return {
    id: 'app/default',
    groupId: 'app',
    state: 'running',
    joined: true,
    lastPollAt: now,
    startedAt: now - 1_000,
    assigned: [],
    lag: {},
    missingTopics: [],
    ...overrides,
  };
}
