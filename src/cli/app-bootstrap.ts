import type { INestApplicationContext, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

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
 * Boots the user's module: an HTTP app on PORT (default 3000) when it has controllers, an
 * application context otherwise. Returns the context and whether HTTP is served.
 */
export async function bootApp(appModule: Type): Promise<{ app: INestApplicationContext; http: boolean }> {
  if (!declaresControllers(appModule))
    return { app: await NestFactory.createApplicationContext(appModule), http: false };
  const app = await NestFactory.create(appModule);
  await app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '0.0.0.0');
  return { app, http: true };
}
