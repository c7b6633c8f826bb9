import type {
  AdminClient,
  ConsumerClient,
  ConsumerClientHandlers,
  ConsumerClientSettings,
  FetchedBatch,
  KafkaClientFactory,
  ProducedMessage,
  ProducerClient,
  RawMessage,
  TopicPartition,
  TopicPartitionOffset,
} from '../../src/connection/kafka-client.js';

const tp = ({ topic, partition }: TopicPartition) => `${topic}/${partition}`;

/** An in-memory stand-in for the Kafka client, for pure unit tests of the engine. */
export class FakeConsumerClient implements ConsumerClient {
  handlers?: ConsumerClientHandlers;
  readonly paused = new Set<string>();
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
    for (const p of partitions) this.paused.add(tp(p));
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

  isPaused(topic: string, partition: number): boolean {
    return this.paused.has(`${topic}/${partition}`);
  }

  /** Delivers messages with the given offsets as one fetched batch. */
  deliver(
    topic: string,
    partition: number,
    offsets: number[],
    fetchedOffset = offsets[0],
    value = (o: number) => JSON.stringify({ n: o }),
  ): boolean {
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
      fetchedOffset,
      highWatermark: offsets[offsets.length - 1] + 1,
      messages,
    };
    return this.handlers!.onBatch(batch);
  }
}

export class FakeProducerClient implements ProducerClient {
  readonly sent: { topic: string; message: ProducedMessage }[] = [];
  fail?: Error;
  async connect(): Promise<void> {}
  async send(topic: string, messages: ProducedMessage[]): Promise<void> {
    if (this.fail) throw this.fail;
    for (const message of messages) this.sent.push({ topic, message });
  }
  async disconnect(): Promise<void> {}
}

export class FakeClientFactory implements KafkaClientFactory {
  readonly consumers: FakeConsumerClient[] = [];
  readonly producerClient = new FakeProducerClient();
  failStarts = 0;

  /** Accepts any settings: the in-memory client honours none of them. */
  validate(): void {}

  consumer(settings: ConsumerClientSettings): FakeConsumerClient {
    const client = new FakeConsumerClient(settings);
    if (this.failStarts > 0) {
      this.failStarts--;
      client.failStart = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
        name: 'KafkaJSConnectionError',
      });
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
