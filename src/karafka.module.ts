import { ConfigurableModuleBuilder, Global, Module, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { KafkajsClientFactory } from './connection/kafkajs/kafkajs-client-factory.js';
import { cachedTokenProvider } from './connection/oauth-bearer.js';
import type { KarafkaModuleOptions, ResolvedKarafkaOptions } from './config/karafka-options.js';
import { resolveKarafkaOptions } from './config/validate-options.js';
import { KarafkaEventExplorer } from './instrumentation/karafka-event.explorer.js';
import { KarafkaLoggerListener } from './instrumentation/logger-listener.js';
import { KarafkaMonitor } from './instrumentation/karafka-monitor.js';
import { KAFKA_CLIENT_FACTORY, KARAFKA_MODULE_OPTIONS, KARAFKA_OPTIONS } from './karafka.constants.js';
import { JobRegistry } from './processing/job-registry.js';
import { KarafkaRunner } from './processing/karafka-runner.js';
import { ConsumerMetadataAccessor } from './routing/consumer-metadata.accessor.js';
import { ConsumerExplorer } from './routing/consumer.explorer.js';
import { RouteTable } from './routing/route-table.js';

const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } = new ConfigurableModuleBuilder<KarafkaModuleOptions>(
  {
    moduleName: 'Karafka',
    optionsInjectionToken: KARAFKA_MODULE_OPTIONS,
  },
)
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createKarafkaOptions')
  .build();

const providers: Provider[] = [
  {
    provide: KARAFKA_OPTIONS,
    inject: [MODULE_OPTIONS_TOKEN],
    useFactory: (options: KarafkaModuleOptions) => resolveKarafkaOptions(options),
  },
  {
    provide: KAFKA_CLIENT_FACTORY,
    inject: [KARAFKA_OPTIONS, KarafkaMonitor],
    useFactory: (options: ResolvedKarafkaOptions, monitor: KarafkaMonitor) => {
      const factory = new KafkajsClientFactory(
        options.oauth ? cachedTokenProvider(options.oauth, monitor) : undefined,
      );
      factory.settings(options.kafka); // what kafkajs cannot honour fails at boot, not at first connect
      return factory;
    },
  },
  KarafkaMonitor,
  JobRegistry,
  RouteTable,
  ConsumerMetadataAccessor,
  ConsumerExplorer,
  KarafkaEventExplorer,
  KarafkaLoggerListener,
  KarafkaRunner,
];

/**
 * Registers the cluster config, discovers `@Consumer` providers and runs the engine inside the
 * Nest lifecycle. Global: import it once, in the root module.
 *
 * @example
 * ```ts
 * KarafkaModule.forRoot({ kafka: { 'bootstrap.servers': 'localhost:9092' }, groupId: 'orders' })
 * KarafkaModule.forRootAsync({ inject: [ConfigService], useFactory: (config) => ({ kafka: { ... } }) })
 * ```
 */
@Global()
@Module({
  imports: [DiscoveryModule],
  providers,
  exports: [KARAFKA_OPTIONS, KAFKA_CLIENT_FACTORY, KarafkaMonitor, KarafkaRunner, RouteTable, JobRegistry],
})
export class KarafkaModule extends ConfigurableModuleClass {}
