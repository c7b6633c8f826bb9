import { Logger } from '@nestjs/common';
import type {
  ConsumerClient,
  FetchedBatch,
  KafkaClientFactory,
  TopicPartition,
} from '../connection/kafka-client.js';
import type { ResolvedKarafkaOptions } from '../config/karafka-options.js';
import type { PartitionStatistics } from '../instrumentation/karafka-events.js';
import type { KarafkaMonitor } from '../instrumentation/karafka-monitor.js';
import type { Route, SubscriptionGroup } from '../routing/route.js';
import { sleep } from './backoff.js';
import type { DeadLetterDispatcher } from './dead-letter-dispatcher.js';
import { describeClientError } from './client-errors.js';
import type { JobRegistry } from './job-registry.js';
import { OffsetCommitter } from './offset-committer.js';
import { PartitionExecutor } from './partition-executor.js';
import type { WorkerPool } from './worker-pool.js';

export type ListenerState = 'idle' | 'connecting' | 'running' | 'quiet' | 'stopping' | 'stopped' | 'crashed';

const RECONNECT_MIN_MS = 1_000;
const RECONNECT_MAX_MS = 30_000;

export interface ListenerDependencies {
  options: ResolvedKarafkaOptions;
  clients: KafkaClientFactory;
  pool: WorkerPool;
  jobs: JobRegistry;
  monitor: KarafkaMonitor;
  deadLetters: DeadLetterDispatcher;
  /** Called once when the client died for good. */
  onFatal(error: Error): void;
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
  lastError?: string;
}

function key({ topic, partition }: TopicPartition): string {
  return `${topic}\u0000${partition}`;
}

/**
 * Karafka's connection listener: one Kafka consumer client for one subscription group, its
 * partition executors, and its commits. Connects in the background with backoff, so a slow
 * or absent broker never blocks the host.
 */
export class SubscriptionGroupListener {
  private readonly logger: Logger;
  private readonly routes: Map<string, Route>;
  private readonly executors = new Map<string, PartitionExecutor>();
  /** Executors of revoked partitions still finishing their last job. */
  private readonly draining = new Map<string, Promise<void>>();
  private readonly committer: OffsetCommitter;
  private readonly abort = new AbortController();
  private client?: ConsumerClient;
  private connecting?: Promise<void>;
  private statisticsTimer?: NodeJS.Timeout;
  private stateValue: ListenerState = 'idle';
  private joined = false;
  private lastPollAt?: number;
  private startedAt?: number;
  private lastError?: string;

  constructor(
    readonly group: SubscriptionGroup,
    private readonly deps: ListenerDependencies,
  ) {
    this.logger = new Logger(`Karafka ${group.id}`);
    this.routes = new Map(group.routes.map((route) => [route.topic, route]));
    this.committer = new OffsetCommitter(undefined, {
      owns: (partition) => {
        const executor = this.executors.get(key(partition));
        return executor !== undefined && !executor.isRevoked();
      },
      onError: (error) =>
        this.deps.monitor.instrument('error.occurred', {
          ...this.eventBase,
          type: 'consumer.commit.error',
          error,
          fatal: false,
        }),
    });
  }

  get state(): ListenerState {
    return this.stateValue;
  }

  /** Connecting counts: the first group join happens before the client's start resolves. */
  private get accepting(): boolean {
    return this.stateValue === 'running' || this.stateValue === 'connecting';
  }

  private get eventBase() {
    return { subscriptionGroup: this.group.id, groupId: this.group.groupId };
  }

  status(): ListenerStatus {
    return {
      id: this.group.id,
      groupId: this.group.groupId,
      state: this.stateValue,
      joined: this.joined,
      lastPollAt: this.lastPollAt,
      startedAt: this.startedAt,
      assigned: [...this.executors.values()].map(({ topic, partition }) => ({ topic, partition })),
      lastError: this.lastError,
    };
  }

  /** Starts connecting in the background; never blocks. */
  start(): void {
    if (this.stateValue !== 'idle') return;
    this.stateValue = 'connecting';
    this.startedAt = Date.now();
    this.connecting = this.connectLoop();
    const interval = this.group.kafka['statistics.interval.ms'];
    if (typeof interval === 'number' && interval > 0) {
      this.statisticsTimer = setInterval(() => this.emitStatistics(), interval);
    }
  }

