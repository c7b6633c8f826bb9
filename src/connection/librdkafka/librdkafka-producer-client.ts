import type {
  DeliveryReport,
  LibrdKafkaError,
  MessageHeader,
  Producer,
  ProducerTopicConfig,
} from '@confluentinc/kafka-javascript';
import type { ProducedMessage, ProducerClient, ProducerClientSettings, RawHeaders } from '../kafka-client.js';
import { librdkafkaBinding, onClientError } from './librdkafka-binding.js';
import { toKafkaClientError } from './librdkafka-errors.js';
import type { LibrdkafkaConfig } from './librdkafka-settings.js';

const CONNECT_TIMEOUT_MS = 10_000;
const FLUSH_TIMEOUT_MS = 10_000;
/** How often delivery reports are served. */
const POLL_INTERVAL_MS = 20;

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

/** A native librdkafka producer: acks=all, a promise per message settled by its delivery report. */
export class LibrdkafkaProducerClient implements ProducerClient {
  private readonly producer: Producer;
  private readonly pending = new Map<number, { resolve: () => void; reject: (error: unknown) => void }>();
  private sequence = 0;

  constructor(settings: ProducerClientSettings, config: LibrdkafkaConfig) {
    const { Producer } = librdkafkaBinding();
    const { 'compression.type': compression, ...global } = config;
    // Topic-level keys in the topic configuration: its defaults would replace them set globally.
    this.producer = new Producer(
      { ...global, 'client.id': settings.clientId, 'enable.idempotence': settings.idempotent, dr_cb: true },
      {
        acks: -1,
        ...(compression === undefined ? {} : { 'compression.type': compression }),
      } as ProducerTopicConfig,
    );
    // The token callback's failures: reported by the token provider (error.occurred), and by the
    // sends they fail. Unheard, an EventEmitter 'error' would throw.
    onClientError(this.producer, () => undefined);
    this.producer.on('delivery-report', (error: LibrdKafkaError | null, report: DeliveryReport) => {
      const waiting = this.pending.get(report.opaque as number);
      if (!waiting) return;
      this.pending.delete(report.opaque as number);
      if (error)
        waiting.reject(
          toKafkaClientError(error, {
            unknownIsRetriable: true,
            topic: report.topic,
            partition: report.partition,
          }),
        );
      else waiting.resolve();
    });
  }

  connect(): Promise<void> {
    return new Promise((resolve, reject) =>
      this.producer.connect({ timeout: CONNECT_TIMEOUT_MS }, (error) => {
        if (error) return reject(toKafkaClientError(error, { unknownIsRetriable: true }));
        this.producer.setPollInterval(POLL_INTERVAL_MS);
        resolve();
      }),
    );
  }

  async send(topic: string, messages: ProducedMessage[]): Promise<void> {
    const deliveries = messages.map(
      (message) =>
        new Promise<void>((resolve, reject) => {
          const opaque = ++this.sequence;
          this.pending.set(opaque, { resolve, reject });
          try {
            const value =
              message.value === null || Buffer.isBuffer(message.value)
                ? message.value
                : Buffer.from(message.value);
            this.producer.produce(
              topic,
              message.partition ?? null,
              value,
              message.key ?? null,
              message.timestamp ?? null,
              opaque,
              toBindingHeaders(message.headers),
            );
          } catch (error) {
            this.pending.delete(opaque);
            reject(toKafkaClientError(error, { unknownIsRetriable: true, topic }));
          }
        }),
    );
    await Promise.all(deliveries);
  }

  disconnect(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.producer.isConnected()) return resolve();
      this.producer.flush(FLUSH_TIMEOUT_MS, () => {
        this.producer.setPollInterval(0);
        this.producer.disconnect(() => resolve());
      });
    });
  }
}
