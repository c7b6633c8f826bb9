import { KNOWN_KAFKA_SETTINGS } from '../../src/config/kafka-settings.js';
import {
  KafkaClientError,
  type AdminClient,
  type ConsumerClient,
  type ConsumerClientHandlers,
  type ConsumerClientSettings,
  type FetchedBatch,
  type KafkaClientFactory,
  type ProducedMessage,
  type ProducerClient,
  type RawMessage,
  type TopicPartition,
  type TopicPartitionOffset,
} from '../../src/connection/kafka-client.js';

const tp = ({ topic, partition }: TopicPartition) => `${topic}/${partition}`;

/**
 * A hand-driven stand-in for the Kafka client, for pure unit tests of the engine: the test
 * assigns, delivers and crashes; it keeps the contract's delivery rules (nothing of a paused or
 * unassigned partition is delivered).
 */
export class FakeConsumerClient implements ConsumerClient {
  handlers?: ConsumerClientHandlers;
  readonly paused = new Set<string>();
  assignment: TopicPartition[] = [];
  readonly seeks: TopicPartitionOffset[] = [];
  readonly commits: TopicPartitionOffset[][] = [];
  readonly committed = new Map<string, number>();
  started = false;
  stopped = false;
  failStart?: Error;

  constructor(readonly settings: ConsumerClientSettings) {}

  async start(handlers: ConsumerClientHandlers): Promise<void> {
    if (this.failStart) throw this.failStart;
    this.handlers = handlers;
    this.started = true;
  }

  pause(partitions: TopicPartition[]): void {
    for (const p of partitions) if (this.owns(p)) this.paused.add(tp(p));
  }

  resume(partitions: TopicPartition[]): void {
    for (const p of partitions) this.paused.delete(tp(p));
  }

  seek(position: TopicPartitionOffset): void {
    this.seeks.push(position);
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    this.commits.push(offsets);
    for (const o of offsets) this.committed.set(tp(o), o.offset);
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }

  owns(partition: TopicPartition): boolean {
    return this.assignment.some((p) => tp(p) === tp(partition));
  }

  /** An eager rebalance: everything revoked, then `partitions` assigned (pauses die with the revoke). */
  assign(partitions: TopicPartition[]): void {
    const revoked = this.assignment;
    for (const p of revoked) this.paused.delete(tp(p));
    this.assignment = partitions;
    this.handlers!.revoked(revoked);
    this.handlers!.assigned(partitions);
  }

  /** The client dies: its partitions are revoked, then `crashed` reports the error. */
  crash(message: string, retriable: boolean): void {
    const revoked = this.assignment;
    this.assignment = [];
    this.paused.clear();
    this.handlers!.revoked(revoked);
    this.handlers!.crashed(new KafkaClientError(message, { retriable }));
  }

  isPaused(topic: string, partition: number): boolean {
    return this.paused.has(`${topic}/${partition}`);
  }

  /** Delivers messages with the given offsets as one fetched batch; false when the contract forbids it (paused, not assigned). */
  deliver(
    topic: string,
    partition: number,
    offsets: number[],
    value = (o: number) => JSON.stringify({ n: o }),
  ): boolean {
    if (!this.owns({ topic, partition }) || this.isPaused(topic, partition)) return false;
    const messages: RawMessage[] = offsets.map((offset) => ({
      offset,
      key: Buffer.from(String(offset)),
      value: Buffer.from(value(offset)),
      headers: {},
      timestamp: Date.now(),
    }));
    const batch: FetchedBatch = {
      topic,
      partition,
      highWatermark: offsets[offsets.length - 1] + 1,
      messages,
    };
    this.handlers!.batch(batch);
    return true;
  }
}

/** Each produced message is one `send` of its own; `flush` waits for the sends in flight. */
export class FakeProducerClient implements ProducerClient {
  readonly sent: { topic: string; message: ProducedMessage }[] = [];
  fail?: Error;
  private readonly inFlight = new Set<Promise<void>>();
  async connect(): Promise<void> {}
  async send(topic: string, messages: ProducedMessage[]): Promise<void> {
    if (this.fail) throw this.fail;
    for (const message of messages) this.sent.push({ topic, message });
  }
  produce(topic: string, message: ProducedMessage): Promise<void> {
    const sending = this.send(topic, [message]);
    this.inFlight.add(sending);
    const settled = () => this.inFlight.delete(sending);
    sending.then(settled, settled);
    return sending;
  }
  async room(): Promise<void> {}
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }
  async disconnect(): Promise<void> {}
}

export class FakeClientFactory implements KafkaClientFactory {
  readonly name = 'fake';
  readonly kafkaKeys = KNOWN_KAFKA_SETTINGS;
  readonly consumers: FakeConsumerClient[] = [];
  readonly producerClient = new FakeProducerClient();
  failStarts = 0;

  /** Accepts any settings: the in-memory client honours none of them. */
  validate(): void {}

  consumer(settings: ConsumerClientSettings): FakeConsumerClient {
    const client = new FakeConsumerClient(settings);
    if (this.failStarts > 0) {
      this.failStarts--;
      client.failStart = new KafkaClientError('connect ECONNREFUSED 127.0.0.1:1', { retriable: true });
    }
    this.consumers.push(client);
    return client;
  }

  producer(): FakeProducerClient {
    return this.producerClient;
  }

  admin(): AdminClient {
    throw new Error('the in-memory client has no admin: use the real broker for admin tests');
  }
}
