import { Inject, Injectable } from '@nestjs/common';
import type { KafkaClientFactory, TopicSpec } from '../connection/kafka-client.js';
import type { ResolvedKarafkaOptions } from '../config/karafka-options.js';
import { KAFKA_CLIENT_FACTORY, KARAFKA_OPTIONS } from '../karafka.constants.js';
import { RouteTable } from '../routing/route-table.js';
import { adminOperation } from './admin-error.js';

export interface TopicsPlan {
  /** Declared topics missing on the cluster. */
  create: TopicSpec[];
  /** Declared topics already there. */
  existing: string[];
  /** Routed topics with no declaration (`config` on @Consumer): left alone. */
  undeclared: string[];
}

/**
 * Karafka's declarative topics: `@Consumer(topic, { config: { partitions, replicationFactor, ...} })`
 * plus, for such routes, their DLQ topic (one partition). Used by `karafka topics` and by the
 * `declareTopics` option at engine start.
 */
@Injectable()
export class TopicsManager {
  constructor(
    private readonly routes: RouteTable,
    @Inject(KARAFKA_OPTIONS) private readonly options: ResolvedKarafkaOptions,
    @Inject(KAFKA_CLIENT_FACTORY) private readonly clients: KafkaClientFactory,
  ) {}

  /** The declared topics, as they are named on the cluster. */
  declared(): TopicSpec[] {
    const specs = new Map<string, TopicSpec>();
    for (const route of this.routes.routes) {
      if (!route.declaration) continue;
      const { partitions, replicationFactor = 1, ...config } = route.declaration;
      const configEntries = Object.fromEntries(
        Object.entries(config)
          .filter(([, value]) => value !== undefined)
          .map(([key, value]) => [key, String(value)]),
      );
      specs.set(route.topic, { name: route.topic, partitions, replicationFactor, config: configEntries });
      const dlq = route.deadLetterQueue?.topic;
      if (dlq && !specs.has(dlq)) specs.set(dlq, { name: dlq, partitions: 1, replicationFactor });
    }
    return [...specs.values()];
  }

  async plan(): Promise<TopicsPlan> {
    const existing = new Set(await this.withAdmin('list topics', (admin) => admin.listTopics()));
    const declared = this.declared();
    return {
      create: declared.filter((spec) => !existing.has(spec.name)),
      existing: declared.filter((spec) => existing.has(spec.name)).map((spec) => spec.name),
      undeclared: [
        ...new Set(this.routes.routes.filter((route) => !route.declaration).map((route) => route.topic)),
      ],
    };
  }

  /** Creates the declared topics that are missing; returns their names. */
  async createMissing(): Promise<string[]> {
    const { create } = await this.plan();
    if (create.length > 0)
      await this.withAdmin(`create topics ${create.map((spec) => spec.name).join(', ')}`, (admin) =>
        admin.createTopics(create),
      );
    return create.map((spec) => spec.name);
  }

  /** Deletes the declared topics that exist; returns their names. */
  async deleteDeclared(): Promise<string[]> {
    const { existing } = await this.plan();
    if (existing.length > 0)
      await this.withAdmin(`delete topics ${existing.join(', ')}`, (admin) => admin.deleteTopics(existing));
    return existing;
  }

  /** A failure is a {@link KarafkaAdminError} naming `operation`, with its troubleshooting hint. */
  private withAdmin<T>(
    operation: string,
    work: (admin: ReturnType<KafkaClientFactory['admin']>) => Promise<T>,
  ): Promise<T> {
    return adminOperation(operation, async () => {
      const admin = this.clients.admin({ clientId: this.options.clientId, kafka: this.options.kafka });
      await admin.connect();
      try {
        return await work(admin);
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    });
  }
}
