import { describe, expect, it } from 'vitest';
import { kafkaConnection } from '../src/kafka.config.js';

describe("the sample's cluster settings", () => {
  it("use Heroku's add-on config vars when KAFKA_URL is set, the prefix included", () => {
    const heroku = kafkaConnection({
      KAFKA_URL:
        'kafka+ssl://ec2-1.compute-1.amazonaws.com:9096,kafka+ssl://ec2-2.compute-1.amazonaws.com:9096',
      KAFKA_CLIENT_CERT: 'cert',
      KAFKA_CLIENT_CERT_KEY: 'key',
      KAFKA_TRUSTED_CERT: 'ca',
      KAFKA_PREFIX: 'smoothboulder-1234.',
    });
    expect(heroku.prefix).toBe('smoothboulder-1234.');
    expect(heroku.kafka).toMatchObject({
      'bootstrap.servers': 'ec2-1.compute-1.amazonaws.com:9096,ec2-2.compute-1.amazonaws.com:9096',
      'security.protocol': 'ssl',
    });
  });

  it('use KAFKA_BROKERS, or a local broker, elsewhere', () => {
    expect(kafkaConnection({ KAFKA_BROKERS: 'kafka:9092' })).toEqual({
      kafka: { 'bootstrap.servers': 'kafka:9092' },
    });
    expect(kafkaConnection({})).toEqual({ kafka: { 'bootstrap.servers': 'localhost:9092' } });
  });
});
