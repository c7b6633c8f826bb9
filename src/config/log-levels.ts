import type { KarafkaLogLevel } from './karafka-options.js';

/** The `logLevel` values, most severe first. */
export const LOG_LEVELS = [
  'error',
  'warn',
  'info',
  'debug',
  'verbose',
] as const satisfies readonly KarafkaLogLevel[];

/** Whether a line at `level` is logged under the `threshold` chosen with `logLevel`. */
export function logsAt(threshold: KarafkaLogLevel, level: KarafkaLogLevel): boolean {
  return LOG_LEVELS.indexOf(level) <= LOG_LEVELS.indexOf(threshold);
}