  /** No new batches; in-flight work finishes, `shutdown()` runs, offsets are committed; membership is kept. */
  async quiet(): Promise<void> {
    if (this.stateValue !== 'running' && this.stateValue !== 'connecting') return;
    this.stateValue = 'quiet';
    const executors = [...this.executors.values()];
    this.client?.pause(executors.map(({ topic, partition }) => ({ topic, partition })));
    await Promise.all(executors.map((executor) => executor.settle()));
    await Promise.all(executors.map((executor) => executor.runShutdown()));
    await this.committer.flush();
  }

  /**
   * Stops fetching and waits for in-flight jobs. Call {@link finish} afterwards (even when this
   * did not settle in time) to commit, run `shutdown()` and disconnect.
   */
  async drain(): Promise<void> {
    const wasQuiet = this.stateValue === 'quiet';
    const wasConnecting = this.stateValue === 'connecting';
    this.stateValue = 'stopping';
    this.abort.abort();
    clearInterval(this.statisticsTimer);
    // A connect in progress is not waited for: finish() stops the client, which ends it.
    if (!wasConnecting) await this.connecting;
    const executors = [...this.executors.values()];
    this.client?.pause(executors.map(({ topic, partition }) => ({ topic, partition })));
    await Promise.all([...executors.map((executor) => executor.settle()), ...this.draining.values()]);
    if (!wasQuiet) await Promise.all(executors.map((executor) => executor.runShutdown()));
  }

  /** Commits what was processed, then leaves the group and disconnects. */
  async finish(): Promise<void> {
    await this.committer.flush();
    this.committer.close();
    const client = this.client;
    this.client = undefined;
    this.committer.attach(undefined);
    await client?.stop();
    this.executors.clear();
    this.joined = false;
    if (this.stateValue !== 'crashed') this.stateValue = 'stopped';
  }

  private async connectLoop(): Promise<void> {
    let delay = RECONNECT_MIN_MS;
    while (!this.abort.signal.aborted) {
      const client = this.deps.clients.consumer({
        groupId: this.group.groupId,
        clientId: this.deps.options.clientId,
        maxWaitTime: this.group.maxWaitTime,
        kafka: this.group.kafka,
        subscriptions: this.group.routes.map((route) => ({
          topic: route.topic,
          fromBeginning: route.initialOffset === 'earliest',
        })),
      });
      this.client = client;
      this.committer.attach(client);
      try {
        await client.start({
          onBatch: (batch) => this.onBatch(batch),
          onPoll: () => this.onPoll(),
          onAssigned: (assignment) => this.onAssigned(assignment),
          onCrash: (error, willRestart) => this.onCrash(error, willRestart),
        });
        if (this.stateValue === 'connecting') this.stateValue = 'running';
        this.logger.log(`consuming ${this.group.routes.map((route) => route.topic).join(', ')}`);
        return;
      } catch (error) {
        this.client = undefined;
        this.committer.attach(undefined);
        const { message, hint, summary, fatal } = describeClientError(error as Error);
        this.lastError = summary;
        this.deps.monitor.instrument('error.occurred', {
          ...this.eventBase,
          type: 'connection.client.error',
          error: error as Error,
          fatal,
          hint,
        });
        if (fatal) return this.crash(error as Error);
        if (this.abort.signal.aborted) return;
        this.logger.warn(`cannot connect: ${message}${hint ? ` (${hint})` : ''}; retrying in ${delay} ms`);
        await sleep(delay, this.abort.signal);
        delay = Math.min(delay * 2, RECONNECT_MAX_MS);
      }
    }
  }

  private onPoll(): void {
    this.lastPollAt = Date.now();
    this.deps.monitor.instrument('connection.listener.fetch_loop', this.eventBase);
  }

  private onBatch(batch: FetchedBatch): boolean {
    this.lastPollAt = Date.now();
    const { monitor } = this.deps;
    if (monitor.listens('connection.listener.fetch_loop.received')) {
      monitor.instrument('connection.listener.fetch_loop.received', {
        ...this.eventBase,
        topic: batch.topic,
        partition: batch.partition,
        messagesCount: batch.messages.length,
        highWatermark: batch.highWatermark,
      });
    }
    const executor = this.executors.get(key(batch));
    if (!executor || !this.accepting) {
      this.client?.pause([{ topic: batch.topic, partition: batch.partition }]);
      return false;
    }
    return executor.accept(batch);
  }

