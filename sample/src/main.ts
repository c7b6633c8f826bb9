import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConsoleSpanExporter } from '@opentelemetry/sdk-trace-base';
import { AppModule } from './app.module.js';
import { startTracing } from './tracing.js';

async function bootstrap(): Promise<void> {
  // OTEL_TRACES_EXPORTER=console prints the spans of each order: POST, send, process, send.
  if (process.env.OTEL_TRACES_EXPORTER === 'console') startTracing(new ConsoleSpanExporter());
  const app = await NestFactory.create(AppModule);
  // The host owns the signals: SIGTERM/SIGINT run the shutdown hooks, which stop Karafka gracefully.
  app.enableShutdownHooks();
  const port = Number(process.env.PORT ?? 3000);
  await app.listen(port, process.env.HOST ?? '127.0.0.1');
  new Logger('Sample').log(`listening on http://${process.env.HOST ?? '127.0.0.1'}:${port}`);
}

void bootstrap();
