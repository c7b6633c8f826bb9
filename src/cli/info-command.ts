import type { Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { redactKafkaSettings } from '../config/kafka-settings.js';
import { setProcessOverrides } from '../config/process-overrides.js';
import { RouteTable } from '../routing/route-table.js';

/** `karafka info`: the route table, without secrets. */
export async function runInfo(appModule: Type, write: (line: string) => void = console.log): Promise<void> {
  setProcessOverrides({ ownsSignals: true, forced: { autoStart: false, logging: false } });
  const app = await NestFactory.createApplicationContext(appModule, { logger: ['error', 'warn'] });
  try {
    for (const consumerGroup of app.get(RouteTable).consumerGroups) {
      write(`consumer group ${consumerGroup.id}`);
      for (const group of consumerGroup.subscriptionGroups) {
        write(
          `  subscription group ${group.name} (max wait ${group.maxWaitTime} ms) kafka ${JSON.stringify(redactKafkaSettings(group.kafka))}`,
        );
        for (const route of group.routes) {
          const dlq = route.deadLetterQueue
            ? ` dlq=${route.deadLetterQueue.topic} (maxRetries ${route.deadLetterQueue.maxRetries})`
            : '';
          const flags = [
            route.active ? '' : ' inactive',
            route.manualOffsetManagement ? ' manual-offsets' : '',
          ].join('');
          write(
            `    topic ${route.topic} -> ${route.consumerClass} initialOffset=${route.initialOffset} maxMessages=${route.maxMessages}${dlq}${flags}`,
          );
        }
      }
    }
  } finally {
    await app.close();
  }
}
