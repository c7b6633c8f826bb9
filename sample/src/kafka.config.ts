import { herokuKafkaConfig, type KarafkaModuleOptions } from 'nestjs-karafka';

/**
 * Where the sample's cluster is: Heroku's Kafka add-on when its config vars are there
 * (KAFKA_URL, the client certificate, KAFKA_PREFIX), else KAFKA_BROKERS, else a local broker.
 */
export function kafkaConnection(
  env: NodeJS.ProcessEnv = process.env,
): Pick<KarafkaModuleOptions, 'kafka' | 'prefix'> {
  if (env.KAFKA_URL) return herokuKafkaConfig(env);
  return { kafka: { 'bootstrap.servers': env.KAFKA_BROKERS ?? 'localhost:9092' } };
}
