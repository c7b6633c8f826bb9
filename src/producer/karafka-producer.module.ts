import {
  Inject,
  Module,
  type DynamicModule,
  type FactoryProvider,
  type ModuleMetadata,
} from '@nestjs/common';
import { cachedTokenProvider } from '../connection/oauth-bearer.js';
import { createClientFactory } from '../connection/client-factory.js';
import type { ResolvedKarafkaOptions } from '../config/karafka-options.js';
import { KARAFKA_OPTIONS } from '../karafka.constants.js';
import { KarafkaMonitor } from '../instrumentation/karafka-monitor.js';
import { KarafkaProducer } from './karafka-producer.js';
import { ProducerConnection } from './producer-connection.js';
import {
  resolveCustomProducerOptions,
  type CustomProducerOptions,
  type ResolvedCustomProducerOptions,
} from './producer-options.js';

/** The injection token of the custom producer registered as `name`. */
export function getProducerToken(name: string): string {
  return `KarafkaProducer:${name}`;
}

/**
 * Injects the custom producer registered as `name` with {@link KarafkaProducerModule}.
 *
 * @example
 * ```ts
 * constructor(@InjectProducer('audit') private readonly audit: KarafkaProducer) {}
 * ```
 */
export const InjectProducer = (name: string): ParameterDecorator & PropertyDecorator =>
  Inject(getProducerToken(name));

export interface CustomProducerAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  name: string;
  inject?: FactoryProvider['inject'];
  useFactory: (...args: never[]) => CustomProducerOptions | Promise<CustomProducerOptions>;
}

/**
 * Custom producers beside the default `KarafkaProducer` (seed 004's `CUSTOM_PRODUCER`): each has
 * its own `kafka` settings and OAuth token provider, is injected with `@InjectProducer(name)`,
 * connects on first use and closes on application shutdown, after waiting for what it still
 * sends. Needs `KarafkaModule` (for its monitor) in the app.
 *
 * @example
 * ```ts
 * KarafkaProducerModule.register('audit', {
 *   kafka: { 'bootstrap.servers': 'audit-kafka:9098', 'security.protocol': 'sasl_ssl', 'sasl.mechanisms': 'OAUTHBEARER' },
 *   oauth: { tokenProvider: () => signer.token() },
 * })
 * ```
 */
@Module({})
export class KarafkaProducerModule {
  static register(name: string, options: CustomProducerOptions): DynamicModule {
    return KarafkaProducerModule.registerAsync({ name, useFactory: () => options });
  }

  static registerAsync({
    name,
    imports = [],
    inject = [],
    useFactory,
  }: CustomProducerAsyncOptions): DynamicModule {
    const token = getProducerToken(name);
    const optionsToken = `${token}:options`;
    const connectionToken = `${token}:connection`;
    return {
      module: KarafkaProducerModule,
      imports,
      providers: [
        {
          provide: optionsToken,
          inject,
          useFactory: async (...args: never[]) =>
            resolveCustomProducerOptions(await useFactory(...args), `KarafkaProducerModule "${name}"`),
        },
        {
          // Its own client factory, of the module's driver: the module's one carries the module's token provider.
          provide: connectionToken,
          inject: [optionsToken, KarafkaMonitor, KARAFKA_OPTIONS],
          useFactory: (
            options: ResolvedCustomProducerOptions,
            monitor: KarafkaMonitor,
            module: ResolvedKarafkaOptions,
          ) => {
            const clients = createClientFactory(
              module.driver,
              options.oauth ? cachedTokenProvider(options.oauth, monitor) : undefined,
            );
            clients.validate(options.kafka, `KarafkaProducerModule "${name}" kafka`);
            return new ProducerConnection(options, clients);
          },
        },
        {
          provide: token,
          inject: [optionsToken, connectionToken, KarafkaMonitor],
          useFactory: (
            options: ResolvedCustomProducerOptions,
            connection: ProducerConnection,
            monitor: KarafkaMonitor,
          ) => new KarafkaProducer({ prefix: options.prefix, names: {} }, connection, monitor),
        },
      ],
      exports: [token],
    };
  }
}
