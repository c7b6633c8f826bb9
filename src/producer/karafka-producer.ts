import { Inject, Injectable } from '@nestjs/common';
import type { ProducedMessage } from '../connection/kafka-client.js';
import { KarafkaMonitor } from '../instrumentation/karafka-monitor.js';
import { KARAFKA_OPTIONS } from '../karafka.constants.js';
import { clusterTopicName, type NamingOptions } from '../config/cluster-names.js';
import { KarafkaTransaction } from './karafka-transaction.js';
import { encode, onePartition, ProduceError, type ProduceMessage } from './produce-message.js';
import { tracedSend } from '../telemetry/producer-tracing.js';
import { ProducerConnection } from './producer-connection.js';

export { ProduceError, type ProduceMessage } from './produce-message.js';

/**
 * WaterDrop's role: produces with the module's cluster config, OAuth and topic prefix, through the
 * client's queue (batched by `linger.ms`, `batch.num.messages`, `batch.size`; idempotent with
 * acks=all unless `enable.idempotence` is false); connects on first use; shares one connection
 * with the engine's dead letter queue. On application shutdown, after the engine stopped (so
 * consumers' `shutdown()` hooks can still produce), it flushes every queued message,
 * fire-and-forget ones included, then disconnects.
 *
 * @example
 * ```ts
 * constructor(private readonly producer: KarafkaProducer) {}
 * await this.producer.produce({ topic: 'orders.processed', key: order.id, payload: order });
 * ```
 */
@Injectable()
export class KarafkaProducer {
  constructor(
    @Inject(KARAFKA_OPTIONS) private readonly options: NamingOptions,
    private readonly connection: ProducerConnection,
    private readonly monitor: KarafkaMonitor,
  ) {}

  /**
   * Waits for room in the queue (`queue.buffering.max.messages` / `.kbytes`), queues the message,
   * and resolves when the broker acknowledged it; rejects with a {@link ProduceError}.
   */
  produce(message: ProduceMessage): Promise<void> {
    return this.deliver(message, true);
  }

  /**
   * Produces many messages, in order, each waiting for room in the queue; resolves when the broker
   * acknowledged all of them. On a failure it rejects with the {@link ProduceError} of the first
   * topic that failed, counting what of that topic was acknowledged. With an OpenTelemetry SDK,
   * in a `send {topic}` span whose context the messages carry in their headers.
   */
  produceMany(messages: ProduceMessage[]): Promise<void> {
    return tracedSend(messages, this.topicOf, (traced) => this.sendMany(traced));
  }

  private async sendMany(messages: ProduceMessage[]): Promise<void> {
    const encoded = messages.map((message) => {
      const topic = clusterTopicName(this.options, message.topic);
      return { topic, message: encode(topic, message) };
    });
    const deliveries: Promise<{ error: unknown } | undefined>[] = [];
    // One after another: each waits for room, so the queue never holds more than its limits.
    for (const { topic, message } of encoded) {
      await this.connection.room().catch((error: unknown) => {
        // Not connected (or closed): this message and the rest are not sent.
        throw new ProduceError(topic, message.partition, error);
      });
      deliveries.push(
        this.connection.produce(topic, message, false).then(
          () => undefined,
          (error: unknown) => ({ error }),
        ),
      );
    }
    const failures = await Promise.all(deliveries);
    const first = failures.findIndex((failure) => failure !== undefined);
    if (first < 0) return;
    const { topic } = encoded[first];
    let acknowledged = 0;
    const failed: ProducedMessage[] = [];
    encoded.forEach((entry, index) => {
      if (entry.topic !== topic) return;
      if (failures[index]) failed.push(entry.message);
      else acknowledged++;
    });
    throw new ProduceError(topic, onePartition(failed), failures[first]?.error, acknowledged);
  }

  /**
   * Fire and forget: queues the message and returns at once, never waiting and never dropping
   * (past the queue's limits messages wait in order). A failure is reported as `error.occurred`
   * (type `producer.produce.error`, with the topic and partition). Application shutdown flushes it.
   */
  produceAsync(message: ProduceMessage): void {
    this.deliver(message, false).catch((error: Error) => {
      this.monitor.instrument('error.occurred', {
        type: 'producer.produce.error',
        error,
        fatal: false,
        topic: error instanceof ProduceError ? error.topic : clusterTopicName(this.options, message.topic),
        partition: message.partition,
        hint: error instanceof ProduceError ? error.hint : undefined,
      });
    });
  }

  /**
   * Runs `work` in a Kafka transaction (needs `kafka['transactional.id']`, unique per process and
   * stable across its restarts): what it produces through `tx` is committed when it resolves, and
   * aborted, never seen by `read_committed` consumers, when it throws (the error is rethrown).
   * Transactions of one producer run one at a time.
   *
   * @example
   * ```ts
   * await producer.transaction(async (tx) => {
   *   await tx.produce({ topic: 'payments', key: id, payload: payment });
   *   await tx.produce({ topic: 'ledger', key: id, payload: entry });
   * });
   * ```
   */
  transaction<T>(work: (tx: KarafkaTransaction) => Promise<T>): Promise<T> {
    return this.connection.run((client) => {
      if (!client.transaction) {
        throw new Error(
          "KarafkaProducer.transaction needs a transactional producer: set kafka['transactional.id'] (unique per process, stable across its restarts)",
        );
      }
      return client.transaction((transaction) => work(new KarafkaTransaction(this.options, transaction)));
    });
  }

  private readonly topicOf = (message: ProduceMessage) => clusterTopicName(this.options, message.topic);

  private deliver(message: ProduceMessage, waitForRoom: boolean): Promise<void> {
    return tracedSend([message], this.topicOf, ([traced]) => this.enqueue(traced, waitForRoom));
  }

  private enqueue(message: ProduceMessage, waitForRoom: boolean): Promise<void> {
    const topic = clusterTopicName(this.options, message.topic);
    let produced: ProducedMessage;
    try {
      produced = encode(topic, message);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return this.connection.produce(topic, produced, waitForRoom).catch((error: unknown) => {
      throw new ProduceError(topic, message.partition, error);
    });
  }
}
