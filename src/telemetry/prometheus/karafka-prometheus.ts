import { createRequire } from 'node:module';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Registry } from 'prom-client';
import { KarafkaConfigError } from '../../config/karafka-config.error.js';
import { KarafkaMonitor } from '../../instrumentation/karafka-monitor.js';
import { subscribeFigures } from '../consumer-figures.js';
import { ConsumerLag } from '../consumer-lag.js';
import { PrometheusMetrics, type PromClientModule } from './prometheus-metrics.js';

export const KARAFKA_PROMETHEUS_OPTIONS = Symbol('karafka.prometheus.options');

/** A prom-client `Registry`, named without depending on prom-client's types. */
export interface PrometheusRegistry {
  readonly contentType: string;
  metrics(): Promise<string>;
}

export interface KarafkaPrometheusOptions {
  /** The route serving the text format; `false` serves nothing (read {@link KarafkaPrometheus.metrics}). Default `metrics`. */
  path?: string | false;
  /** The registry the figures go to; default prom-client's global `register`, with the app's other metrics. */
  registry?: PrometheusRegistry;
}

function loadPromClient(): PromClientModule {
  try {
    return createRequire(import.meta.url)('prom-client') as PromClientModule;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
    throw new KarafkaConfigError(
      'KarafkaPrometheusModule',
      'needs the optional peer dependency prom-client, which is not installed',
      'npm install prom-client (15.x)',
    );
  }
}

/** The consumer's figures in a prom-client registry; {@link metrics} is the text a scrape gets. */
@Injectable()
export class KarafkaPrometheus implements OnApplicationShutdown {
  readonly registry: PrometheusRegistry;
  private readonly close: (() => void)[];

  constructor(
    @Inject(KARAFKA_PROMETHEUS_OPTIONS) options: KarafkaPrometheusOptions,
    monitor: KarafkaMonitor,
    lag: ConsumerLag,
  ) {
    const client = loadPromClient();
    const registry = (options.registry as Registry | undefined) ?? client.register;
    this.registry = registry;
    const metrics = new PrometheusMetrics(client, registry, lag);
    this.close = [subscribeFigures(monitor, metrics), lag.track(), () => metrics.close()];
  }

  /** The Prometheus text format of the registry. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  onApplicationShutdown(): void {
    for (const close of this.close.splice(0)) close();
  }
}
