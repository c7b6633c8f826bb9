import type { INestApplicationContext, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { ResolvedKarafkaOptions } from '../config/karafka-options.js';
import { setProcessOverrides } from '../config/process-overrides.js';
import { KARAFKA_OPTIONS } from '../karafka.constants.js';
import { CliError } from './cli-args.js';

type ModuleLike = Type | { module: Type; controllers?: unknown[]; imports?: unknown[] };

/** True when the module tree declares controllers: the server then also serves HTTP. */
export function declaresControllers(module: unknown, seen = new Set<unknown>()): boolean {
  if (!module || seen.has(module) || module instanceof Promise) return false;
  seen.add(module);
  const dynamic =
    typeof module === 'object' && 'module' in (module as object)
      ? (module as Exclude<ModuleLike, Type>)
      : undefined;
  const type = dynamic ? dynamic.module : (module as Type);
  const controllers = [
    ...((Reflect.getMetadata('controllers', type) as unknown[]) ?? []),
    ...(dynamic?.controllers ?? []),
  ];
  if (controllers.length > 0) return true;
  const imports = [
    ...((Reflect.getMetadata('imports', type) as unknown[]) ?? []),
    ...(dynamic?.imports ?? []),
  ];
  return imports.some((child) => declaresControllers(child, seen));
}

/**
 * Boots the user's module: an HTTP app on PORT (default 3000) when `http` (it has controllers
 * and --no-http was not given), an application context otherwise.
 */
export async function bootApp(appModule: Type, http: boolean): Promise<INestApplicationContext> {
  if (!http) return NestFactory.createApplicationContext(appModule);
  const app = await NestFactory.create(appModule);
  await app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '0.0.0.0');
  return app;
}

/**
 * The module's resolved Karafka options. A module without `KarafkaModule.forRoot()` (or one
 * importing another copy of nestjs-karafka than this CLI's) is a clear error, not Nest's
 * "could not find element".
 */
export function karafkaOptionsOf(app: INestApplicationContext, appModule: Type): ResolvedKarafkaOptions {
  try {
    return app.get<ResolvedKarafkaOptions>(KARAFKA_OPTIONS);
  } catch {
    throw new CliError(
      `${appModule.name} does not import KarafkaModule.forRoot() or forRootAsync() from the nestjs-karafka this CLI belongs to (${new URL('../..', import.meta.url).pathname}); import it, and make sure the app has one copy of nestjs-karafka`,
    );
  }
}

/**
 * For the one-shot commands (info, topics): boots the module without starting the engine,
 * quietly, runs `command`, and closes the app.
 */
export async function withAppContext(
  appModule: Type,
  command: (app: INestApplicationContext) => Promise<void> | void,
): Promise<void> {
  setProcessOverrides({ ownsSignals: true, forced: { autoStart: false, logging: false } });
  const app = await NestFactory.createApplicationContext(appModule, { logger: ['error', 'warn'] });
  try {
    karafkaOptionsOf(app, appModule);
    await command(app);
  } finally {
    await app.close();
  }
}
