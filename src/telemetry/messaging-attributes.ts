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
export interface MessagingPlace {
  operation: 'process' | 'send';
  topic?: string;
  partition?: number;
  groupId?: string;
}

/** Where an operation took place, and the messages it covers. */
export interface MessagingScope extends MessagingPlace {
  /** The messages the operation covers. */
  count: number;
  /** The offset of the one message, when it covers one. */
  offset?: number;
}

/** Span and metric attributes of one operation. */
export function messagingAttributes(naming: MessagingNaming, scope: MessagingScope): Attributes {
  return { ...placeAttributes(naming, scope), ...countAttributes(naming, scope.count, scope.offset) };
}

/** The attributes of where an operation took place: the same for every batch of a partition. */
export function placeAttributes(naming: MessagingNaming, place: MessagingPlace): Attributes {
  const { operation, topic, partition, groupId } = place;
  const attributes: Attributes = {
    'messaging.system': 'kafka',
    'messaging.operation.type': operation,
    'messaging.operation.name': operation,
  };
  if (topic !== undefined) attributes['messaging.destination.name'] = topic;
  if (partition !== undefined) attributes['messaging.destination.partition.id'] = String(partition);
  if (groupId !== undefined) attributes['messaging.consumer.group.name'] = groupId;
  if (naming.old) {
    attributes['messaging.operation'] = operation === 'send' ? 'publish' : operation;
    if (partition !== undefined) attributes['messaging.kafka.destination.partition'] = partition;
    if (groupId !== undefined) attributes['messaging.kafka.consumer.group'] = groupId;
  }
  return attributes;
}

/** The attributes of the messages an operation covers: their count, or the one message's offset. */
export function countAttributes(
  naming: MessagingNaming,
  count: number,
  offset: number | undefined,
): Attributes {
  if (count > 1) return { 'messaging.batch.message_count': count };
  if (count !== 1 || offset === undefined) return {};
  return naming.old
    ? { 'messaging.kafka.offset': offset, 'messaging.kafka.message.offset': offset }
    : { 'messaging.kafka.offset': offset };
}

/** The attributes a metric point carries: the place, without per-message detail. */
export function metricAttributes(place: MessagingPlace): Attributes {
  return placeAttributes({ old: false }, place);
}
