import type {
  ConsumerClientHandlers,
  FetchedBatch,
  KafkaClientError,
  KafkaClientFactory,
  TopicPartition,
} from '../../connection/kafka-client.js';
import type { ResolvedKarafkaOptions } from '../../config/karafka-options.js';
import type { KarafkaMonitor } from '../../instrumentation/karafka-monitor.js';
import type { Route, SubscriptionGroup } from '../../routing/route.js';
import type { DeadLetterDispatcher } from '../dead-letter-dispatcher.js';
import type { JobRegistry } from '../job-registry.js';
import { OffsetCommitter } from '../offset-committer.js';
import type { PartitionProducers } from '../../producer/partition-producers.js';
import { PartitionExecutor } from '../partition/partition-executor.js';
import type { PrefetchBudget } from '../prefetch-budget.js';
import type { WorkerPool } from '../worker-pool.js';
import { ConnectionSupervisor } from './connection-supervisor.js';
import { ListenerStates, type ListenerState, type ListenerStatus } from './listener-states.js';
import { ClientProblems } from './client-problems.js';
import { PartitionMap } from './partition-map.js';
import { ListenerStatistics, partitionStatistics } from './partition-statistics.js';
import { engineLogger, type EngineLogger } from '../../instrumentation/leveled-logger.js';

export interface ListenerDependencies {
  options: ResolvedKarafkaOptions;
  clients: KafkaClientFactory;
  pool: WorkerPool;
  jobs: JobRegistry;
  monitor: KarafkaMonitor;
  deadLetters: DeadLetterDispatcher;
  budget: PrefetchBudget;
  transactions: PartitionProducers;
  /** Called once when the client died for good. */
  onFatal(error: KafkaClientError): void;
}

/**
 * Karafka's connection listener: one Kafka consumer client for one subscription group, the
 * partitions it owns, and their commits. The client's events are turned into partition work
 * here; connecting and reconnecting is the supervisor's, ownership the partition map's.
 */
export class SubscriptionGroupListener {
  private readonly logger: EngineLogger;
  private readonly routes: Map<string, Route>;
  private readonly states = new ListenerStates();
  private readonly partitions: PartitionMap;
  private readonly committer: OffsetCommitter;
  private readonly supervisor: ConnectionSupervisor;
  private readonly problems: ClientProblems;
  private readonly eventBase: { subscriptionGroup: string; groupId: string };
  private readonly statistics: ListenerStatistics;
  private joined = false;
  private lastPollAt?: number;
  private startedAt?: number;

  constructor(
    readonly group: SubscriptionGroup,
    private readonly deps: ListenerDependencies,
  ) {
    this.logger = engineLogger(`Karafka ${group.id}`, deps.options);
    this.eventBase = { subscriptionGroup: group.id, groupId: group.groupId };
    this.routes = new Map(group.routes.map((route) => [route.topic, route]));
    this.problems = new ClientProblems(this.eventBase, deps.monitor, this.logger);
    this.partitions = new PartitionMap((partition, predecessor) =>
      this.createExecutor(partition, predecessor),
    );
    this.supervisor = new ConnectionSupervisor({
      createClient: () =>
        deps.clients.consumer({
          groupId: group.groupId,
          clientId: deps.options.clientId,
          maxWaitTime: group.maxWaitTime,
          kafka: group.kafka,
          subscriptions: group.routes.map((route) => ({
            topic: route.topic,
            fromBeginning: route.initialOffset === 'earliest',
          })),
        }),
      handlers: this.handlers(),
      states: this.states,
      logger: this.logger,
      failed: (error) => this.problems.report(error, !error.retriable),
      fatal: (error) => this.crash(error),
      connected: () => this.logger.log(`consuming ${group.routes.map((route) => route.topic).join(', ')}`),
    });
    this.statistics = new ListenerStatistics(
      () => partitionStatistics(this.partitions.all(), this.committer),
      (statistics) => deps.monitor.instrument('statistics.emitted', { ...this.eventBase, ...statistics }),
    );
    this.committer = new OffsetCommitter(() => this.supervisor.client, {
      owns: (partition) => this.partitions.owns(partition),
      onError: (error) =>
        deps.monitor.instrument('error.occurred', {
          ...this.eventBase,
          type: 'consumer.commit.error',
          error,
          fatal: false,
        }),
    });
  }

  get state(): ListenerState {
    return this.states.state;
  }

