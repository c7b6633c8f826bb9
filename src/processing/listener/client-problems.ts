import type { KafkaClientError, TopicPartition } from '../../connection/kafka-client.js';
import type { KarafkaMonitor } from '../../instrumentation/karafka-monitor.js';
import type { EngineLogger } from '../../instrumentation/leveled-logger.js';

/**
 * What went wrong with one listener's client, as health and diagnostics show it: the last error,
 * the subscribed topics the cluster lacks; each problem published as `error.occurred`.
 */
export class ClientProblems {
  private readonly missing = new Set<string>();
  lastError?: string;

  constructor(
    private readonly event: { subscriptionGroup: string; groupId: string },
    private readonly monitor: KarafkaMonitor,
    private readonly logger: EngineLogger,
  ) {}

  get missingTopics(): string[] {
    return [...this.missing];
  }

  /** Partitions were assigned: the client works, and their topics exist. */
  assigned(partitions: TopicPartition[]): void {
    this.lastError = undefined;
    for (const { topic } of partitions) this.missing.delete(topic);
  }

  /** A problem the client lives through; a missing topic is logged once. */
  warning(error: KafkaClientError): void {
    if (error.code === 'UNKNOWN_TOPIC_OR_PARTITION' && error.topic && !this.missing.has(error.topic)) {
      this.missing.add(error.topic);
      this.logger.warn(error.summary);
    }
    this.report(error, false);
  }

  report(error: KafkaClientError, fatal: boolean): void {
    if (fatal || !error.topic) this.lastError = error.summary;
    this.monitor.instrument('error.occurred', {
      ...this.event,
      type: 'connection.client.error',
      error,
      fatal,
      hint: error.hint,
      ...(error.topic ? { topic: error.topic } : {}),
      ...(error.partition !== undefined ? { partition: error.partition } : {}),
    });
  }
}
