import { parseArgs, type ParseArgsConfig } from 'node:util';
import { closestName } from '../config/did-you-mean.js';

/** A failure the CLI reports as one line, without a stack, and exits with `exitCode`. */
export class CliError extends Error {
  override readonly name: string = 'CliError';

  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** A mistake in the command line: the message names the flag and the fix. Exit code 64 (EX_USAGE). */
export class CliUsageError extends CliError {
  override readonly name = 'CliUsageError';

  constructor(message: string) {
    super(message, 64);
  }
}

export interface RouteFilters {
  topics: string[];
  excludeTopics: string[];
  consumerGroups: string[];
  excludeConsumerGroups: string[];
  subscriptionGroups: string[];
  excludeSubscriptionGroups: string[];
}

export type CliCommand = 'server' | 'swarm' | 'info' | 'topics' | 'help' | 'version';

export interface CliArgs {
  command: CliCommand;
  /** For `topics`: create, delete or plan. */
  action?: 'create' | 'delete' | 'plan';
  module?: string;
  exportName?: string;
  livenessPort?: number;
  livenessHost?: string;
  liveness: boolean;
  /** False with --no-http: the server boots an application context even for a module with controllers. */
  http: boolean;
  /** For `swarm`: --nodes, the node processes to fork (default: `swarm.nodes` of the module). */
  nodes?: number;
  filters: RouteFilters;
}

const FILTERS: Record<keyof RouteFilters, string> = {
  topics: 'topics',
  excludeTopics: 'exclude-topics',
  consumerGroups: 'consumer-groups',
  excludeConsumerGroups: 'exclude-consumer-groups',
  subscriptionGroups: 'subscription-groups',
  excludeSubscriptionGroups: 'exclude-subscription-groups',
};

const OPTIONS = {
  module: { type: 'string' },
  export: { type: 'string' },
  'liveness-port': { type: 'string' },
  'liveness-host': { type: 'string' },
  'no-liveness': { type: 'boolean' },
  'no-http': { type: 'boolean' },
  nodes: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
  ...Object.fromEntries(Object.values(FILTERS).map((flag) => [flag, { type: 'string', multiple: true }])),
} as const satisfies ParseArgsConfig['options'];

/** Flags that only mean something to the commands that consume: `karafka server` and `karafka swarm`. */
const SERVER_ONLY = ['liveness-port', 'liveness-host', 'no-liveness', 'no-http', ...Object.values(FILTERS)];

const COMMANDS: readonly CliCommand[] = ['server', 'swarm', 'info', 'topics', 'help', 'version'];

export const USAGE = `Usage: karafka <command> [options]

Commands:
  server   run the consumers of a Nest module until signalled
  swarm    a supervisor forking --nodes processes that each run the server, replacing dead or
           unhealthy ones (server options apply; liveness is the supervisor's, controllingTtl)
  info     print the routes: consumer groups, subscription groups, topics, consumers
  topics create|delete|plan
           the topics declared with @Consumer(topic, { config: { partitions } }) (and their DLQs)
  help     this text

Options:
  --module <file>       the compiled module file (default: "module" in karafka.config.json)
  --export <name>       its exported module class (default: "export" in karafka.config.json, AppModule, or the default export)

Server options:
  --liveness-port <n>   standalone liveness listener port (default: liveness.port of the module, else
                        PORT, else 3000; with an HTTP module, only when given or set in the module)
  --liveness-host <h>   its interface (default: all)
  --no-liveness         no liveness listener, even one the module's liveness.port asks for
  --no-http             do not serve the module's controllers (an application context, no HTTP
                        server); the liveness listener answers probes instead
  --topics a,b          consume only these topics          --exclude-topics a,b
  --consumer-groups a   only these consumer groups         --exclude-consumer-groups a
  --subscription-groups only these subscription groups     --exclude-subscription-groups a
  (comma lists or repeated flags; dash or underscore spelling; names as written in the code or
   as on the cluster; inclusion beats exclusion)

Swarm options (and the server options; nodes never serve HTTP nor open the liveness port):
  --nodes <n>           node processes (default: swarm.nodes of the module, else the CPU count)

  --version, --help

Signals (server): TERM/INT/QUIT stop gracefully (a second INT forces), TSTP quiets, TTIN dumps running jobs.
Signals (swarm): the same, passed on to every node; nodes alive shutdownTimeout + 5 s later are killed.
Exit codes: 0 stopped in time, 1 failed, 2 forced stop (second INT, shutdownTimeout passed, a node
killed), 3 a swarm node whose supervisor died, 64 usage error.`;

/** Node's parseArgs message, turned into one naming the flag and the fix. */
function usageErrorFrom(error: NodeJS.ErrnoException): CliUsageError {
  const unknown = /^Unknown option '(-{1,2}[^']+)'/.exec(error.message)?.[1];
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown) {
    const suggestion = closestName(unknown.replace(/^-+/, ''), Object.keys(OPTIONS));
    return new CliUsageError(
      `unknown flag ${unknown}${suggestion ? `: did you mean --${suggestion}?` : ''} Run "karafka --help" for the flags.`,
    );
  }
  return new CliUsageError(`${error.message}. Run "karafka --help" for the flags.`);
}

