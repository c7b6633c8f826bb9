import { describe, expect, it } from 'vitest';
import { KarafkaConfigError } from '../../src/config/karafka-config.error.js';
import { resolveKarafkaOptions } from '../../src/config/validate-options.js';
import type { KarafkaModuleOptions } from '../../src/config/karafka-options.js';

const kafka = { 'bootstrap.servers': 'localhost:9092' };

function errorOf(options: unknown): KarafkaConfigError {
  try {
    resolveKarafkaOptions(options as KarafkaModuleOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(KarafkaConfigError);
    return error as KarafkaConfigError;
  }
  throw new Error('expected a KarafkaConfigError');
}

describe('resolveKarafkaOptions', () => {
  it("applies Karafka's defaults", () => {
    const options = resolveKarafkaOptions({ kafka });
    expect(options).toMatchObject({
      clientId: 'karafka',
      groupId: 'app',
      concurrency: 5,
      maxMessages: 100,
      maxWaitTime: 1_000,
      shutdownTimeout: 60_000,
      initialOffset: 'earliest',
      autoStart: true,
      pause: { timeout: 1_000, maxTimeout: 30_000, withExponentialBackoff: true },
      liveness: { pollingTtl: 300_000, consumingTtl: 300_000 },
    });
  });

  it('names an unknown key and suggests the right one', () => {
    const error = errorOf({ kafka, concurrancy: 3 });
    expect(error.field).toBe('concurrancy');
    expect(error.message).toContain('did you mean "concurrency"?');
  });

  it('names a wrong type and the fix', () => {
    const error = errorOf({ kafka, concurrency: '5' });
    expect(error.field).toBe('concurrency');
    expect(error.message).toMatch(/positive integer.*Fix:/);
  });

  it('names nested fields', () => {
    expect(errorOf({ kafka, pause: { timeout: -1 } }).field).toBe('pause.timeout');
    expect(errorOf({ kafka, liveness: { pollingTl: 1 } }).message).toContain('did you mean "pollingTtl"?');
  });

  it('refuses a shutdownTimeout that does not exceed maxWaitTime', () => {
    const error = errorOf({ kafka, shutdownTimeout: 1_000, maxWaitTime: 1_000 });
    expect(error.field).toBe('shutdownTimeout');
    expect(error.message).toContain('must exceed maxWaitTime');
  });

  it('requires kafka bootstrap.servers', () => {
    expect(errorOf({}).field).toBe('kafka');
    expect(errorOf({ kafka: {} }).field).toBe("kafka['bootstrap.servers']");
  });

  it('suggests the right librdkafka key for a typo', () => {
    const error = errorOf({ kafka: { ...kafka, 'sasl.mechanism': 'PLAIN' } });
    expect(error.field).toBe("kafka['sasl.mechanism']");
    expect(error.message).toContain('did you mean "sasl.mechanisms"?');
  });

  it('points engine-owned keys to the option that replaces them', () => {
    expect(errorOf({ kafka: { ...kafka, 'group.id': 'x' } }).message).toContain('groupId');
    expect(errorOf({ kafka: { ...kafka, 'enable.auto.commit': true } }).message).toContain(
      'manualOffsetManagement',
    );
  });

  it('never echoes a secret value in an error', () => {
    const error = errorOf({ kafka: { ...kafka, 'sasl.password': 12345678 } });
    expect(error.message).not.toContain('12345678');
  });

  it('refuses a bad onCriticalError', () => {
    expect(errorOf({ kafka, onCriticalError: 'crash' }).field).toBe('onCriticalError');
  });
});
