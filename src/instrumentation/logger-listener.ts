import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { KarafkaLogLevel, ResolvedKarafkaOptions } from '../config/karafka-options.js';
import { KARAFKA_OPTIONS } from '../karafka.constants.js';
import type {
  ErrorEvent,
  KarafkaEventName,
  KarafkaEventMap,
  PartitionEvent,
  RebalanceEvent,
} from './karafka-events.js';
import { KarafkaMonitor } from './karafka-monitor.js';
import { LeveledLogger } from './leveled-logger.js';

function partitions(event: RebalanceEvent): string {
  return event.partitions.map((p) => `${p.topic}/${p.partition}`).join(', ');
}

function where(event: Partial<PartitionEvent> & { offset?: number }): string {
  if (event.topic === undefined) return event.subscriptionGroup ? ` [${event.subscriptionGroup}]` : '';
  const offset = event.offset === undefined ? '' : `@${event.offset}`;
  return ` [${event.consumerClass ?? event.subscriptionGroup} ${event.topic}/${event.partition}${offset}]`;
}

/**
 * Karafka's LoggerListener, through Nest's Logger and the `logLevel` option: lifecycle and
 * rebalances at info, pauses and dead-lettering at warn, errors with topic, partition and
 * offset at error, revoked and shutdown jobs at debug, every fetch and batch at verbose (those
 * events are not even subscribed to below it). Never payloads, never secrets: only error
 * messages, which the client keeps free of credentials.
 */
@Injectable()
export class KarafkaLoggerListener implements OnModuleInit {
  constructor(
    private readonly monitor: KarafkaMonitor,
    @Inject(KARAFKA_OPTIONS) private readonly options: ResolvedKarafkaOptions,
  ) {}

  onModuleInit(): void {
    if (!this.options.logging) return;
    const { monitor } = this;
    const logger = new LeveledLogger('Karafka', this.options.logLevel);
    /** Subscribes only when the level is logged, so a quiet level costs nothing per batch. */
    const on = <E extends KarafkaEventName>(
      event: E,
      level: KarafkaLogLevel,
      line: (payload: KarafkaEventMap[E]) => string,
    ) => {
      if (logger.enabled(level)) monitor.subscribe(event, (payload) => logger.write(level, line(payload)));
    };
    for (const state of ['running', 'quieting', 'quiet', 'stopping', 'stopped'] as const) {
      on(`app.${state}`, 'info', () => `app ${state}`);
    }
    on('rebalance.partitions_assigned', 'info', (e) => `${e.subscriptionGroup} assigned ${partitions(e)}`);
    on('rebalance.partitions_revoked', 'info', (e) => `${e.subscriptionGroup} revoked ${partitions(e)}`);
    on(
      'connection.listener.fetch_loop.received',
      'verbose',
      (e) => `polled ${e.messagesCount} messages from ${e.topic}/${e.partition} [${e.subscriptionGroup}]`,
    );
    on(
      'consumer.consumed',
      'verbose',
      (e) =>
        `${e.consumerClass} consumed ${e.topic}/${e.partition} ${e.firstOffset}-${e.lastOffset} in ${e.durationMs} ms`,
    );
    on(
      'consumer.revoked',
      'debug',
      (e) => `${e.consumerClass} revoked ${e.topic}/${e.partition} in ${e.durationMs} ms`,
    );
    on(
      'consumer.shutdown',
      'debug',
      (e) => `${e.consumerClass} shut down on ${e.topic}/${e.partition} in ${e.durationMs} ms`,
    );
    on(
      'consumer.consuming.pause',
      'warn',
      (e) => `pausing${where(e)} for ${e.timeoutMs} ms (attempt ${e.attempt})`,
    );
    on(
      'dead_letter_queue.dispatched',
      'warn',
      (e) =>
        `dead-lettered${where(e)} to ${e.deadLetterTopic} after ${e.attempt} attempts: ${e.error.message}`,
    );
    on(
      'error.occurred',
      'error',
      (e: ErrorEvent) =>
        `${e.type}${e.fatal ? ' (fatal)' : ''}${where(e)}: ${e.error.name}: ${e.error.message}${e.hint ? ` (${e.hint})` : ''}`,
    );
  }
}
