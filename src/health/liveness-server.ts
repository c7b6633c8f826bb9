import { Logger } from '@nestjs/common';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { processOverrides } from '../config/process-overrides.js';
import type { LivenessReport } from './liveness-tracker.js';

/** What the server answers from: a liveness report, or its bounded summary. */
export type LivenessCheck = Pick<LivenessReport, 'healthy' | 'reasons'>;

export interface LivenessServerOptions {
  /** Default 3000; 0 picks a free port. */
  port?: number;
  /** Default: all interfaces. */
  hostname?: string;
}

/**
 * Karafka's standalone liveness listener: any path answers 204 when healthy, 500 with what
 * `check` returned (`reasons`, then the details) as JSON when not. For processes with no Nest HTTP server (the CLI
 * server, the swarm supervisor). A taken port is logged and the process goes on (another process in the
 * same pod may own it, as Karafka's docs warn).
 *
 * @example
 * ```ts
 * const server = new LivenessServer({ port: 3000 }, () => summarizeLiveness(app.get(LivenessTracker).liveness()));
 * await server.start(); // when the engine runs
 * await server.stop(); // when it stops
 * ```
 */
export class LivenessServer {
  private readonly logger = new Logger('KarafkaLiveness');
  private server?: Server;
  private starting?: Promise<void>;

  constructor(
    private readonly options: LivenessServerOptions,
    private readonly check: () => LivenessCheck,
  ) {}

  /**
   * Resolves once listening, or once a failure to listen (a taken port) was logged. Never rejects.
   * In a swarm node it refuses, as Karafka's docs warn: a node's health is not the pod's, and N
   * nodes would race for one port.
   */
  start(): Promise<void> {
    if (this.server) return Promise.resolve();
    const node = processOverrides().swarmNode;
    if (node !== undefined) {
      this.logger.warn(
        `liveness listener not started on ${this.options.hostname ?? '*'}:${this.options.port ?? 3000}: this process is node ${node} of a karafka swarm, where the supervisor's swarm liveness listener answers for the pod (karafka swarm --liveness-port, liveness.controllingTtl); probe that one`,
      );
      return Promise.resolve();
    }
    this.starting ??= this.listen().finally(() => (this.starting = undefined));
    return this.starting;
  }

  /** Where it listens; undefined when it does not (not started, stopped, or the port was taken). */
  address(): AddressInfo | undefined {
    return (this.server?.address() as AddressInfo | null) ?? undefined;
  }

  /** Closes the listener and its open connections. */
  async stop(): Promise<void> {
    await this.starting; // a stop racing a start closes what the start opened
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private listen(): Promise<void> {
    const { port = 3000, hostname } = this.options;
    const where = `${hostname ?? '*'}:${port}`;
    const server = createServer((request, response) => {
      request.resume();
      const report = this.report();
      if (report.healthy) response.writeHead(204).end();
      else response.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify(report));
    });
    return new Promise((resolve) => {
      // Logged, never thrown: the liveness listener must not take the consumer process down.
      server.on('error', (error: NodeJS.ErrnoException) => {
        if (this.server === server)
          return this.logger.warn(`liveness listener on ${where}: ${error.message}`);
        this.logger.warn(
          error.code === 'EADDRINUSE'
            ? `liveness listener not started: ${where} is already in use (another process in this pod?); consuming goes on without it`
            : `liveness listener not started on ${where}: ${error.message}`,
        );
        resolve();
      });
      server.listen(port, hostname, () => {
        this.server = server;
        this.logger.log(`liveness listener on ${hostname ?? '*'}:${this.address()?.port}`);
        resolve();
      });
    });
  }

  /** The check, or an unhealthy report naming why the check itself failed. */
  private report(): LivenessCheck {
    try {
      return this.check();
    } catch (error) {
      return {
        healthy: false,
        reasons: [`the liveness check failed: ${(error as Error)?.message ?? error}`],
      };
    }
  }
}
