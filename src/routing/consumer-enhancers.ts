import type { Type } from '@nestjs/common';
import type { ExternalContextCreator } from '@nestjs/core';
import { CONSUMER_CONTEXT, type BaseConsumer } from '../consumer/base-consumer.js';
import type { Messages } from '../consumer/messages.js';

/** What `ExecutionContext.getType()` returns around a batch, so app-wide HTTP enhancers can step aside. */
export const KAFKA_CONTEXT_TYPE = 'kafka';

/** Nest's metadata keys of `@UseGuards`, `@UseInterceptors`, `@UseFilters` and `@UsePipes` (stable since Nest 5). */
const ENHANCER_KEYS = ['__guards__', '__interceptors__', '__exceptionFilters__', '__pipes__'] as const;
const FILTERS_KEY = '__exceptionFilters__';
/** Our parameter metadata for `consume(messages)`: the batch is argument 0, given to the pipes as a body is. */
const CONSUME_ARGS_KEY = 'karafka:consume-args';
const BODY_PARAM_TYPE = 3;

/**
 * What `switchToRpc().getContext()` returns in a guard, interceptor, filter or pipe around a
 * consumer's batch; `switchToRpc().getData()` is the batch itself (a {@link Messages}).
 *
 * @example
 * ```ts
 * canActivate(context: ExecutionContext): boolean {
 *   if (context.getType<'kafka'>() !== 'kafka') return true;
 *   const batch = context.switchToRpc().getContext<KarafkaBatchContext>();
 *   return batch.topic !== 'orders' || batch.messages.size <= 100;
 * }
 * ```
 */
export class KarafkaBatchContext<T = unknown> {
  readonly topic: string;
  readonly partition: number;
  readonly groupId: string;
  /** 1 on the first try of the batch, 2 on its first retry, and so on. */
  readonly attempt: number;

  constructor(
    readonly messages: Messages<T>,
    /** The consumer instance of this partition. */
    readonly consumer: BaseConsumer<T>,
  ) {
    const context = consumer[CONSUMER_CONTEXT]!;
    this.topic = context.topic;
    this.partition = context.partition;
    this.groupId = context.groupId;
    this.attempt = context.attempt;
  }
}

/** Runs `consume()` on one batch of one consumer instance. */
export type BatchHandler = (messages: Messages) => Promise<unknown>;

function declares(target: object, key: string): boolean {
  const value: unknown = Reflect.getMetadata(key, target);
  return Array.isArray(value) && value.length > 0;
}

/**
 * For a consumer class that declares guards, interceptors, filters or pipes (on the class or on
 * `consume`): a function that wraps one instance's `consume` in them, the way Nest wraps a
 * microservice handler. Undefined for a class that declares none: its `consume` is called as it
 * is, at no cost. App-wide enhancers then apply too; exception filters (app-wide ones are
 * written for HTTP) only when the consumer declares one of its own.
 */
export function consumerEnhancers(
  metatype: Type,
  contextCreator: ExternalContextCreator,
): ((consumer: BaseConsumer) => BatchHandler) | undefined {
  const consume = (metatype.prototype as BaseConsumer).consume;
  if (!ENHANCER_KEYS.some((key) => declares(metatype, key) || declares(consume, key))) return undefined;
  const filters = declares(metatype, FILTERS_KEY) || declares(consume, FILTERS_KEY);
  if (!Reflect.hasOwnMetadata(CONSUME_ARGS_KEY, metatype, 'consume')) {
    Reflect.defineMetadata(
      CONSUME_ARGS_KEY,
      { [`${BODY_PARAM_TYPE}:0`]: { index: 0, data: undefined, pipes: [] } },
      metatype,
      'consume',
    );
  }
  const paramsFactory = { exchangeKeyForValue: (_type: number, _data: unknown, args: unknown[]) => args[0] };
  // Resolved once per instance, when the engine builds it for a partition; never per batch.
  return (consumer) => {
    const enhanced = contextCreator.create(
      consumer,
      consumer.consume as (...args: unknown[]) => unknown,
      'consume',
      CONSUME_ARGS_KEY,
      paramsFactory,
      undefined,
      undefined,
      { guards: true, interceptors: true, filters },
      KAFKA_CONTEXT_TYPE,
    ) as (messages: Messages, context: KarafkaBatchContext) => Promise<unknown>;
    return (messages) => enhanced(messages, new KarafkaBatchContext(messages, consumer));
  };
}
