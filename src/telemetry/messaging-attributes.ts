import type { Attributes } from '@opentelemetry/api';

/**
 * The OpenTelemetry messaging semantic conventions, as this package writes them. It emits the
 * current attribute names. `OTEL_SEMCONV_STABILITY_OPT_IN=messaging/dup` adds the names they
 * replaced (semantic conventions v1.24 and before, still charted by dashboards built on older
 * Kafka instrumentations); `messaging` alone keeps the current names only, the default.
 */
export interface MessagingNaming {
  /** Also write the pre-v1.26 names (`messaging.operation`, `messaging.kafka.destination.partition`, ...). */
  old: boolean;
}

export function messagingNaming(optIn = process.env.OTEL_SEMCONV_STABILITY_OPT_IN): MessagingNaming {
  const values = (optIn ?? '').split(',').map((value) => value.trim());
  return { old: values.includes('messaging/dup') };
}

/** Where a consumer or producer operation took place. */
export interface MessagingScope {
  operation: 'process' | 'send';
  topic?: string;
  partition?: number;
  groupId?: string;
  /** The messages the operation covers. */
  count: number;
  /** The offset of the one message, when it covers one. */
  offset?: number;
}

/** Span and metric attributes of one operation. */
export function messagingAttributes(naming: MessagingNaming, scope: MessagingScope): Attributes {
  const { operation, topic, partition, groupId, count, offset } = scope;
  const attributes: Attributes = {
    'messaging.system': 'kafka',
    'messaging.operation.type': operation,
    'messaging.operation.name': operation,
  };
  if (topic !== undefined) attributes['messaging.destination.name'] = topic;
  if (partition !== undefined) attributes['messaging.destination.partition.id'] = String(partition);
  if (groupId !== undefined) attributes['messaging.consumer.group.name'] = groupId;
  if (count > 1) attributes['messaging.batch.message_count'] = count;
  if (count === 1 && offset !== undefined) attributes['messaging.kafka.offset'] = offset;
  if (naming.old) {
    attributes['messaging.operation'] = operation === 'send' ? 'publish' : operation;
    if (partition !== undefined) attributes['messaging.kafka.destination.partition'] = partition;
    if (groupId !== undefined) attributes['messaging.kafka.consumer.group'] = groupId;
    if (count === 1 && offset !== undefined) attributes['messaging.kafka.message.offset'] = offset;
  }
  return attributes;
}

/** The attributes a metric point carries: the scope without per-message detail. */
export function metricAttributes(scope: Omit<MessagingScope, 'count' | 'offset'>): Attributes {
  return messagingAttributes({ old: false }, { ...scope, count: 0 });
}
