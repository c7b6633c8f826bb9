/** A configuration or routing mistake found at boot. The message names the field and the fix. */
export class KarafkaConfigError extends Error {
  override readonly name = 'KarafkaConfigError';

  constructor(
    /** Dotted path of the offending option, e.g. `kafka.sasl.mechanisms` or `OrdersConsumer`. */
    readonly field: string,
    problem: string,
    fix: string,
  ) {
    super(`${field}: ${problem}. Fix: ${fix}`);
  }
}
