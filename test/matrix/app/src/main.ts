import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { KarafkaProducer } from 'nestjs-karafka';
import { AppModule, COUNT, Tally } from './app.module.js';

async function bootstrap() {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  await app.listen(0, '127.0.0.1');
  const topic = process.env.TOPIC ?? 'matrix-app';
  const numbers = Array.from({ length: COUNT }, (_, n) => ({ topic, key: String(n), payload: { n } }));
  await app.get(KarafkaProducer).produceMany(numbers);
  await app.get(Tally).done;
  // `module` exists only in a CommonJS module: the runner checks the app ran as the kind it built.
  console.log(`consumed ${COUNT} messages as ${typeof module === 'undefined' ? 'ESM' : 'CommonJS'}`);
  await app.close();
}
void bootstrap();
