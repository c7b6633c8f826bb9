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

/** What a batch does not take from `Array.prototype`: its own `length`, and what would change it. */
const NOT_DELEGATED = new Set<PropertyKey>([
  'constructor',
  'length',
  'push',
  'pop',
  'shift',
  'unshift',
  'splice',
  'sort',
  'reverse',
  'fill',
  'copyWithin',
]);

/** A canonical array index ("0", "17"; not "01" or "-1"): the only keys the index lookup answers. */
const INDEX = /^(?:0|[1-9]\d*)$/;

/**
 * `messages[i]` without copying the list into the batch: an index is not found on the instance
 * or its class, so the lookup reaches this proxy at the end of the prototype chain, which reads
 * the batch's own list. Writes to an index fail (a TypeError in strict code): the batch is
 * read-only. Every other key passes through to `Object.prototype`.
 */
const indexLookup = new Proxy(Object.prototype, {
  get: (target, key, receiver) =>
    typeof key === 'string' && INDEX.test(key)
      ? (receiver as { list?: readonly unknown[] }).list?.[Number(key)]
      : Reflect.get(target, key, receiver),
  set: (target, key, value, receiver) =>
    !(typeof key === 'string' && INDEX.test(key)) && Reflect.set(target, key, value, receiver),
});

// The class gets ReadonlyArray's members at run time, in its static block.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Messages<T = unknown> extends ReadonlyArray<Message<T>> {}

/**
 * The batch given to `consume`: messages of one topic-partition, in offset order. A read-only
 * array over the engine's own list, never a copy of it: `length`, `messages[i]` and every array
 * method that leaves an array as it is (`map`, `filter`, `find`, `some`, `every`, `forEach`,
 * `reduce`, `slice`, `includes`, `at`, `entries`, …; those returning arrays return plain ones).
 * Plus Karafka's `size`, `first()`, `last()`, `payloads()` and `metadata`. It is not an `Array`
 * instance (`Array.isArray` is false): `toArray()` gives one, a copy. In a hot loop, `for…of` or
 * `at(i)` are faster than `messages[i]`, which is looked up through a proxy.
 *
 * @example
 * ```ts
 * async consume(messages: Messages<Order>) {
 *   const ids = messages.map((message) => message.payload.id);
 *   if (messages.some((message) => message.payload.amount > 1_000)) await this.alert(ids);
 *   this.markAsConsumed(messages[messages.length - 1]);
 * }
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class Messages<T = unknown> {
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

  static {
    const prototype = Messages.prototype;
    for (const key of Reflect.ownKeys(Array.prototype)) {
      const method: unknown = Reflect.get(Array.prototype, key);
      if (typeof method !== 'function' || NOT_DELEGATED.has(key) || Object.hasOwn(prototype, key)) continue;
      Object.defineProperty(prototype, key, {
        configurable: true,
        writable: true,
        value: function (this: Messages, ...args: unknown[]) {
          return method.apply(this.list, args);
        },
      });
    }
    Object.defineProperty(prototype, 'length', {
      configurable: true,
      get(this: Messages) {
        return this.list.length;
      },
    });
    // Found here, the constructor's writes create own properties without reaching the proxy.
    for (const key of ['list', 'metadata']) {
      Object.defineProperty(prototype, key, { configurable: true, writable: true, value: undefined });
    }
    Object.setPrototypeOf(prototype, indexLookup);
  }

  /** Written out, not delegated: `for…of` over a batch is the hot path. */
  [Symbol.iterator](): ArrayIterator<Message<T>> {
    return this.list[Symbol.iterator]();
  }

  /** Karafka's word for `length`. */
  get size(): number {
    return this.list.length;
  }

  first(): Message<T> | undefined {
    return this.list[0];
  }

  last(): Message<T> | undefined {
    return this.list[this.list.length - 1];
  }

  /** A real array of the messages: a copy. */
  toArray(): Message<T>[] {
    return [...this.list];
  }

  /** Deserialized payloads, in order. */
  payloads(): T[] {
    return this.list.map((message) => message.payload);
  }
}
