import { Kafka, type Admin } from 'kafkajs';
import {
  OwnershipUncertainError,
  type ConsumerClient,
  type ConsumerClientHandlers,
  type ConsumerClientSettings,
  type TopicPartition,
  type TopicPartitionOffset,
} from '../kafka-client.js';
import { MISSING_TOPICS_CHECK_MS, missingTopicWarning } from '../missing-topic.js';
import { toKafkaClientError } from './kafkajs-errors.js';
import { installOffsetResetWithoutCommit, onOffsetReset } from './kafkajs-offset-reset.js';
import { KafkajsPartitionGate } from './kafkajs-partition-gate.js';
import { KafkajsSession, type SessionEvents } from './kafkajs-session.js';
import type { KafkajsSettings } from './kafkajs-settings.js';

/** Errors of a commit that mean "this member's generation is stale", not "try again" (kafkajs's names). */
const OWNERSHIP_ERRORS = new Set([
  'REBALANCE_IN_PROGRESS',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'NOT_COORDINATOR_FOR_GROUP',
  'GROUP_COORDINATOR_NOT_AVAILABLE',
  'FENCED_INSTANCE_ID',
]);

/**
 * The contract over kafkajs 2.2.4. kafkajs's own rules differ (pause and seeks survive
 * rebalances, pause throws without a consumer group, out-of-range commits -1/-2, a missing topic
 * fails the whole subscribe, a stop during the first join leaves a member behind): each is
 * handled here, so the engine sees Kafka's terms only.
 */
export class KafkajsConsumerClient implements ConsumerClient {
  private handlers?: ConsumerClientHandlers;
  private session?: KafkajsSession;
  private readonly gate = new KafkajsPartitionGate();
  private admin?: Admin;
  private memberId?: string;
  private missing = new Set<string>();
  private missingTimer?: NodeJS.Timeout;
  private stopping = false;
  private stopped?: Promise<void>;
  private readonly unsubscribeResets: () => void;

  constructor(
    private readonly settings: ConsumerClientSettings,
    private readonly mapped: KafkajsSettings,
  ) {
    installOffsetResetWithoutCommit();
    this.unsubscribeResets = onOffsetReset((reset) => {
      if (reset.groupId === settings.groupId && reset.memberId === this.memberId)
        this.gate.noteReset(reset, reset.from);
    });
  }

  async start(handlers: ConsumerClientHandlers): Promise<void> {
    this.handlers = handlers;
    try {
      await this.open();
    } catch (error) {
      await this.stop();
      throw toKafkaClientError(error, { unknownIsRetriable: true });
    }
  }

  pause(partitions: TopicPartition[]): void {
    for (const partition of partitions) this.gate.pause(partition);
    this.session?.pause(partitions);
  }

  resume(partitions: TopicPartition[]): void {
    for (const partition of partitions) this.gate.resume(partition);
    this.session?.resume(partitions.filter((partition) => this.gate.owns(partition)));
  }

  seek({ topic, partition, offset }: TopicPartitionOffset): void {
    if (!this.gate.owns({ topic, partition })) return;
    this.gate.seek({ topic, partition });
    this.session?.seek({ topic, partition }, offset);
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    const session = this.session;
    if (!session?.joined) throw new OwnershipUncertainError('not a member of the group now');
    // Never a negative offset: Kafka would keep it as the group's position.
    const positive = offsets.filter(({ offset }) => offset >= 0);
    if (positive.length === 0) return;
    try {
      await session.commit(positive);
    } catch (error) {
      const described = toKafkaClientError(error, { unknownIsRetriable: true });
      if (described.code && OWNERSHIP_ERRORS.has(described.code))
        throw new OwnershipUncertainError(`commit refused: ${described.code}`);
      throw described;
    }
  }

  stop(): Promise<void> {
    this.stopping = true;
    this.stopped ??= (async () => {
      clearTimeout(this.missingTimer);
      this.unsubscribeResets();
      const session = this.session;
      this.session = undefined;
      await session?.stop();
      await this.admin?.disconnect().catch(() => undefined);
      this.gate.revokeAll();
    })();
    return this.stopped;
  }

