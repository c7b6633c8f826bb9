import { describe, expect, it } from 'vitest';
import { KarafkaConfigError } from '../../src/config/karafka-config.error.js';
import { resolveKarafkaOptions } from '../../src/config/validate-options.js';
import type { BaseConsumer } from '../../src/consumer/base-consumer.js';
import { buildConsumerGroups, type ConsumerDeclaration } from '../../src/routing/route-builder.js';

const options = resolveKarafkaOptions({
  kafka: { 'bootstrap.servers': 'localhost:9092' },
  groupId: 'orders',
});
const create = async () => ({}) as BaseConsumer;

function declare(
  className: string,
  topics: string[],
  routeOptions: ConsumerDeclaration['options'] = {},
): ConsumerDeclaration {
  return { className, topics, options: routeOptions, createConsumer: create };
}

function errorOf(declarations: ConsumerDeclaration[], opts = options): KarafkaConfigError {
  try {
    buildConsumerGroups(declarations, opts);
  } catch (error) {
    expect(error).toBeInstanceOf(KarafkaConfigError);
    return error as KarafkaConfigError;
  }
  throw new Error('expected a KarafkaConfigError');
}

describe('buildConsumerGroups', () => {
  it('groups topics into consumer groups and subscription groups', () => {
    const groups = buildConsumerGroups(
      [
        declare('OrdersConsumer', ['orders', 'refunds']),
        declare('AuditConsumer', ['audit'], { groupId: 'audit' }),
        declare('SlowConsumer', ['slow'], { maxWaitTime: 5_000 }),
        declare('NamedConsumer', ['named'], { subscriptionGroup: 'critical' }),
      ],
      options,
    );
    expect(groups.map((g) => g.id)).toEqual(['orders', 'audit']);
    const orders = groups[0].subscriptionGroups;
    expect(orders.map((g) => [g.id, g.routes.map((r) => r.topic)])).toEqual([
      ['orders/default', ['orders', 'refunds']],
      ['orders/default-2', ['slow']],
      ['orders/critical', ['named']],
    ]);
    expect(orders[0].routes[0]).toMatchObject({
      consumerClass: 'OrdersConsumer',
      maxMessages: 100,
      initialOffset: 'earliest',
      manualOffsetManagement: false,
      active: true,
    });
  });

  it("on librdkafka (one auto.offset.reset per consumer) splits other initial offsets into their own subscription group, as Karafka's builder does", () => {
    const declarations = [
      declare('OrdersConsumer', ['orders']),
      declare('LiveConsumer', ['live'], { initialOffset: 'latest' }),
    ];
    const onLibrdkafka = resolveKarafkaOptions({ ...options, driver: 'librdkafka' });
    const split = buildConsumerGroups(declarations, onLibrdkafka)[0].subscriptionGroups;
    expect(split.map((g) => [g.id, g.routes.map((r) => r.topic)])).toEqual([
      ['orders/default', ['orders']],
      ['orders/default-2', ['live']],
    ]);
    // kafkajs reads each topic from its own initial offset in one consumer.
    expect(buildConsumerGroups(declarations, options)[0].subscriptionGroups).toHaveLength(1);
    const named = errorOf(
      [
        declare('OrdersConsumer', ['orders'], { subscriptionGroup: 'main' }),
        declare('LiveConsumer', ['live'], { subscriptionGroup: 'main', initialOffset: 'latest' }),
      ],
      onLibrdkafka,
    );
    expect(named.message).toMatch(
      /kafka\/maxWaitTime\/initialOffset settings that differ from OrdersConsumer/,
    );
  });

  it('applies the name mapper and the prefix to topics, groups and the DLQ', () => {
    const mapped = resolveKarafkaOptions({
      kafka: { 'bootstrap.servers': 'localhost:9092' },
      prefix: 'smoothboulder-1234.',
      names: { topic: (name) => `${name}_production` },
    });
    const [group] = buildConsumerGroups(
      [declare('OrdersConsumer', ['orders'], { deadLetterQueue: { topic: 'orders.dlq' } })],
      mapped,
    );
    const route = group.subscriptionGroups[0].routes[0];
    expect(route.topic).toBe('smoothboulder-1234.orders_production');
    expect(route.name).toBe('orders');
    expect(route.groupId).toBe('smoothboulder-1234.app');
    expect(route.deadLetterQueue).toEqual({
      topic: 'smoothboulder-1234.orders.dlq_production',
      maxRetries: 3,
      independent: false,
    });
  });

  it('refuses the same topic twice in one group, naming both classes', () => {
    const error = errorOf([declare('A', ['orders']), declare('B', ['orders'])]);
    expect(error.field).toBe('B');
    expect(error.message).toContain('A already consumes');
    expect(error.message).toContain('Fix:');
  });

  it('allows the same topic in two groups', () => {
    expect(() =>
      buildConsumerGroups(
        [declare('A', ['orders']), declare('B', ['orders'], { groupId: 'other' })],
        options,
      ),
    ).not.toThrow();
  });

  it('refuses an empty topic name and no topic, naming the class', () => {
    expect(errorOf([declare('EmptyConsumer', [''])]).field).toBe('EmptyConsumer');
    expect(errorOf([declare('NoTopicConsumer', [])]).message).toContain('has no topic');
  });

  it('refuses conflicting settings inside a named subscription group', () => {
    const error = errorOf([
      declare('A', ['a'], { subscriptionGroup: 'critical' }),
      declare('B', ['b'], { subscriptionGroup: 'critical', maxWaitTime: 10 }),
    ]);
    expect(error.field).toBe('B');
    expect(error.message).toContain('subscription group "critical"');
  });

  it('validates route options with the class in the field', () => {
    const error = errorOf([declare('OrdersConsumer', ['orders'], { maxMesages: 5 } as never)]);
    expect(error.field).toBe('OrdersConsumer @Consumer options.maxMesages');
    expect(error.message).toContain('did you mean "maxMessages"?');
  });

  it('refuses a DLQ that is the consumed topic', () => {
    expect(errorOf([declare('A', ['orders'], { deadLetterQueue: { topic: 'orders' } })]).field).toBe(
      'A deadLetterQueue.topic',
    );
  });
});
