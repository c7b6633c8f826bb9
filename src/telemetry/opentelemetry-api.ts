import { createRequire } from 'node:module';
import type * as OpenTelemetryApi from '@opentelemetry/api';

/** `@opentelemetry/api`, an optional peer: the package loads, and traces nothing, without it. */
export type OtelApi = typeof OpenTelemetryApi;

/** The name tracers and meters are got under. */
export const INSTRUMENTATION_SCOPE = 'nestjs-karafka';

let loaded: OtelApi | null | undefined;

/** The app's `@opentelemetry/api`, or undefined when it is not installed. Loaded once, synchronously. */
export function openTelemetryApi(): OtelApi | undefined {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)('@opentelemetry/api') as OtelApi;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
      loaded = null;
    }
  }
  return loaded ?? undefined;
}

let noSdk: unknown;

/**
 * Whether a tracing SDK is registered. Until one is, the global provider hands out spans that
 * record nothing, so the work around them (attributes, context, injected headers) is skipped.
 */
export function tracingSdkRegistered(api: OtelApi): boolean {
  const provider = api.trace.getTracerProvider();
  if (!(provider instanceof api.ProxyTracerProvider)) return true;
  noSdk ??= new api.ProxyTracerProvider().getDelegate();
  return provider.getDelegate() !== noSdk;
}
