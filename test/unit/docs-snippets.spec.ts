import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface Snippet {
  /** Where the block stands, e.g. `docs/deployment/heroku.md:42` (the line of its first code line). */
  origin: string;
  markdown: string;
  firstLine: number;
  code: string;
  /** The virtual file it is compiled as, inside the repository so packages resolve. */
  fileName: string;
}

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return markdownFiles(path);
    return entry.name.endsWith('.md') ? [path] : [];
  });
}

/** Every ```ts (or ```typescript) block of a Markdown file. */
function extractSnippets(path: string): Snippet[] {
  const markdown = relative(root, path);
  const lines = readFileSync(path, 'utf8').split('\n');
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i].trim())) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end].trim() !== '```') end++;
    const firstLine = start + 1;
    snippets.push({
      origin: `${markdown}:${firstLine}`,
      markdown,
      firstLine,
      code: lines.slice(start, end).join('\n'),
      fileName: join(root, '.docs-snippets', `${markdown.replace(/[/\\.]/g, '_')}_L${firstLine}.ts`),
    });
    i = end;
  }
  return snippets;
}

/** Type-checks the snippets against the sources (`nestjs-karafka` is src/index.ts); returns errors as `file:line: message`. */
function compile(snippets: Snippet[]): string[] {
  const configFile = ts.readConfigFile(join(root, 'tsconfig.json'), (path) => ts.sys.readFile(path));
  const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, root);
  const options: ts.CompilerOptions = {
    ...parsed.options,
    noEmit: true,
    // Every snippet is a module of its own, even one without imports.
    moduleDetection: ts.ModuleDetectionKind.Force,
    // A snippet may declare what it only shows.
    noUnusedLocals: false,
    noUnusedParameters: false,
    paths: {
      'nestjs-karafka': [join(root, 'src/index.ts')],
      'nestjs-karafka/testing': [join(root, 'src/testing/index.ts')],
    },
  };
  const byFile = new Map(snippets.map((snippet) => [snippet.fileName, snippet]));
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (name) => byFile.has(name) || fileExists.call(host, name);
  host.readFile = (name) => byFile.get(name)?.code ?? readFile.call(host, name);
  host.getSourceFile = (name, language, onError, shouldCreate) => {
    const snippet = byFile.get(name);
    return snippet
      ? ts.createSourceFile(name, snippet.code, language, true)
      : getSourceFile.call(host, name, language, onError, shouldCreate);
  };
  const program = ts.createProgram([...byFile.keys()], options, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const snippet = diagnostic.file && byFile.get(diagnostic.file.fileName);
    if (!diagnostic.file || diagnostic.start === undefined) return `(global): ${text}`;
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    const where = snippet
      ? `${snippet.markdown}:${snippet.firstLine + line}`
      : `${relative(root, diagnostic.file.fileName)}:${line + 1}`;
    return `${where}: ${text}`;
  });
}

const snippets = [...markdownFiles(join(root, 'docs')), join(root, 'README.md')].flatMap(extractSnippets);

describe('code snippets of the guides and the README', () => {
  it('finds the snippets of every guide', () => {
    const guides = new Set(snippets.map((snippet) => snippet.markdown));
    for (const guide of [
      'README.md',
      'docs/configuration.md',
      'docs/deployment/systemd.md',
      'docs/deployment/docker.md',
      'docs/deployment/kubernetes.md',
      'docs/deployment/heroku.md',
      'docs/deployment/aws-msk.md',
      'docs/deployment/oauth.md',
    ]) {
      expect(guides, guide).toContain(guide);
    }
  });

  it('type-check against the sources, imports included', { timeout: 60_000 }, () => {
    expect(compile(snippets)).toEqual([]);
  });

  it('report a broken snippet with its file and line', { timeout: 60_000 }, () => {
    const broken: Snippet = {
      origin: 'docs/broken.md:3',
      markdown: 'docs/broken.md',
      firstLine: 3,
      code: "import { KarafkaModule } from 'nestjs-karafka';\n\nKarafkaModule.forRoot({ kafka: 42 });\n",
      fileName: join(root, '.docs-snippets', 'docs_broken_md_L3.ts'),
    };
    const errors = compile([broken]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^docs\/broken\.md:5: Type 'number' is not assignable/);
  });
});
