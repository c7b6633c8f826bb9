import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { KafkaClientError, KafkaClientFactory } from '../connection/kafka-client.js';
import type { ResolvedKarafkaOptions } from '../config/karafka-options.js';
import type { AppState } from '../instrumentation/karafka-events.js';
import { engineLogger, type EngineLogger } from '../instrumentation/leveled-logger.js';
import { ModuleRef } from '@nestjs/core';
import { KarafkaMonitor } from '../instrumentation/karafka-monitor.js';
import { KAFKA_CLIENT_FACTORY, KARAFKA_OPTIONS } from '../karafka.constants.js';
import { RouteTable } from '../routing/route-table.js';
import { TopicsManager } from '../admin/topics-manager.js';
import { PartitionProducers } from '../producer/partition-producers.js';
import { ProducerConnection } from '../producer/producer-connection.js';
import { exitAfterClosing } from '../config/critical-exit.js';
import { processOverrides } from '../config/process-overrides.js';
import { DeadLetterDispatcher } from './dead-letter-dispatcher.js';
import { checkEmbedding } from './embedding-checks.js';
import { JobRegistry } from './job-registry.js';
import type { ListenerStatus } from './listener/listener-states.js';
import { SubscriptionGroupListener } from './listener/subscription-group-listener.js';
import { DEFAULT_QUEUED_MAX_KBYTES, PrefetchBudget } from './prefetch-budget.js';
import { WorkerPool } from './worker-pool.js';

const TERMINUS_OPTIONS_TOKEN = 'TERMINUS:MODULE_OPTIONS';

/** What health checks and diagnostics read of the engine. */
export interface EngineStatus {
  state: AppState;
  listeners: ListenerStatus[];
  /** The error that made the engine (or one subscription group) give up, if any. */
  fatalError?: string;
  /** True when the engine stopped or crashed without being asked. */
  stoppedUnexpectedly: boolean;
}

/**
 * The engine's handle, Karafka's `Embedded`: `start()` never blocks; `stop()` blocks until
 * in-flight work is done or `shutdownTimeout` passed; `quiet()` stops taking new work but keeps
 * group membership. Started on bootstrap and stopped on shutdown unless `autoStart: false`;
 * start, stop and start again in one process works.
 */
