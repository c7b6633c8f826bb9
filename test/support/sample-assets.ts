// Reads the sample's deployment assets (Dockerfiles, sources) the way the deployment tools do, for
// the specs that hold them against each other and run them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const read = (path: string) => readFileSync(join(root, path), 'utf8');

/** A number option written in sample/src/app.module.ts, e.g. `shutdownTimeout: 20_000`. */
export function sampleNumber(name: string): number {
  const match = new RegExp(`${name}:\\s*([\\d_]+)`).exec(read('sample/src/app.module.ts'));
  if (!match) throw new Error(`sample/src/app.module.ts sets no ${name}`);
  return Number(match[1].replace(/_/g, ''));
}

/** The port the sample listens on when PORT is not set, as written in sample/src/main.ts. */
export function sampleDefaultPort(): number {
  const match = /process\.env\.PORT \?\? (\d+)/.exec(read('sample/src/main.ts'));
  if (!match) throw new Error('sample/src/main.ts has no default port');
  return Number(match[1]);
}

export interface Instruction {
  keyword: string;
  args: string;
}

/** A Dockerfile's stages, each a list of instructions (continuation lines joined). */
export function dockerStages(path: string): Instruction[][] {
  const stages: Instruction[][] = [];
  const text = read(path).replace(/\\\n/g, ' ');
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line === '' || line.startsWith('#')) continue;
    const [keyword, ...rest] = line.split(/\s+/);
    const instruction = { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    if (instruction.keyword === 'FROM') stages.push([]);
    stages.at(-1)?.push(instruction);
  }
  return stages;
}

export const find = (stage: Instruction[], keyword: string) => stage.filter((i) => i.keyword === keyword);

/** What the final stage of a Dockerfile runs: its CMD (exec form), ENV, EXPOSEd ports and USER. */
export interface Image {
  dockerfile: string;
  /** The tag its header comment builds it as (`docker build -f <file> -t <tag> .`). */
  tag?: string;
  command: string[];
  env: Record<string, string>;
  exposed: number[];
  user?: string;
}

export function image(dockerfile: string): Image {
  const final = dockerStages(dockerfile).at(-1)!;
  const env = Object.fromEntries(
    find(final, 'ENV').flatMap((i) =>
      i.args
        .split(/\s+/)
        .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
    ),
  );
  const tag = new RegExp(`docker build -f ${dockerfile.replace(/\./g, '\\.')} -t (\\S+)`).exec(
    read(dockerfile),
  )?.[1];
  return {
    dockerfile,
    tag,
    command: JSON.parse(find(final, 'CMD').at(-1)!.args) as string[],
    env,
    exposed: find(final, 'EXPOSE').flatMap((i) =>
      i.args.split(/\s+/).map((port) => Number(port.split('/')[0])),
    ),
    user: find(final, 'USER').at(-1)?.args,
  };
}

/** GET paths of the sample's controllers: `@Controller('health')` + `@Get('live')` is `/health/live`. */
export function sampleRoutes(): string[] {
  const files = (dir: string): string[] =>
    readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory()
        ? files(join(dir, entry.name))
        : entry.name.endsWith('.ts')
          ? [join(dir, entry.name)]
          : [],
    );
  const prefix = /setGlobalPrefix\(\s*'([^']*)'/.exec(read('sample/src/main.ts'))?.[1] ?? '';
  const routes: string[] = [];
  for (const file of files('sample/src')) {
    const source = read(file);
    const controller = /@Controller\(\s*(?:'([^']*)')?\s*\)/.exec(source);
    if (!controller) continue;
    for (const get of source.matchAll(/@Get\(\s*(?:'([^']*)')?\s*\)/g)) {
      const path = [prefix, controller[1] ?? '', get[1] ?? ''].filter(Boolean).join('/');
      routes.push(`/${path}`.replace(/\/+/g, '/'));
    }
  }
  return routes;
}
