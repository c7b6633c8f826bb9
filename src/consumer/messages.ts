import type { Message } from './message.js';

/** Facts about one batch, as Karafka's `messages.metadata`. */
export interface BatchMetadata {
  topic: string;
  partition: number;
  firstOffset: number;
  lastOffset: number;
  size: number;
  /** Offset the next produced message will get; `highWatermark - lastOffset - 1` is the lag left. */
  highWatermark: number;
  /** When the engine handed the batch to `consume`, in ms since the epoch. */
  processedAt: number;
}

/** The batch given to `consume`: messages of one topic-partition, in offset order. */
export class Messages<T = unknown> implements Iterable<Message<T>> {
  readonly metadata: BatchMetadata;

  constructor(
    private readonly list: readonly Message<T>[],
    topic: string,
    partition: number,
    highWatermark: number,
  ) {
    this.metadata = {
      topic,
      partition,
      firstOffset: list[0]?.offset ?? -1,
      lastOffset: list[list.length - 1]?.offset ?? -1,
      size: list.length,
      highWatermark,
      processedAt: Date.now(),
    };
  }

  get size(): number {
    return this.list.length;
  }

  [Symbol.iterator](): Iterator<Message<T>> {
    return this.list[Symbol.iterator]();
  }

  first(): Message<T> | undefined {
    return this.list[0];
  }

  last(): Message<T> | undefined {
    return this.list[this.list.length - 1];
  }

  toArray(): Message<T>[] {
    return [...this.list];
  }

  /** Deserialized payloads, in order. */
  payloads(): T[] {
    return this.list.map((message) => message.payload);
  }
}
