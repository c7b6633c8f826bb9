import type { TopicPartition } from '../../connection/kafka-client.js';

/**
 * The states of a subscription group listener and the moves between them, declared once
 * (Karafka's connection/status.rb). A move the table does not allow is refused, so a late
 * step of a superseded connect can never undo a stop or a crash.
 */
const TRANSITIONS = {
  idle: ['connecting', 'stopping'],
  connecting: ['connecting', 'running', 'quiet', 'stopping', 'crashed'],
  running: ['connecting', 'quiet', 'stopping', 'crashed'],
  quiet: ['stopping', 'crashed'],
  stopping: ['stopped', 'crashed'],
  stopped: [],
  crashed: [],
} as const satisfies Record<string, readonly string[]>;

export type ListenerState = keyof typeof TRANSITIONS;

export class ListenerStates {
  private current: ListenerState = 'idle';

  get state(): ListenerState {
    return this.current;
  }

  /** Whether fetched batches are processed: while connecting (the first join comes before start resolves) and running. */
  get accepting(): boolean {
    return this.current === 'running' || this.current === 'connecting';
  }

  /** Moves to `next` when the table allows it; returns whether it moved. */
  to(next: ListenerState): boolean {
    if (!(TRANSITIONS[this.current] as readonly ListenerState[]).includes(next)) return false;
    this.current = next;
    return true;
  }
}

/** What health and diagnostics see of a listener. */
export interface ListenerStatus {
  id: string;
  groupId: string;
  state: ListenerState;
  joined: boolean;
  lastPollAt?: number;
  /** When this listener started connecting: the polling TTL counts from here until the first poll. */
  startedAt?: number;
  assigned: TopicPartition[];
  /** Messages behind the high watermark, by `topic/partition`, of the partitions with a position yet. */
  lag: Record<string, number>;
  lastError?: string;
  /** Subscribed topics the cluster does not have (yet): the others are consumed meanwhile. */
  missingTopics: string[];
}
