import type { Type } from '@nestjs/common';
import { KarafkaAdmin } from '../admin/karafka-admin.js';
import { redactKafkaSettings } from '../config/kafka-settings.js';
import { RouteTable } from '../routing/route-table.js';
import { withAppContext } from './app-bootstrap.js';

/** `karafka info`: the route table, without secrets, and the admin's consumer group: every group the app uses. */
export async function runInfo(appModule: Type, write: (line: string) => void = console.log): Promise<void> {
  await withAppContext(appModule, (app) => {
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
          const written = route.name === route.topic ? '' : ` (written "${route.name}")`;
          write(
            `    topic ${route.topic}${written} -> ${route.consumerClass} initialOffset=${route.initialOffset} maxMessages=${route.maxMessages}${dlq}${flags}`,
          );
        }
      }
    }
    write(`admin group ${app.get(KarafkaAdmin).adminGroupId()} (KarafkaAdmin reads)`);
  });
}
