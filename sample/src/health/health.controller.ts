import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { KarafkaHealthIndicator } from 'nestjs-karafka';

/**
 * Kubernetes probes: liveness on /health, readiness on /health/ready. /health/details is for
 * people: the liveness report with every assigned partition and running job.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly karafka: KarafkaHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.karafka.isHealthy('karafka')]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.karafka.isReady('karafka')]);
  }

  @Get('details')
  @HealthCheck()
  details() {
    return this.health.check([() => this.karafka.isHealthy('karafka', { detailed: true })]);
  }
}
