import { describe, expect, it } from 'vitest';
import { resolveKarafkaOptions } from '../../src/config/validate-options.js';
import { toLibrdkafkaConfig } from '../../src/connection/librdkafka/librdkafka-settings.js';
import { configError } from '../support/config-error.js';

const servers = { 'bootstrap.servers': 'localhost:9092' };
describe('librdkafka driver settings', () => {
  it('passes librdkafka keys through as written: static membership, cooperative-sticky, KIP-848, statistics', () => {
    const kafka = {
      ...servers,
      'security.protocol': 'sasl_ssl',
      'sasl.mechanisms': 'SCRAM-SHA-512',
      'sasl.username': 'u',
      'sasl.password': 'p',
      'group.instance.id': 'orders-1',
      'partition.assignment.strategy': 'cooperative-sticky',
      'statistics.interval.ms': 5_000,
    };
    expect(toLibrdkafkaConfig(kafka, false)).toEqual(kafka);
    expect(toLibrdkafkaConfig({ ...servers, 'group.protocol': 'consumer' }, false)['group.protocol']).toBe(
      'consumer',
    );
  });

  it('names the key and the fix for what librdkafka would refuse at connect time', () => {
    expect(
      configError(() => toLibrdkafkaConfig({ ...servers, 'partition.assignment.strategy': 'sticky' }, false))
        .message,
    ).toMatch(/kafka\['partition.assignment.strategy'\].*"sticky".*cooperative-sticky/);
    expect(
      configError(() =>
        toLibrdkafkaConfig({ ...servers, 'group.protocol': 'consumer', 'session.timeout.ms': 10_000 }, false),
      ).message,
    ).toMatch(/kafka\['session.timeout.ms'\].*group.protocol is 'consumer'/);
    expect(configError(() => toLibrdkafkaConfig({ ...servers, 'no.such.key': 1 }, false)).message).toMatch(
      /no\.such\.key.*librdkafka driver/,
    );
    expect(
      configError(() => toLibrdkafkaConfig({ 'bootstrap.servers': 'kafka+ssl://b:9096' }, false)).message,
    ).toMatch(/bootstrap.servers.*scheme/);
    expect(
      configError(() =>
        toLibrdkafkaConfig(
          { ...servers, 'security.protocol': 'sasl_ssl', 'sasl.mechanisms': 'OAUTHBEARER' },
          false,
        ),
      ).message,
    ).toMatch(/oauth.tokenProvider.*required/);
  });

  it('driver is kafkajs by default, librdkafka when asked or from KARAFKA_DRIVER, and refuses anything else naming the field', () => {
    const previous = process.env.KARAFKA_DRIVER;
    try {
      delete process.env.KARAFKA_DRIVER;
      expect(resolveKarafkaOptions({ kafka: servers }).driver).toBe('kafkajs');
      expect(resolveKarafkaOptions({ kafka: servers, driver: 'librdkafka' }).driver).toBe('librdkafka');
      expect(
        configError(() => resolveKarafkaOptions({ kafka: servers, driver: 'rdkafka' as 'kafkajs' })).message,
      ).toMatch(/^driver: must be one of "kafkajs", "librdkafka", got "rdkafka"/);
      process.env.KARAFKA_DRIVER = 'librdkafka';
      expect(resolveKarafkaOptions({ kafka: servers }).driver).toBe('librdkafka');
      expect(resolveKarafkaOptions({ kafka: servers, driver: 'kafkajs' }).driver).toBe('kafkajs');
      process.env.KARAFKA_DRIVER = 'nope';
      expect(configError(() => resolveKarafkaOptions({ kafka: servers })).message).toMatch(
        /^KARAFKA_DRIVER: must be one of/,
      );
    } finally {
      if (previous === undefined) delete process.env.KARAFKA_DRIVER;
      else process.env.KARAFKA_DRIVER = previous;
    }
  });
});
