import { Logger } from '@nestjs/common';
import type {
  LibrdKafkaError,
  Message,
  TopicPartition as BindingPartition,
} from '@confluentinc/kafka-javascript';
import { KarafkaConfigError } from '../../config/karafka-config.error.js';
import {
  KafkaClientError,
  OwnershipUncertainError,
  type ConsumerClient,
  type ConsumerClientHandlers,
  type ConsumerClientSettings,
  type TopicPartition,
  type TopicPartitionOffset,
} from '../kafka-client.js';
import { MISSING_TOPICS_CHECK_MS, missingTopicWarning } from '../missing-topic.js';
import { offsetResetWarning } from '../offset-reset.js';
import { nativeConsumer, onClientError, type NativeConsumer } from './librdkafka-binding.js';
import { LibrdkafkaFailures } from './librdkafka-failures.js';
import { LibrdkafkaRawMessage } from './librdkafka-raw-message.js';
import { CODES, OWNERSHIP_CODES, UNRECOVERABLE_CODES, toKafkaClientError } from './librdkafka-errors.js';
import type { LibrdkafkaConfig } from './librdkafka-settings.js';

/** Most messages one consume call returns; the engine cuts its own batches. */
const CONSUME_MAX = 1_000;
/** Cap of one consume call's wait: stop waits for the call in flight. */
const MAX_CONSUME_WAIT_MS = 500;
const CONNECT_TIMEOUT_MS = 10_000;
const DISCONNECT_TIMEOUT_MS = 10_000;
/** How long a fatal error waits for librdkafka's log line naming its cause. */
const FATAL_REASON_WAIT_MS = 1_000;
const logger = new Logger('Karafka librdkafka');
/** librdkafka's warning when a fetch position fell out of the log: "[thrd:…]: <topic> [<p>]: offset reset (at offset 1000 …". */
const OFFSET_RESET = /^(?:\[thrd:[^\]]*\]: )?(.+) \[(\d+)\]: offset reset \(at offset (-?\d+)/;

interface Owned extends TopicPartition {
  paused: boolean;
  /** Bumped by every seek: messages fetched before it are dropped. */
  epoch: number;
  /** Where librdkafka must go back to before it fetches again (dropped messages of a paused partition). */
  rewindTo?: number;
}

type Rebalance = { kind: 'assign' | 'revoke'; partitions: TopicPartition[] };

const key = ({ topic, partition }: TopicPartition) => `${topic}\u0000${partition}`;
const plain = ({ topic, partition }: TopicPartition): TopicPartition => ({ topic, partition });

function capped(work: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work.catch(() => undefined),
    new Promise((resolve) => (timer = setTimeout(resolve, ms))),
  ]).finally(() => clearTimeout(timer));
}

/**
 * The contract over librdkafka's native consumer (the binding's NativeConsumer, a consume(n)
 * loop). Everything that changes what is delivered — rebalances, seeks, the rewinds of dropped
 * messages — is applied between two consume calls, never while one is in flight, so each call's
 * messages are judged against the state they were fetched under. Offsets are the engine's: no
 * auto commit, no auto offset store.
 */
export class LibrdkafkaConsumerClient implements ConsumerClient {
  private consumer?: NativeConsumer;
  private handlers?: ConsumerClientHandlers;
  private readonly owned = new Map<string, Owned>();
  private readonly rebalances: Rebalance[] = [];
  private readonly seeks = new Map<string, TopicPartitionOffset>();
  private readonly resets = new Map<string, number>();
  private missing = new Set<string>();
  private missingTimer?: NodeJS.Timeout;
  private loop?: Promise<void>;
  private stopping = false;
  private crashed = false;
  private stopped?: Promise<void>;
  /** librdkafka's own reason for its last fatal error (its log says it; the error event only says "Fatal error"). */
  private fatalReason?: string;
  private lastError?: LibrdKafkaError;
  /** Fails the connect in progress; `connected` is the binding's own connect, which a stop waits for. */
  private connecting?: (error: unknown) => void;
  private connected?: Promise<unknown>;
  private connectEnded = false;
  /** A fatal error waiting for its FATAL log line, and the timer that gives up waiting. */
  private fatalError?: LibrdKafkaError;
  private fatalTimer?: NodeJS.Timeout;
  private failures?: LibrdkafkaFailures;
  private readonly autoOffsetReset: 'earliest' | 'latest';

