import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { AssignerProtocol, type Admin, type Consumer, type PartitionAssigner, type Producer } from 'kafkajs';
import { KafkajsClientFactory } from '../../src/connection/kafkajs/kafkajs-client-factory.js';
import { subscriptionAwareRoundRobin } from '../../src/connection/kafkajs/subscription-aware-assigner.js';
import { brokers, kafkaLibs, uniqueName } from '../support/kafka/connection.mjs';
import { createTopic, testKafka } from '../support/kafka-topics.js';
import type { ConformanceHarness, Undo } from './harness.js';

const run = promisify(execFile);
const JAVA_PRODUCER = new URL('../support/java/CompressedProducer.java', import.meta.url).pathname;

/** The broker harness's jars (the Java client and its codecs), when it fetched them: else the compressed cases skip. */
function javaLibs(): string | undefined {
  try {
    return kafkaLibs();
  } catch {
    return undefined;
  }
}

/**
 * An assignment protocol no driver speaks: a member using it makes every other join of its
 * group fail with INCONSISTENT_GROUP_PROTOCOL. It gives the leader all partitions.
 */
const foreignProtocol: PartitionAssigner = () => ({
  name: 'conformance-foreign',
  version: 0,
  protocol: ({ topics }) => ({
    name: 'conformance-foreign',
    metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
  }),
  async assign({ members, topics }) {
    return members.map(({ memberId }, i) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({
        version: 0,
        assignment: i === 0 ? Object.fromEntries(topics.map((topic) => [topic, [0]])) : {},
        userData: Buffer.alloc(0),
      }),
    }));
  },
});

/**
 * A member of the group, outside the driver under test, on a private one-partition topic with
 * one message; it settles once it holds that message in eachBatch (`blockUntil` decides how long).
 */
async function outsideMember(
  groupId: string,
  partitionAssigners: PartitionAssigner[],
  blockUntil?: Promise<void>,
): Promise<Undo> {
  const topic = uniqueName('conformance-outsider');
  await createTopic(topic, 1);
  const producer = testKafka().producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ value: 'hold' }], acks: -1 });
  await producer.disconnect();
  // No background heartbeat in kafkajs: while eachBatch waits, this member cannot rejoin, and
  // the group's rebalance waits for it (up to its rebalance timeout).
  const consumer: Consumer = testKafka().consumer({
    groupId,
    partitionAssigners,
    sessionTimeout: 45_000,
    rebalanceTimeout: 60_000,
    maxWaitTimeInMs: 100,
  });
  let entered!: () => void;
  const inBatch = new Promise<void>((resolve) => (entered = resolve));
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachBatch: async () => {
      entered();
      await blockUntil;
    },
  });
  await inBatch;
  return { undo: () => consumer.disconnect() };
}

/** The kafkajs driver on the harness broker. */
export function kafkajsHarness(): ConformanceHarness {
  let admin: Admin;
  let producer: Producer;
  const libs = javaLibs();
  return {
    eager: true,
    maxWaitTime: 500,
    timeoutMs: 30_000,
    settleMs: 3_000,
    async beforeAll() {
      admin = testKafka().admin();
      producer = testKafka().producer();
      await Promise.all([admin.connect(), producer.connect()]);
    },
    async afterAll() {
      await Promise.all([admin?.disconnect(), producer?.disconnect()]);
    },
    factory: () => new KafkajsClientFactory(),
    kafka: () => ({ 'bootstrap.servers': brokers() }),
    createTopic: (topic, partitions) => createTopic(topic, partitions),
    async produce(topic, partition, values) {
      await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value, partition })) });
    },
    async groupMembers(groupId) {
      const { groups } = await admin.describeGroups([groupId]);
      return groups.flatMap((group) => group.members.map((member) => member.clientId));
    },
    async moveLogStart(topic, partition, offset) {
      // kafkajs's admin finds the partition leader in its metadata cache only.
      await admin.fetchTopicMetadata({ topics: [topic] });
      await admin.deleteTopicRecords({ topic, partitions: [{ partition, offset: String(offset) }] });
    },
    async produceTransaction(topic, partition, values, outcome) {
      const transactional = testKafka().producer({
        transactionalId: uniqueName('conformance-tx'),
        idempotent: true,
        maxInFlightRequests: 1,
      });
      await transactional.connect();
      try {
        const transaction = await transactional.transaction();
        await transaction.send({ topic, messages: values.map((value) => ({ value, partition })) });
        await (outcome === 'commit' ? transaction.commit() : transaction.abort());
      } finally {
        await transactional.disconnect();
      }
    },
    produceCompressed: libs
      ? async (topic, codec, count) => {
          await run('java', ['-cp', `${libs}/*`, JAVA_PRODUCER, brokers(), topic, codec, String(count)], {
            timeout: 60_000,
          });
        }
      : undefined,
    async holdJoins(groupId) {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      // The driver's own protocol, so the driver's members can join this group at all.
      const outsider = await outsideMember(groupId, [subscriptionAwareRoundRobin], released);
      return {
        async undo() {
          release();
          await outsider.undo();
        },
      };
    },
    conflictingMember: (groupId) => outsideMember(groupId, [foreignProtocol]),
    unreachableKafka: () => ({ 'bootstrap.servers': '127.0.0.1:1' }),
  };
}
