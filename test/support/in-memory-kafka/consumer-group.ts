import {
  KafkaClientError,
  OwnershipUncertainError,
  type GroupDescription,
  type TopicPartition,
  type TopicPartitionOffset,
} from '../../../src/connection/kafka-client.js';
import type { Timers } from './timers.js';

/** What the group coordinator sees of a member: the in-memory consumer client implements it. */
export interface GroupMemberHandle {
  readonly memberId: string;
  readonly clientId: string;
  readonly topics: readonly string[];
  readonly protocol: string;
  /** A rebalance began: an eager member gives up all it has. */
  rebalanceStarted(): void;
  /** The join completed with this generation and share. */
  joined(generation: number, partitions: TopicPartition[]): void;
  /** The join was refused for good. */
  joinFailed(error: KafkaClientError): void;
}

export const tpKey = ({ topic, partition }: TopicPartition): string => `${topic}/${partition}`;

/**
 * A consumer group on the classic, eager protocol: every membership change revokes everything
 * from everyone, then assigns round robin per topic over the members subscribed to it. Commits
 * carry the member's generation and are refused while a rebalance is under way.
 */
export class InMemoryGroup {
  generation = 0;
  readonly committed = new Map<string, number>();
  private readonly members = new Map<string, GroupMemberHandle>();
  private readonly assignment = new Map<string, TopicPartition[]>();
  private readonly foreign = new Map<string, { clientId: string; protocol: string }>();
  private rebalancing = false;
  private scheduled?: () => void;
  private holds = 0;

  constructor(
    readonly groupId: string,
    private readonly partitionCount: (topic: string) => number | undefined,
    private readonly timers: Timers,
  ) {}

  join(member: GroupMemberHandle): void {
    const other = [...this.foreign.values()].find(({ protocol }) => protocol !== member.protocol);
    if (other) {
      this.timers.soon(() =>
        member.joinFailed(
          new KafkaClientError(
            `The group member's supported protocols are incompatible with those of existing members (group ${this.groupId})`,
            {
              retriable: false,
              code: 'INCONSISTENT_GROUP_PROTOCOL',
              hint: `another member of group "${this.groupId}" (client "${other.clientId}") uses the assignment protocol "${other.protocol}": give this consumer its own groupId`,
            },
          ),
        ),
      );
      return;
    }
    this.members.set(member.memberId, member);
    this.requestRebalance();
  }

  leave(memberId: string): void {
    if (!this.members.delete(memberId)) return;
    this.assignment.delete(memberId);
    this.requestRebalance();
  }

  /** A subscribed topic appeared or grew: the leader notices and the group rebalances. */
  topicChanged(topic: string): void {
    if ([...this.members.values()].some((m) => m.topics.includes(topic))) this.requestRebalance();
  }

  /** Keeps the next rebalance from completing (members stay in the join) until released. */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      if (this.holds === 0 && this.rebalancing) this.requestRebalance();
    };
  }

  /** A member of another client library, speaking another assignment protocol. */
  addForeignMember(clientId: string, protocol: string): () => void {
    const memberId = `${clientId}-foreign-${this.foreign.size}`;
    this.foreign.set(memberId, { clientId, protocol });
    return () => this.foreign.delete(memberId);
  }

  commit(memberId: string, generation: number, offsets: TopicPartitionOffset[]): void {
    if (this.rebalancing || !this.members.has(memberId) || generation !== this.generation) {
      throw new OwnershipUncertainError(
        `commit refused for group ${this.groupId}: ${
          this.rebalancing ? 'the group is rebalancing' : `generation ${generation} is stale`
        }`,
      );
    }
    for (const offset of offsets) this.committed.set(tpKey(offset), offset.offset);
  }

  committedOffset(tp: TopicPartition): number | undefined {
    return this.committed.get(tpKey(tp));
  }

  get active(): boolean {
    return this.members.size > 0;
  }

  describe(): GroupDescription {
    const ours = [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      clientId: m.clientId,
      host: '/127.0.0.1',
      assignment: this.assignment.get(m.memberId) ?? [],
    }));
    const theirs = [...this.foreign].map(([memberId, { clientId }]) => ({
      memberId,
      clientId,
      host: '/127.0.0.1',
      assignment: [],
    }));
    const members = [...ours, ...theirs];
    const state = members.length === 0 ? 'Empty' : this.rebalancing ? 'PreparingRebalance' : 'Stable';
    return { groupId: this.groupId, state, members };
  }

  private requestRebalance(): void {
    this.rebalancing = true;
    this.scheduled ??= this.timers.soon(() => this.rebalance());
  }

  private rebalance(): void {
    this.scheduled = undefined;
    this.assignment.clear();
    for (const member of [...this.members.values()]) member.rebalanceStarted();
    if (this.holds > 0) return;
    this.generation++;
    this.rebalancing = false;
    this.assign();
    for (const member of [...this.members.values()]) {
      if (this.members.get(member.memberId) !== member) continue;
      member.joined(this.generation, this.assignment.get(member.memberId) ?? []);
    }
  }

  private assign(): void {
    const members = [...this.members.values()];
    for (const member of members) this.assignment.set(member.memberId, []);
    const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
    for (const topic of topics) {
      const count = this.partitionCount(topic);
      const subscribers = members.filter((m) => m.topics.includes(topic));
      if (count === undefined || subscribers.length === 0) continue;
      for (let partition = 0; partition < count; partition++) {
        this.assignment.get(subscribers[partition % subscribers.length].memberId)!.push({ topic, partition });
      }
    }
  }
}
