import { Inject, Injectable, Scope, type OnModuleInit, type Type } from '@nestjs/common';
import { DiscoveryService, ExternalContextCreator, ModuleRef } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import type { ResolvedKarafkaOptions } from '../config/karafka-options.js';
import { KarafkaConfigError } from '../config/karafka-config.error.js';
import { BaseConsumer } from '../consumer/base-consumer.js';
import { KARAFKA_OPTIONS } from '../karafka.constants.js';
import { consumerEnhancers } from './consumer-enhancers.js';
import { ConsumerMetadataAccessor } from './consumer-metadata.accessor.js';
import { buildConsumerGroups, type ConsumerDeclaration } from './route-builder.js';
import { RouteTable } from './route-table.js';

/** Finds `@Consumer` providers at module init and fills the route table. */
@Injectable()
export class ConsumerExplorer implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly accessor: ConsumerMetadataAccessor,
    private readonly routes: RouteTable,
    @Inject(KARAFKA_OPTIONS) private readonly options: ResolvedKarafkaOptions,
    private readonly contextCreator: ExternalContextCreator,
  ) {}

  onModuleInit(): void {
    const declarations: ConsumerDeclaration[] = [];
    const seen = new Set<Type>();
    for (const wrapper of this.discovery.getProviders()) {
      const metatype = wrapper.metatype as Type | undefined;
      if (!metatype || typeof metatype !== 'function' || seen.has(metatype)) continue;
      const metadata = this.accessor.getConsumerMetadata(metatype);
      if (!metadata) continue;
      seen.add(metatype);
      declarations.push({
        className: metatype.name,
        ...metadata,
        createConsumer: this.factoryFor(wrapper, metatype),
        enhance: consumerEnhancers(metatype, this.contextCreator),
      });
    }
    this.routes.replace(buildConsumerGroups(declarations, this.options));
  }

  private factoryFor(wrapper: InstanceWrapper, metatype: Type): () => Promise<BaseConsumer> {
    const name = metatype.name;
    if (!(metatype.prototype instanceof BaseConsumer)) {
      throw new KarafkaConfigError(
        name,
        'is decorated with @Consumer but does not extend BaseConsumer',
        `declare it as "class ${name} extends BaseConsumer<YourPayload>" and implement consume(messages)`,
      );
    }
    if (wrapper.scope === Scope.REQUEST || !wrapper.isDependencyTreeStatic()) {
      throw new KarafkaConfigError(
        name,
        'is request-scoped (or depends on a request-scoped provider); there is no request when a batch arrives',
        'make it and its dependencies singleton or transient: the engine builds one instance per partition anyway',
      );
    }
    const moduleRef = wrapper.host?.getProviderByKey(ModuleRef)?.instance as ModuleRef | undefined;
    if (!moduleRef)
      throw new KarafkaConfigError(name, 'has no host module', 'list it in the providers of a module');
    // One instance per partition, built in the class's own module so its dependencies resolve.
    return () => moduleRef.create(metatype);
  }
}