  private onAssigned(assignment: TopicPartition[]): void {
    this.joined = true;
    this.lastError = undefined;
    const next = new Map(assignment.map((partition) => [key(partition), partition]));
    const revoked: TopicPartition[] = [];
    for (const [partitionKey, executor] of this.executors) {
      if (next.has(partitionKey)) continue;
      revoked.push({ topic: executor.topic, partition: executor.partition });
      this.executors.delete(partitionKey);
      this.retire(partitionKey, executor);
    }
    const added: TopicPartition[] = [];
    for (const [partitionKey, partition] of next) {
      const existing = this.executors.get(partitionKey);
      if (existing) {
        existing.reposition();
        continue;
      }
      const route = this.routes.get(partition.topic);
      if (!route) continue;
      added.push(partition);
      this.executors.set(
        partitionKey,
        new PartitionExecutor(this.executorEnvironment(route), partition, this.draining.get(partitionKey)),
      );
      if (!this.accepting) this.client?.pause([partition]);
    }
    if (revoked.length > 0)
      this.deps.monitor.instrument('rebalance.partitions_revoked', {
        ...this.eventBase,
        partitions: revoked,
      });
    if (added.length > 0)
      this.deps.monitor.instrument('rebalance.partitions_assigned', { ...this.eventBase, partitions: added });
    void this.committer.flush();
  }

  private onCrash(error: Error, willRestart: boolean): void {
    this.joined = false;
    const { hint, summary, fatal } = describeClientError(error);
    this.lastError = summary;
    // The client gave up on an error we know to be passing (a failed token refresh, an unreachable
    // broker): reconnect with our own backoff, as at start, instead of dying.
    const reconnect = !willRestart && hint !== undefined && !fatal;
    // A crashed client left the group: every partition is lost.
    const lost = [...this.executors];
    this.executors.clear();
    for (const [partitionKey, executor] of lost) this.retire(partitionKey, executor);
    if (lost.length > 0) {
      this.deps.monitor.instrument('rebalance.partitions_revoked', {
        ...this.eventBase,
        partitions: lost.map(([, e]) => ({ topic: e.topic, partition: e.partition })),
      });
    }
    this.deps.monitor.instrument('error.occurred', {
      ...this.eventBase,
      type: 'connection.client.error',
      error,
      fatal: !willRestart && !reconnect,
      hint,
    });
    if (reconnect) this.reconnect();
    else if (!willRestart) this.crash(error);
  }

  private reconnect(): void {
    if (this.stateValue !== 'running' && this.stateValue !== 'connecting') return;
    const dead = this.client;
    this.client = undefined;
    this.committer.attach(undefined);
    this.stateValue = 'connecting';
    this.startedAt = Date.now();
    this.connecting = (dead?.stop() ?? Promise.resolve()).then(() => this.connectLoop());
  }

  private crash(error: Error): void {
    if (this.stateValue === 'stopping' || this.stateValue === 'stopped') return;
    this.stateValue = 'crashed';
    this.lastError = describeClientError(error).summary;
    this.deps.onFatal(error);
  }

  private retire(partitionKey: string, executor: PartitionExecutor): void {
    const done = executor.revoke().finally(() => {
      if (this.draining.get(partitionKey) === done) this.draining.delete(partitionKey);
    });
    this.draining.set(partitionKey, done);
  }

  private executorEnvironment(route: Route) {
    return {
      route,
      subscriptionGroup: this.group.id,
      client: () => this.client,
      pool: this.deps.pool,
      jobs: this.deps.jobs,
      monitor: this.deps.monitor,
      committer: this.committer,
      deadLetters: this.deps.deadLetters,
    };
  }

  private emitStatistics(): void {
    const partitions: PartitionStatistics[] = [];
    for (const executor of this.executors.values()) {
      const { offset, highWatermark } = executor.snapshot();
      if (offset === undefined || highWatermark < 0) continue;
      const committedOffset = this.committer.committedOffset(executor);
      partitions.push({
        topic: executor.topic,
        partition: executor.partition,
        offset,
        committedOffset,
        highWatermark,
        lag: Math.max(0, highWatermark - offset),
      });
    }
    this.deps.monitor.instrument('statistics.emitted', { ...this.eventBase, partitions });
  }
}
