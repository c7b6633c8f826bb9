import { Inject, Injectable } from '@nestjs/common';
import type { ProducedMessage, ProducerClient, RawHeaders } from '../connection/kafka-client.js';
import { KarafkaMonitor } from '../instrumentation/karafka-monitor.js';
import { describeClientError } from '../connection/kafkajs/kafkajs-errors.js';
import { KARAFKA_OPTIONS } from '../karafka.constants.js';
import { clusterTopicName, type NamingOptions } from '../config/cluster-names.js';
import { tracedSend } from '../telemetry/producer-tracing.js';
import { ProducerConnection } from './producer-connection.js';

/** Bytes per produce request: well under the broker's default `message.max.bytes` (1 MiB per record batch). */
const MAX_REQUEST_BYTES = 512 * 1024;
/** The most a record's framing takes in Kafka's v2 format (length, attributes, deltas, counts). */
const RECORD_OVERHEAD_BYTES = 32;

/** One message to produce. `topic` is written bare: the module's prefix and name mapper apply. */
export interface ProduceMessage {
  topic: string;
  /** Objects are sent as JSON; strings and Buffers as they are; null is a tombstone. */
  payload: unknown;
  key?: string | Buffer | null;
  headers?: Record<string, string | Buffer>;
  /** Without it, the partitioner picks one from the key. */
  partition?: number;
}

/** A produce that failed, naming where it was going, how much of it got through, and the hint of a known cause. */
export class ProduceError extends Error {
  override readonly name = 'ProduceError';
  /** The troubleshooting hint (authentication, authorization, unreachable brokers, ...), when the cause is a known one. */
  readonly hint?: string;

  /**
   * @param topic the topic as named on the cluster (prefixed)
   * @param partition the partition, when every failed message named the same one
   * @param acknowledged messages to this topic the broker acknowledged before the failure (they are written)
   */
  constructor(
    readonly topic: string,
    readonly partition: number | undefined,
    cause: unknown,
    readonly acknowledged = 0,
  ) {
    const hint = cause instanceof Error ? describeClientError(cause).hint : undefined;
    super(
      `cannot produce to ${topic}${partition === undefined ? '' : `/${partition}`}` +
        `${acknowledged > 0 ? ` (the ${acknowledged} messages before were acknowledged)` : ''}` +
        `: ${(cause as Error)?.message ?? String(cause)}${hint ? `. ${hint}` : ''}`,
      { cause },
    );
    this.hint = hint;
  }
}

function onePartition(messages: { partition?: number }[]): number | undefined {
  const partitions = new Set(messages.map((message) => message.partition));
  return partitions.size === 1 ? [...partitions][0] : undefined;
}

function byteLength(value: Buffer | string | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}

function encode(topic: string, message: ProduceMessage): ProducedMessage {
  const { payload } = message;
  let value: Buffer | string | null;
  try {
    value =
      payload === null || payload === undefined
        ? null
        : typeof payload === 'string' || Buffer.isBuffer(payload)
          ? payload
          : JSON.stringify(payload);
  } catch (error) {
    throw new ProduceError(topic, message.partition, error);
  }
  return {
    key: message.key ?? null,
    value,
    headers: message.headers as RawHeaders | undefined,
    partition: message.partition,
  };
}

function sizeOf(message: ProducedMessage, headers: Record<string, string | Buffer> = {}): number {
  let size = RECORD_OVERHEAD_BYTES + byteLength(message.key) + byteLength(message.value);
  for (const [name, value] of Object.entries(headers)) size += Buffer.byteLength(name) + byteLength(value);
  return size;
}

/**
 * WaterDrop's role: produces with the module's cluster config, OAuth and topic prefix. Idempotent
 * (acks=all); connects on first use; shares one connection with the engine's dead letter queue.
 * On application shutdown, after the engine stopped (so consumers' `shutdown()` hooks can still
 * produce), it waits for every pending produce, fire-and-forget ones included, then disconnects.
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

  /** Resolves when the broker acknowledged the message; rejects with a {@link ProduceError}. */
  produce(message: ProduceMessage): Promise<void> {
    return this.produceMany([message]);
  }

  /**
   * Produces many messages; resolves when the broker acknowledged all of them. They are sent per
   * topic, in order, in requests the broker accepts however many there are. With an
   * OpenTelemetry SDK, in a `send {topic}` span whose context the messages carry in their headers.
   */
  produceMany(messages: ProduceMessage[]): Promise<void> {
    return tracedSend(
      messages,
      (message) => clusterTopicName(this.options, message.topic),
      (traced) => this.sendMany(traced),
    );
  }

  private async sendMany(messages: ProduceMessage[]): Promise<void> {
    const requests = new Map<string, { messages: ProducedMessage[]; bytes: number }[]>();
    for (const message of messages) {
      const topic = clusterTopicName(this.options, message.topic);
      const produced = encode(topic, message);
      const bytes = sizeOf(produced, message.headers);
      const chunks = requests.get(topic) ?? [];
      let last = chunks[chunks.length - 1];
      if (!last || last.bytes + bytes > MAX_REQUEST_BYTES) {
        last = { messages: [], bytes: 0 };
        chunks.push(last);
      }
      last.messages.push(produced);
      last.bytes += bytes;
      requests.set(topic, chunks);
    }
    if (requests.size === 0) return;
    // Called before the first await: the connection counts it in flight from now on (see produceAsync).
    await this.connection
      .run((client) =>
        Promise.all(
          [...requests].map(([topic, chunks]) =>
            this.sendInOrder(
              client,
              topic,
              chunks.map((chunk) => chunk.messages),
            ),
          ),
        ),
      )
      .catch((error: unknown) => {
        // Connecting failed (or the producer is closed): nothing was sent to any of the topics.
        throw error instanceof ProduceError
          ? error
          : new ProduceError([...requests.keys()].join(', '), onePartition(messages), error);
      });
  }

  /**
   * Fire and forget: returns at once. A failure is reported as `error.occurred` (type
   * `producer.produce.error`, with the topic and partition). Application shutdown waits for it.
   */
  produceAsync(message: ProduceMessage): void {
    this.produce(message).catch((error: Error) => {
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

  private async sendInOrder(
    client: ProducerClient,
    topic: string,
    chunks: ProducedMessage[][],
  ): Promise<void> {
    let acknowledged = 0;
    for (const chunk of chunks) {
      try {
        await client.send(topic, chunk);
      } catch (error) {
        throw new ProduceError(topic, onePartition(chunk), error, acknowledged);
      }
      acknowledged += chunk.length;
    }
  }
}
