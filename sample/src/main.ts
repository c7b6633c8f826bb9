import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule);
  // The host owns the signals: SIGTERM/SIGINT run the shutdown hooks, which stop Karafka gracefully.
  app.enableShutdownHooks();
  const port = Number(process.env.PORT ?? 3000);
  await app.listen(port, process.env.HOST ?? '127.0.0.1');
  new Logger('Sample').log(`listening on http://${process.env.HOST ?? '127.0.0.1'}:${port}`);
}

void bootstrap();
