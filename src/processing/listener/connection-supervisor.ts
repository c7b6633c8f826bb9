import {
  KafkaClientError,
  type ConsumerClient,
  type ConsumerClientHandlers,
} from '../../connection/kafka-client.js';
import { sleep } from '../backoff.js';
import type { ListenerStates } from './listener-states.js';
import type { EngineLogger } from '../../instrumentation/leveled-logger.js';

const RECONNECT_MIN_MS = 1_000;
const RECONNECT_MAX_MS = 30_000;

/** Anything thrown while building or starting a client, in the contract's terms. */
export function asClientError(error: unknown): KafkaClientError {
  if (error instanceof KafkaClientError) return error;
  const cause = error instanceof Error ? error : new Error(String(error));
  // Not from a driver: a configuration error or a bug; retrying cannot fix either.
  return new KafkaClientError(`${cause.name}: ${cause.message}`, { retriable: false, cause });
}

export interface SupervisorDependencies {
  createClient(): ConsumerClient;
  handlers: ConsumerClientHandlers;
  states: ListenerStates;
  logger: EngineLogger;
  /** A failed connect, reported (`error.occurred`); the supervisor retries it when retriable. */
  failed(error: KafkaClientError): void;
  /** Retrying cannot help: the listener crashes. */
  fatal(error: KafkaClientError): void;
  connected(): void;
}

/**
 * Keeps one consumer client of a subscription group alive: connects in the background with
 * backoff, so a slow or absent broker never blocks the host; replaces a client that died of a
 * retriable error; and stops the client completely, whatever it is doing.
 */
export class ConnectionSupervisor {
  private clientValue?: ConsumerClient;
  private loop?: Promise<void>;
  /** Bumped by every (re)connect and by stop: a superseded connect loop ends quietly. */
  private generation = 0;
  private readonly abort = new AbortController();
  /** Clients that failed to start, still letting go (stop awaits them). */
  private readonly stopping = new Set<Promise<void>>();

  constructor(private readonly deps: SupervisorDependencies) {}

  get client(): ConsumerClient | undefined {
    return this.clientValue;
  }

  start(): void {
    this.loop = this.connect(++this.generation);
  }

  /** The client died of a retriable error: a new one, after the old one is stopped. */
  reconnect(): void {
    if (!this.deps.states.to('connecting')) return;
    const dead = this.clientValue;
    this.clientValue = undefined;
    const generation = ++this.generation;
    this.loop = (dead?.stop() ?? Promise.resolve()).then(() => this.connect(generation));
  }

  /** The client is gone for good (fatal error): stop it, keep nothing running. */
  async dismiss(): Promise<void> {
    this.generation++;
    const client = this.clientValue;
    this.clientValue = undefined;
    await client?.stop();
  }

  /** When it resolves, no client, connection, retry or timer of this listener is left. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.dismiss();
    await this.loop;
    await Promise.all(this.stopping);
  }

  /**
   * A client that failed to start may hold on to its connect until that times out (librdkafka's
   * does, 10 s): its failure is reported and retried at once, not after that.
   */
  private stopInBackground(client: ConsumerClient): void {
    const stopped = client.stop().then(() => void this.stopping.delete(stopped));
    this.stopping.add(stopped);
  }

  private async connect(generation: number): Promise<void> {
    let delay = RECONNECT_MIN_MS;
    const current = () => generation === this.generation && !this.abort.signal.aborted;
    while (current()) {
      let client: ConsumerClient;
      try {
        client = this.deps.createClient();
      } catch (error) {
        return this.deps.fatal(asClientError(error));
      }
      this.clientValue = client;
      try {
        await client.start(this.deps.handlers);
        if (current() && this.deps.states.to('running')) this.deps.connected();
        return;
      } catch (thrown) {
        if (this.clientValue === client) this.clientValue = undefined;
        this.stopInBackground(client);
        if (!current()) return;
        const error = asClientError(thrown);
        this.deps.failed(error);
        if (!error.retriable) return this.deps.fatal(error);
        this.deps.logger.warn(`cannot connect: ${error.summary}; retrying in ${delay} ms`);
        await sleep(delay, this.abort.signal);
        delay = Math.min(delay * 2, RECONNECT_MAX_MS);
      }
    }
  }
}
