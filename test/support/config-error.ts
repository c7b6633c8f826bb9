import { expect } from 'vitest';
import { KarafkaConfigError } from '../../src/config/karafka-config.error.js';

/** Runs `run` and returns the KarafkaConfigError it throws; fails the test when it throws none or another. */
export function configError(run: () => unknown): KarafkaConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(KarafkaConfigError);
    return error as KarafkaConfigError;
  }
  throw new Error('expected a KarafkaConfigError');
}
