import type {
  DeliveryReport,
  LibrdKafkaError,
  MessageHeader,
  Producer,
  ProducerTopicConfig,
} from '@confluentinc/kafka-javascript';
import type { ProducedMessage, ProducerClient, ProducerClientSettings, RawHeaders } from '../kafka-client.js';
import { producedSize } from '../produced-size.js';
import { librdkafkaBinding, onClientError } from './librdkafka-binding.js';
import { LibrdkafkaFailures } from './librdkafka-failures.js';
import { toKafkaClientError } from './librdkafka-errors.js';
import type { LibrdkafkaConfig } from './librdkafka-settings.js';
import { LibrdkafkaTransactions } from './librdkafka-transactions.js';

const CONNECT_TIMEOUT_MS = 10_000;
const FLUSH_TIMEOUT_MS = 10_000;
/** How often delivery reports are served. */
const POLL_INTERVAL_MS = 20;
/** librdkafka's error when its queue is full (RD_KAFKA_RESP_ERR__QUEUE_FULL). */
const QUEUE_FULL = -184;

interface Delivery {
  topic: string;
  message: ProducedMessage;
  bytes: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Headers as librdkafka takes them: one `{ name: value }` per value, in order. */
export function toBindingHeaders(headers: RawHeaders | undefined): MessageHeader[] | undefined {
  if (!headers) return undefined;
  const list: MessageHeader[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) list.push({ [name]: one });
  }
  return list;
}

/**
 * A native librdkafka producer on librdkafka's own queue (`linger.ms`, `batch.*`, idempotence as
 * configured, acks=all by default): a promise per message, settled by its delivery report. What
 * librdkafka's queue refuses (`queue.buffering.max.*`) waits here, in call order, and goes in as
 * reports make room; `room()` tells a caller that can wait when the queue is below its limits.
 * With a transactional id, transactions ({@link LibrdkafkaTransactions}) on the same queue.
 */
export class LibrdkafkaProducerClient implements ProducerClient {
  private readonly producer: Producer;
  /** In librdkafka's queue, by opaque, until their delivery report. */
  private readonly inFlight = new Map<number, Delivery>();
  /** Refused by librdkafka's full queue: produced in this order once there is room. */
  private waiting: Delivery[] = [];
  /** The first of `waiting` not handed over yet: shifting a long array would copy it each time. */
  private head = 0;
  private queuedBytes = 0;
  private readonly maxMessages: number;
  private readonly maxBytes: number;
  private waiters: (() => void)[] = [];
  private sequence = 0;
  private readonly transactions?: LibrdkafkaTransactions;
  private readonly failures: LibrdkafkaFailures;
  /**
   * A transactional librdkafka producer sends nothing outside a transaction: messages produced
   * outside one go through an idempotent producer of their own, connected on first use.
   */
  private readonly outside?: { client: LibrdkafkaProducerClient; connected?: Promise<void> };
  readonly transaction?: ProducerClient['transaction'];

  constructor(settings: ProducerClientSettings, config: LibrdkafkaConfig) {
    const { Producer } = librdkafkaBinding();
    const { 'compression.type': compression, acks, ...global } = config;
    const transactionalId = settings.transactionalId ?? config['transactional.id'];
    if (transactionalId !== undefined) global['transactional.id'] = transactionalId;
    this.maxMessages = Number(config['queue.buffering.max.messages'] ?? 100_000);
    this.maxBytes = Number(config['queue.buffering.max.kbytes'] ?? 1_048_576) * 1024;
    // Topic-level keys in the topic configuration: its defaults would replace them set globally.
    this.producer = new Producer(
      { 'enable.idempotence': true, ...global, 'client.id': settings.clientId, dr_cb: true },
      {
        acks: acks === undefined || acks === 'all' ? -1 : Number(acks),
        ...(compression === undefined ? {} : { 'compression.type': compression }),
      } as ProducerTopicConfig,
    );
    // The token callback's failures: reported by the token provider (error.occurred), and by the
    // sends they fail. Unheard, an EventEmitter 'error' would throw.
    onClientError(this.producer, () => undefined);
    this.failures = new LibrdkafkaFailures(this.producer);
    this.producer.on('delivery-report', (error: LibrdKafkaError | null, report: DeliveryReport) => {
      const delivery = this.inFlight.get(report.opaque as number);
      if (!delivery) return;
      this.inFlight.delete(report.opaque as number);
      this.queuedBytes -= delivery.bytes;
      if (error)
        delivery.reject(
          toKafkaClientError(this.failures.explain(error), {
            unknownIsRetriable: true,
            topic: report.topic,
            partition: report.partition,
          }),
        );
      else delivery.resolve();
      this.drain();
    });
    if (transactionalId !== undefined) {
      const transactions = new LibrdkafkaTransactions(this.producer, (topic, message) =>
        this.enqueue(topic, message),
      );
      this.transactions = transactions;
      this.transaction = (work) => transactions.run(work);
      const plain = Object.fromEntries(Object.entries(config).filter(([key]) => key !== 'transactional.id'));
      this.outside = {
        client: new LibrdkafkaProducerClient({ ...settings, transactionalId: undefined }, plain),
      };
    }
  }

