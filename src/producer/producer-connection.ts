import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { KafkaClientFactory, KafkaSettings, ProducerClient } from '../connection/kafka-client.js';
import { LazyConnection } from '../connection/lazy-connection.js';
import { KAFKA_CLIENT_FACTORY, KARAFKA_OPTIONS } from '../karafka.constants.js';

/**
 * The app's one producer, as Karafka has one (custom producers have one each): `KarafkaProducer` and the engine's dead letter
 * queue both send through it. Idempotent, connected on first use. It closes on application
 * shutdown, which Nest runs after every `beforeApplicationShutdown` (where the engine stops), so
 * consumers' `shutdown()` hooks and the last DLQ copies still get through; it first waits for
 * every send in flight, fire-and-forget ones included.
 */
@Injectable()
export class ProducerConnection implements OnApplicationShutdown {
  private readonly client: LazyConnection<ProducerClient>;
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  constructor(
    @Inject(KARAFKA_OPTIONS) options: { clientId: string; kafka: KafkaSettings },
    @Inject(KAFKA_CLIENT_FACTORY) clients: KafkaClientFactory,
  ) {
    this.client = new LazyConnection(() =>
      clients.producer({ clientId: options.clientId, kafka: options.kafka, idempotent: true }),
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
    const running = this.client.get().then(work);
    this.inFlight.add(running);
    const settled = () => this.inFlight.delete(running);
    running.then(settled, settled);
    return running;
  }

  async onApplicationShutdown(): Promise<void> {
    // Waiting may let more sends start (a failure handler that produces again): wait until none is left.
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    this.closed = true;
    await this.client.close();
  }
}