@Injectable()
export class KarafkaRunner implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger: EngineLogger;
  private stateValue: AppState = 'initialized';
  private listeners: SubscriptionGroupListener[] = [];
  private stopping?: Promise<boolean>;
  private fatalError?: KafkaClientError;

  constructor(
    @Inject(KARAFKA_OPTIONS) private readonly options: ResolvedKarafkaOptions,
    private readonly routes: RouteTable,
    @Inject(KAFKA_CLIENT_FACTORY) private readonly clients: KafkaClientFactory,
    private readonly monitor: KarafkaMonitor,
    private readonly jobs: JobRegistry,
    private readonly topics: TopicsManager,
    private readonly producer: ProducerConnection,
    private readonly moduleRef: ModuleRef,
  ) {
    this.logger = engineLogger('Karafka', options);
  }

  get state(): AppState {
    return this.stateValue;
  }

  status(): EngineStatus {
    return {
      state: this.stateValue,
      listeners: this.listeners.map((listener) => listener.status()),
      fatalError: this.fatalError?.summary,
      stoppedUnexpectedly: this.fatalError !== undefined,
    };
  }

  onApplicationBootstrap(): void {
    // Every module is initialized (and every @OnKarafkaEvent subscribed) by now.
    this.monitor.instrument('app.initialized', { state: 'initialized' });
    if (this.options.autoStart) this.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  /** Starts consuming in the background. Returns at once; connection problems are retried and logged. */
  start(): void {
    if (this.stateValue !== 'initialized' && this.stateValue !== 'stopped') return;
    this.fatalError = undefined;
    const pool = new WorkerPool(this.options.concurrency);
    // The app's one producer: it outlives the engine, which stops before it closes.
    const deadLetters = new DeadLetterDispatcher(this.producer);
    const budget = new PrefetchBudget(this.prefetchCapacity());
    const groups = this.routes.activeSubscriptionGroups();
    if (groups.length === 0) this.logger.warn('no active @Consumer routes: nothing to consume');
    this.listeners = groups.map(
      (group) =>
        new SubscriptionGroupListener(group, {
          options: this.options,
          clients: this.clients,
          pool,
          jobs: this.jobs,
          monitor: this.monitor,
          deadLetters,
          budget,
          transactions: new PartitionProducers(this.clients, this.options.clientId),
          onFatal: (error) => this.onFatal(error),
        }),
    );
    this.setState('running');
    const listeners = this.listeners;
    if (this.options.declareTopics) {
      // In the background, like connecting: start never blocks on the cluster.
      void this.topics
        .createMissing()
        .then((created) => created.length > 0 && this.logger.log(`created topics ${created.join(', ')}`))
        .catch((error: Error) =>
          this.logger.error(`declareTopics: cannot create the declared topics: ${error.message}`),
        )
        .finally(() => listeners.forEach((listener) => listener.start()));
    } else {
      for (const listener of listeners) listener.start();
    }
    // After the host finished booting (it may enable shutdown hooks after init).
    if (!processOverrides().ownsSignals) {
      setTimeout(() => checkEmbedding(this.options, this.logger, this.terminusGraceMs()), 1_000).unref();
    }
  }

  /** Stops taking new batches; finishes in-flight ones, runs `shutdown()`, commits; stays in the group. */
  async quiet(): Promise<void> {
    if (this.stateValue !== 'running') return;
    this.setState('quieting');
    await Promise.all(this.listeners.map((listener) => listener.quiet()));
    if ((this.stateValue as AppState) === 'quieting') this.setState('quiet');
  }

  /**
   * Stops fetching, waits for in-flight jobs up to `shutdownTimeout`, commits what was
   * processed, runs `shutdown()`, leaves the groups and disconnects. Past the timeout it logs
   * what was still running and disconnects anyway. Resolves `true` when everything finished in time.
   */
  stop(): Promise<boolean> {
    if (this.stateValue === 'initialized' || this.stateValue === 'stopped') return Promise.resolve(true);
    this.stopping ??= this.shutdown().finally(() => (this.stopping = undefined));
    return this.stopping;
  }

  private async shutdown(): Promise<boolean> {
    this.setState('stopping');
    const timeout = this.options.shutdownTimeout;
    let timer: NodeJS.Timeout | undefined;
    // Settled, not all: one listener failing to drain must not keep the others from finishing.
    const drained = Promise.allSettled(this.listeners.map((listener) => listener.drain())).then(() => true);
    const inTime = await Promise.race([
      drained,
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeout))),
    ]);
    clearTimeout(timer);
    if (!inTime) {
      const stuck = this.jobs.describe();
      const error = new Error(
        `shutdownTimeout (${timeout} ms) passed with work still running: ${stuck.join('; ') || 'none'}`,
      );
      this.logger.error(`${error.message}; disconnecting anyway`);
      this.monitor.instrument('error.occurred', { type: 'app.stopping.error', error, fatal: false });
    }
    await Promise.allSettled(this.listeners.map((listener) => listener.finish()));
    this.listeners = [];
    this.setState('stopped');
    return inTime;
  }

  /** Terminus's gracefulShutdownTimeoutMs, when the host configured one (its options token is internal, so read defensively). */
  private terminusGraceMs(): number | undefined {
    try {
      const options = this.moduleRef.get<{ gracefulShutdownTimeoutMs?: number }>(TERMINUS_OPTIONS_TOKEN, {
        strict: false,
      });
      return options?.gracefulShutdownTimeoutMs;
    } catch {
      return undefined;
    }
  }

  /** `queued.max.messages.kbytes` of the module's kafka settings: the prefetch of the whole process. */
  private prefetchCapacity(): number {
    const kbytes = this.options.kafka['queued.max.messages.kbytes'];
    return (typeof kbytes === 'number' && kbytes > 0 ? kbytes : DEFAULT_QUEUED_MAX_KBYTES) * 1024;
  }

  private onFatal(error: KafkaClientError): void {
    this.fatalError ??= error;
    this.logger.error(`engine failed and will not recover: ${error.summary}`);
    const policy = this.options.onCriticalError;
    if (typeof policy === 'function') {
      try {
        policy(error);
      } catch (policyError) {
        this.logger.error(`onCriticalError threw: ${(policyError as Error).message}`);
      }
    } else if (policy === 'exit') {
      this.logger.error(
        'closing the app, then exiting with code 1 (onCriticalError: "exit") so the supervisor restarts the process',
      );
      exitAfterClosing(this.logger, this.options.shutdownTimeout, async () => {
        await this.stop();
        await this.producer.onApplicationShutdown();
      });
    }
  }

  private setState(state: AppState): void {
    this.stateValue = state;
    this.monitor.instrument(`app.${state}`, { state });
  }
}
