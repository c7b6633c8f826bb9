import { Logger, type Type } from '@nestjs/common';
import { setProcessOverrides, type ProcessOverrides } from '../config/process-overrides.js';
import { KarafkaMonitor } from '../instrumentation/karafka-monitor.js';
import { JobRegistry } from '../processing/job-registry.js';
import { KarafkaRunner } from '../processing/karafka-runner.js';
import { RouteTable } from '../routing/route-table.js';
import { bootApp, declaresControllers, karafkaOptionsOf } from './app-bootstrap.js';
import type { CliArgs } from './cli-args.js';
import { applyRouteFilters } from './route-filters.js';

const DEFAULT_PORT = 3000;
const STATES = ['initialized', 'running', 'quieting', 'quiet', 'stopping', 'stopped'] as const;

/**
 * What the server imposes on the module's options. The engine must not start before the filters
 * narrowed the routes, and a dead engine should restart the process under a supervisor. Liveness:
 * --no-liveness turns every listener off, the module's own `liveness.port` included;
 * --liveness-port wins over the module; without HTTP the listener answers on the module's
 * `liveness.port`, else on PORT, else 3000 (with HTTP, the app serves its own probes).
 */
export function serverOverrides(args: CliArgs, http: boolean): ProcessOverrides {
  const host = args.livenessHost === undefined ? {} : { hostname: args.livenessHost };
  return {
    ownsSignals: true,
    withoutLivenessListener: !args.liveness,
    defaults: {
      onCriticalError: 'exit',
      liveness: http ? undefined : { port: Number(process.env.PORT ?? DEFAULT_PORT) },
    },
    forced: {
      autoStart: false,
      liveness: args.livenessPort === undefined ? host : { port: args.livenessPort, ...host },
    },
  };
}

/**
 * npm (npx, npm start, npm run) does not pass SIGTERM on to its child: the consumers would be
 * killed without a graceful stop. npm sets npm_command in its children's environment.
 */
function warnUnderNpm(logger: Logger): void {
  const command = process.env.npm_command;
  if (command === undefined) return;
  logger.warn(
    `running under npm (npm ${command}): npm does not pass SIGTERM on, so a stop from Kubernetes, systemd or Docker would kill the consumers without a graceful stop. Run the bin with node itself: node node_modules/.bin/karafka server ...`,
  );
}

/**
 * `karafka server`: the process owns the signals. TERM/INT/QUIT stop gracefully (exit 0, or 2
 * when shutdownTimeout ran out); a second INT forces (exit 2); TSTP quiets; TTIN dumps jobs.
 */
export async function runServer(appModule: Type, args: CliArgs): Promise<void> {
  const logger = new Logger('karafka server');
  warnUnderNpm(logger);
  const http = args.http && declaresControllers(appModule);
  setProcessOverrides(serverOverrides(args, http));

  const app = await bootApp(appModule, http);
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
    // A dead engine (onCriticalError: 'exit' signals the process) is a failure, whatever the stop.
    process.exit(runner.status().stoppedUnexpectedly ? 1 : inTime ? 0 : 2);
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