/** Parses argv (without node and the script). Throws {@link CliUsageError} for anything wrong. */
export function parseCliArgs(argv: string[]): CliArgs {
  // Underscore spellings (Karafka's --exclude_topics) are the same flags.
  const normalized = argv.map((arg) =>
    arg.startsWith('--') ? arg.replace(/^[^=]*/, (flag) => flag.replace(/_/g, '-')) : arg,
  );
  let parsed;
  try {
    parsed = parseArgs({ args: normalized, allowPositionals: true, strict: true, options: OPTIONS });
  } catch (error) {
    throw usageErrorFrom(error as NodeJS.ErrnoException);
  }
  const { values, positionals } = parsed;
  const command = values.help ? 'help' : values.version ? 'version' : (positionals[0] ?? 'help');
  if (!COMMANDS.includes(command as CliCommand)) {
    const suggestion = closestName(command, COMMANDS);
    throw new CliUsageError(
      `unknown command "${command}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}. Use one of: server, swarm, info, topics, help`,
    );
  }
  const action = command === 'topics' ? positionals[1] : undefined;
  if (command === 'topics' && !['create', 'delete', 'plan'].includes(action ?? '')) {
    throw new CliUsageError(
      `karafka topics needs an action: create, delete or plan${action ? ` (got "${action}")` : ''}`,
    );
  }
  const extra = positionals[command === 'topics' ? 2 : 1];
  if (extra !== undefined) throw new CliUsageError(`unexpected argument "${extra}". Flags start with --`);
  if (command !== 'server' && command !== 'swarm') {
    const misplaced = SERVER_ONLY.find((flag) => values[flag as keyof typeof values] !== undefined);
    if (misplaced) {
      throw new CliUsageError(
        `--${misplaced} applies to "karafka server" and "karafka swarm" only; drop it from "karafka ${command}"`,
      );
    }
  }
  if (command !== 'swarm' && values.nodes !== undefined) {
    throw new CliUsageError(`--nodes applies to "karafka swarm" only; drop it from "karafka ${command}"`);
  }
  let nodes: number | undefined;
  if (values.nodes !== undefined) {
    nodes = Number(values.nodes);
    if (!/^\d+$/.test(values.nodes) || nodes < 1) {
      throw new CliUsageError(`--nodes must be a whole number of 1 or more, got "${values.nodes}"`);
    }
  }
  if (values['no-liveness'] && (values['liveness-port'] ?? values['liveness-host']) !== undefined) {
    throw new CliUsageError(
      '--no-liveness contradicts --liveness-port/--liveness-host: drop one or the other',
    );
  }
  let livenessPort: number | undefined;
  if (values['liveness-port'] !== undefined) {
    livenessPort = Number(values['liveness-port']);
    if (!/^\d+$/.test(values['liveness-port']) || livenessPort > 65535) {
      throw new CliUsageError(
        `--liveness-port must be a port number (0-65535), got "${values['liveness-port']}"`,
      );
    }
  }
  const list = (flag: string): string[] =>
    ((values[flag as keyof typeof values] as string[] | undefined) ?? [])
      .flatMap((value) => value.split(','))
      .map((name) => name.trim())
      .filter(Boolean);
  const filters = Object.fromEntries(
    Object.entries(FILTERS).map(([key, flag]) => [key, list(flag)]),
  ) as unknown as RouteFilters;
  return {
    command: command as CliCommand,
    action: action as CliArgs['action'],
    module: values.module,
    exportName: values.export,
    livenessPort,
    livenessHost: values['liveness-host'],
    liveness: !values['no-liveness'],
    http: !values['no-http'],
    nodes,
    filters,
  };
}
