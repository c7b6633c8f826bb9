import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { ResolvedKarafkaOptions } from '../config/karafka-options.js';
import { KARAFKA_OPTIONS } from '../karafka.constants.js';
import type { ErrorEvent, PartitionEvent } from './karafka-events.js';
import { KarafkaMonitor } from './karafka-monitor.js';

function where(event: Partial<PartitionEvent> & { offset?: number }): string {
  if (event.topic === undefined) return event.subscriptionGroup ? ` [${event.subscriptionGroup}]` : '';
  const offset = event.offset === undefined ? '' : `@${event.offset}`;
  return ` [${event.consumerClass ?? event.subscriptionGroup} ${event.topic}/${event.partition}${offset}]`;
}

/**
 * Karafka's LoggerListener, through Nest's Logger: lifecycle and rebalances at log level,
 * errors with topic, partition and offset at error level, fetches at debug. Never payloads,
 * never secrets: only error messages, which the client keeps free of credentials.
 */
@Injectable()
export class KarafkaLoggerListener implements OnModuleInit {
  private readonly logger = new Logger('Karafka');

  constructor(
    private readonly monitor: KarafkaMonitor,
    @Inject(KARAFKA_OPTIONS) private readonly options: ResolvedKarafkaOptions,
  ) {}

  onModuleInit(): void {
    if (!this.options.logging) return;
    const { monitor, logger } = this;
    for (const state of ['running', 'quieting', 'quiet', 'stopping', 'stopped'] as const) {
      monitor.subscribe(`app.${state}`, () => logger.log(`app ${state}`));
    }
    monitor.subscribe('rebalance.partitions_assigned', (e) =>
      logger.log(
        `${e.subscriptionGroup} assigned ${e.partitions.map((p) => `${p.topic}/${p.partition}`).join(', ')}`,
      ),
    );
    monitor.subscribe('rebalance.partitions_revoked', (e) =>
      logger.log(
        `${e.subscriptionGroup} revoked ${e.partitions.map((p) => `${p.topic}/${p.partition}`).join(', ')}`,
      ),
    );
    monitor.subscribe('connection.listener.fetch_loop.received', (e) =>
      logger.debug(
        `polled ${e.messagesCount} messages from ${e.topic}/${e.partition} [${e.subscriptionGroup}]`,
      ),
    );
    monitor.subscribe('consumer.consumed', (e) =>
      logger.debug(
        `${e.consumerClass} consumed ${e.topic}/${e.partition} ${e.firstOffset}-${e.lastOffset} in ${e.durationMs} ms`,
      ),
    );
    monitor.subscribe('consumer.consuming.pause', (e) =>
      logger.warn(`pausing${where(e)} for ${e.timeoutMs} ms (attempt ${e.attempt})`),
    );
    monitor.subscribe('dead_letter_queue.dispatched', (e) =>
      logger.warn(
        `dead-lettered${where(e)} to ${e.deadLetterTopic} after ${e.attempt} attempts: ${e.error.message}`,
      ),
    );
    monitor.subscribe('error.occurred', (e: ErrorEvent) => {
      const text = `${e.type}${e.fatal ? ' (fatal)' : ''}${where(e)}: ${e.error.name}: ${e.error.message}${e.hint ? ` (${e.hint})` : ''}`;
      logger.error(text);
    });
  }
}
