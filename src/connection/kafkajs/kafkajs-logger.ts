import { logLevel, type logCreator, type LogEntry } from 'kafkajs';
import type { KarafkaLogLevel } from '../../config/karafka-options.js';
import { LeveledLogger } from '../../instrumentation/leveled-logger.js';

/** What a kafkajs `Kafka` constructor gets for its logging. */
export interface KafkajsLogging {
  logLevel: logLevel;
  logCreator: logCreator;
}

/**
 * kafkajs notices worth telling a Karafka user, in Karafka's words. Everything else kafkajs says
 * is protocol chatter (retried requests, `Response GroupCoordinator … The coordinator is not
 * available` while a group forms, rejoins): the engine reports what matters through its events.
 */
const NOTICES: { match: RegExp; say: string }[] = [
  {
    match: /switched default partitioner/,
    say: "producer: a message's key picks its partition with murmur2, as Java clients do (kafkajs 2's default partitioner); librdkafka's default, which Karafka's WaterDrop uses, is consistent_random (crc32), so a key may land on another partition than a Ruby producer puts it on",
  },
];

/** Notices said already: once a process, however many clients repeat them. */
const said = new Set<string>();

/** The kafkajs line as the broker said it: the message, its error and broker, never request data. */
function chatter({ namespace, log }: LogEntry): string {
  const { message, error, broker } = log as LogEntry['log'] & { error?: unknown; broker?: unknown };
  const detail = [error, broker && `broker ${String(broker)}`].filter(Boolean).join(', ');
  return `${namespace ? `[${namespace}] ` : ''}${message}${detail ? ` (${detail})` : ''}`;
}

/**
 * kafkajs logging under the `logLevel` option: its notices once each, at info, in Karafka's
 * words; all its other lines at verbose. Below verbose kafkajs only hands over its warnings and
 * errors (where the notices are); at verbose it traces every request.
 */
export function kafkajsLogging(threshold: KarafkaLogLevel = 'info'): KafkajsLogging {
  const karafka = new LeveledLogger('Karafka', threshold);
  const kafkajs = new LeveledLogger('kafkajs', threshold);
  return {
    logLevel: kafkajs.enabled('verbose') ? logLevel.DEBUG : logLevel.WARN,
    logCreator: () => (entry) => {
      const notice = NOTICES.find(({ match }) => match.test(entry.log.message));
      if (!notice) return kafkajs.write('verbose', chatter(entry));
      if (said.has(notice.say) || !karafka.enabled('info')) return;
      said.add(notice.say);
      karafka.write('info', notice.say);
    },
  };
}
