import { Logger, type Type } from '@nestjs/common';
import { setProcessOverrides, type ProcessOverrides } from '../config/process-overrides.js';
import { summarizeLiveness } from '../health/liveness-summary.js';
import { LivenessTracker } from '../health/liveness-tracker.js';
import { KarafkaMonitor } from '../instrumentation/karafka-monitor.js';
import { JobRegistry } from '../processing/job-registry.js';
import { KarafkaRunner } from '../processing/karafka-runner.js';
import { RouteTable } from '../routing/route-table.js';
import { linkToSupervisor } from '../swarm/node-link.js';
import { nodeConsumerGroups } from '../swarm/node-instance-id.js';
import { reportInterval } from '../swarm/node-report.js';
import { bootApp, declaresControllers, karafkaOptionsOf } from './app-bootstrap.js';
import type { CliArgs } from './cli-args.js';
import { applyRouteFilters } from './route-filters.js';

const DEFAULT_PORT = 3000;
const STATES = ['initialized', 'running', 'quieting', 'quiet', 'stopping', 'stopped'] as const;
/** How long a swarm node whose supervisor died may take to stop before it exits anyway. */
const ORPHAN_STOP_MS = 5_000;
/** A swarm node that exits because its supervisor is gone (Karafka's orphaned_exit_code). */
export const ORPHAN_EXIT_CODE = 3;

/** This process as node `index` of a `karafka swarm` supervised by `supervisorPid`. */
export interface SwarmNodeRole {
  index: number;
  supervisorPid: number;
}

/**
 * What the server imposes on the module's options. The engine must not start before the filters
 * narrowed the routes, and a dead engine should restart the process under a supervisor. Liveness:
 * --no-liveness turns every listener off, the module's own `liveness.port` included;
 * --liveness-port wins over the module; without HTTP the listener answers on the module's
 * `liveness.port`, else on PORT, else 3000 (with HTTP, the app serves its own probes).
 */
export function serverOverrides(args: CliArgs, http: boolean, node?: SwarmNodeRole): ProcessOverrides {
  // A node's liveness flags are the supervisor's; the module's own liveness.port is refused.
  if (node) {
    return {
      ownsSignals: true,
      swarmNode: node.index,
      defaults: { onCriticalError: 'exit' },
      forced: { autoStart: false },
    };
  }
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
export function warnUnderNpm(logger: Logger, cliCommand: 'server' | 'swarm' = 'server'): void {
  const command = process.env.npm_command;
  if (command === undefined) return;
  logger.warn(
    `running under npm (npm ${command}): npm does not pass SIGTERM on, so a stop from Kubernetes, systemd or Docker would kill the consumers without a graceful stop. Run the bin with node itself: node node_modules/.bin/karafka ${cliCommand} ...`,
  );
}

/**
 * `karafka server`: the process owns the signals. TERM/INT/QUIT stop gracefully (exit 0, or 2
 * when shutdownTimeout ran out); a second INT forces (exit 2); TSTP quiets; TTIN dumps jobs.
 * As a swarm node (`node`), the same, without HTTP, with the node's `group.instance.id`, reporting
 * to its supervisor, and stopping (exit 3) when the supervisor is gone.
 */
export async function runServer(appModule: Type, args: CliArgs, node?: SwarmNodeRole): Promise<void> {
  const logger = new Logger(node ? `karafka node ${node.index}` : 'karafka server');
  if (!node) warnUnderNpm(logger);
  const http = !node && args.http && declaresControllers(appModule);
  setProcessOverrides(serverOverrides(args, http, node));

  const app = await bootApp(appModule, http);
  let runner: KarafkaRunner;
  let jobs: JobRegistry;
  let nodeReportMs = 0;
  try {
    const options = karafkaOptionsOf(app, appModule);
    runner = app.get(KarafkaRunner);
    jobs = app.get(JobRegistry);
    const monitor = app.get(KarafkaMonitor);
    const name = `karafka ${options.clientId}${node ? ` node ${node.index}` : ''}`;
    for (const state of STATES)
      monitor.subscribe(`app.${state}`, () => (process.title = `${name} (${state})`));
    process.title = `${name} (initialized)`;
    const routes = app.get(RouteTable);
    applyRouteFilters(routes, args.filters, options);
    if (node) {
      routes.replace(nodeConsumerGroups(routes.consumerGroups, node.index));
      nodeReportMs = reportInterval(options.swarm.nodeReportTimeout);
    }
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
  /** `cause`: the signal, or why the process stops on its own. */
  const stop = async (cause: string, exitCode?: number) => {
    if (stopping) {
      if (cause === 'SIGINT') forceStop();
      return;
    }
    stopping = true;
    logger.log(`${cause}: stopping (a second SIGINT forces)`);
    const inTime = await runner.stop();
    await app.close();
    // A dead engine (onCriticalError: 'exit' signals the process) is a failure, whatever the stop.
    process.exit(exitCode ?? (runner.status().stoppedUnexpectedly ? 1 : inTime ? 0 : 2));
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
  if (node) {
    const tracker = app.get(LivenessTracker);
    linkToSupervisor({
      supervisorPid: node.supervisorPid,
      intervalMs: nodeReportMs,
      // Bounded (five reasons at most), whatever the partition count.
      liveness: () => summarizeLiveness(tracker.liveness()),
      onOrphaned: (why) => {
        logger.error(
          `the swarm supervisor (pid ${node.supervisorPid}) is gone (${why}): stopping, exit ${ORPHAN_EXIT_CODE} within ${ORPHAN_STOP_MS} ms`,
        );
        setTimeout(() => process.exit(ORPHAN_EXIT_CODE), ORPHAN_STOP_MS);
        void stop('supervisor gone', ORPHAN_EXIT_CODE);
      },
    });
  }
}
