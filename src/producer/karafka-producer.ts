import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type {
  KafkaClientFactory,
  ProducedMessage,
  ProducerClient,
  RawHeaders,
} from '../connection/kafka-client.js';
import type { ResolvedKarafkaOptions } from '../config/karafka-options.js';
import { LazyConnection } from '../connection/lazy-connection.js';
import { KarafkaMonitor } from '../instrumentation/karafka-monitor.js';
import { KAFKA_CLIENT_FACTORY, KARAFKA_OPTIONS } from '../karafka.constants.js';
import { clusterTopicName } from '../routing/route-builder.js';

/** One message to produce. `topic` is written bare: the module's prefix and name mapper apply. */
export interface ProduceMessage {
  topic: string;
  /** Objects are sent as JSON; strings and Buffers as they are; null is a tombstone. */
  payload: unknown;
  key?: string | Buffer | null;
  headers?: Record<string, string | Buffer>;
  partition?: number;
}

/** A produce the broker refused, naming where it was going. */
export class ProduceError extends Error {
  override readonly name = 'ProduceError';

  constructor(
    readonly topic: string,
    readonly partition: number | undefined,
    cause: unknown,
  ) {
    super(
      `cannot produce to ${topic}${partition === undefined ? '' : `/${partition}`}: ${(cause as Error)?.message ?? String(cause)}`,
      { cause },
    );
  }
}

function encode(payload: unknown): Buffer | string | null {
  if (payload === null || payload === undefined) return null;
  if (typeof payload === 'string' || Buffer.isBuffer(payload)) return payload;
  return JSON.stringify(payload);
}

/**
 * WaterDrop's role: produces with the cluster config, OAuth and prefix of the module. Idempotent
 * (acks=all), connects on first use, and on shutdown waits for every pending produce before it
 * disconnects, after the engine stopped (so `shutdown()` hooks can still produce).
 */
@Injectable()
export class KarafkaProducer implements OnApplicationShutdown {
  private readonly pending = new Set<Promise<void>>();
  private readonly client: LazyConnection<ProducerClient>;

  constructor(
    @Inject(KARAFKA_OPTIONS) private readonly options: ResolvedKarafkaOptions,
    @Inject(KAFKA_CLIENT_FACTORY) clients: KafkaClientFactory,
    private readonly monitor: KarafkaMonitor,
  ) {
    this.client = new LazyConnection(() =>
      clients.producer({ clientId: options.clientId, kafka: options.kafka, idempotent: true }),
    );
  }

  /** Resolves when the broker acknowledged the message. */
  produce(message: ProduceMessage): Promise<void> {
    return this.produceMany([message]);
  }

  /** Produces many messages, batched per topic; resolves when the broker acknowledged all of them. */
  async produceMany(messages: ProduceMessage[]): Promise<void> {
    const byTopic = new Map<string, ProducedMessage[]>();
    for (const message of messages) {
      const topic = clusterTopicName(this.options, message.topic);
      const batch = byTopic.get(topic) ?? [];
      batch.push({
        key: message.key ?? null,
        value: encode(message.payload),
        headers: message.headers as RawHeaders | undefined,
        partition: message.partition,
      });
      byTopic.set(topic, batch);
    }
    const client = await this.client.get();
    await Promise.all(
      [...byTopic].map(async ([topic, batch]) => {
        try {
          await client.send(topic, batch);
        } catch (error) {
          const partitions = new Set(batch.map((message) => message.partition));
          throw new ProduceError(topic, partitions.size === 1 ? [...partitions][0] : undefined, error);
        }
      }),
    );
  }

  /** Fire and forget: failures are reported as `error.occurred` (type `producer.produce.error`). Flushed on shutdown. */
  produceAsync(message: ProduceMessage): void {
    const sending = this.produce(message)
      .catch((error: Error) => {
        this.monitor.instrument('error.occurred', {
          type: 'producer.produce.error',
          error,
          fatal: false,
          topic: error instanceof ProduceError ? error.topic : message.topic,
          partition: message.partition,
        });
      })
      .finally(() => this.pending.delete(sending));
    this.pending.add(sending);
  }

  async onApplicationShutdown(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    await this.client.close();
  }
}
