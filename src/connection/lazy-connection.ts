interface Connectable {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}

/** A client connected on first use: concurrent callers share one connect; a failed one is tried again next time. */
export class LazyConnection<T extends Connectable> {
  private client?: Promise<T>;

  constructor(private readonly create: () => T) {}

  get(): Promise<T> {
    this.client ??= (async () => {
      const client = this.create();
      await client.connect();
      return client;
    })().catch((error: unknown) => {
      this.client = undefined;
      throw error;
    });
    return this.client;
  }

  /** Disconnects if connected; never throws. */
  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) await (await client.catch(() => undefined))?.disconnect().catch(() => undefined);
  }
}
