#!/usr/bin/env node
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { CliError, parseCliArgs, USAGE } from './cli-args.js';
import { runInfo } from './info-command.js';
import { loadAppModule } from './load-module.js';
import { runServer } from './server-command.js';
import { runSwarm, swarmNodeRole } from './swarm-command.js';
import { runTopics } from './topics-command.js';

async function main(): Promise<void> {
  const args = parseCliArgs(process.argv.slice(2));
  if (args.command === 'help') return void console.log(USAGE);
  if (args.command === 'version') {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    return void console.log(pkg.version);
  }
  // Before the app's code loads: the node's marker leaves the environment the app sees.
  const node = args.command === 'swarm' ? swarmNodeRole() : undefined;
  const appModule = await loadAppModule(args.module, args.exportName);
  if (args.command === 'info') return runInfo(appModule);
  if (args.command === 'topics') return runTopics(appModule, args.action!);
  if (args.command === 'swarm') return node ? runServer(appModule, args, node) : runSwarm(appModule, args);
  return runServer(appModule, args);
}

main().catch((error: unknown) => {
  if (error instanceof CliError) {
    console.error(`karafka: ${error.message}`);
    process.exit(error.exitCode);
  }
  console.error(`karafka: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
