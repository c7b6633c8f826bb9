import type {
  Attributes,
  BatchObservableCallback,
  Counter,
  Histogram,
  Meter,
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
  private readonly consumedMessages: Counter;
  private readonly errors: Counter;
  private readonly retries: Counter;
  private readonly deadLetters: Counter;
  private readonly lagGauges: ObservableGauge[];
  private readonly observeLag: BatchObservableCallback;
  private readonly attributes = new Map<string, Attributes>();

  constructor(api: OtelApi, lag: ConsumerLag) {
    const meter = (this.meter = api.metrics.getMeter(INSTRUMENTATION_SCOPE));
    this.duration = meter.createHistogram('messaging.process.duration', {
      unit: 's',
      description: 'Duration of consume() on a batch',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
    this.consumedMessages = meter.createCounter('messaging.client.consumed.messages', {
      unit: '{message}',
      description: 'Messages consume() processed',
    });
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
    this.meter.removeBatchObservableCallback(this.observeLag, this.lagGauges);
  }

  consumed(event: JobDoneEvent): void {
    const attributes = this.partitionAttributes(event);
    this.duration.record(event.durationMs / 1000, attributes);
    this.consumedMessages.add(event.size ?? 0, attributes);
  }

  failed(event: ErrorEvent): void {
    this.errors.add(1, {
      ...(event.topic === undefined || event.groupId === undefined || event.partition === undefined
        ? { 'messaging.system': 'kafka' }
        : this.partitionAttributes(event as PartitionEvent)),
      'error.type': event.error.name,
      'karafka.error.type': event.type,
    });
  }

  retried(event: RetryEvent): void {
    this.retries.add(1, this.partitionAttributes(event));
  }

  deadLettered(event: DeadLetterEvent): void {
    this.deadLetters.add(1, {
      ...this.partitionAttributes(event),
      'karafka.dead_letter_topic': event.deadLetterTopic,
    });
  }

  /** A partition's attributes, built once: they are recorded once per batch. */
  private partitionAttributes({ groupId, topic, partition }: PartitionEvent): Attributes {
    const key = `${groupId}\u0000${topic}\u0000${partition}`;
    let attributes = this.attributes.get(key);
    if (!attributes) {
      attributes = metricAttributes({ operation: 'process', topic, partition, groupId });
      this.attributes.set(key, attributes);
    }
    return attributes;
  }
}
