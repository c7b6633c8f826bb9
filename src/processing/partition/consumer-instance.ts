import { CONSUMER_CONTEXT, type BaseConsumer, type ConsumerContext } from '../../consumer/base-consumer.js';
import type { Messages } from '../../consumer/messages.js';
import type { Route } from '../../routing/route.js';
import type { PartitionJobs } from './partition-jobs.js';

/** A built instance and how a batch is handed to it: straight to `consume`, or through its Nest enhancers. */
export interface BuiltConsumer {
  consumer: BaseConsumer;
  consume(messages: Messages): unknown;
}

/**
 * The consumer instance of one partition: built through Nest's injector on first use (its
 * `initialized()` hook run), kept for the life of the assignment, rebuilt after a failed build.
 */
export class ConsumerInstance {
  private instance?: Promise<BuiltConsumer>;
  /** Set once messages arrived: from then on revoked() and shutdown() run, as Karafka's executors do. */
  received = false;

  constructor(
    private readonly route: Route,
    private readonly context: ConsumerContext,
    private readonly jobs: PartitionJobs,
  ) {}

  get(): Promise<BuiltConsumer> {
    this.instance ??= this.build().catch((error) => {
      this.instance = undefined;
      throw error;
    });
    return this.instance;
  }

  /** Runs the `revoked()` or `shutdown()` hook, when this partition ever received messages. */
  async hook(kind: 'revoked' | 'shutdown'): Promise<void> {
    if (!this.received) return;
    let built: BuiltConsumer;
    try {
      built = await this.get();
    } catch {
      return;
    }
    await this.jobs.hook(kind, built.consumer);
  }

  private async build(): Promise<BuiltConsumer> {
    const consumer = await this.route.createConsumer();
    consumer[CONSUMER_CONTEXT] = this.context;
    try {
      await consumer.initialized?.();
    } catch (error) {
      this.jobs.failed('consumer.initialized.error', error);
      throw error;
    }
    return {
      consumer,
      consume: this.route.enhance?.(consumer) ?? ((messages) => consumer.consume(messages)),
    };
  }
}
