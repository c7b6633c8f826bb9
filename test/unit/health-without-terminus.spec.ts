import { Test } from '@nestjs/testing';
import { describe, expect, it, vi } from 'vitest';

// As if @nestjs/terminus (an optional peer dependency) were not installed.
vi.mock('@nestjs/terminus', () => {
  throw new Error("Cannot find package '@nestjs/terminus'");
});

describe('without @nestjs/terminus', () => {
  it('nestjs-karafka loads and KarafkaModule boots; only the Terminus indicator asks for it', async () => {
    const { KarafkaHealthIndicator, KarafkaModule, LivenessTracker } = await import('nestjs-karafka');
    const moduleRef = await Test.createTestingModule({
      imports: [
        KarafkaModule.forRoot({
          kafka: { 'bootstrap.servers': 'fake:9092' },
          autoStart: false,
          logging: false,
        }),
      ],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      expect(app.get(LivenessTracker).liveness()).toMatchObject({ healthy: true, state: 'initialized' });
      expect(() => app.get(KarafkaHealthIndicator).isHealthy('karafka')).toThrow(
        /KarafkaHealthIndicator needs @nestjs\/terminus/,
      );
    } finally {
      await app.close();
    }
  });
});
