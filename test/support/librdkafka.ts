import { createRequire } from 'node:module';

/** Whether this run's module driver is librdkafka (KARAFKA_DRIVER, .ci/run's second run). */
export const onLibrdkafka = process.env.KARAFKA_DRIVER === 'librdkafka';

/**
 * Why the librdkafka binding cannot be used here, or undefined when it loads. Its native build is
 * not made by `npm install` (package.json's allowScripts): `bash .ci/librdkafka-binding.sh` builds
 * it once per machine and copies it in; .ci/run does.
 */
export function librdkafkaUnavailable(): string | undefined {
  try {
    createRequire(import.meta.url)('@confluentinc/kafka-javascript');
    return undefined;
  } catch (error) {
    return `@confluentinc/kafka-javascript does not load (${(error as Error).message.split('\n')[0]}): run bash .ci/librdkafka-binding.sh`;
  }
}
