import type { TopicMessages } from 'kafkajs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ProduceQueue, type ProduceQueueLimits } from '../../src/connection/kafkajs/kafkajs-produce-queue.js';

const LIMITS: ProduceQueueLimits = {
  lingerMs: 5,
  batchMessages: 100,
  batchBytes: 1_000_000,
  maxMessages: 1_000,
  maxBytes: 10_000_000,
};

/** A send that records each request and waits until the test lets it return. */
function recordingSend() {
  const requests: TopicMessages[][] = [];
  const pending: { resolve(): void; reject(error: Error): void }[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const send = (batch: TopicMessages[]) => {
    requests.push(batch);
    inFlight++;
    mostInFlight = Math.max(mostInFlight, inFlight);
    return new Promise<void>((resolve, reject) => pending.push({ resolve, reject })).finally(
      () => inFlight--,
    );
  };
  const settle = async (error?: Error) => {
    const next = pending.shift();
    if (!next) throw new Error('no request in flight');
    if (error) next.reject(error);
    else next.resolve();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { send, requests, settle, mostInFlight: () => mostInFlight };
}

const values = (batch: TopicMessages[]) =>
  batch.flatMap((topic) => topic.messages.map((m) => String(m.value)));

afterEach(() => void vi.useRealTimers());

describe('the kafkajs driver produce queue', () => {
  it('sends one request at a time, each of at most batch.num.messages, in call order', async () => {
    const { send, requests, settle, mostInFlight } = recordingSend();
    const queue = new ProduceQueue(send, LIMITS);
    const delivered = Array.from({ length: 250 }, (_, n) =>
      queue.push(n % 2 ? 'odd' : 'even', { value: String(n) }),
    );
    expect(requests).toHaveLength(1); // full at 100: sent without lingering
    for (let n = 0; n < 3; n++) await settle();
    await Promise.all(delivered);
    expect(mostInFlight()).toBe(1);
    expect(requests.map((batch) => values(batch).length)).toEqual([100, 100, 50]);
    const sent = requests.flatMap(values).map(Number);
    expect(sent.filter((n) => n % 2 === 0)).toEqual(Array.from({ length: 125 }, (_, n) => 2 * n));
    expect(requests[0].map((topic) => topic.topic)).toEqual(['even', 'odd']);
  });

  it('cuts requests at batch.size; a larger message goes alone', async () => {
    const { send, requests, settle } = recordingSend();
    const queue = new ProduceQueue(send, { ...LIMITS, batchBytes: 1_000 });
    const delivered = [300, 300, 300, 5_000, 10].map((size) => queue.push('t', { value: 'x'.repeat(size) }));
    const flushed = queue.flush();
    for (let n = 0; n < 3; n++) await settle();
    await Promise.all([...delivered, flushed]);
    expect(requests.map((batch) => values(batch).map((value) => value.length))).toEqual([
      [300, 300, 300],
      [5_000],
      [10],
    ]);
  });

  it('lingers linger.ms when idle before it sends', async () => {
    vi.useFakeTimers();
    const { send, requests } = recordingSend();
    const queue = new ProduceQueue(send, { ...LIMITS, lingerMs: 50 });
    void queue.push('t', { value: 'a' });
    vi.advanceTimersByTime(49);
    void queue.push('t', { value: 'b' });
    expect(requests).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(requests.map(values)).toEqual([['a', 'b']]);
  });

  it('room() waits past queue.buffering.max.messages; produce is never refused and keeps its order', async () => {
    const { send, requests, settle } = recordingSend();
    const queue = new ProduceQueue(send, { ...LIMITS, batchMessages: 10, maxMessages: 20 });
    const delivered = Array.from({ length: 35 }, (_, n) => queue.push('t', { value: String(n) }));
    let roomy = false;
    void queue.room().then(() => (roomy = true));
    await settle();
    await new Promise((resolve) => setImmediate(resolve));
    expect(roomy).toBe(false); // 25 left, limit 20
    await settle();
    expect(roomy).toBe(true);
    await settle();
    await settle();
    await Promise.all(delivered);
    expect(requests.flatMap(values)).toEqual(Array.from({ length: 35 }, (_, n) => String(n)));
  });

  it('a failed request rejects its messages and is remembered; later requests go on', async () => {
    const { send, settle } = recordingSend();
    const queue = new ProduceQueue(send, { ...LIMITS, lingerMs: 0, batchMessages: 1 });
    const first = expect(queue.push('t', { value: 'a' })).rejects.toThrow('NOT_LEADER_FOR_PARTITION');
    const second = expect(queue.push('t', { value: 'b' })).resolves.toBeUndefined();
    await settle(new Error('NOT_LEADER_FOR_PARTITION'));
    await settle();
    await Promise.all([first, second]);
    expect(queue.failure).toEqual(new Error('NOT_LEADER_FOR_PARTITION'));
  });

  it('flush waits for what delivery callbacks produce', async () => {
    const { send, requests, settle } = recordingSend();
    const queue = new ProduceQueue(send, LIMITS);
    void queue.push('t', { value: 'first' }).then(() => queue.push('t', { value: 'follow-up' }));
    let flushed = false;
    void queue.flush().then(() => (flushed = true));
    await settle();
    await new Promise((resolve) => setImmediate(resolve));
    expect(flushed).toBe(false);
    await settle();
    await new Promise((resolve) => setImmediate(resolve));
    expect(flushed).toBe(true);
    expect(requests.map(values)).toEqual([['first'], ['follow-up']]);
  });
});
