import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type {
  KafkaClientFactory,
  KafkaSettings,
  ProducedMessage,
  ProducerClient,
} from '../connection/kafka-client.js';
import { LazyConnection } from '../connection/lazy-connection.js';
import { KAFKA_CLIENT_FACTORY, KARAFKA_OPTIONS } from '../karafka.constants.js';

/**
 * The app's one producer, as Karafka has one (custom producers have one each): `KarafkaProducer` and the engine's dead letter
 * queue both send through it. Idempotent unless `enable.idempotence` is false, connected on first
 * use. It closes on application shutdown, which Nest runs after every `beforeApplicationShutdown`
 * (where the engine stops), so consumers' `shutdown()` hooks and the last DLQ copies still get
 * through; it first flushes the client's queue, fire-and-forget messages included.
 */
@Injectable()
export class ProducerConnection implements OnApplicationShutdown {
  private readonly client: LazyConnection<ProducerClient>;
  private connected?: ProducerClient;
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  constructor(
    @Inject(KARAFKA_OPTIONS) options: { clientId: string; kafka: KafkaSettings },
    @Inject(KAFKA_CLIENT_FACTORY) clients: KafkaClientFactory,
  ) {
    this.client = new LazyConnection(() =>
      clients.producer({ clientId: options.clientId, kafka: options.kafka }),
    );
  }

  /**
   * Runs `work` with the connected client. It counts as in flight from this call until it
   * settles, so a caller that invokes `run` synchronously is always flushed at shutdown.
   */
  run<T>(work: (client: ProducerClient) => Promise<T>): Promise<T> {
    if (this.closed) {
      // Reconnecting here would leave a connection open after the app closed.
      return Promise.reject(new Error('the Karafka producer is closed: the application shut down'));
    }
    return this.track(
      this.client.get().then((client) => {
        this.connected = client;
        return work(client);
      }),
    );
  }

  /**
   * Queues one message in call order; resolves when it was acknowledged. With `waitForRoom` it
   * first waits until the client's queue is below its limits; without, it never waits (produceAsync).
   */
  produce(topic: string, message: ProducedMessage, waitForRoom: boolean): Promise<void> {
    const client = this.connected;
    if (!client || this.closed) {
      return this.run(async (connected) => {
        if (waitForRoom) await connected.room();
        return connected.produce(topic, message);
      });
    }
    // Queued now: the client's flush at shutdown covers it.
    if (!waitForRoom) return client.produce(topic, message);
    return this.track(client.room().then(() => client.produce(topic, message)));
  }

  /** Resolves when the client's queue is below its limits (connecting first, if needed). */
  room(): Promise<void> {
    return this.connected && !this.closed ? this.connected.room() : this.run((client) => client.room());
  }

  async onApplicationShutdown(): Promise<void> {
    // Waiting may let more produces start (a failure handler that produces again): wait until none is left.
    do {
      while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
      await this.connected?.flush();
    } while (this.inFlight.size > 0);
    this.closed = true;
    this.connected = undefined;
    await this.client.close();
  }

  private track<T>(running: Promise<T>): Promise<T> {
    this.inFlight.add(running);
    const settled = () => this.inFlight.delete(running);
    running.then(settled, settled);
    return running;
  }
}
