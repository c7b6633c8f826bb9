import type { INestApplication, Provider } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { KarafkaModule, type KarafkaModuleOptions } from 'nestjs-karafka';
import { CaptureLogger } from './capture-logger.js';
import { brokers, uniqueName } from './kafka/connection.mjs';

/**
 * A Nest app with KarafkaModule on the harness broker (quick fetches, a fresh group) and
 * `providers`, its logs captured; not initialized, so the caller can subscribe first.
 */
export async function createKarafkaApp(
  options: Partial<KarafkaModuleOptions>,
  providers: Provider[],
): Promise<{ app: INestApplication; logger: CaptureLogger }> {
  const logger = new CaptureLogger();
  const moduleRef = await Test.createTestingModule({
    imports: [
      KarafkaModule.forRoot({
        kafka: { 'bootstrap.servers': brokers() },
        maxWaitTime: 300,
        shutdownTimeout: 10_000,
        groupId: uniqueName('group'),
        ...options,
      }),
    ],
    providers,
  }).compile();
  return { app: moduleRef.createNestApplication({ logger }), logger };
}
