import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { KarafkaModule, KarafkaPrometheusModule } from 'nestjs-karafka';
import { HealthController } from './health/health.controller.js';
import { kafkaConnection } from './kafka.config.js';
import { OrdersController } from './orders/orders.controller.js';
import { OrdersConsumer } from './orders/orders.consumer.js';
import { OrdersRepository } from './orders/orders.repository.js';

@Module({
  imports: [
    KarafkaModule.forRootAsync({
      useFactory: () => ({
        ...kafkaConnection(),
        clientId: 'nestjs-karafka-sample',
        groupId: 'sample',
        shutdownTimeout: 20_000,
        // A dead engine closes the app and exits 1: systemd's Restart=on-failure, Kubernetes and
        // Docker's restart policies start a fresh process instead of leaving it idle.
        onCriticalError: 'exit',
        declareTopics: true,
        liveness: { pollingTtl: 30_000, consumingTtl: 60_000 },
      }),
    }),
    TerminusModule.forRoot({ gracefulShutdownTimeoutMs: 0 }),
    // GET /metrics: kafka_consumergroup_lag and the consumer's figures, for Prometheus.
    KarafkaPrometheusModule.forRoot(),
  ],
  controllers: [HealthController, OrdersController],
  providers: [OrdersRepository, OrdersConsumer],
})
export class AppModule {}
