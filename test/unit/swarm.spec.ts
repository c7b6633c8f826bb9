import { describe, expect, it } from 'vitest';
import { resolveKarafkaOptions } from '../../src/config/validate-options.js';
import type { BaseConsumer } from '../../src/consumer/base-consumer.js';
import { buildConsumerGroups } from '../../src/routing/route-builder.js';
import { nodeConsumerGroups, nodeKafkaSettings } from '../../src/swarm/node-instance-id.js';
import { reportInterval, type NodeReport } from '../../src/swarm/node-report.js';
import { nextAction, type NodeSlot, type SupervisionLimits } from '../../src/swarm/node-supervision.js';
import { configError } from '../support/config-error.js';

const limits: SupervisionLimits = {
  shutdownTimeout: 10_000,
  nodeReportTimeout: 60_000,
  nodeRestartTimeout: 5_000,
  nodeMemoryLimit: 500,
};

const report = (extra: Partial<NodeReport> = {}): NodeReport => ({
  type: 'karafka:node-report',
  healthy: true,
  reasons: [],
  rssMb: 120,
  ...extra,
});

/** Node 1, started at 0 and last heard from at 1,000. */
const slot = (extra: Partial<NodeSlot> = {}): NodeSlot => ({
  index: 1,
  pid: 42,
  startedAt: 0,
  lastReportAt: 1_000,
  report: report(),
  ...extra,
});

describe('swarm supervision: what the control loop does to one node', () => {
  it('leaves a healthy node that reports in time alone', () => {
    expect(nextAction(slot(), 30_000, limits, true)).toBeUndefined();
    expect(nextAction(slot({ report: undefined }), 61_000, limits, true)).toBeUndefined();
  });

  it('stops (SIGTERM) a node that reported unhealthy, naming the reasons', () => {
    const sick = slot({
      report: report({ healthy: false, reasons: ['consumingTtl exceeded: X', 'pollingTtl exceeded: Y'] }),
    });
    expect(nextAction(sick, 2_000, limits, true)).toEqual({
      kind: 'terminate',
      reason: 'reported unhealthy: consumingTtl exceeded: X; pollingTtl exceeded: Y',
    });
  });

  it('stops a node over swarm.nodeMemoryLimit; none without a limit', () => {
    const big = slot({ report: report({ rssMb: 501 }) });
    expect(nextAction(big, 2_000, limits, true)).toEqual({
      kind: 'terminate',
      reason: 'uses 501 MB, over swarm.nodeMemoryLimit (500 MB)',
    });
    expect(nextAction(big, 2_000, { ...limits, nodeMemoryLimit: undefined }, true)).toBeUndefined();
  });

  it('stops a node silent past swarm.nodeReportTimeout', () => {
    expect(nextAction(slot(), 61_001, limits, true)).toEqual({
      kind: 'terminate',
      reason: 'silent for 60001 ms, past swarm.nodeReportTimeout (60000 ms)',
    });
  });

  it('kills (SIGKILL) a stopping node once its deadline passed, once', () => {
    const stopping = slot({ stop: { at: 5_000, reason: 'uses 501 MB', killAt: 15_000 } });
    expect(nextAction(stopping, 14_999, limits, true)).toBeUndefined();
    expect(nextAction(stopping, 15_000, limits, true)).toEqual({
      kind: 'kill',
      reason: 'still alive 10000 ms after SIGTERM (uses 501 MB)',
    });
    expect(nextAction({ ...stopping, killedAt: 15_000 }, 20_000, limits, true)).toBeUndefined();
    // Also during a swarm stop.
    expect(nextAction(stopping, 15_000, limits, false)?.kind).toBe('kill');
  });

  it('restarts a dead node after swarm.nodeRestartTimeout, and not while quiet or stopping', () => {
    const dead = slot({ exit: { at: 10_000, code: null, signal: 'SIGKILL' } });
    expect(nextAction(dead, 14_999, limits, true)).toBeUndefined();
    expect(nextAction(dead, 15_000, limits, true)).toEqual({ kind: 'restart' });
    expect(nextAction(dead, 60_000, limits, false)).toBeUndefined();
  });

  it('stops nothing for health while quiet or stopping', () => {
    const sick = slot({ report: report({ healthy: false, reasons: ['x'] }) });
    expect(nextAction(sick, 120_000, limits, false)).toBeUndefined();
  });

  it('reports every 10 s, or three times within a shorter nodeReportTimeout', () => {
    expect(reportInterval(60_000)).toBe(10_000);
    expect(reportInterval(6_000)).toBe(2_000);
  });
});

