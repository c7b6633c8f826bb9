import { Injectable, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { summarizeLiveness } from './liveness-summary.js';
import { LivenessTracker } from './liveness-tracker.js';

/**
 * @nestjs/terminus indicators over the engine: liveness (`isHealthy`) and readiness (`isReady`).
 * Injectable anywhere once KarafkaModule is imported; import `TerminusModule` in your app for
 * `HealthCheckService`, and the indicator uses that module's `HealthIndicatorService`.
 *
 * `@nestjs/terminus` is an optional peer dependency: KarafkaModule does not import TerminusModule,
 * and this class loads the package only when the module initializes, so apps without Terminus
 * (the `karafka server` CLI, plain workers) neither need it nor load it.
 *
 * @example
 * ```ts
 * @Get() @HealthCheck()
 * check() { return this.health.check([() => this.karafka.isHealthy('karafka')]); }
 * @Get('ready') @HealthCheck()
 * ready() { return this.health.check([() => this.karafka.isReady('karafka')]); }
 * ```
 */
@Injectable()
export class KarafkaHealthIndicator implements OnModuleInit {
  private indicators?: HealthIndicatorService;

  constructor(
    private readonly tracker: LivenessTracker,
    private readonly moduleRef: ModuleRef,
  ) {}

  async onModuleInit(): Promise<void> {
    const terminus = await import('@nestjs/terminus').catch(() => undefined);
    if (!terminus) return;
    try {
      this.indicators = this.moduleRef.get(terminus.HealthIndicatorService, { strict: false });
    } catch {
      // TerminusModule not imported: the service has no dependencies, so a private one does.
      this.indicators = new terminus.HealthIndicatorService();
    }
  }

  /**
   * Liveness: down when a subscription group has not polled for `liveness.pollingTtl`, a
   * consume/revoked/shutdown job has run longer than `liveness.consumingTtl`, or the engine failed
   * for good; the details name the TTL, the group or topic/partition and the error. Never down
   * for an idle topic, no assignment or a rebalance shorter than the TTLs. Never throws once
   * `@nestjs/terminus` is installed and the app is initialized.
   *
   * The details stay small whatever the partition count (a probe reads them every few seconds):
   * per subscription group the counts of partitions and jobs, and only the partitions that explain
   * a DOWN, at most five of each list. `{ detailed: true }` gives the full report instead, every
   * assigned partition and job: for an endpoint you read on purpose, not for the probe.
   */
  isHealthy<Key extends string>(key: Key, options: { detailed?: boolean } = {}): HealthIndicatorResult<Key> {
    return this.indicate(key, 'liveness', () => {
      const report = this.tracker.liveness();
      const { healthy, ...details } = options.detailed ? report : summarizeLiveness(report);
      return { up: healthy, details: { ...details } };
    });
  }

  /**
   * Readiness: up when the engine runs and every active subscription group has joined its
   * consumer group; down while starting, quiet, stopping or stopped. Never throws once
   * `@nestjs/terminus` is installed and the app is initialized.
   */
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
    if (!this.indicators) {
      throw new Error(
        'KarafkaHealthIndicator needs @nestjs/terminus: install it (npm install @nestjs/terminus) and call it once the app is initialized',
      );
    }
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
