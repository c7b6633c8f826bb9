import type { Message, TopicMessages } from 'kafkajs';
import type { ProducedMessage } from '../kafka-client.js';
import { producedSize } from '../produced-size.js';

/** librdkafka's producer queue settings, as the kafkajs driver's queue applies them. */
export interface ProduceQueueLimits {
  /** `linger.ms`: how long an idle queue waits for more messages before it sends. */
  lingerMs: number;
  /** `batch.num.messages`: the most messages one request carries. */
  batchMessages: number;
  /** `batch.size`: the most bytes one request carries (a single larger message goes alone). */
  batchBytes: number;
  /** `queue.buffering.max.messages`: past it, `room()` waits. */
  maxMessages: number;
  /** `queue.buffering.max.kbytes` in bytes: past it, `room()` waits. */
  maxBytes: number;
}

/** Keeps the array of pending messages from being copied on every request it sends. */
const COMPACT_AFTER = 16_384;

interface Queued {
  topic: string;
  message: Message;
  bytes: number;
  resolve(): void;
  reject(error: unknown): void;
}

function toKafkajs(message: ProducedMessage): Message {
  return {
    key: message.key ?? null,
    value: message.value,
    headers: message.headers,
    partition: message.partition,
    timestamp: message.timestamp === undefined ? undefined : String(message.timestamp),
  };
}

/**
 * The kafkajs driver's producer queue (librdkafka has its own): messages in call order, sent by
 * one request at a time (so retries cannot reorder a partition, as kafkajs's idempotent producer
 * needs) of up to `batchMessages` / `batchBytes`. An idle queue waits `lingerMs` for more; while
 * a request is in flight the next one fills up and goes as soon as it returns.
 */
export class ProduceQueue {
  private pending: Queued[] = [];
  private head = 0;
  /** Queued or in flight: what the limits count. */
  private messages = 0;
  private bytes = 0;
  private unsentBytes = 0;
  private sending = false;
  private timer?: NodeJS.Timeout;
  private roomWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  /** The first delivery failure, for a transaction that must not commit after one. */
  failure?: unknown;

  constructor(
    private readonly send: (batch: TopicMessages[]) => Promise<unknown>,
    private readonly limits: ProduceQueueLimits,
  ) {}

  push(topic: string, message: ProducedMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      const bytes = producedSize(message);
      this.pending.push({ topic, message: toKafkajs(message), bytes, resolve, reject });
      this.messages++;
      this.bytes += bytes;
      this.unsentBytes += bytes;
      this.schedule();
    });
  }

  get hasRoom(): boolean {
    return this.messages < this.limits.maxMessages && this.bytes < this.limits.maxBytes;
  }

  room(): Promise<void> {
    if (this.hasRoom) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Sends what is queued without lingering; resolves when nothing is queued or in flight. */
  flush(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.schedule();
      this.checkIdle();
    });
  }

  private get unsent(): number {
    return this.pending.length - this.head;
  }

  private schedule(): void {
    if (this.sending || this.unsent === 0) return;
    const full = this.unsent >= this.limits.batchMessages || this.unsentBytes >= this.limits.batchBytes;
    if (full || this.idleWaiters.length > 0 || this.limits.lingerMs <= 0) return this.sendNext();
    this.timer ??= setTimeout(() => this.sendNext(), this.limits.lingerMs);
  }

  private sendNext(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.sending || this.unsent === 0) return;
    const batch = this.take();
    const byTopic = new Map<string, Message[]>();
    for (const { topic, message } of batch) {
      const messages = byTopic.get(topic);
      if (messages) messages.push(message);
      else byTopic.set(topic, [message]);
    }
    this.sending = true;
    const settle = (outcome: (entry: Queued) => void) => {
      for (const entry of batch) {
        this.messages--;
        this.bytes -= entry.bytes;
        outcome(entry);
      }
      this.sending = false;
      this.wakeRoomWaiters();
      // What was queued meanwhile waited a whole request already: it goes now.
      if (this.unsent > 0) this.sendNext();
      else this.checkIdle();
    };
    this.send([...byTopic].map(([topic, messages]) => ({ topic, messages }))).then(
      () => settle((entry) => entry.resolve()),
      (error: unknown) => {
        this.failure ??= error;
        settle((entry) => entry.reject(error));
      },
    );
  }

  private take(): Queued[] {
    let end = this.head;
    let bytes = 0;
    while (end < this.pending.length && end - this.head < this.limits.batchMessages) {
      const next = this.pending[end].bytes;
      if (end > this.head && bytes + next > this.limits.batchBytes) break;
      bytes += next;
      end++;
    }
    const batch = this.pending.slice(this.head, end);
    this.head = end;
    this.unsentBytes -= bytes;
    if (this.head === this.pending.length) {
      this.pending = [];
      this.head = 0;
    } else if (this.head > COMPACT_AFTER && this.head * 2 > this.pending.length) {
      this.pending = this.pending.slice(this.head);
      this.head = 0;
    }
    return batch;
  }

  private wakeRoomWaiters(): void {
    if (!this.hasRoom || this.roomWaiters.length === 0) return;
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const wake of waiters) wake();
  }

  /** After the callbacks of the last delivery ran: what they produced counts as not idle. */
  private checkIdle(): void {
    if (this.idleWaiters.length === 0) return;
    setImmediate(() => {
      if (this.sending || this.unsent > 0 || this.idleWaiters.length === 0) return;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const wake of waiters) wake();
    });
  }
}
