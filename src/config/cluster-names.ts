import { Logger } from '@nestjs/common';
import type { NameMapper } from './karafka-options.js';

/** What the naming reads of the resolved options. */
export interface NamingOptions {
  prefix: string;
  names: NameMapper;
}

const logger = new Logger('Karafka');
/** Names already warned about, per options object: one warning per name and module. */
const warned = new WeakMap<NamingOptions, Set<string>>();

/**
 * The prefix (Heroku's KAFKA_PREFIX) before a mapped name. Karafka's guide has users write
 * `"#{ENV['KAFKA_PREFIX']}app"` themselves: a name that already starts with the prefix is used as
 * written, never prefixed twice, with one warning so the code can drop its own prefix.
 */
function prefixed(options: NamingOptions, kind: string, mapped: string): string {
  const { prefix } = options;
  if (prefix === '') return mapped;
  if (!mapped.startsWith(prefix)) return prefix + mapped;
  const seen = warned.get(options) ?? new Set<string>();
  warned.set(options, seen);
  if (!seen.has(`${kind}\u0000${mapped}`)) {
    seen.add(`${kind}\u0000${mapped}`);
    logger.warn(
      `${kind} "${mapped}" already starts with the prefix "${prefix}": used as written, not prefixed twice. Write it without the prefix ("${mapped.slice(prefix.length)}"); the prefix option adds it.`,
    );
  }
  return mapped;
}

/** Applies the module's name mapper and prefix to a topic name. */
export function clusterTopicName(options: NamingOptions, name: string): string {
  return prefixed(options, 'topic', options.names.topic ? options.names.topic(name) : name);
}

/** Applies the module's name mapper and prefix to a consumer group id. */
export function clusterGroupId(options: NamingOptions, name: string): string {
  return prefixed(
    options,
    'consumer group',
    options.names.consumerGroup ? options.names.consumerGroup(name) : name,
  );
}
