import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KarafkaConfigError } from '../../src/config/karafka-config.error.js';
import {
  KafkaClientError,
  OwnershipUncertainError,
  type ConsumerSubscription,
  type KafkaSettings,
  type TopicPartition,
} from '../../src/connection/kafka-client.js';
import { uniqueName } from '../support/kafka/connection.mjs';
import { waitFor } from '../support/wait-for.js';
import { CODECS, type ConformanceHarness } from './harness.js';
import { Member } from './member.js';

interface MemberOptions {
  groupId?: string;
  fromBeginning?: boolean;
  kafka?: KafkaSettings;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const values = (prefix: string, count: number) => range(0, count).map((i) => `${prefix}${i}`);
const sorted = (tps: TopicPartition[]) => tps.map((tp) => `${tp.topic}/${tp.partition}`).sort();

/**
 * The Kafka client contract (src/connection/kafka-client.ts), one case per rule, run against a
 * driver through its harness. A case the harness cannot set up is skipped, and says why.
 */
export function describeConsumerClientContract(driver: string, harness: ConformanceHarness): void {
  const test = (title: string, body: () => Promise<void>) =>
    it(title, { timeout: harness.timeoutMs * 4 }, body);
  const needs = (capability: keyof ConformanceHarness, title: string, body: () => Promise<void>) => {
    const gap = harness.knownGaps?.[title];
    if (gap) it.skip(`${title} (known gap of ${driver}: ${gap})`, body);
    else if (harness[capability]) test(title, body);
    else it.skip(`${title} (skipped: the ${driver} harness has no ${capability})`, body);
  };

  describe(`Kafka client contract: ${driver}`, () => {
    let group: string;
    let members: Member[] = [];

    const topic = async (partitions = 1) => {
      const name = uniqueName('conformance');
      await harness.createTopic(name, partitions);
      return name;
    };

    const newMember = (topics: (string | ConsumerSubscription)[], options: MemberOptions = {}) => {
      const clientId = uniqueName('conformance-client');
      const client = harness.factory().consumer({
        groupId: options.groupId ?? group,
        clientId,
        subscriptions: topics.map((t) =>
          typeof t === 'string' ? { topic: t, fromBeginning: options.fromBeginning ?? true } : t,
        ),
        maxWaitTime: harness.maxWaitTime,
        kafka: { ...harness.kafka(), ...options.kafka },
      });
      const member = new Member(client, clientId, harness.eager, harness.timeoutMs);
      members.push(member);
      return member;
    };

    /** A started member, once it has its first assignment. */
    const joined = async (topics: (string | ConsumerSubscription)[], options: MemberOptions = {}) => {
      const member = newMember(topics, options);
      await member.client.start(member);
      await member.until(() => member.lastAssignedAt() >= 0, 'a first assignment');
      return member;
    };

    const membersOf = async (member: Member) =>
      (await harness.groupMembers(group)).filter((clientId) => clientId === member.clientId);

    /** Stopped, twice, and then watched: no callback, no late join. */
    const expectGone = async (member: Member) => {
      await member.stop();
      await member.stop();
      if (harness.liveTimers) expect(harness.liveTimers(member.client), 'timers left').toBe(0);
      await sleep(harness.settleMs);
      expect(await membersOf(member)).toEqual([]);
      expect(member.violations).toEqual([]);
    };

    beforeAll(async () => harness.beforeAll?.());
    afterAll(async () => harness.afterAll?.());
    beforeEach(async () => {
      await harness.beforeEach?.();
      group = uniqueName('conformance-group');
      members = [];
    });
    afterEach(async () => {
      const all = members;
      await Promise.all(all.map((m) => m.stop()));
      for (const member of all) {
        expect(member.violations, member.clientId).toEqual([]);
        if (harness.liveTimers)
          expect(harness.liveTimers(member.client), `${member.clientId}: timers left`).toBe(0);
      }
    });

    test('declares the kafka keys it honours and validates by them', async () => {
      const factory = harness.factory();
      expect(factory.name).toMatch(/^\S+$/);
      const keys = Object.entries(factory.kafkaKeys);
      expect(keys.length).toBeGreaterThan(0);
      for (const [, kind] of keys) expect(['string', 'number', 'boolean', 'secret']).toContain(kind);
      expect(factory.kafkaKeys['bootstrap.servers']).toBe('string');
      expect(() => factory.validate(harness.kafka(), 'kafka')).not.toThrow();
      expect(() => factory.validate({ 'no.such.setting': 1 }, 'kafka')).toThrow(KarafkaConfigError);
      expect(() => factory.validate({ 'no.such.setting': 1 }, 'kafka')).toThrow(/no\.such\.setting/);
    });

    test('assigns each partition to one member; a rebalance revokes, then assigns, and ends with assigned', async () => {
      const t = await topic(4);
      const a = await joined([t]);
      await a.until(() => a.held.size === 4, 'all 4 partitions');
      const b = newMember([t]);
      await b.client.start(b);
      const settled = () =>
        a.held.size + b.held.size === 4 &&
        a.held.size > 0 &&
        b.held.size > 0 &&
        a.rebalanceEvents.length >= 3;
      await a.until(settled, 'the partitions shared by two members');
      expect(sorted([...a.held.values(), ...b.held.values()])).toEqual(
        sorted(range(0, 4).map((partition) => ({ topic: t, partition }))),
      );
      await b.stop();
      await a.until(() => a.held.size === 4, 'all 4 partitions back');
      const kinds = a.rebalanceEvents.map((e) => e.type);
      expect(kinds[0]).toBe('assigned');
      expect(kinds.at(-1)).toBe('assigned');
      // Eager: every revoke is followed by an assignment before the next revoke.
      kinds.forEach((kind, i) => kind === 'revoked' && expect(kinds[i + 1]).toBe('assigned'));
    });

    test('delivers in order, in batches never empty, from the committed offset of the group', async () => {
      const t = await topic(1);
      await harness.produce(t, 0, values('v', 10));
      const a = await joined([t]);
      await a.until(() => a.offsets(t, 0).length === 10, '10 messages');
      expect(a.values(t, 0)).toEqual(values('v', 10));
      expect(a.offsets(t, 0)).toEqual(range(0, 10));
      expect(a.batches(t, 0)[0].highWatermark).toBe(10);
      await a.commit([{ topic: t, partition: 0, offset: 6 }]);
      await a.stop();
      const b = await joined([t]);
      await b.until(() => b.offsets(t, 0).includes(9), 'offset 9');
      expect(b.offsets(t, 0)).toEqual([6, 7, 8, 9]);
    });

    test('polls on every turn, idle or with every partition paused; a pause holds until resume', async () => {
      const t = await topic(2);
      const a = await joined([t]);
      await a.until(() => a.held.size === 2, 'both partitions');
      await a.turns(2);
      a.pause([{ topic: t, partition: 0 }]);
      await harness.produce(t, 0, values('p', 5));
      await harness.produce(t, 1, values('q', 5));
      await a.until(() => a.offsets(t, 1).length === 5, 'the unpaused partition');
      await a.turns(3);
      a.pause([{ topic: t, partition: 1 }]);
      await a.turns(3);
      expect(a.offsets(t, 0)).toEqual([]);
      a.resume([{ topic: t, partition: 0 }]);
      await a.until(() => a.offsets(t, 0).length === 5, 'the resumed partition');
      expect(a.values(t, 0)).toEqual(values('p', 5));
    });

    test('a partition revoked while paused and assigned back to the same member is delivered again', async () => {
      const [t, other] = [await topic(1), await topic(1)];
      const a = await joined([t]);
      a.pause([{ topic: t, partition: 0 }]);
      await harness.produce(t, 0, values('v', 3));
      await a.turns(2);
      expect(a.offsets(t, 0)).toEqual([]);
      // A member of another topic joins: a rebalance that gives `t` back to `a`, unpaused.
      const b = await joined([other]);
      await a.until(() => a.rebalanceEvents.length >= 3 && a.held.size === 1, 'the partition back');
      await a.until(() => a.offsets(t, 0).length === 3, 'the messages without a resume');
      expect(a.values(t, 0)).toEqual(values('v', 3));
      await b.stop();
    });

    test('after a seek nothing older is delivered, and data fetched before it never arrives', async () => {
      const t = await topic(2);
      await harness.produce(t, 0, values('v', 30));
      await harness.produce(t, 1, values('w', 30));
      const a = newMember([t]);
      let seekAt = -1;
      // Seeks both partitions in the first batch: the other one may have data in flight.
      a.onBatch = () => {
        if (seekAt >= 0) return;
        seekAt = a.events.length;
        a.seek({ topic: t, partition: 0, offset: 20 });
        a.seek({ topic: t, partition: 1, offset: 25 });
      };
      await a.client.start(a);
      const after = (partition: number) => (seekAt >= 0 ? a.offsets(t, partition, seekAt) : []);
      await a.until(
        () => after(0).includes(29) && after(1).includes(29),
        'offset 29 of both after the seeks',
      );
      expect(after(0)).toEqual(range(20, 30));
      expect(after(1)).toEqual(range(25, 30));
      const replayAt = a.events.length;
      a.seek({ topic: t, partition: 0, offset: 5 });
      await a.until(() => a.offsets(t, 0, replayAt).includes(29), 'the replay');
      expect(a.offsets(t, 0, replayAt)).toEqual(range(5, 30));
    });

    test('a seek pending when its partition is revoked is not applied when it is assigned again', async () => {
      const [t, other] = [await topic(1), await topic(1)];
      await harness.produce(t, 0, values('v', 10));
      const a = await joined([t]);
      await a.until(() => a.offsets(t, 0).length === 10, '10 messages');
      await a.commit([{ topic: t, partition: 0, offset: 4 }]);
      a.pause([{ topic: t, partition: 0 }]);
      a.seek({ topic: t, partition: 0, offset: 8 });
      const b = newMember([other]);
      await b.client.start(b);
      await a.until(() => a.rebalanceEvents.length >= 3 && a.held.size === 1, 'the partition back');
      const since = a.lastAssignedAt();
      await a.until(() => a.offsets(t, 0, since).includes(9), 'offset 9 again');
      expect(a.offsets(t, 0, since)).toEqual(range(4, 10));
    });

    needs(
      'moveLogStart',
      'a seek below the log start resets once to the earliest offset, says resetFrom, and does not loop',
      async () => {
        const t = await topic(1);
        await harness.produce(t, 0, values('v', 10));
        await harness.moveLogStart!(t, 0, 6);
        const a = await joined([t]);
        await a.until(() => a.offsets(t, 0).includes(9), 'offset 9');
        expect(a.offsets(t, 0)).toEqual([6, 7, 8, 9]);
        const since = a.events.length;
        a.seek({ topic: t, partition: 0, offset: 0 });
        await a.until(() => a.offsets(t, 0, since).includes(9), 'offset 9 after the reset');
        await a.turns(3);
        const [first] = a.batches(t, 0, since);
        expect(first.resetFrom).toBe(0);
        expect(first.messages[0].offset).toBe(6);
        expect(a.offsets(t, 0, since)).toEqual([6, 7, 8, 9]);
        await harness.produce(t, 0, values('w', 2));
        await a.until(() => a.offsets(t, 0, since).includes(11), 'new messages');
        expect(a.offsets(t, 0, since)).toEqual([6, 7, 8, 9, 10, 11]);
        expect(a.batches(t, 0, since).filter((b) => b.resetFrom !== undefined)).toHaveLength(1);
      },
    );

    test('a seek past the end resets once to the latest offset when not from the beginning, and says resetFrom', async () => {
      const t = await topic(1);
      await harness.produce(t, 0, values('old', 5));
      const a = await joined([t], { fromBeginning: false });
      await a.turns(2);
      expect(a.offsets(t, 0)).toEqual([]);
      a.seek({ topic: t, partition: 0, offset: 1_000 });
      await a.turns(3);
      await harness.produce(t, 0, values('new', 3));
      await a.until(() => a.offsets(t, 0).includes(7), 'the new messages');
      expect(a.values(t, 0)).toEqual(values('new', 3));
      const batches = a.batches(t, 0);
      expect(batches[0].resetFrom).toBe(1_000);
      expect(batches.slice(1).every((b) => b.resetFrom === undefined)).toBe(true);
    });

    needs('compact', 'compaction gaps are delivered as they are, with no reset', async () => {
      const t = await topic(1);
      await harness.produce(t, 0, values('v', 10));
      await harness.compact!(t, 0, [2, 3, 7]);
      const a = await joined([t]);
      await a.until(() => a.offsets(t, 0).includes(9), 'offset 9');
      expect(a.offsets(t, 0)).toEqual([0, 1, 4, 5, 6, 8, 9]);
      const since = a.events.length;
      a.seek({ topic: t, partition: 0, offset: 2 });
      await a.until(() => a.offsets(t, 0, since).includes(9), 'offset 9 after a seek into the gap');
      expect(a.offsets(t, 0, since)).toEqual([4, 5, 6, 8, 9]);
      expect(a.batches(t, 0).every((b) => b.resetFrom === undefined)).toBe(true);
    });

    needs(
      'produceTransaction',
      'transaction markers and aborted records are gaps the client reads past',
      async () => {
        const t = await topic(1);
        await harness.produceTransaction!(t, 0, ['a', 'b', 'c'], 'commit');
        await harness.produce(t, 0, ['d', 'e']);
        await harness.produceTransaction!(t, 0, ['x', 'y'], 'abort');
        await harness.produce(t, 0, ['f']);
        await harness.produceTransaction!(t, 0, ['g'], 'commit');
        const a = await joined([t]);
        await a.until(() => a.values(t, 0).includes('g'), 'the last committed record');
        expect(a.values(t, 0)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
        const offsets = a.offsets(t, 0);
        expect(offsets.at(-1)).toBeGreaterThan(offsets.length - 1);
        const aborted = offsets[4] + 1;
        const since = a.events.length;
        a.seek({ topic: t, partition: 0, offset: aborted });
        await a.until(() => a.values(t, 0, since).includes('g'), 'the records after the aborted ones');
        expect(a.values(t, 0, since)).toEqual(['f', 'g']);
        expect(a.batches(t, 0).every((b) => b.resetFrom === undefined)).toBe(true);
      },
    );

    for (const codec of CODECS) {
      needs('produceCompressed', `decodes ${codec} batches written by another client`, async () => {
        const t = await topic(1);
        await harness.produceCompressed!(t, codec, 50);
        const a = await joined([t]);
        await a.until(() => a.offsets(t, 0).length >= 50, '50 messages');
        expect(a.values(t, 0)).toEqual(values(`${codec}-`, 50));
        expect(a.messages(t, 0).some((m) => m.undecodable)).toBe(false);
      });
    }

    needs(
      'produceUndecodable',
      'an undecodable batch arrives as one message marked undecodable; the partition goes on, the others are unaffected',
      async () => {
        const t = await topic(2);
        await harness.produce(t, 0, ['a', 'b']);
        await harness.produceUndecodable!(t, 0);
        await harness.produce(t, 0, ['c', 'd']);
        await harness.produce(t, 1, ['x', 'y']);
        const a = await joined([t]);
        await a.until(() => a.values(t, 0).includes('d') && a.offsets(t, 1).length === 2, 'both partitions');
        const messages = a.messages(t, 0);
        expect(messages.map((m) => Boolean(m.undecodable))).toEqual([false, false, true, false, false]);
        expect(messages[2].undecodable).toBeInstanceOf(Error);
        expect(messages[2].offset).toBeGreaterThan(messages[1].offset);
        expect(messages[2].offset).toBeLessThan(messages[3].offset);
        expect(a.values(t, 1)).toEqual(['x', 'y']);
        expect(a.crashError).toBeUndefined();
      },
    );

    test('a missing topic is named in a warning; the other topics are consumed, and it is once created', async () => {
      const t = await topic(1);
      const missing = uniqueName('conformance-missing');
      await harness.produce(t, 0, ['a']);
      const a = newMember([t, missing]);
      await a.client.start(a);
      await a.until(() => a.warnings.some((w) => w.topic === missing), `a warning naming ${missing}`);
      const warning = a.warnings.find((w) => w.topic === missing)!;
      expect(warning).toBeInstanceOf(KafkaClientError);
      expect(warning.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');
      expect(typeof warning.retriable).toBe('boolean');
      await a.until(() => a.values(t, 0).includes('a'), 'the existing topic');
      await harness.createTopic(missing, 1);
      await harness.produce(missing, 0, ['m']);
      await a.until(() => a.values(missing, 0).includes('m'), 'the topic once created');
      expect(a.crashError).toBeUndefined();
    });

    needs(
      'unreachableKafka',
      'a failed first connection rejects start with a retriable KafkaClientError; the client is stopped',
      async () => {
        const t = await topic(1);
        const a = newMember([t], { kafka: harness.unreachableKafka!() });
        const error = await a.client.start(a).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(KafkaClientError);
        expect((error as KafkaClientError).retriable).toBe(true);
        await expectGone(a);
      },
    );

    test('stop() on a client never started, and two stop() calls at once, resolve', async () => {
      const t = await topic(1);
      const never = newMember([t]);
      await never.stop();
      const a = newMember([t]);
      await a.client.start(a);
      await Promise.all([a.client.stop(), a.client.stop()]);
      await expectGone(a);
    });

    test('stop() before the first join completes leaves no member and no late callback', async () => {
      const t = await topic(1);
      await harness.produce(t, 0, ['a']);
      const a = newMember([t]);
      await a.client.start(a);
      await expectGone(a);
    });

    needs('holdJoins', 'stop() during a join is complete and leaves no member', async () => {
      const t = await topic(1);
      const hold = await harness.holdJoins!(group);
      const a = newMember([t]);
      await a.client.start(a);
      await waitFor(async () => (await membersOf(a)).length > 0, harness.timeoutMs, 'the member in the join');
      await a.stop();
      await hold.undo();
      await expectGone(a);
      expect(a.lastAssignedAt()).toBe(-1);
    });

    for (const retriable of [true, false]) {
      needs(
        'crash',
        `a ${retriable ? 'retriable' : 'fatal'} crash revokes all, then reports crashed; stop() after it is complete`,
        async () => {
          const t = await topic(2);
          const a = await joined([t]);
          await a.until(() => a.held.size === 2, 'both partitions');
          await harness.crash!(a.client, retriable);
          await a.until(() => a.crashError !== undefined, 'crashed');
          const [revoked, crashed] = a.events.slice(-2);
          expect(revoked.type).toBe('revoked');
          expect(sorted(revoked.type === 'revoked' ? revoked.partitions : [])).toEqual(
            sorted([0, 1].map((partition) => ({ topic: t, partition }))),
          );
          expect(crashed.type).toBe('crashed');
          expect(a.crashError).toBeInstanceOf(KafkaClientError);
          expect(a.crashError!.retriable).toBe(retriable);
          await expectGone(a);
        },
      );
    }

    needs(
      'conflictingMember',
      'a join refused for good is a fatal KafkaClientError; stop() after it is complete',
      async () => {
        const t = await topic(1);
        const conflict = await harness.conflictingMember!(group);
        try {
          const a = newMember([t]);
          const refused = await a.client.start(a).then(
            () => undefined,
            (e: unknown) => e,
          );
          if (refused === undefined) await a.until(() => a.crashError !== undefined, 'crashed');
          const error = (refused ?? a.crashError) as KafkaClientError;
          expect(error).toBeInstanceOf(KafkaClientError);
          expect(error.retriable).toBe(false);
          expect(error.code).toBe('INCONSISTENT_GROUP_PROTOCOL');
          await expectGone(a);
        } finally {
          await conflict.undo();
        }
      },
    );

    needs(
      'holdJoins',
      'a commit while the group rebalances rejects with OwnershipUncertainError, and succeeds after the next assignment',
      async () => {
        const [t, other] = [await topic(1), await topic(1)];
        const a = await joined([t]);
        const offset = { topic: t, partition: 0, offset: 0 };
        await a.commit([offset]);
        const hold = await harness.holdJoins!(group);
        const before = a.lastAssignedAt();
        const b = newMember([other]);
        await b.client.start(b);
        let refusal: unknown;
        await waitFor(
          async () => {
            refusal = await a.commit([offset]).then(
              () => undefined,
              (e: unknown) => e,
            );
            return refusal !== undefined;
          },
          harness.timeoutMs,
          'a refused commit',
        );
        expect(refusal).toBeInstanceOf(OwnershipUncertainError);
        await hold.undo();
        await a.until(() => a.lastAssignedAt() > before && a.held.size === 1, 'the next assignment');
        await expect(a.commit([offset])).resolves.toBeUndefined();
      },
    );
  });
}