  constructor(
    private readonly settings: ConsumerClientSettings,
    private readonly config: LibrdkafkaConfig,
  ) {
    const starts = new Set(settings.subscriptions.map((s) => s.fromBeginning));
    if (starts.size > 1) {
      throw new KarafkaConfigError(
        `consumer group ${settings.groupId}`,
        'mixes initialOffset earliest and latest in one subscription group, which librdkafka cannot (auto.offset.reset is one per consumer)',
        'give the routes the same initialOffset, or put them in separate subscription groups',
      );
    }
    this.autoOffsetReset = settings.subscriptions[0]?.fromBeginning === false ? 'latest' : 'earliest';
  }

  /** The native consumer once started, and its group id: a transaction's sendOffsetsToTransaction sends its group metadata. */
  groupMember(): { groupId: string; consumer?: NativeConsumer } {
    return { groupId: this.settings.groupId, consumer: this.consumer };
  }

  async start(handlers: ConsumerClientHandlers): Promise<void> {
    this.handlers = handlers;
    try {
      const consumer = nativeConsumer(
        {
          ...this.config,
          'client.id': this.settings.clientId,
          'group.id': this.settings.groupId,
          'enable.auto.commit': false,
          'enable.auto.offset.store': false,
          rebalance_cb: (error: LibrdKafkaError, assignment: BindingPartition[]) =>
            this.onRebalance(error, assignment),
        },
        { 'auto.offset.reset': this.autoOffsetReset },
      );
      this.consumer = consumer;
      this.failures = new LibrdkafkaFailures(consumer);
      consumer.on('event.log', (line: { fac: string; message: string }) => this.onLog(line));
      consumer.on('event.error', (error) => this.onError(error));
      // What the binding's token callback failed with (an EventEmitter 'error': unheard, it would throw).
      onClientError(consumer, (error) => {
        error.message = error.message.replace(/^oauthbearer_token_refresh_cb: /, '');
        // While connecting, a failed token fails the connect at once (as a refused SASL handshake would).
        if (this.connecting) this.connecting(error);
        else this.onError(error as unknown as LibrdKafkaError);
      });
      consumer.on('event.stats', ({ message }: { message: string }) => {
        if (!this.stopping) this.handlers?.statistics?.(JSON.parse(message) as Record<string, unknown>);
      });
      consumer.setDefaultConsumeTimeout(Math.min(this.settings.maxWaitTime, MAX_CONSUME_WAIT_MS));
      consumer.setDefaultIsTimeoutOnlyForFirstMessage(true);
      const timeout = Number(this.config['socket.connection.setup.timeout.ms'] ?? CONNECT_TIMEOUT_MS);
      this.connected = new Promise((resolve) =>
        consumer.connect({ timeout }, (error) => {
          this.connectEnded = true;
          resolve(error ?? undefined);
        }),
      );
      const connected = this.connected.then((error) => {
        if (error) throw this.lastError ?? error;
      });
      const failure = await new Promise<unknown>((resolve) => {
        this.connecting = resolve;
        this.failures!.connecting(connected).then(() => resolve(undefined), resolve);
      });
      this.connecting = undefined;
      if (failure) throw failure;
      if (this.stopping) return;
      await this.subscribe();
      this.loop = this.consumeLoop();
    } catch (error) {
      // The native connect may run on until its timeout: the failure is not held back for it.
      void this.stop();
      throw toKafkaClientError(error, { unknownIsRetriable: true });
    }
  }

  pause(partitions: TopicPartition[]): void {
    const owned = partitions
      .map((tp) => this.owned.get(key(tp)))
      .filter((o): o is Owned => o !== undefined && !o.paused);
    for (const state of owned) state.paused = true;
    this.call((consumer) => consumer.pause(owned.map(plain)));
  }

  resume(partitions: TopicPartition[]): void {
    const owned = partitions
      .map((tp) => this.owned.get(key(tp)))
      .filter((o): o is Owned => o?.paused === true);
    for (const state of owned) state.paused = false;
    // A rewind still to apply goes first: librdkafka fetches from where it is told between two consume calls.
    this.call((consumer) => consumer.resume(owned.filter((o) => o.rewindTo === undefined).map(plain)));
  }

