import type { LibrdKafkaError } from '@confluentinc/kafka-javascript';
import type { EventEmitter } from 'node:events';
import { CODES } from './librdkafka-errors.js';

/** librdkafka's codes that only say a broker could not be reached, not why. */
const UNEXPLAINED = new Set<number>([
  CODES.UNKNOWN,
  CODES.TRANSPORT,
  CODES.ALL_BROKERS_DOWN,
  CODES.TIMED_OUT,
]);
/** A failure logged longer ago than this explains nothing now (a broker restarted since, say). */
const FRESH_MS = 60_000;
const REFUSED_LOGIN = /SASL authentication error|Authentication failed/i;

/**
 * Why a librdkafka client cannot reach the cluster, as its FAIL log lines say it ("Connect to
 * ipv4#127.0.0.1:1 failed: Connection refused", "SASL authentication error: …"): its errors only
 * say "broker transport failure" or "all broker connections are down", and a connect waits for
 * its timeout even after a refused login. Log lines come while a connect runs; error events only after.
 */
export class LibrdkafkaFailures {
  /** The last failure librdkafka logged, without its thread and timing. */
  last?: string;
  private lastAt = 0;
  private refusedLogin?: (error: LibrdKafkaError) => void;

  constructor(client: object) {
    (client as EventEmitter).on('event.log', ({ fac, message }: { fac: string; message: string }) => {
      if (fac !== 'FAIL') return;
      this.last = message
        .replace(/^\[thrd:[^\]]*\]: /, '')
        .replace(/ \(after \d+ms in state (\w+)[^)]*\)$/, ' (in state $1)');
      this.lastAt = Date.now();
      if (REFUSED_LOGIN.test(this.last)) this.refusedLogin?.(this.explain());
    });
  }

  /**
   * `error` with the last failure as its message when it does not say more itself; a refused
   * login as librdkafka's authentication error, which no retry gets past.
   */
  explain(error: Partial<LibrdKafkaError> = { code: CODES.TRANSPORT, message: 'broker transport failure' }) {
    const stale = this.last === undefined || Date.now() - this.lastAt > FRESH_MS;
    if (stale || (error.code !== undefined && !UNEXPLAINED.has(error.code))) return error as LibrdKafkaError;
    const code = REFUSED_LOGIN.test(this.last!) ? CODES.AUTHENTICATION : error.code;
    return { ...error, code, message: this.last! } as LibrdKafkaError;
  }

  /** `connect` (the binding's connect), failed at once when librdkafka logs a refused login. */
  connecting<T>(connect: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.refusedLogin = reject;
      connect.then(resolve, (error: LibrdKafkaError) => reject(this.explain(error)));
    }).finally(() => (this.refusedLogin = undefined));
  }
}
