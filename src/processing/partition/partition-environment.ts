import type { ConsumerClient, ProducerClient, TopicPartition } from '../../connection/kafka-client.js';
import type { LazyConnection } from '../../connection/lazy-connection.js';
import type { NamingOptions } from '../../config/cluster-names.js';
import type { KarafkaMonitor } from '../../instrumentation/karafka-monitor.js';
import type { Route } from '../../routing/route.js';
import type { DeadLetterDispatcher } from '../dead-letter-dispatcher.js';
import type { JobRegistry } from '../job-registry.js';
import type { OffsetCommitter } from '../offset-committer.js';
import type { PrefetchBudget } from '../prefetch-budget.js';
import type { WorkerPool } from '../worker-pool.js';

/** What a partition executor is given by its listener: the route, the client, and the engine's shared parts. */
export interface PartitionEnvironment {
  route: Route;
  subscriptionGroup: string;
  client(): ConsumerClient | undefined;
  pool: WorkerPool;
  jobs: JobRegistry;
  monitor: KarafkaMonitor;
  committer: OffsetCommitter;
  deadLetters: DeadLetterDispatcher;
  budget: PrefetchBudget;
  /** Topic naming of what consumer transactions produce. */
  naming: NamingOptions;
  /** The partition's own transactional producer, for consumer transactions; not connected yet. */
  transactionalProducer(partition: TopicPartition): LazyConnection<ProducerClient>;
}