  seek({ topic, partition, offset }: TopicPartitionOffset): void {
    const state = this.owned.get(key({ topic, partition }));
    if (!state) return;
    state.epoch++;
    state.rewindTo = undefined;
    this.resets.delete(key(state));
    this.seeks.set(key(state), { topic, partition, offset });
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    const consumer = this.consumer;
    if (!consumer || this.crashed || this.stopping)
      throw new OwnershipUncertainError('not a member of the group now');
    // Never a negative offset: Kafka would keep it as the group's position.
    const positive = offsets.filter(({ offset }) => offset >= 0);
    if (positive.length === 0) return;
    const stranger = positive.find((tp) => !this.owned.has(key(tp)));
    if (stranger)
      throw new OwnershipUncertainError(
        `${stranger.topic}/${stranger.partition} is not assigned to this member now`,
      );
    await new Promise<void>((resolve, reject) =>
      consumer.commitCb(
        positive.map(({ topic, partition, offset }) => ({ topic, partition, offset })),
        (error: LibrdKafkaError | null) => {
          if (!error) return resolve();
          if (OWNERSHIP_CODES.has(error.code))
            return reject(new OwnershipUncertainError(`commit refused: ${error.message}`));
          reject(toKafkaClientError(error, { unknownIsRetriable: true }));
        },
      ),
    );
  }

  stop(): Promise<void> {
    this.stopping = true;
    this.stopped ??= (async () => {
      clearTimeout(this.missingTimer);
      clearTimeout(this.fatalTimer);
      // A connect still running cannot be cut short (the binding's disconnect waits for it, up to
      // its timeout, after a refused login too): it ends by itself, never subscribed, and a late
      // success is disconnected then. Nothing joined a group, so a shutdown need not wait for it.
      if (this.connected && !this.connectEnded) {
        void this.connected.then(() => this.release());
        return;
      }
      await this.loop;
      await this.release();
    })();
    return this.stopped;
  }

  /** Leaves the group and disconnects the native consumer, if it is connected. */
  private async release(): Promise<void> {
    const consumer = this.consumer;
    if (!consumer) return;
    this.owned.clear();
    if (consumer.isConnected()) {
      // Leaves the group with nothing assigned: librdkafka's close then needs no revoke from us.
      this.call((c) => c.unsubscribe());
      await capped(new Promise((resolve) => consumer.disconnect(resolve)), DISCONNECT_TIMEOUT_MS + 1_000);
    }
    consumer.removeAllListeners();
  }

  /** Calls the binding when connected; the binding throws for a handle it closed. */
  private call(action: (consumer: NativeConsumer) => unknown): void {
    try {
      if (this.consumer?.isConnected()) action(this.consumer);
    } catch (error) {
      if (!this.stopping) this.handlers?.warning(toKafkaClientError(error, { unknownIsRetriable: true }));
    }
  }

  /** Subscribes to the topics that exist; reports and watches for the others. */
  private async subscribe(): Promise<void> {
    const consumer = this.consumer!;
    const metadata = await new Promise<{ topics: { name: string }[] }>((resolve, reject) =>
      consumer.getMetadata({ allTopics: true, timeout: CONNECT_TIMEOUT_MS }, (error, data) =>
        error ? reject(error) : resolve(data),
      ),
    );
    if (this.stopping) return;
    const existing = new Set(metadata.topics.map((t) => t.name));
    const present = this.settings.subscriptions.map((s) => s.topic).filter((topic) => existing.has(topic));
    for (const { topic } of this.settings.subscriptions) {
      if (existing.has(topic) || this.missing.has(topic)) continue;
      this.missing.add(topic);
      this.handlers?.warning(missingTopicWarning(topic));
    }
    for (const topic of present) this.missing.delete(topic);
    if (this.missing.size > 0) this.watchMissingTopics();
    if (present.length > 0) this.call((c) => c.subscribe(present));
  }

