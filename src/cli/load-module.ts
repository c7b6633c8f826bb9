import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Type } from '@nestjs/common';
import { CliUsageError } from './cli-args.js';

/** `karafka.config.json` at the working directory: Karafka's karafka.rb, naming the app's module. */
export const CONFIG_FILE = 'karafka.config.json';

interface CliConfig {
  module?: string;
  export?: string;
}

function readConfig(cwd: string): CliConfig {
  const file = resolve(cwd, CONFIG_FILE);
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as CliConfig;
  } catch (error) {
    throw new CliUsageError(
      `${file} is not valid JSON (${(error as Error).message}). Write e.g. {"module": "dist/app.module.js", "export": "AppModule"}`,
    );
  }
}

/** Imports the user's compiled module file and returns its module class. */
export async function loadAppModule(
  modulePath: string | undefined,
  exportName: string | undefined,
  cwd = process.cwd(),
): Promise<Type> {
  const config = readConfig(cwd);
  const path = modulePath ?? config.module;
  if (!path) {
    throw new CliUsageError(
      `no module to run: pass --module dist/app.module.js, or write ${CONFIG_FILE} with {"module": "dist/app.module.js"}`,
    );
  }
  const file = resolve(cwd, path);
  if (!existsSync(file))
    throw new CliUsageError(
      `--module ${path}: ${file} does not exist. Build your app first (e.g. npm run build) and point at the compiled .js file`,
    );
  const exports = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const name = exportName ?? config.export;
  const candidate = name ? exports[name] : (exports.AppModule ?? exports.default);
  if (typeof candidate !== 'function') {
    const available = Object.keys(exports).filter((key) => typeof exports[key] === 'function');
    throw new CliUsageError(
      `${path} exports no module class ${name ? `"${name}"` : 'AppModule (nor a default)'}. Use --export with one of: ${available.join(', ') || 'none'}`,
    );
  }
  return candidate as Type;
}
