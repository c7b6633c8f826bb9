import {
  ConfigurableModuleBuilder,
  Global,
  Inject,
  Module,
  type OnModuleInit,
  type Provider,
} from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import type { KafkaClientFactory } from './connection/kafka-client.js';
import { createClientFactory } from './connection/client-factory.js';
import { cachedTokenProvider } from './connection/oauth-bearer.js';
import type { KarafkaModuleOptions, ResolvedKarafkaOptions } from './config/karafka-options.js';
import { resolveKarafkaOptions } from './config/validate-options.js';
import { KarafkaHealthIndicator } from './health/karafka-health.indicator.js';
import { KarafkaLivenessListener } from './health/liveness-listener.js';
import { LivenessTracker } from './health/liveness-tracker.js';
import { KarafkaEventExplorer } from './instrumentation/karafka-event.explorer.js';
import { KarafkaLoggerListener } from './instrumentation/logger-listener.js';
import { KarafkaMonitor } from './instrumentation/karafka-monitor.js';
import { KAFKA_CLIENT_FACTORY, KARAFKA_MODULE_OPTIONS, KARAFKA_OPTIONS } from './karafka.constants.js';
import { JobRegistry } from './processing/job-registry.js';
import { KarafkaRunner } from './processing/karafka-runner.js';
import { KarafkaProducer } from './producer/karafka-producer.js';
import { ProducerConnection } from './producer/producer-connection.js';
import { KarafkaAdmin } from './admin/karafka-admin.js';
import { TopicsManager } from './admin/topics-manager.js';
import { ConsumerMetadataAccessor } from './routing/consumer-metadata.accessor.js';
import { ConsumerExplorer } from './routing/consumer.explorer.js';
import { RouteTable } from './routing/route-table.js';
import { ConsumerLag } from './telemetry/consumer-lag.js';
import { KarafkaTelemetry } from './telemetry/karafka-telemetry.js';

const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } = new ConfigurableModuleBuilder<KarafkaModuleOptions>(
  {
    moduleName: 'Karafka',
    optionsInjectionToken: KARAFKA_MODULE_OPTIONS,
  },
)
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createKarafkaOptions')
  .build();

/** What other modules may inject. */
const exported = [
  KarafkaMonitor,
  JobRegistry,
  RouteTable,
  KarafkaRunner,
  LivenessTracker,
  KarafkaHealthIndicator,
  KarafkaLivenessListener,
  KarafkaProducer,
  KarafkaAdmin,
  TopicsManager,
  ConsumerLag,
];

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
      const factory = createClientFactory(
        options.driver,
        options.oauth ? cachedTokenProvider(options.oauth, monitor) : undefined,
        // kafkajs says nothing at 'error': its lines are notices (info) and chatter (verbose).
        options.logging ? options.logLevel : 'error',
      );
      factory.validate(options.kafka); // what the client cannot honour fails at boot, not at first connect
      return factory;
    },
  },
  ConsumerMetadataAccessor,
  ConsumerExplorer,
  KarafkaEventExplorer,
  KarafkaLoggerListener,
  ProducerConnection,
  KarafkaTelemetry,
  ...exported,
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
  // Not TerminusModule: @nestjs/terminus is optional; KarafkaHealthIndicator finds the app's own.
  imports: [DiscoveryModule],
  providers,
  exports: [KARAFKA_OPTIONS, KAFKA_CLIENT_FACTORY, ...exported],
})
export class KarafkaModule extends ConfigurableModuleClass implements OnModuleInit {
  constructor(
    private readonly routes: RouteTable,
    @Inject(KAFKA_CLIENT_FACTORY) private readonly clients: KafkaClientFactory,
  ) {
    super();
  }

  /**
   * Nest runs the module's own hook after its providers', so the explorer has built the routes:
   * a route's `kafka` overrides that the client cannot honour fail at boot too, not at first connect.
   */
  onModuleInit(): void {
    for (const group of this.routes.subscriptionGroups) {
      this.clients.validate(group.kafka, `${group.routes[0].consumerClass} @Consumer options.kafka`);
    }
  }
}
