import { Logger } from '@nestjs/common';
import type { KarafkaLogLevel, ResolvedKarafkaOptions } from '../config/karafka-options.js';
import { logsAt } from '../config/log-levels.js';

/** Nest's `Logger` method each Karafka level writes with (Karafka's `info` is Nest's `log`). */
const NEST_METHOD = {
  error: 'error',
  warn: 'warn',
  info: 'log',
  debug: 'debug',
  verbose: 'verbose',
} as const satisfies Record<KarafkaLogLevel, keyof Logger>;

/**
 * Nest's Logger behind the `logLevel` option: a line below the threshold is dropped here, since
 * a Nest app's default console shows every level, down to verbose.
 */
export class LeveledLogger implements EngineLogger {
  private readonly logger: Logger;

  constructor(
    context: string,
    private readonly threshold: KarafkaLogLevel,
  ) {
    this.logger = new Logger(context);
  }

  /** Whether lines at `level` are written: check it before subscribing to a per-batch event. */
  enabled(level: KarafkaLogLevel): boolean {
    return logsAt(this.threshold, level);
  }

  write(level: KarafkaLogLevel, message: string): void {
    if (this.enabled(level)) this.logger[NEST_METHOD[level]](message);
  }

  log(message: string): void {
    this.write('info', message);
  }

  warn(message: string): void {
    this.write('warn', message);
  }

  error(message: string): void {
    this.write('error', message);
  }
}

/** What the engine's own parts (runner, listeners, partitions) log with. */
export type EngineLogger = Pick<Logger, 'log' | 'warn' | 'error'>;

/**
 * The engine's logger under `logLevel`; with `logging: false` only its errors, which are never
 * silent (an engine that fails for good says so, whatever the options).
 */
export function engineLogger(
  context: string,
  options: Pick<ResolvedKarafkaOptions, 'logging' | 'logLevel'>,
): EngineLogger {
  return new LeveledLogger(context, options.logging ? options.logLevel : 'error');
}
