import {
  KafkaClientError,
  type ProducedMessage,
  type ProducerClient,
  type ProducerClientSettings,
} from '../../../src/connection/kafka-client.js';
import type { InMemoryKafka } from './cluster.js';

/** A producer appending to the in-memory logs; `kafka.produceFailure` makes its sends fail. */
export class InMemoryProducerClient implements ProducerClient {
  readonly sent: { topic: string; messages: ProducedMessage[] }[] = [];
  private connected = false;
  private sending = 0;

  constructor(
    private readonly kafka: InMemoryKafka,
    private readonly settings: ProducerClientSettings,
  ) {}

  async connect(): Promise<void> {
    this.kafka.checkBootstrap(this.settings.kafka['bootstrap.servers'], 'producer connect failed');
    this.connected = true;
  }

  async send(topic: string, messages: ProducedMessage[]): Promise<void> {
    if (!this.connected) {
      throw new KafkaClientError(`producer ${this.settings.clientId} is not connected`, {
        retriable: true,
        topic,
        hint: 'call connect() before send()',
      });
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.kafka.send(topic, messages);
    this.sent.push({ topic, messages });
  }

  async produce(topic: string, message: ProducedMessage): Promise<void> {
    this.sending++;
    try {
      await this.send(topic, [message]);
    } finally {
      this.sending--;
    }
  }

  async room(): Promise<void> {}

  /** Sends take one turn of the event loop. */
  async flush(): Promise<void> {
    while (this.sending > 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  async disconnect(): Promise<void> {
    this.connected = false;
  }
}
