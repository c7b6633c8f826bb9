import type {
  DeadLetterEvent,
  ErrorEvent,
  JobDoneEvent,
  RetryEvent,
} from '../instrumentation/karafka-events.js';
import type { KarafkaMonitor } from '../instrumentation/karafka-monitor.js';

/** Where the engine's figures go: OpenTelemetry's meter, or prom-client's registry. */
export interface FigureSink {
  /** A batch `consume()` returned for. */
  consumed(event: JobDoneEvent): void;
  failed(event: ErrorEvent): void;
  /** A batch is tried again after an error. */
  retried(event: RetryEvent): void;
  deadLettered(event: DeadLetterEvent): void;
}

/** Feeds `sink` from the monitor's events; returns what unsubscribes it. */
export function subscribeFigures(monitor: KarafkaMonitor, sink: FigureSink): () => void {
  const subscriptions = [
    monitor.subscribe('consumer.consumed', (event) => {
      if (event.job === 'consume') sink.consumed(event);
    }),
    monitor.subscribe('error.occurred', (event) => sink.failed(event)),
    monitor.subscribe('consumer.consuming.retry', (event) => sink.retried(event)),
    monitor.subscribe('dead_letter_queue.dispatched', (event) => sink.deadLettered(event)),
  ];
  return () => {
    for (const unsubscribe of subscriptions) unsubscribe();
  };
}
