import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import type { KarafkaEventName } from './karafka-events.js';
import { KarafkaMonitor } from './karafka-monitor.js';
import { KARAFKA_EVENT_LISTENER } from './on-karafka-event.decorator.js';

/** Subscribes every `@OnKarafkaEvent` method of singleton providers and controllers to the monitor. */
@Injectable()
export class KarafkaEventExplorer implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly monitor: KarafkaMonitor,
  ) {}

  onModuleInit(): void {
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      const prototype = Object.getPrototypeOf(instance);
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const handler = instance[method];
        if (typeof handler !== 'function') continue;
        const events = this.reflector.get<KarafkaEventName[] | undefined>(KARAFKA_EVENT_LISTENER, handler);
        for (const event of events ?? [])
          this.monitor.subscribe(event, (payload) => handler.call(instance, payload, event));
      }
    }
  }
}
