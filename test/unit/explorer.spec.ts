import { Injectable, Scope } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { describe, expect, it } from 'vitest';
import { BaseConsumer, Consumer, KarafkaConfigError, KarafkaModule, type Messages } from '../../src/index.js';
import { RouteTable } from '../../src/routing/route-table.js';

async function compile(providers: unknown[]) {
  const moduleRef = await Test.createTestingModule({
    imports: [
      KarafkaModule.forRoot({
        kafka: { 'bootstrap.servers': 'localhost:9092' },
        autoStart: false,
        logging: false,
      }),
    ],
    providers: providers as never[],
  }).compile();
  await moduleRef.init();
  return moduleRef;
}

async function bootError(providers: unknown[]): Promise<KarafkaConfigError> {
  try {
    await compile(providers);
  } catch (error) {
    expect(error).toBeInstanceOf(KarafkaConfigError);
    return error as KarafkaConfigError;
  }
  throw new Error('expected boot to fail');
}

describe('ConsumerExplorer', () => {
  it('builds routes from @Consumer providers', async () => {
    @Consumer(['a', 'b'])
    class TwoTopics extends BaseConsumer {
      consume(_messages: Messages): void {}
    }
    const moduleRef = await compile([TwoTopics]);
    expect(moduleRef.get(RouteTable).routes.map((route) => [route.topic, route.consumerClass])).toEqual([
      ['a', 'TwoTopics'],
      ['b', 'TwoTopics'],
    ]);
    await moduleRef.close();
  });

  it('refuses a decorated class that does not extend BaseConsumer, naming it and the fix', async () => {
    @Consumer('orders')
    class NotAConsumer {
      consume(): void {}
    }
    const error = await bootError([NotAConsumer]);
    expect(error.field).toBe('NotAConsumer');
    expect(error.message).toContain('extends BaseConsumer');
  });

  it('refuses a request-scoped consumer, and one depending on a request-scoped provider', async () => {
    @Consumer('orders')
    @Injectable({ scope: Scope.REQUEST })
    class RequestScoped extends BaseConsumer {
      consume(): void {}
    }
    expect((await bootError([RequestScoped])).message).toContain('request-scoped');

    @Injectable({ scope: Scope.REQUEST })
    class PerRequest {}
    @Consumer('orders')
    class DependsOnRequest extends BaseConsumer {
      constructor(readonly perRequest: PerRequest) {
        super();
      }
      consume(): void {}
    }
    const error = await bootError([PerRequest, DependsOnRequest]);
    expect(error.field).toBe('DependsOnRequest');
  });

  it('builds a fresh instance per partition with constructor injection', async () => {
    @Injectable()
    class Repo {}
    @Consumer('orders')
    class WithRepo extends BaseConsumer {
      constructor(readonly repo: Repo) {
        super();
      }
      consume(): void {}
    }
    const moduleRef = await compile([Repo, WithRepo]);
    const [route] = moduleRef.get(RouteTable).routes;
    const [one, two] = await Promise.all([route.createConsumer(), route.createConsumer()]);
    expect(one).toBeInstanceOf(WithRepo);
    expect(one).not.toBe(two);
    expect((one as WithRepo).repo).toBe(moduleRef.get(Repo));
    await moduleRef.close();
  });
});
