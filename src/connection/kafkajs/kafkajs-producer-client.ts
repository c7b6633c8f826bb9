import { Kafka, type Producer } from 'kafkajs';
import type { ProducedMessage, ProducerClient, ProducerClientSettings } from '../kafka-client.js';
import type { KafkajsSettings } from './kafkajs-settings.js';

export class KafkajsProducerClient implements ProducerClient {
  private readonly producer: Producer;

  constructor(
    settings: ProducerClientSettings,
    private readonly mapped: KafkajsSettings,
  ) {
    const kafka = new Kafka({
      clientId: settings.clientId,
      ...mapped.client,
      ...mapped.logging,
    });
    this.producer = kafka.producer({
      idempotent: settings.idempotent,
      maxInFlightRequests: settings.idempotent ? 1 : undefined,
    });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  async send(topic: string, messages: ProducedMessage[]): Promise<void> {
    await this.producer.send({
      topic,
      acks: -1,
      timeout: this.mapped.requestTimeout,
      compression: this.mapped.compression,
      messages: messages.map((message) => ({
        key: message.key ?? null,
        value: message.value,
        headers: message.headers,
        partition: message.partition,
        timestamp: message.timestamp === undefined ? undefined : String(message.timestamp),
      })),
    });
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }
}
