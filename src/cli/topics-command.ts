import type { Type } from '@nestjs/common';
import { KarafkaAdminError } from '../admin/admin-error.js';
import { TopicsManager } from '../admin/topics-manager.js';
import { withAppContext } from './app-bootstrap.js';
import { CliError } from './cli-args.js';

/** `karafka topics create|delete|plan`: the declared topics through the admin. */
export async function runTopics(
  appModule: Type,
  action: 'create' | 'delete' | 'plan',
  write: (line: string) => void = console.log,
): Promise<void> {
  await withAppContext(appModule, (app) =>
    topicsAction(app.get(TopicsManager), action, write).catch((error: unknown) => {
      // The cluster's answer with its hint, as one line: not a stack.
      throw error instanceof KarafkaAdminError ? new CliError(error.message) : error;
    }),
  );
}

async function topicsAction(
  topics: TopicsManager,
  action: 'create' | 'delete' | 'plan',
  write: (line: string) => void,
): Promise<void> {
  if (action === 'create') {
    const created = await topics.createMissing();
    write(created.length > 0 ? `created: ${created.join(', ')}` : 'nothing to create');
  } else if (action === 'delete') {
    const deleted = await topics.deleteDeclared();
    write(deleted.length > 0 ? `deleted: ${deleted.join(', ')}` : 'nothing to delete');
  } else {
    const plan = await topics.plan();
    for (const spec of plan.create)
      write(
        `+ ${spec.name} (partitions ${spec.partitions}, replication ${spec.replicationFactor}${Object.keys(spec.config ?? {}).length ? `, ${JSON.stringify(spec.config)}` : ''})`,
      );
    for (const name of plan.existing) write(`= ${name} (exists)`);
    for (const name of plan.undeclared) write(`? ${name} (routed, not declared)`);
  }
}
