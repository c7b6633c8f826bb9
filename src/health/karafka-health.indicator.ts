import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { LivenessTracker } from './liveness-tracker.js';

/**
 * @nestjs/terminus indicators over the engine. Injectable anywhere once KarafkaModule is imported.
 *
 * @example
 * ```ts
 * @Get() @HealthCheck()
 * check() { return this.health.check([() => this.karafka.isHealthy('karafka')]); }
 * ```
 */
@Injectable()
export class KarafkaHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly tracker: LivenessTracker,
  ) {}

  /** Liveness: down when polling or a job exceeded its TTL, or the engine failed for good. Never throws. */
  isHealthy<Key extends string>(key: Key): HealthIndicatorResult<Key> {
    const indicator = this.indicators.check(key);
    try {
      const report = this.tracker.liveness();
      const details = { ...report, healthy: undefined };
      return report.healthy ? indicator.up(details) : indicator.down(details);
    } catch (error) {
      return indicator.down({
        reasons: [`the liveness check failed: ${(error as Error)?.message ?? String(error)}`],
      });
    }
  }

  /** Readiness: up when the engine runs and every subscription group joined its group. Never throws. */
  isReady<Key extends string>(key: Key): HealthIndicatorResult<Key> {
    const indicator = this.indicators.check(key);
    try {
      const report = this.tracker.readiness();
      const details = { ...report, ready: undefined };
      return report.ready ? indicator.up(details) : indicator.down(details);
    } catch (error) {
      return indicator.down({
        reasons: [`the readiness check failed: ${(error as Error)?.message ?? String(error)}`],
      });
    }
  }
}
