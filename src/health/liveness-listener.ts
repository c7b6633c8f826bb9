import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { ResolvedKarafkaOptions } from '../config/karafka-options.js';
import { KarafkaMonitor } from '../instrumentation/karafka-monitor.js';
import { KARAFKA_OPTIONS } from '../karafka.constants.js';
import { LivenessServer } from './liveness-server.js';
import { summarizeLiveness } from './liveness-summary.js';
import { LivenessTracker } from './liveness-tracker.js';

/** Opens the standalone liveness server (`liveness.port`) while the engine runs, and closes it when it stops. */
@Injectable()
export class KarafkaLivenessListener implements OnModuleInit, OnApplicationShutdown {
  private server?: LivenessServer;

  constructor(
    @Inject(KARAFKA_OPTIONS) private readonly options: ResolvedKarafkaOptions,
    private readonly monitor: KarafkaMonitor,
    private readonly tracker: LivenessTracker,
  ) {}

  onModuleInit(): void {
    const { port, hostname } = this.options.liveness;
    if (port === undefined) return;
    this.server = new LivenessServer({ port, hostname }, () => summarizeLiveness(this.tracker.liveness()));
    this.monitor.subscribe('app.running', () => this.server?.start());
    this.monitor.subscribe('app.stopped', () => this.server?.stop());
  }

  /** The server's address while it listens. */
  address() {
    return this.server?.address();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.server?.stop();
  }
}