  async connect(): Promise<void> {
    const connected = new Promise<void>((resolve, reject) =>
      this.producer.connect({ timeout: CONNECT_TIMEOUT_MS }, (error) => (error ? reject(error) : resolve())),
    );
    try {
      await this.failures.connecting(connected);
    } catch (error) {
      throw toKafkaClientError(error, { unknownIsRetriable: true });
    }
    this.producer.setPollInterval(POLL_INTERVAL_MS);
  }

  produce(topic: string, message: ProducedMessage): Promise<void> {
    const outside = this.outside;
    if (!outside) return this.enqueue(topic, message);
    outside.connected ??= outside.client.connect().catch((error: unknown) => {
      outside.connected = undefined;
      throw error;
    });
    return outside.connected.then(() => outside.client.produce(topic, message));
  }

  async send(topic: string, messages: ProducedMessage[]): Promise<void> {
    await Promise.all(messages.map((message) => this.produce(topic, message)));
  }

  async room(): Promise<void> {
    await this.whenOutside((client) => client.room());
    return this.until(
      () =>
        this.waitingCount === 0 && this.inFlight.size < this.maxMessages && this.queuedBytes < this.maxBytes,
    );
  }

  async flush(): Promise<void> {
    await this.transactions?.idle();
    await this.whenOutside((client) => client.flush());
    return this.until(() => this.waitingCount === 0 && this.inFlight.size === 0);
  }

  async disconnect(): Promise<void> {
    await this.transactions?.idle();
    await this.whenOutside((client) => client.disconnect());
    if (!this.producer.isConnected()) return;
    await this.flush();
    await new Promise<void>((resolve) => {
      this.producer.flush(FLUSH_TIMEOUT_MS, () => {
        this.producer.setPollInterval(0);
        this.producer.disconnect(() => resolve());
      });
    });
  }

  /** `then` on the producer of messages outside transactions, if it connected (a failed connect failed its messages). */
  private async whenOutside(then: (client: LibrdkafkaProducerClient) => Promise<void>): Promise<void> {
    const outside = this.outside;
    if (!outside?.connected) return;
    if (
      await outside.connected.then(
        () => true,
        () => false,
      )
    )
      await then(outside.client);
  }

  /** Queues one message for librdkafka. */
  private enqueue(topic: string, message: ProducedMessage): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ topic, message, bytes: producedSize(message), resolve, reject });
      // Behind others, it waits for the delivery reports that make room (each one drains).
      if (this.waitingCount === 1) this.drain();
    });
  }

  private get waitingCount(): number {
    return this.waiting.length - this.head;
  }

  private handedOver(): void {
    this.head++;
    if (this.head === this.waiting.length) {
      this.waiting = [];
      this.head = 0;
    } else if (this.head >= 16_384 && this.head * 2 >= this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
  }

  /** Hands waiting messages to librdkafka, in order, until its queue refuses one. */
  private drain(): void {
    while (this.waitingCount > 0) {
      const delivery = this.waiting[this.head];
      const opaque = ++this.sequence;
      try {
        this.producer.produce(
          delivery.topic,
          delivery.message.partition ?? null,
          toBuffer(delivery.message.value),
          delivery.message.key ?? null,
          delivery.message.timestamp ?? null,
          opaque,
          toBindingHeaders(delivery.message.headers),
        );
      } catch (error) {
        if ((error as { code?: number }).code === QUEUE_FULL && this.inFlight.size > 0) break;
        this.handedOver();
        delivery.reject(toKafkaClientError(error, { unknownIsRetriable: true, topic: delivery.topic }));
        continue;
      }
      this.handedOver();
      this.inFlight.set(opaque, delivery);
      this.queuedBytes += delivery.bytes;
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves once `condition` holds, checked after each change of the queue. */
  private async until(condition: () => boolean): Promise<void> {
    while (!condition()) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
}

function toBuffer(value: Buffer | string | null): Buffer | null {
  return value === null || Buffer.isBuffer(value) ? value : Buffer.from(value);
}
