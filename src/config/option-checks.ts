import { didYouMean } from './did-you-mean.js';
import { KarafkaConfigError } from './karafka-config.error.js';

/** Checks one value at `path`; throws {@link KarafkaConfigError} naming the path and the fix. */
export type Check = (value: unknown, path: string) => void;

export const positiveInteger: Check = (value, path) => {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new KarafkaConfigError(
      path,
      `must be a positive integer, got ${describe(value)}`,
      'use a whole number of 1 or more',
    );
  }
};

export const nonNegativeInteger: Check = (value, path) => {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new KarafkaConfigError(
      path,
      `must be a non-negative integer, got ${describe(value)}`,
      'use a whole number of 0 or more',
    );
  }
};

export const milliseconds: Check = (value, path) => {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new KarafkaConfigError(
      path,
      `must be a positive number of milliseconds, got ${describe(value)}`,
      'use e.g. 1000 for one second',
    );
  }
};

export const nonEmptyString: Check = (value, path) => {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new KarafkaConfigError(
      path,
      `must be a non-empty string, got ${describe(value)}`,
      'give it a name',
    );
  }
};

export const boolean: Check = (value, path) => {
  if (typeof value !== 'boolean') {
    throw new KarafkaConfigError(path, `must be true or false, got ${describe(value)}`, 'use a boolean');
  }
};

export const func: Check = (value, path) => {
  if (typeof value !== 'function') {
    throw new KarafkaConfigError(path, `must be a function, got ${describe(value)}`, 'pass a function');
  }
};

export function oneOf(...allowed: readonly unknown[]): Check {
  return (value, path) => {
    if (!allowed.includes(value)) {
      throw new KarafkaConfigError(
        path,
        `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${describe(value)}`,
        `use one of those values`,
      );
    }
  };
}

export function either(description: string, ...checks: Check[]): Check {
  return (value, path) => {
    for (const check of checks) {
      try {
        check(value, path);
        return;
      } catch {
        // try the next form
      }
    }
    throw new KarafkaConfigError(
      path,
      `must be ${description}, got ${describe(value)}`,
      `pass ${description}`,
    );
  };
}

/** An object whose keys each have a check; unknown keys are errors with a "did you mean". */
export function shape(checks: Record<string, Check>): Check {
  return (value, path) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new KarafkaConfigError(
        path,
        `must be an object, got ${describe(value)}`,
        `pass an object with keys ${Object.keys(checks).join(', ')}`,
      );
    }
    const known = Object.keys(checks);
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      const childPath = path ? `${path}.${key}` : key;
      const check = checks[key];
      if (!check) throw new KarafkaConfigError(childPath, 'is not a known option', didYouMean(key, known));
      if (child !== undefined) check(child, childPath);
    }
  };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}