  /** A topic that appears is added to the subscription (a rejoin, as for any subscription change). */
  private watchMissingTopics(): void {
    clearTimeout(this.missingTimer);
    const interval = Number(
      this.settings.kafka['topic.metadata.refresh.interval.ms'] ?? MISSING_TOPICS_CHECK_MS,
    );
    this.missingTimer = setTimeout(() => {
      if (this.stopping || this.crashed) return;
      this.subscribe().catch((error: unknown) => {
        this.handlers?.warning(toKafkaClientError(error, { unknownIsRetriable: true }));
        if (!this.stopping) this.watchMissingTopics();
      });
    }, interval);
  }

  private onRebalance(error: LibrdKafkaError, assignment: BindingPartition[]): void {
    const kind =
      error?.code === CODES.ASSIGN_PARTITIONS
        ? 'assign'
        : error?.code === CODES.REVOKE_PARTITIONS
          ? 'revoke'
          : undefined;
    if (!kind) {
      if (error) this.onError(error);
      return;
    }
    const partitions = assignment.map(plain);
    // Closing: nobody consumes any more, so librdkafka's close gets its answer at once.
    if (this.stopping || this.crashed) return this.applyRebalance({ kind, partitions }, false);
    this.rebalances.push({ kind, partitions });
  }

  private get cooperative(): boolean {
    return this.consumer?.rebalanceProtocol() === 'COOPERATIVE';
  }

  /** Tells librdkafka and the engine; between consume calls only. */
  private applyRebalance({ kind, partitions }: Rebalance, report: boolean): void {
    const cooperative = this.cooperative;
    if (kind === 'revoke') {
      // Eager: everything goes, whatever librdkafka lists.
      const gone = cooperative
        ? partitions.filter((tp) => this.owned.has(key(tp)))
        : [...this.owned.values()].map(plain);
      for (const tp of gone) {
        this.owned.delete(key(tp));
        this.seeks.delete(key(tp));
        this.resets.delete(key(tp));
      }
      if (report && gone.length > 0) this.handlers?.revoked(gone);
      this.call((c) => (cooperative ? c.incrementalUnassign(partitions) : c.unassign()));
      return;
    }
    this.call((c) => (cooperative ? c.incrementalAssign(partitions) : c.assign(partitions)));
    if (!report) return;
    const added = partitions.filter((tp) => !this.owned.has(key(tp)));
    for (const tp of added) this.owned.set(key(tp), { ...tp, paused: false, epoch: 0 });
    // librdkafka keeps an application pause across an unassign: a partition arrives unpaused.
    this.call((c) => c.resume(added));
    this.handlers?.assigned(added);
  }

  private async consumeLoop(): Promise<void> {
    while (!this.stopping && !this.crashed) {
      this.prepareFetch();
      const epochs = new Map([...this.owned].map(([k, state]) => [k, { state, epoch: state.epoch }]));
      const { error, messages } = await new Promise<{ error?: LibrdKafkaError; messages: Message[] }>(
        (resolve) => {
          try {
            this.consumer!.consume(CONSUME_MAX, (e, m) =>
              resolve({ error: e ?? undefined, messages: m ?? [] }),
            );
          } catch (thrown) {
            resolve({ error: thrown as LibrdKafkaError, messages: [] });
          }
        },
      );
      if (this.stopping || this.crashed) break;
      if (error && error.code !== CODES.TIMED_OUT) this.onError(error);
      if (this.crashed) break;
      this.deliver(messages, epochs);
      for (const rebalance of this.rebalances.splice(0)) this.applyRebalance(rebalance, true);
      this.handlers?.polled();
    }
  }

  /** Seeks and rewinds, applied before the next consume call so it sees none of the data they discard. */
  private prepareFetch(): void {
    for (const state of this.owned.values()) {
      if (state.rewindTo === undefined || this.seeks.has(key(state))) continue;
      this.seeks.set(key(state), { topic: state.topic, partition: state.partition, offset: state.rewindTo });
    }
    const seeks = [...this.seeks.values()];
    this.seeks.clear();
    for (const position of seeks) {
      const state = this.owned.get(key(position));
      if (!state) continue;
      const rewind = state.rewindTo !== undefined;
      state.rewindTo = undefined;
      // Timeout 0: librdkafka seeks asynchronously, its queue of this partition dropped at once.
      this.call((c) =>
        c.seek(position, 0, (error) => {
          if (error && !this.stopping)
            this.handlers?.warning(
              toKafkaClientError(error, { unknownIsRetriable: true, ...plain(position) }),
            );
        }),
      );
      if (rewind && !state.paused) this.call((c) => c.resume([plain(state)]));
    }
  }

