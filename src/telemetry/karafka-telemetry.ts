import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { KarafkaMonitor } from '../instrumentation/karafka-monitor.js';
import { subscribeFigures } from './consumer-figures.js';
import { ConsumerLag } from './consumer-lag.js';
import { ConsumerMetrics } from './consumer-metrics.js';
import { ConsumerTracing } from './consumer-tracing.js';
import { messagingNaming } from './messaging-attributes.js';
import { INSTRUMENTATION_SCOPE, openTelemetryApi } from './opentelemetry-api.js';

/**
 * OpenTelemetry for the engine, on when `@opentelemetry/api` is installed: spans around consumer
 * jobs and the consumer's metrics, through the app's global tracer and meter providers. Without an
 * SDK registered, jobs run unwrapped and no figure is kept; register it before the Nest app is
 * created (metrics are set up at module init, only if a meter provider is registered by then).
 */
@Injectable()
export class KarafkaTelemetry implements OnModuleInit, OnApplicationShutdown {
  private closers: (() => void)[] = [];

  constructor(
    private readonly monitor: KarafkaMonitor,
    private readonly lag: ConsumerLag,
  ) {}

  onModuleInit(): void {
    const api = openTelemetryApi();
    if (!api) return;
    const tracing = new ConsumerTracing(api, messagingNaming(), this.monitor);
    this.monitor.wrapJobs(tracing.wrap);
    this.closers = [() => this.monitor.wrapJobs(undefined), () => tracing.close()];
    // Meters are not proxies: one got before a meter provider is registered stays a no-op.
    if (api.metrics.getMeter(INSTRUMENTATION_SCOPE) === api.createNoopMeter()) return;
    const metrics = new ConsumerMetrics(api, this.lag);
    this.closers.push(this.lag.track(), subscribeFigures(this.monitor, metrics), () => metrics.close());
  }

  /** After the engine stopped (it stops before application shutdown), so its last jobs are traced. */
  onApplicationShutdown(): void {
    for (const close of this.closers.splice(0)) close();
  }
}
