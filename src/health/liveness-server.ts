import { Logger } from '@nestjs/common';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LivenessReport } from './liveness-tracker.js';

export interface LivenessServerOptions {
  port: number;
  /** Default: all interfaces. */
  hostname?: string;
}

/**
 * Karafka's standalone liveness listener: any path answers 204 when healthy, 500 with the
 * reasons as JSON when not. For processes with no Nest HTTP server (the CLI server, the swarm).
 * A taken port is logged and the process goes on (another process in the same pod may own it).
 */
export class LivenessServer {
  private readonly logger = new Logger('KarafkaLiveness');
  private server?: Server;

  constructor(
    private readonly options: LivenessServerOptions,
    private readonly check: () => LivenessReport,
  ) {}

  /** Resolves once listening, or once a failure to listen (a taken port) was logged. */
  start(): Promise<void> {
    if (this.server) return Promise.resolve();
    const server = createServer((request, response) => {
      let report: LivenessReport | undefined;
      try {
        report = this.check();
      } catch (error) {
        response
          .writeHead(500, { 'content-type': 'application/json' })
          .end(JSON.stringify({ reasons: [`the liveness check failed: ${(error as Error).message}`] }));
        return;
      }
      if (report.healthy) response.writeHead(204).end();
      else response.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify(report));
      request.resume();
    });
    return new Promise((resolve) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        const where = `${this.options.hostname ?? '*'}:${this.options.port}`;
        this.logger.warn(
          error.code === 'EADDRINUSE'
            ? `liveness listener not started: ${where} is already in use (another process in this pod?); consuming goes on without it`
            : `liveness listener not started on ${where}: ${error.message}`,
        );
        resolve();
      });
      server.listen(this.options.port, this.options.hostname, () => {
        this.server = server;
        this.logger.log(`liveness listener on ${this.options.hostname ?? '*'}:${this.address()?.port}`);
        resolve();
      });
    });
  }

  address(): AddressInfo | undefined {
    return (this.server?.address() as AddressInfo | null) ?? undefined;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