describe('swarm: group.instance.id per node', () => {
  it('suffixes the instance id with the node index, the same for a node restarted in that slot', () => {
    const kafka = { 'bootstrap.servers': 'x:1', 'group.instance.id': 'orders-pod-a' };
    expect(nodeKafkaSettings(kafka, 0)['group.instance.id']).toBe('orders-pod-a-0');
    expect(nodeKafkaSettings(kafka, 2)['group.instance.id']).toBe('orders-pod-a-2');
    expect(nodeKafkaSettings(kafka, 2)).toEqual(nodeKafkaSettings(kafka, 2));
    expect(kafka['group.instance.id']).toBe('orders-pod-a');
    expect(nodeKafkaSettings({ 'bootstrap.servers': 'x:1' }, 1)).toEqual({ 'bootstrap.servers': 'x:1' });
  });

  it("sets each subscription group's (and route's) settings, leaving groups without static membership as they were", () => {
    const options = resolveKarafkaOptions({ kafka: { 'bootstrap.servers': 'x:1' }, groupId: 'orders' });
    const create = async () => ({}) as BaseConsumer;
    const groups = buildConsumerGroups(
      [
        {
          className: 'A',
          topics: ['a'],
          options: { kafka: { 'group.instance.id': 'a-pod' } },
          createConsumer: create,
        },
        { className: 'B', topics: ['b'], options: { groupId: 'audit' }, createConsumer: create },
      ],
      options,
    );
    const node = nodeConsumerGroups(groups, 1).flatMap((group) => group.subscriptionGroups);
    expect(node.map((group) => [group.id, group.kafka['group.instance.id']])).toEqual([
      ['orders/default', 'a-pod-1'],
      ['audit/default', undefined],
    ]);
    expect(node[0].routes[0].kafka['group.instance.id']).toBe('a-pod-1');
    expect(groups[0].subscriptionGroups[0].kafka['group.instance.id']).toBe('a-pod');
  });
});

describe('swarm options', () => {
  it('defaults: nodes the CPU count, 60 s report timeout, 5 s restart, no memory limit, controllingTtl 60 s', () => {
    const { swarm, liveness } = resolveKarafkaOptions({ kafka: { 'bootstrap.servers': 'x:1' } });
    expect(swarm).toEqual({
      nodes: expect.any(Number),
      nodeReportTimeout: 60_000,
      nodeRestartTimeout: 5_000,
    });
    expect(swarm.nodes).toBeGreaterThan(0);
    expect(liveness.controllingTtl).toBe(60_000);
  });

  it('names the field and the fix', () => {
    const kafka = { 'bootstrap.servers': 'x:1' };
    const message = (options: object) =>
      configError(() => resolveKarafkaOptions({ kafka, ...options })).message;
    expect(message({ swarm: { nodes: 0 } })).toContain('swarm.nodes: must be a positive integer, got 0');
    expect(message({ swarm: { nodeMemoryLimit: -1 } })).toContain('swarm.nodeMemoryLimit');
    expect(message({ liveness: { controllingTtl: 0 } })).toContain('liveness.controllingTtl');
    expect(message({ swarm: { node: 3 } })).toMatch(/swarm\.node: is not a known option.*nodes/);
  });
});