  status(): ListenerStatus {
    return {
      id: this.group.id,
      groupId: this.group.groupId,
      state: this.states.state,
      joined: this.joined,
      lastPollAt: this.lastPollAt,
      startedAt: this.startedAt,
      assigned: this.partitions.all().map(({ topic, partition }) => ({ topic, partition })),
      lag: this.statistics.lag(),
      lastError: this.problems.lastError,
      missingTopics: this.problems.missingTopics,
    };
  }

  /** Starts connecting in the background; never blocks. */
  start(): void {
    if (!this.states.to('connecting')) return;
    this.startedAt = Date.now();
    this.supervisor.start();
    this.statistics.start(this.group.kafka['statistics.interval.ms']);
  }

  /** No new batches; in-flight work finishes, `shutdown()` runs, offsets are committed; membership is kept. */
  async quiet(): Promise<void> {
    if (!this.states.to('quiet')) return;
    const executors = this.partitions.all();
    await Promise.all(executors.map((executor) => executor.settle()));
    await Promise.all(executors.map((executor) => executor.runShutdown()));
    await this.committer.flush();
  }

  /**
   * Stops fetching and waits for in-flight jobs. Call {@link finish} afterwards (even when this
   * did not settle in time) to commit, run `shutdown()` and disconnect.
   */
  async drain(): Promise<void> {
    const wasQuiet = this.states.state === 'quiet';
    this.states.to('stopping');
    this.statistics.stop();
    const executors = this.partitions.all();
    await Promise.all([...executors.map((executor) => executor.settle()), this.partitions.drained()]);
    if (!wasQuiet) await Promise.all(executors.map((executor) => executor.runShutdown()));
  }

  /** Commits what was processed, then leaves the group and disconnects; never rejects. */
  async finish(): Promise<void> {
    await this.committer.flush();
    this.committer.close();
    await this.supervisor.stop();
    this.partitions.clear();
    this.joined = false;
    this.states.to('stopped');
  }

  private handlers(): ConsumerClientHandlers {
    return {
      polled: () => this.polled(),
      batch: (batch) => this.batch(batch),
      revoked: (partitions) => this.partitions.revoked(partitions),
      assigned: (partitions) => this.assigned(partitions),
      warning: (error) => this.problems.warning(error),
      crashed: (error) => this.crashed(error),
      statistics: (statistics) => this.statistics.received(statistics),
    };
  }

  private polled(): void {
    this.lastPollAt = Date.now();
    this.deps.monitor.instrument('connection.listener.fetch_loop', this.eventBase);
  }

  private batch(batch: FetchedBatch): void {
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
    this.partitions.get(batch)?.accept(batch);
  }

  private assigned(partitions: TopicPartition[]): void {
    this.joined = true;
    this.problems.assigned(partitions);
    const { added, lost, created } = this.partitions.assigned(partitions);
    // Quiet or stopping: a partition that arrives now is held paused, never processed.
    if (!this.states.accepting) for (const executor of created) void executor.settle();
    if (lost.length > 0)
      this.deps.monitor.instrument('rebalance.partitions_revoked', { ...this.eventBase, partitions: lost });
    if (added.length > 0)
      this.deps.monitor.instrument('rebalance.partitions_assigned', { ...this.eventBase, partitions: added });
    void this.committer.flush();
  }

  private crashed(error: KafkaClientError): void {
    this.joined = false;
    const lost = this.partitions.loseAll();
    if (lost.length > 0)
      this.deps.monitor.instrument('rebalance.partitions_revoked', { ...this.eventBase, partitions: lost });
    this.problems.report(error, !error.retriable);
    if (error.retriable) {
      this.startedAt = Date.now();
      this.supervisor.reconnect();
    } else this.crash(error);
  }

  private crash(error: KafkaClientError): void {
    if (!this.states.to('crashed')) return;
    this.problems.lastError = error.summary;
    // A dead client may still hold connections or timers: it is stopped now, not at app shutdown.
    void this.supervisor.dismiss();
    this.deps.onFatal(error);
  }

  private createExecutor(
    partition: TopicPartition,
    predecessor?: Promise<void>,
  ): PartitionExecutor | undefined {
    const route = this.routes.get(partition.topic);
    if (!route) return undefined;
    return new PartitionExecutor(
      {
        route,
        subscriptionGroup: this.group.id,
        client: () => this.supervisor.client,
        pool: this.deps.pool,
        jobs: this.deps.jobs,
        monitor: this.deps.monitor,
        committer: this.committer,
        deadLetters: this.deps.deadLetters,
        budget: this.deps.budget,
        naming: this.deps.options,
        transactionalProducer: (tp) => this.deps.transactions.forPartition(route.kafka, route.groupId, tp),
      },
      partition,
      predecessor,
    );
  }
}
