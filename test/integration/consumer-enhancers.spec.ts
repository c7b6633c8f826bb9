import {
  Catch,
  Injectable,
  UseFilters,
  UseGuards,
  UseInterceptors,
  UsePipes,
  type ArgumentMetadata,
  type ArgumentsHost,
  type CallHandler,
  type CanActivate,
  type ExceptionFilter,
  type ExecutionContext,
  type INestApplication,
  type NestInterceptor,
  type PipeTransform,
} from '@nestjs/common';
import type { Observable } from 'rxjs';
import { tap } from 'rxjs/operators';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BaseConsumer,
  Consumer,
  KarafkaAdmin,
  KarafkaBatchContext,
  KAFKA_CONTEXT_TYPE,
  type Messages,
} from 'nestjs-karafka';
import { uniqueName } from '../support/kafka/connection.mjs';
import { committedOffsets, createTopic, produceNumbered } from '../support/kafka-topics.js';
import { createKarafkaApp } from '../support/karafka-app.js';
import { waitFor } from '../support/wait-for.js';

/** What every enhancer and consumer of a test saw, in order. */
@Injectable()
class Journal {
  readonly entries: string[] = [];
  readonly consumed: number[] = [];
}

@Injectable()
class AroundBatch implements NestInterceptor {
  constructor(private readonly journal: Journal) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const rpc = context.switchToRpc();
    const batch = rpc.getContext<KarafkaBatchContext<{ n: number }>>();
    const messages = rpc.getData<Messages<{ n: number }>>();
    const tag = `${context.getType()} ${context.getClass().name}.${context.getHandler().name} ${batch.topic.split('-')[0]}/${batch.partition} [${messages.payloads().map((p) => p.n)}]`;
    this.journal.entries.push(`before ${tag}`);
    return next.handle().pipe(tap({ complete: () => this.journal.entries.push(`after ${tag}`) }));
  }
}

/** Refuses a batch that holds a message with n = 13. */
@Injectable()
class NoThirteen implements CanActivate {
  constructor(private readonly journal: Journal) {}

  canActivate(context: ExecutionContext): boolean {
    const batch = context.switchToRpc().getContext<KarafkaBatchContext<{ n: number }>>();
    const refused = batch.messages.some((message) => message.payload.n === 13);
    this.journal.entries.push(`guard attempt ${batch.attempt} ${refused ? 'refused' : 'allowed'}`);
    return !refused;
  }
}

/** Keeps the even messages of the batch. */
@Injectable()
class EvenOnly implements PipeTransform<Messages<{ n: number }>> {
  constructor(private readonly journal: Journal) {}

  transform(messages: Messages<{ n: number }>, metadata: ArgumentMetadata) {
    this.journal.entries.push(`pipe ${metadata.type} of ${messages.size}`);
    return messages.filter((message) => message.payload.n % 2 === 0);
  }
}

class Skippable extends Error {}

@Catch(Skippable)
class SkipFilter implements ExceptionFilter {
  constructor(private readonly journal: Journal) {}

  catch(error: Skippable, host: ArgumentsHost): string {
    const batch = host.switchToRpc().getContext<KarafkaBatchContext>();
    this.journal.entries.push(`filtered ${error.message} at ${batch.messages.first()?.offset}`);
    return 'handled';
  }
}

const apps: INestApplication[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close().catch(() => undefined)));
});

