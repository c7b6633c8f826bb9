import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// SWC, not esbuild: esbuild drops emitDecoratorMetadata, which Nest's injector needs.
const swcPlugin = () =>
  swc.vite({
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    },
  });

// Specs import the package by name, as users do; it resolves to the sources.
const alias = {
  'nestjs-karafka/testing': fileURLToPath(new URL('./src/testing/index.ts', import.meta.url)),
  'nestjs-karafka': fileURLToPath(new URL('./src/index.ts', import.meta.url)),
};

export default defineConfig({
  resolve: { alias },
  test: {
    tags: [
      {
        name: 'smoke',
        description:
          'the compact real-broker smoke the CI matrix runs on each Node, NestJS and Kafka cell (test/matrix/)',
      },
    ],
    projects: [
      {
        plugins: [swcPlugin()],
        resolve: { alias },
        test: {
          name: 'unit',
          include: ['test/unit/**/*.spec.ts', 'sample/test/**/*.spec.ts'],
        },
      },
      {
        plugins: [swcPlugin()],
        resolve: { alias },
        test: {
          name: 'integration',
          include: ['test/integration/**/*.spec.ts'],
          globalSetup: ['test/support/kafka/global-setup.mjs'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          pool: 'forks',
          maxWorkers: 2,
          // After the unit project: integration specs share one broker and two cores.
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
