import { Logger, type Type } from '@nestjs/common';
import { fork } from 'node:child_process';
import { setProcessOverrides } from '../config/process-overrides.js';
import { RouteTable } from '../routing/route-table.js';
import { SwarmSupervisor } from '../swarm/swarm-supervisor.js';
import { bootApp, karafkaOptionsOf } from './app-bootstrap.js';
import type { CliArgs } from './cli-args.js';
import { applyRouteFilters } from './route-filters.js';
import { warnUnderNpm, type SwarmNodeRole } from './server-command.js';

/** Set by the supervisor in the environment of each node it forks: the node's index. */
const NODE_INDEX_ENV = 'KARAFKA_SWARM_NODE';
/**
 * Tests only: with it set to 1 (and NODE_ENV not production), SIGUSR2 holds the control loop and
 * a second SIGUSR2 releases it, so liveness can be seen turning 500 past controllingTtl.
 */
export const TEST_HOOKS_ENV = 'NESTJS_KARAFKA_SWARM_TEST_HOOKS';

/**
 * This process's node role when the swarm supervisor forked it (its index in the environment and
 * an IPC channel); undefined for the supervisor itself. The variable is removed, so processes
 * the app starts are not taken for nodes.
 */
export function swarmNodeRole(): SwarmNodeRole | undefined {
  const index = process.env[NODE_INDEX_ENV];
  if (index === undefined || process.send === undefined) return undefined;
  delete process.env[NODE_INDEX_ENV];
  return { index: Number(index), supervisorPid: process.ppid };
}

/**
 * `karafka swarm`: boots the module once to read its options and check the filters (a bad
 * --topics exits 64 before any fork), closes it, and supervises `--nodes` processes that each
 * run `karafka server` for the module (fresh processes: nothing connected crosses over).
 * TERM/INT/QUIT stop every node (a second INT kills them); TSTP quiets them; TTIN makes each
 * dump its jobs.
 */
export async function runSwarm(appModule: Type, args: CliArgs): Promise<void> {
  const logger = new Logger('karafka swarm');
  warnUnderNpm(logger, 'swarm');
  setProcessOverrides({ ownsSignals: true, forced: { autoStart: false } });
  const app = await bootApp(appModule, false);
  let options;
  try {
    options = karafkaOptionsOf(app, appModule);
    applyRouteFilters(app.get(RouteTable), args.filters, options);
  } finally {
    await app.close();
  }

  const { swarm, liveness } = options;
  const supervisor = new SwarmSupervisor({
    ...swarm,
    nodes: args.nodes ?? swarm.nodes,
    shutdownTimeout: options.shutdownTimeout,
    controllingTtl: liveness.controllingTtl,
    clientId: options.clientId,
    // As `karafka server` without HTTP: the flag, else the module's liveness.port, else PORT, else 3000.
    liveness: args.liveness
      ? {
          port: args.livenessPort ?? liveness.port ?? Number(process.env.PORT ?? 3000),
          hostname: args.livenessHost ?? liveness.hostname,
        }
      : undefined,
    fork: (index) =>
      fork(process.argv[1], process.argv.slice(2), {
        env: { ...process.env, [NODE_INDEX_ENV]: String(index) },
      }),
  });

  const stop = (signal: NodeJS.Signals) => {
    if (supervisor.state === 'stopping' || supervisor.state === 'stopped') {
      if (signal === 'SIGINT') supervisor.forceStop();
      return;
    }
    logger.log(`${signal}: stopping every node (a second SIGINT kills them)`);
    void supervisor.stop(signal).then((code) => process.exit(code));
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const) process.on(signal, () => stop(signal));
  process.on('SIGTSTP', () => {
    logger.log('SIGTSTP: quieting every node; no node is replaced until the stop');
    supervisor.quiet();
  });
  process.on('SIGTTIN', () => {
    for (const line of supervisor.describeNodes()) logger.log(`SIGTTIN: ${line}`);
    supervisor.signalNodes('SIGTTIN');
  });
  if (process.env[TEST_HOOKS_ENV] === '1' && process.env.NODE_ENV !== 'production') {
    logger.warn(`${TEST_HOOKS_ENV}=1: SIGUSR2 holds and releases the control loop (tests only)`);
    let held = false;
    process.on('SIGUSR2', () => {
      held = !held;
      logger.warn(`SIGUSR2: control loop ${held ? 'held' : 'released'}`);
      supervisor.holdControl(held);
    });
  }
  logger.log(
    `supervising ${args.nodes ?? swarm.nodes} nodes: signals TERM/INT/QUIT stop them within shutdownTimeout ${options.shutdownTimeout} ms + 5 s, TSTP quiets, TTIN dumps jobs`,
  );
  await supervisor.start();
}
