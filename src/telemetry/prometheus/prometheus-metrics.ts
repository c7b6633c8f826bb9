import type * as PromClient from 'prom-client';
import type {
  DeadLetterEvent,
  ErrorEvent,
  JobDoneEvent,
  RetryEvent,
} from '../../instrumentation/karafka-events.js';
import type { FigureSink } from '../consumer-figures.js';
import type { ConsumerLag, ConsumerLagFigure } from '../consumer-lag.js';

export type PromClientModule = typeof PromClient;

const PARTITION_LABELS = ['consumergroup', 'topic', 'partition'] as const;

/**
 * The consumer's figures in a prom-client registry. Lag under the names kafka-exporter gives
 * them (`kafka_consumergroup_lag`, `kafka_consumergroup_current_offset`,
 * `kafka_consumergroup_lag_sum`, `kafka_topic_partition_current_offset`), read from the broker at
 * each scrape; the rest as `karafka_*`.
 */
export class PrometheusMetrics implements FigureSink {
  private readonly consumedMessages: PromClient.Counter<(typeof PARTITION_LABELS)[number]>;
  private readonly duration: PromClient.Histogram<'consumergroup' | 'topic'>;
  private readonly errors: PromClient.Counter<'type'>;
  private readonly retries: PromClient.Counter<(typeof PARTITION_LABELS)[number]>;
  private readonly deadLetters: PromClient.Counter<'consumergroup' | 'topic' | 'dead_letter_topic'>;
  private readonly names: string[] = [];

  constructor(
    client: PromClientModule,
    private readonly registry: PromClient.Registry,
    lag: ConsumerLag,
  ) {
    const registers = [registry];
    const spec = <L extends string>(name: string, help: string, labelNames: readonly L[]) => {
      // One app's figures per registry: a later module (an app built again in tests) takes the names over.
      registry.removeSingleMetric(name);
      this.names.push(name);
      return { name, help, labelNames, registers };
    };
    this.consumedMessages = new client.Counter({
      ...spec('karafka_consumer_messages_total', 'Messages consume() processed', PARTITION_LABELS),
    });
    this.duration = new client.Histogram({
      ...spec('karafka_consumer_process_duration_seconds', 'Duration of consume() on a batch', [
        'consumergroup',
        'topic',
      ]),
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    this.errors = new client.Counter({
      ...spec(
        'karafka_errors_total',
        "Errors the engine reported (error.occurred), by Karafka's error type",
        ['type'],
      ),
    });
    this.retries = new client.Counter({
      ...spec('karafka_consumer_retries_total', 'Batches tried again after an error', PARTITION_LABELS),
    });
    this.deadLetters = new client.Counter({
      ...spec('karafka_dead_letter_messages_total', 'Messages sent to a dead letter queue', [
        'consumergroup',
        'topic',
        'dead_letter_topic',
      ]),
    });
    const lagGauge = <L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[],
      fill: (gauge: PromClient.Gauge<L>, figures: ConsumerLagFigure[]) => void,
    ) =>
      new client.Gauge<L>({
        ...spec(name, help, labelNames),
        async collect() {
          const figures = await lag.read();
          this.reset();
          fill(this, figures);
        },
      });
    const labels = (figure: ConsumerLagFigure) => ({
      consumergroup: figure.groupId,
      topic: figure.topic,
      partition: String(figure.partition),
    });
    lagGauge(
      'kafka_consumergroup_lag',
      'Messages produced and not committed by the group',
      PARTITION_LABELS,
      (gauge, figures) => {
        for (const figure of figures) gauge.set(labels(figure), figure.lag);
      },
    );
    lagGauge(
      'kafka_consumergroup_current_offset',
      'Committed offset of the group',
      PARTITION_LABELS,
      (gauge, figures) => {
        for (const figure of figures) gauge.set(labels(figure), figure.committed);
      },
    );
    lagGauge(
      'kafka_consumergroup_lag_sum',
      'Lag of the group over the partitions of a topic',
      ['consumergroup', 'topic'],
      (gauge, figures) => {
        for (const figure of figures)
          gauge.inc({ consumergroup: figure.groupId, topic: figure.topic }, figure.lag);
      },
    );
    lagGauge(
      'kafka_topic_partition_current_offset',
      'High watermark of the partition',
      ['topic', 'partition'],
      (gauge, figures) => {
        for (const figure of figures)
          gauge.set({ topic: figure.topic, partition: String(figure.partition) }, figure.highWatermark);
      },
    );
    lagGauge(
      'karafka_consumergroup_time_lag_seconds',
      'While messages wait, the age of the last message processed',
      PARTITION_LABELS,
      (gauge, figures) => {
        for (const figure of figures)
          if (figure.timeLagSeconds !== undefined) gauge.set(labels(figure), figure.timeLagSeconds);
      },
    );
  }

  /** Takes the figures out of the registry: another app in this process may register them again. */
  close(): void {
    for (const name of this.names) this.registry.removeSingleMetric(name);
  }

  consumed(event: JobDoneEvent): void {
    this.consumedMessages.inc(partitionLabels(event), event.size ?? 0);
    this.duration.observe({ consumergroup: event.groupId, topic: event.topic }, event.durationMs / 1000);
  }

  failed(event: ErrorEvent): void {
    this.errors.inc({ type: event.type });
  }

  retried(event: RetryEvent): void {
    this.retries.inc(partitionLabels(event));
  }

  deadLettered(event: DeadLetterEvent): void {
    this.deadLetters.inc({
      consumergroup: event.groupId,
      topic: event.topic,
      dead_letter_topic: event.deadLetterTopic,
    });
  }
}

function partitionLabels(event: { groupId: string; topic: string; partition: number }) {
  return { consumergroup: event.groupId, topic: event.topic, partition: String(event.partition) };
}
