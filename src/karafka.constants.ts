/** Injection token of the resolved module options. */
export const KARAFKA_OPTIONS = Symbol('KARAFKA_OPTIONS');
/** Injection token of the raw options given to forRoot / forRootAsync. */
export const KARAFKA_MODULE_OPTIONS = Symbol('KARAFKA_MODULE_OPTIONS');
/** Injection token of the Kafka client factory (kafkajs by default). */
export const KAFKA_CLIENT_FACTORY = Symbol('KAFKA_CLIENT_FACTORY');