  /** Subscribes to the topics that exist; reports and watches for the others. */
  private async open(): Promise<void> {
    const existing = new Set(await (await this.adminClient()).listTopics());
    if (this.stopping) return;
    const present = this.settings.subscriptions.filter(({ topic }) => existing.has(topic));
    for (const { topic } of this.settings.subscriptions) {
      if (existing.has(topic) || this.missing.has(topic)) continue;
      this.missing.add(topic);
      this.handlers?.warning(missingTopicWarning(topic));
    }
    if (this.missing.size > 0) this.watchMissingTopics();
    if (present.length === 0) return;
    const session = new KafkajsSession(this.settings, this.mapped, this.sessionEvents());
    this.session = session;
    await session.start(present);
  }

  /** A topic that appears is subscribed: kafkajs cannot add one to a running consumer, so the session is replaced. */
  private watchMissingTopics(): void {
    const interval = Number(
      this.settings.kafka['topic.metadata.refresh.interval.ms'] ?? MISSING_TOPICS_CHECK_MS,
    );
    this.missingTimer = setTimeout(async () => {
      if (this.stopping) return;
      try {
        const existing = new Set(await (await this.adminClient()).listTopics());
        const appeared = [...this.missing].filter((topic) => existing.has(topic));
        if (appeared.length === 0 || this.stopping) return this.watchMissingTopics();
        for (const topic of appeared) this.missing.delete(topic);
        const previous = this.session;
        this.session = undefined;
        this.revokeAll();
        await previous?.stop();
        if (!this.stopping) await this.open();
      } catch (error) {
        this.handlers?.warning(toKafkaClientError(error, { unknownIsRetriable: true }));
        if (!this.stopping) this.watchMissingTopics();
      }
    }, interval);
  }

  private async adminClient(): Promise<Admin> {
    if (!this.admin) {
      const kafka = new Kafka({
        clientId: this.settings.clientId,
        ...this.mapped.client,
        ...this.mapped.logging,
      });
      this.admin = kafka.admin();
      await this.admin.connect();
    }
    return this.admin;
  }

  private revokeAll(): void {
    const revoked = this.gate.revokeAll();
    if (revoked.length > 0) this.handlers?.revoked(revoked);
  }

  private sessionEvents(): SessionEvents {
    return {
      polled: () => this.handlers?.polled(),
      joined: (memberId, assignment) => {
        this.memberId = memberId;
        // kafkajs is eager: at every join all of the old assignment is gone, positions included.
        const { revoked, staleSeeks } = this.gate.assign(assignment);
        // kafkajs's own pause set outlives the revoke: a partition comes back paused unless resumed.
        this.session?.resume(assignment);
        if (revoked.length > 0) this.handlers?.revoked(revoked);
        this.handlers?.assigned(assignment);
        if (staleSeeks.length > 0) void this.seekToCommitted(staleSeeks);
      },
      fetched: (partition, stale, highWatermark, messages) => {
        const admission = this.gate.admit(partition, stale);
        if (!admission.deliver) return false;
        this.handlers?.batch({ ...partition, highWatermark, messages, resetFrom: admission.resetFrom });
        return true;
      },
      crashed: (error, willRestart) => {
        this.revokeAll();
        if (willRestart) {
          this.handlers?.warning(toKafkaClientError(error, { unknownIsRetriable: true }));
          return;
        }
        this.handlers?.crashed(toKafkaClientError(error, { unknownIsRetriable: false }));
      },
    };
  }

  /**
   * kafkajs keeps a seek made before a revoke and applies it when the partition comes back
   * (its SeekOffsets survive rebalances): seek such partitions to the group's offset instead.
   */
  private async seekToCommitted(partitions: TopicPartition[]): Promise<void> {
    try {
      const admin = await this.adminClient();
      for (const topic of new Set(partitions.map((p) => p.topic))) {
        const [committed] = await admin.fetchOffsets({ groupId: this.settings.groupId, topics: [topic] });
        const fromBeginning = this.settings.subscriptions.find((s) => s.topic === topic)?.fromBeginning;
        const ends = await admin.fetchTopicOffsets(topic);
        for (const { partition } of partitions.filter((p) => p.topic === topic)) {
          const offset = Number(committed?.partitions.find((p) => p.partition === partition)?.offset ?? -1);
          const end = ends.find((p) => p.partition === partition);
          const target = offset >= 0 ? offset : Number(fromBeginning ? end?.low : end?.high);
          if (!this.stopping && Number.isFinite(target)) this.seek({ topic, partition, offset: target });
        }
      }
    } catch (error) {
      this.handlers?.warning(toKafkaClientError(error, { unknownIsRetriable: true }));
    }
  }
}
