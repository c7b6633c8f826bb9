import { Logger, type Type } from '@nestjs/common';
import { setProcessOverrides } from '../config/process-overrides.js';
import { KarafkaMonitor } from '../instrumentation/karafka-monitor.js';
import { JobRegistry } from '../processing/job-registry.js';
import { KarafkaRunner } from '../processing/karafka-runner.js';
import { RouteTable } from '../routing/route-table.js';
import { bootApp, declaresControllers, karafkaOptionsOf } from './app-bootstrap.js';
import type { CliArgs } from './cli-args.js';
import { applyRouteFilters } from './route-filters.js';

const DEFAULT_LIVENESS_PORT = 3000;
const STATES = ['initialized', 'running', 'quieting', 'quiet', 'stopping', 'stopped'] as const;

/**
 * `karafka server`: the process owns the signals. TERM/INT/QUIT stop gracefully (exit 0, or 2
 * when shutdownTimeout ran out); a second INT forces (exit 2); TSTP quiets; TTIN dumps jobs.
 */
export async function runServer(appModule: Type, args: CliArgs): Promise<void> {
  const logger = new Logger('karafka server');
  const http = declaresControllers(appModule);
  // With HTTP, the app serves its own probes; the standalone listener only when asked for.
  const livenessPort =
    args.liveness && (args.livenessPort !== undefined || !http)
      ? (args.livenessPort ?? DEFAULT_LIVENESS_PORT)
      : undefined;
  // Read by the module's option resolution: the engine must not start before the filters
  // narrowed the routes, and a dead engine should restart the process under a supervisor.
  setProcessOverrides({
    ownsSignals: true,
    defaults: { onCriticalError: 'exit' },
    forced: {
      autoStart: false,
      liveness: livenessPort === undefined ? undefined : { port: livenessPort, hostname: args.livenessHost },
    },
  });

  const app = await bootApp(appModule);
  let runner: KarafkaRunner;
  let jobs: JobRegistry;
  try {
    const options = karafkaOptionsOf(app, appModule);
    runner = app.get(KarafkaRunner);
    jobs = app.get(JobRegistry);
    const monitor = app.get(KarafkaMonitor);
    for (const state of STATES)
      monitor.subscribe(`app.${state}`, () => (process.title = `karafka ${options.clientId} (${state})`));
    process.title = `karafka ${options.clientId} (initialized)`;
    applyRouteFilters(app.get(RouteTable), args.filters, options);
    logger.log(
      `signals: TERM/INT/QUIT stop within shutdownTimeout ${options.shutdownTimeout} ms (a second INT forces), TSTP quiets, TTIN dumps jobs`,
    );
  } catch (error) {
    await app.close();
    throw error;
  }

  // Consumers hold sockets, but a process whose engine gave up must not end quietly either:
  // it waits for a signal (or onCriticalError) like any supervised server.
  setInterval(() => undefined, 2 ** 30);
  let stopping = false;
  const forceStop = () => {
    logger.error(`forced stop; still running: ${jobs.describe().join('; ') || 'nothing'}`);
    process.exit(2);
  };
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      if (signal === 'SIGINT') forceStop();
      return;
    }
    stopping = true;
    logger.log(`${signal}: stopping (a second SIGINT forces)`);
    const inTime = await runner.stop();
    await app.close();
    process.exit(inTime ? 0 : 2);
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const) process.on(signal, () => void stop(signal));
  process.on('SIGTSTP', () => {
    logger.log('SIGTSTP: quieting: no new batches; in-flight ones finish; staying in the group until TERM');
    void runner.quiet();
  });
  process.on('SIGTTIN', () => {
    const status = runner.status();
    logger.log(`SIGTTIN: state ${status.state}; running jobs: ${jobs.describe().join('; ') || 'none'}`);
    for (const listener of status.listeners) {
      const lastPoll =
        listener.lastPollAt === undefined
          ? 'never polled'
          : `polled ${Date.now() - listener.lastPollAt} ms ago`;
      logger.log(
        `SIGTTIN: subscription group ${listener.id}: ${listener.state}, ${listener.joined ? 'joined' : 'not joined'}, ${lastPoll}, assigned ${listener.assigned.map((p) => `${p.topic}/${p.partition}`).join(', ') || 'nothing'}${listener.lastError ? `, last error: ${listener.lastError}` : ''}`,
      );
    }
  });
  runner.start();
}
