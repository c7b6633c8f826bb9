import { describe, expect, it } from 'vitest';
import { describeConsumerClientContract } from '../conformance/consumer-client-contract.js';
import { inMemoryHarness } from '../conformance/in-memory-harness.js';
import { describeProducerClientContract } from '../conformance/producer-client-contract.js';
import { Member } from '../conformance/member.js';
import { InMemoryClientFactory, InMemoryKafka } from '../support/in-memory-kafka/index.js';

describeConsumerClientContract('in-memory', inMemoryHarness());
describeProducerClientContract('in-memory', inMemoryHarness());

describe('in-memory driver, beyond the contract', () => {
  const settings = (groupId: string, topics: string[]) => ({
    groupId,
    clientId: `client-${topics.join('-')}`,
    subscriptions: topics.map((topic) => ({ topic, fromBeginning: true })),
    maxWaitTime: 10,
    kafka: {},
  });

  it('bounds a batch by maxBatchMessages', async () => {
    const kafka = new InMemoryKafka({ maxBatchMessages: 7 });
    kafka.createTopic('t', 1);
    kafka.produce(
      't',
      0,
      Array.from({ length: 20 }, (_, i) => `v${i}`),
    );
    const client = new InMemoryClientFactory(kafka).consumer(settings('g', ['t']));
    const member = new Member(client, 'client-t', true, 2_000);
    await client.start(member);
    await member.until(() => member.offsets('t', 0).length === 20, '20 messages');
    expect(member.batches('t', 0).map((b) => b.messages.length)).toEqual([7, 7, 6]);
    await member.stop();
    expect(client.liveTimers).toBe(0);
  });

  it('assigns round robin per topic over the members subscribed to it', async () => {
    const kafka = new InMemoryKafka();
    kafka.createTopic('a', 3);
    kafka.createTopic('b', 2);
    const factory = new InMemoryClientFactory(kafka);
    const both = new Member(factory.consumer(settings('g', ['a', 'b'])), 'both', true, 2_000);
    const onlyB = new Member(factory.consumer(settings('g', ['b'])), 'only-b', true, 2_000);
    await both.client.start(both);
    await onlyB.client.start(onlyB);
    await both.until(() => both.held.size === 4 && onlyB.held.size === 1, 'the shares');
    expect([...both.held.keys()].sort()).toEqual(['a/0', 'a/1', 'a/2', 'b/0']);
    expect([...onlyB.held.keys()]).toEqual(['b/1']);
    await Promise.all([both.stop(), onlyB.stop()]);
    expect(kafka.group('g').describe().state).toBe('Empty');
  });
});
