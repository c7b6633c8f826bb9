import type {
  KafkaClientFactory,
  KafkaSettings,
  ProducerClient,
  TopicPartition,
} from '../connection/kafka-client.js';
import { LazyConnection } from '../connection/lazy-connection.js';

/**
 * The transactional id of a consumer's transactions on one partition: `transactional.id` (else
 * 'karafka'), the group, the topic and the partition. One per input partition, stable across
 * processes, so the next owner's producer fences the previous owner's (Kafka's rule before
 * KIP-447, the one kafkajs's `sendOffsets` needs: it sends no group generation).
 */
export function partitionTransactionalId(kafka: KafkaSettings, groupId: string, tp: TopicPartition): string {
  return `${String(kafka['transactional.id'] ?? 'karafka')}-${groupId}-${tp.topic}-${tp.partition}`;
}

/** Builds the engine's transactional producers, one per partition that runs a consumer transaction. */
export class PartitionProducers {
  constructor(
    private readonly clients: KafkaClientFactory,
    private readonly clientId: string,
  ) {}

  /** Connects on first use; the partition closes it when it is lost or the engine stops. */
  forPartition(kafka: KafkaSettings, groupId: string, tp: TopicPartition): LazyConnection<ProducerClient> {
    const transactionalId = partitionTransactionalId(kafka, groupId, tp);
    return new LazyConnection(() =>
      this.clients.producer({ clientId: this.clientId, kafka, transactionalId }),
    );
  }
}
