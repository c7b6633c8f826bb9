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
    return this.indicate(key, 'liveness', () => {
      const { healthy, ...details } = this.tracker.liveness();
      return { up: healthy, details: { ...details } };
    });
  }

  /** Readiness: up when the engine runs and every subscription group joined its group. Never throws. */
  isReady<Key extends string>(key: Key): HealthIndicatorResult<Key> {
    return this.indicate(key, 'readiness', () => {
      const { ready, ...details } = this.tracker.readiness();
      return { up: ready, details: { ...details } };
    });
  }

  private indicate<Key extends string>(
    key: Key,
    check: string,
    run: () => { up: boolean; details: Record<string, unknown> },
  ): HealthIndicatorResult<Key> {
    const indicator = this.indicators.check(key);
    try {
      const { up, details } = run();
      return up ? indicator.up(details) : indicator.down(details);
    } catch (error) {
      return indicator.down({
        reasons: [`the ${check} check failed: ${(error as Error)?.message ?? String(error)}`],
      });
    }
  }
}