describe('Nest enhancers on consumers, against a real broker', () => {
  it(
    'runs an interceptor around each batch and a guard before it; a refused batch goes down the retry/DLQ path',
    { tags: ['smoke'] },
    async () => {
      const topic = uniqueName('guarded');
      const dlq = `${topic}.dlq`;
      await createTopic(topic, 1);
      @Consumer(topic, {
        maxMessages: 1,
        deadLetterQueue: { topic: dlq, maxRetries: 1 },
        pause: { timeout: 100 },
      })
      @UseInterceptors(AroundBatch)
      class GuardedConsumer extends BaseConsumer<{ n: number }> {
        constructor(private readonly journal: Journal) {
          super();
        }

        @UseGuards(NoThirteen)
        consume(messages: Messages<{ n: number }>): void {
          this.journal.consumed.push(...messages.payloads().map((p) => p.n));
        }
      }
      const groupId = uniqueName('guarded-group');
      const { app } = await createKarafkaApp({ groupId, declareTopics: true }, [
        Journal,
        AroundBatch,
        NoThirteen,
        GuardedConsumer,
      ]);
      apps.push(app);
      await app.init();
      const journal = app.get(Journal);
      await produceNumbered(topic, 10, 1, 10); // n = 10..19; 13 is at offset 3
      await waitFor(
        async () => (await committedOffsets(groupId, topic)).get(0) === 10,
        30_000,
        'all 10 committed',
      );

      // 13 never reached consume(); it went to the DLQ after its retry, and the rest was consumed.
      // One message a batch: the guard refuses exactly the batch of 13.
      expect(journal.consumed).toEqual([10, 11, 12, 14, 15, 16, 17, 18, 19]);
      const dead = await app.get(KarafkaAdmin).readTopic(dlq, 0, 10, 0);
      expect(dead.map((message) => (message.payload as { n: number }).n)).toEqual([13]);
      expect(journal.entries.filter((entry) => entry.includes('refused'))).toEqual([
        'guard attempt 1 refused',
        'guard attempt 2 refused',
      ]);
      // A refused batch never reaches the interceptor; an allowed one is wrapped by it, before and after.
      const wrapped = journal.entries.filter(
        (entry) => entry.startsWith('before') || entry.startsWith('after'),
      );
      expect(wrapped.length).toBeGreaterThan(0);
      for (let i = 0; i < wrapped.length; i += 2) {
        expect(wrapped[i]).toMatch(
          new RegExp(`^before ${KAFKA_CONTEXT_TYPE} GuardedConsumer\\.consume guarded/0 \\[`),
        );
        expect(wrapped[i + 1]).toBe(wrapped[i].replace('before', 'after'));
      }
      const seenByInterceptor = wrapped
        .filter((entry) => entry.startsWith('before'))
        .flatMap((entry) => JSON.parse(entry.slice(entry.indexOf('['))) as number[]);
      expect(seenByInterceptor).toEqual([10, 11, 12, 14, 15, 16, 17, 18, 19]);
    },
  );

  it('applies @UsePipes to the batch and lets an @UseFilters filter handle an error', async () => {
    const topic = uniqueName('piped');
    await createTopic(topic, 1);
    @Consumer(topic, { maxMessages: 100 })
    @UseFilters(SkipFilter)
    class PipedConsumer extends BaseConsumer<{ n: number }> {
      constructor(private readonly journal: Journal) {
        super();
      }

      @UsePipes(EvenOnly)
      consume(messages: Messages<{ n: number }>): void {
        const numbers = messages.map((message) => message.payload.n);
        if (numbers.includes(4)) throw new Skippable('four');
        this.journal.consumed.push(...numbers);
      }
    }
    const groupId = uniqueName('piped-group');
    const { app } = await createKarafkaApp({ groupId }, [Journal, EvenOnly, SkipFilter, PipedConsumer]);
    apps.push(app);
    await app.init();
    const journal = app.get(Journal);
    await produceNumbered(topic, 4, 1); // n = 0..3, one batch or more
    await waitFor(async () => (await committedOffsets(groupId, topic)).get(0) === 4, 30_000, '4 committed');
    expect(journal.consumed).toEqual([0, 2]);
    expect(journal.entries.length).toBeGreaterThan(0);
    expect(journal.entries).toEqual(journal.entries.map(() => expect.stringMatching(/^pipe body of [1-4]$/)));
    journal.entries.length = 0;
    await produceNumbered(topic, 2, 1, 4); // n = 4, 5: the filter handles the error, the batch counts as processed
    await waitFor(async () => (await committedOffsets(groupId, topic)).get(0) === 6, 30_000, '6 committed');
    expect(journal.entries.filter((entry) => entry.startsWith('filtered'))).toEqual(['filtered four at 4']);
  });
});
