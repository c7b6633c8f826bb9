import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

/**
 * Round robin over the members subscribed to each topic. kafkajs's own round robin assumes every
 * member subscribes to every topic; Karafka's subscription groups (and `--topics` filters) put
 * members with different subscriptions into one group, so each topic is spread only over the
 * members that asked for it. Named like librdkafka's roundrobin, which behaves the same.
 */
export const subscriptionAwareRoundRobin: PartitionAssigner = ({ cluster }) => ({
  name: 'roundrobin',
  version: 0,
  async assign({ members }) {
    const subscribers = new Map<string, string[]>();
    for (const member of members) {
      const metadata = AssignerProtocol.MemberMetadata.decode(member.memberMetadata);
      for (const topic of metadata?.topics ?? []) {
        subscribers.set(topic, [...(subscribers.get(topic) ?? []), member.memberId]);
      }
    }
    // kafkajs hands the leader its own subscription only: the topics come from every member.
    const topics = [...subscribers.keys()].sort();
    await knowPartitionsOf(cluster, topics);
    const assignment: Record<string, Record<string, number[]>> = {};
    for (const member of members) assignment[member.memberId] = {};
    let turn = 0;
    for (const topic of topics) {
      const candidates = subscribers.get(topic)!.sort();
      const partitions = cluster.findTopicPartitionMetadata(topic).map((metadata) => metadata.partitionId);
      for (const partition of partitions.sort((a, b) => a - b)) {
        const memberId = candidates[turn++ % candidates.length];
        (assignment[memberId][topic] ??= []).push(partition);
      }
    }
    return Object.entries(assignment).map(([memberId, memberAssignment]) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({
        version: 0,
        assignment: memberAssignment,
        userData: Buffer.alloc(0),
      }),
    }));
  },
  protocol({ topics }) {
    return {
      name: 'roundrobin',
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
    };
  },
});

type Cluster = Parameters<PartitionAssigner>[0]['cluster'];

/**
 * Brings the other members' topics into the leader's metadata (its own are there already). A topic
 * deleted since a member subscribed is left out: it gets no partitions, the others still do.
 */
async function knowPartitionsOf(cluster: Cluster, topics: string[]): Promise<void> {
  try {
    await cluster.addMultipleTargetTopics(topics);
  } catch {
    for (const topic of topics) await cluster.addTargetTopic(topic).catch(() => undefined);
  }
}
