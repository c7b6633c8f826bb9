import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';

/**
 * Registers an OpenTelemetry SDK for the app, before Nest creates it: the context manager (so
 * spans started inside consume() are children of its `process` span), W3C trace context in
 * Kafka headers, and a tracer provider exporting to `exporter` (in production, an OTLP exporter;
 * `@opentelemetry/sdk-node` does the same in one call). `immediate` exports each span as it ends
 * (tests); otherwise spans are batched.
 */
export function startTracing(exporter: SpanExporter, immediate = false): BasicTracerProvider {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const processor = immediate ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter);
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  trace.setGlobalTracerProvider(provider);
  return provider;
}
