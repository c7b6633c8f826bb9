import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type * as Binding from '@confluentinc/kafka-javascript';
import { KarafkaConfigError } from '../../config/karafka-config.error.js';

/** The binding's native (node-rdkafka) API: what this driver is built on, never its KafkaJS-compatible layer. */
export type LibrdkafkaBinding = typeof Binding;

export const LIBRDKAFKA_INSTALL =
  'npm install @confluentinc/kafka-javascript (where its prebuilt binary cannot be downloaded: apt-get install libssl-dev zlib1g-dev libzstd-dev liblz4-dev libsasl2-dev, then CKJS_LINKING=dynamic npm install @confluentinc/kafka-javascript)';

let loaded: LibrdkafkaBinding | undefined;

/** The optional peer, loaded on first use: choosing the driver without it installed is a config error naming the install. */
export function librdkafkaBinding(): LibrdkafkaBinding {
  if (loaded) return loaded;
  try {
    loaded = createRequire(import.meta.url)('@confluentinc/kafka-javascript') as LibrdkafkaBinding;
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND'
        ? 'is not installed'
        : `cannot be loaded (${(error as Error).message.split('\n')[0]})`;
    throw new KarafkaConfigError(
      'driver',
      `is 'librdkafka' but @confluentinc/kafka-javascript ${reason}`,
      `install it: ${LIBRDKAFKA_INSTALL}; or leave driver at 'kafkajs'`,
    );
  }
  return loaded;
}

const names = new Map<number, string>();

/** Kafka's error name of a librdkafka code (`ERR_REBALANCE_IN_PROGRESS` → `REBALANCE_IN_PROGRESS`; local errors keep `_`). */
export function librdkafkaErrorName(code: number | undefined): string | undefined {
  if (code === undefined) return undefined;
  if (names.size === 0) {
    for (const [name, value] of Object.entries(librdkafkaBinding().CODES.ERRORS)) {
      names.set(
        value as number,
        name.replace(/^ERR_/, '').replace(/^UNKNOWN_TOPIC_OR_PART$/, 'UNKNOWN_TOPIC_OR_PARTITION'),
      );
    }
  }
  return names.get(code);
}

/** KafkaConsumer methods the binding has but its typings leave out. */
export interface NativeConsumer extends Binding.KafkaConsumer {
  commitCb(
    offsets: Binding.TopicPartitionOffset[],
    done: (error: Binding.LibrdKafkaError | null) => void,
  ): void;
  setDefaultIsTimeoutOnlyForFirstMessage(only: boolean): void;
  rebalanceProtocol(): 'COOPERATIVE' | 'EAGER' | 'NONE';
  incrementalAssign(partitions: Binding.TopicPartition[]): void;
  incrementalUnassign(partitions: Binding.TopicPartition[]): void;
}

/**
 * A native consumer of the binding. Topic-level keys go in `topicConfig`: the binding always
 * gives librdkafka a topic configuration, whose defaults would replace those set globally.
 */
export function nativeConsumer(
  config: Record<string, unknown>,
  topicConfig: Record<string, unknown> = {},
): NativeConsumer {
  return new (librdkafkaBinding().KafkaConsumer)(
    config as Binding.ConsumerGlobalConfig,
    topicConfig as Binding.ConsumerTopicConfig,
  ) as NativeConsumer;
}

/**
 * Listens to a client's 'error' events, which its typings leave out: the binding emits what the
 * token callback failed with there, and an EventEmitter 'error' nobody hears is thrown.
 */
export function onClientError(client: object, listener: (error: Error) => void): void {
  (client as EventEmitter).on('error', listener);
}
