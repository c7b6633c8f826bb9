import { Controller, Get, Inject, Module, Res, type DynamicModule, type Type } from '@nestjs/common';
import {
  KARAFKA_PROMETHEUS_OPTIONS,
  KarafkaPrometheus,
  type KarafkaPrometheusOptions,
} from './karafka-prometheus.js';

/** Express's `res` and Fastify's `reply` both set a header with `header()`. */
interface HeaderSetter {
  header(name: string, value: string): unknown;
}

function metricsController(path: string): Type {
  @Controller(path)
  class KarafkaMetricsController {
    constructor(@Inject(KarafkaPrometheus) private readonly prometheus: KarafkaPrometheus) {}

    @Get()
    metrics(@Res({ passthrough: true }) response: HeaderSetter): Promise<string> {
      response.header('Content-Type', this.prometheus.registry.contentType);
      return this.prometheus.metrics();
    }
  }
  return KarafkaMetricsController;
}

/**
 * Prometheus without OpenTelemetry: the consumer's figures and its groups' lag in a prom-client
 * registry (`prom-client` is an optional peer), served at `GET /metrics` by the Nest app.
 *
 * @example
 * ```ts
 * @Module({ imports: [KarafkaModule.forRoot({ ... }), KarafkaPrometheusModule.forRoot()] })
 * export class AppModule {}
 * ```
 */
@Module({})
export class KarafkaPrometheusModule {
  static forRoot(options: KarafkaPrometheusOptions = {}): DynamicModule {
    const path = options.path ?? 'metrics';
    return {
      module: KarafkaPrometheusModule,
      controllers: path === false ? [] : [metricsController(path)],
      providers: [{ provide: KARAFKA_PROMETHEUS_OPTIONS, useValue: options }, KarafkaPrometheus],
      exports: [KarafkaPrometheus],
    };
  }
}