  private deliver(messages: Message[], epochs: Map<string, { state: Owned; epoch: number }>): void {
    // Runs of one partition, in order (a partition may have several runs in one call).
    const runs: Message[][] = [];
    let run: Message[] | undefined;
    for (const message of messages) {
      if (!run || run[0].partition !== message.partition || run[0].topic !== message.topic)
        runs.push((run = []));
      run.push(message);
    }
    for (const list of runs) {
      const k = key(list[0]);
      const state = this.owned.get(k);
      const fetchedUnder = epochs.get(k);
      // Revoked, or seeked since this consume call began (the seek moves the position itself).
      if (
        !state ||
        (fetchedUnder
          ? fetchedUnder.state !== state || fetchedUnder.epoch !== state.epoch
          : state.epoch !== 0)
      )
        continue;
      if (state.paused) {
        // librdkafka's position is past them already: it fetches them again after the resume.
        state.rewindTo ??= list[0].offset;
        continue;
      }
      const reset = this.resets.get(k);
      this.resets.delete(k);
      const resetFrom = reset !== undefined && reset !== list[0].offset ? reset : undefined;
      if (resetFrom !== undefined)
        logger.warn(
          offsetResetWarning(state.topic, state.partition, resetFrom, list[0].offset, this.autoOffsetReset),
        );
      let highWatermark = list[list.length - 1].offset + 1;
      try {
        highWatermark = Math.max(
          highWatermark,
          this.consumer!.getWatermarkOffsets(state.topic, state.partition).highOffset,
        );
      } catch {
        /* nothing cached yet: the batch's own end */
      }
      this.handlers?.batch({
        topic: state.topic,
        partition: state.partition,
        highWatermark,
        messages: list.map((message) => new LibrdkafkaRawMessage(message)),
        resetFrom,
      });
    }
  }

  private onLog({ fac, message }: { fac: string; message: string }): void {
    if (fac === 'FATAL') {
      this.fatalReason = message.replace(/^\[thrd:[^\]]*\]: /, '');
      if (this.fatalError) this.crash();
    }
    const reset = fac === 'OFFSET' ? OFFSET_RESET.exec(message) : null;
    if (!reset) return;
    const k = key({ topic: reset[1], partition: Number(reset[2]) });
    if (this.owned.has(k)) this.resets.set(k, Number(reset[3]));
  }

  /** An error librdkafka reports: unrecoverable ones crash the client, the others are warnings. */
  private onError(error: LibrdKafkaError): void {
    if (this.stopping || this.crashed) return;
    this.lastError = error;
    const fatal = error.isFatal === true || error.code === CODES.FATAL || /fatal error/i.test(error.message);
    if (fatal && this.loop) {
      // Its cause comes in librdkafka's FATAL log line, which may follow the error event.
      this.fatalError = error;
      if (this.fatalReason) this.crash();
      else this.fatalTimer ??= setTimeout(() => this.crash(), FATAL_REASON_WAIT_MS);
      return;
    }
    const described = toKafkaClientError(this.failures?.explain(error) ?? error, {
      unknownIsRetriable: true,
    });
    if (this.loop && (UNRECOVERABLE_CODES.has(error.code) || !described.retriable))
      return this.crash(described);
    this.handlers?.warning(described);
  }

  /** Gone for good: revokes everything, then reports the crash, non-retriable. */
  private crash(
    described = toKafkaClientError(
      this.fatalReason
        ? { ...this.fatalError, message: this.fatalReason, code: CODES.FATAL, isFatal: true }
        : this.fatalError,
      { unknownIsRetriable: false },
    ),
  ): void {
    clearTimeout(this.fatalTimer);
    if (this.stopping || this.crashed) return;
    this.crashed = true;
    const revoked = [...this.owned.values()].map(plain);
    this.owned.clear();
    if (revoked.length > 0) this.handlers?.revoked(revoked);
    this.handlers?.crashed(
      new KafkaClientError(described.message, { ...described, retriable: false, cause: described.cause }),
    );
  }
}
