import { parseArgs } from 'node:util';

/** A mistake in the command line: the message names the flag and the fix. Exit code 64 (EX_USAGE). */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}

export interface RouteFilters {
  topics: string[];
  excludeTopics: string[];
  consumerGroups: string[];
  excludeConsumerGroups: string[];
  subscriptionGroups: string[];
  excludeSubscriptionGroups: string[];
}

export interface CliArgs {
  command: 'server' | 'info' | 'topics' | 'help' | 'version';
  /** For `topics`: create, delete or plan. */
  action?: 'create' | 'delete' | 'plan';
  module?: string;
  exportName?: string;
  livenessPort?: number;
  livenessHost?: string;
  liveness: boolean;
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

export const USAGE = `Usage: karafka <command> [options]

Commands:
  server   run the consumers of a Nest module until signalled
  info     print the routes: consumer groups, subscription groups, topics, consumers
  topics create|delete|plan
           the topics declared with @Consumer(topic, { config: { partitions } }) (and their DLQs)
  help     this text

Options:
  --module <file>       the compiled module file (default: "module" in karafka.config.json)
  --export <name>       its exported module class (default: "export" in karafka.config.json, AppModule, or the default export)
  --liveness-port <n>   standalone liveness listener port (server; default 3000)
  --liveness-host <h>   its interface (default: all)
  --no-liveness         no liveness listener
  --topics a,b          consume only these topics          --exclude-topics a,b
  --consumer-groups a   only these consumer groups         --exclude-consumer-groups a
  --subscription-groups only these subscription groups     --exclude-subscription-groups a
  (dash or underscore spelling; inclusion beats exclusion)
  --version, --help

Signals (server): TERM/INT/QUIT stop gracefully (a second INT forces), TSTP quiets, TTIN dumps running jobs.`;

/** Parses argv (without node and the script). Throws {@link CliUsageError} for anything wrong. */
export function parseCliArgs(argv: string[]): CliArgs {
  // Underscore spellings (Karafka's --exclude_topics) are the same flags.
  const normalized = argv.map((arg) => (arg.startsWith('--') ? arg.replace(/_/g, '-') : arg));
  let parsed;
  try {
    parsed = parseArgs({
      args: normalized,
      allowPositionals: true,
      strict: true,
      options: {
        module: { type: 'string' },
        export: { type: 'string' },
        'liveness-port': { type: 'string' },
        'liveness-host': { type: 'string' },
        'no-liveness': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
        ...Object.fromEntries(
          Object.values(FILTERS).map((flag) => [flag, { type: 'string' as const, multiple: true }]),
        ),
      },
    });
  } catch (error) {
    throw new CliUsageError(`${(error as Error).message}. Run "karafka --help" for the flags.`);
  }
  const { values, positionals } = parsed;
  const command = values.help ? 'help' : values.version ? 'version' : (positionals[0] ?? 'help');
  if (!['server', 'info', 'topics', 'help', 'version'].includes(command)) {
    throw new CliUsageError(`unknown command "${command}". Use one of: server, info, topics, help`);
  }
  const action = command === 'topics' ? positionals[1] : undefined;
  if (command === 'topics' && !['create', 'delete', 'plan'].includes(action ?? '')) {
    throw new CliUsageError(
      `karafka topics needs an action: create, delete or plan${action ? ` (got "${action}")` : ''}`,
    );
  }
  const extra = positionals[command === 'topics' ? 2 : 1];
  if (extra !== undefined) throw new CliUsageError(`unexpected argument "${extra}". Flags start with --`);
  let livenessPort: number | undefined;
  if (values['liveness-port'] !== undefined) {
    livenessPort = Number(values['liveness-port']);
    if (!Number.isInteger(livenessPort) || livenessPort < 0 || livenessPort > 65535) {
      throw new CliUsageError(
        `--liveness-port must be a port number (0-65535), got "${values['liveness-port']}"`,
      );
    }
  }
  const list = (flag: string): string[] =>
    (((values as Record<string, unknown>)[flag] as string[] | undefined) ?? [])
      .flatMap((value) => value.split(','))
      .map((name) => name.trim())
      .filter(Boolean);
  const filters = Object.fromEntries(
    Object.entries(FILTERS).map(([key, flag]) => [key, list(flag)]),
  ) as unknown as RouteFilters;
  return {
    command: command as CliArgs['command'],
    action: action as CliArgs['action'],
    module: values.module as string | undefined,
    exportName: values.export as string | undefined,
    livenessPort,
    livenessHost: values['liveness-host'] as string | undefined,
    liveness: !values['no-liveness'],
    filters,
  };
}
