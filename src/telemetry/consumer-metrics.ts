import type {
  Attributes,
  BatchObservableCallback,
  Counter,
  Histogram,
  Meter,
  ObservableCallback,
  ObservableCounter,
  ObservableGauge,
} from '@opentelemetry/api';
import type {
  DeadLetterEvent,
  ErrorEvent,
  JobDoneEvent,
  PartitionEvent,
  RetryEvent,
} from '../instrumentation/karafka-events.js';
import type { FigureSink } from './consumer-figures.js';
import type { ConsumerLag } from './consumer-lag.js';
import { metricAttributes } from './messaging-attributes.js';
import { INSTRUMENTATION_SCOPE, type OtelApi } from './opentelemetry-api.js';

/** The semantic conventions' buckets for `messaging.process.duration`, in seconds. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/**
 * The consumer's figures as OpenTelemetry metrics: `messaging.process.duration` (s),
 * `messaging.client.consumed.messages`, `messaging.karafka.errors`, `messaging.karafka.retries`,
 * `messaging.karafka.dead_letters`, and per partition the gauges `messaging.kafka.consumer.lag`
 * (messages) and `messaging.kafka.consumer.time_lag` (s).
 */
export class ConsumerMetrics implements FigureSink {
  private readonly meter: Meter;
  private readonly duration: Histogram;
  private readonly consumedMessages: ObservableCounter;
  private readonly observeConsumed: ObservableCallback;
  private readonly errors: Counter;
  private readonly retries: Counter;
  private readonly deadLetters: Counter;
  private readonly lagGauges: ObservableGauge[];
  private readonly observeLag: BatchObservableCallback;
  /** Per partition: its attributes, built once, and the messages consumed there, read at collection. */
  private readonly partitions = new Map<string, { attributes: Attributes; consumed: number }>();

  constructor(api: OtelApi, lag: ConsumerLag) {
    const meter = (this.meter = api.metrics.getMeter(INSTRUMENTATION_SCOPE));
    this.duration = meter.createHistogram('messaging.process.duration', {
      unit: 's',
      description: 'Duration of consume() on a batch',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
    // Observed from the partitions' totals at collection: one SDK record per batch (the duration), not two.
    this.consumedMessages = meter.createObservableCounter('messaging.client.consumed.messages', {
      unit: '{message}',
      description: 'Messages consume() processed',
    });
    this.observeConsumed = (result) => {
      for (const { attributes, consumed } of this.partitions.values()) result.observe(consumed, attributes);
    };
    this.consumedMessages.addCallback(this.observeConsumed);
    this.errors = meter.createCounter('messaging.karafka.errors', {
      unit: '{error}',
      description: "Errors the engine reported (error.occurred), by Karafka's error type",
    });
    this.retries = meter.createCounter('messaging.karafka.retries', {
      unit: '{retry}',
      description: 'Batches tried again after an error',
    });
    this.deadLetters = meter.createCounter('messaging.karafka.dead_letters', {
      unit: '{message}',
      description: 'Messages sent to a dead letter queue',
    });
    const messages = meter.createObservableGauge('messaging.kafka.consumer.lag', {
      unit: '{message}',
      description: 'Messages produced and not yet committed by the consumer group, per partition',
    });
    const seconds = meter.createObservableGauge('messaging.kafka.consumer.time_lag', {
      unit: 's',
      description: 'While messages wait, the age of the last message processed, per partition',
    });
    this.lagGauges = [messages, seconds];
    this.observeLag = async (observer) => {
      for (const figure of await lag.read()) {
        const attributes = metricAttributes({
          operation: 'process',
          topic: figure.topic,
          partition: figure.partition,
          groupId: figure.groupId,
        });
        observer.observe(messages, figure.lag, attributes);
        if (figure.timeLagSeconds !== undefined) observer.observe(seconds, figure.timeLagSeconds, attributes);
      }
    };
    meter.addBatchObservableCallback(this.observeLag, this.lagGauges);
  }

  close(): void {
    this.consumedMessages.removeCallback(this.observeConsumed);
    this.meter.removeBatchObservableCallback(this.observeLag, this.lagGauges);
  }

  consumed(event: JobDoneEvent): void {
    const partition = this.partition(event);
    this.duration.record(event.durationMs / 1000, partition.attributes);
    partition.consumed += event.size ?? 0;
  }

  failed(event: ErrorEvent): void {
    this.errors.add(1, {
      ...(event.topic === undefined || event.groupId === undefined || event.partition === undefined
        ? { 'messaging.system': 'kafka' }
        : this.partition(event as PartitionEvent).attributes),
      'error.type': event.error.name,
      'karafka.error.type': event.type,
    });
  }

  retried(event: RetryEvent): void {
    this.retries.add(1, this.partition(event).attributes);
  }

  deadLettered(event: DeadLetterEvent): void {
    this.deadLetters.add(1, {
      ...this.partition(event).attributes,
      'karafka.dead_letter_topic': event.deadLetterTopic,
    });
  }

  private partition({ groupId, topic, partition }: PartitionEvent): {
    attributes: Attributes;
    consumed: number;
  } {
    const key = `${groupId}\u0000${topic}\u0000${partition}`;
    let entry = this.partitions.get(key);
    if (!entry) {
      entry = {
        attributes: metricAttributes({ operation: 'process', topic, partition, groupId }),
        consumed: 0,
      };
      this.partitions.set(key, entry);
    }
    return entry;
  }
}
