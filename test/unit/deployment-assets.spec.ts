import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  dockerStages,
  find,
  image,
  read,
  root,
  sampleDefaultPort,
  sampleNumber,
  sampleRoutes,
} from '../support/sample-assets.js';

const sampleShutdownTimeout = () => sampleNumber('shutdownTimeout');

/** `[section] key=value` lines of a systemd unit, comments and blank lines skipped. */
function parseUnit(text: string): Map<string, string> {
  const entries = new Map<string, string>();
  let section = '';
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) section = header[1];
    else entries.set(`${section}.${line.slice(0, line.indexOf('='))}`, line.slice(line.indexOf('=') + 1));
  }
  return entries;
}

/** systemd time span ("30", "30s", "1min 30s") in seconds. */
function seconds(span: string): number {
  const units: Record<string, number> = { '': 1, s: 1, sec: 1, m: 60, min: 60, h: 3600 };
  return span
    .split(/\s+/)
    .map((part) => /^(\d+)([a-z]*)$/.exec(part))
    .reduce((total, match) => total + Number(match![1]) * units[match![2]], 0);
}

describe('systemd unit', () => {
  const unit = parseUnit(read('sample/systemd/karafka.service'));

  it('restarts on failure and stops with SIGTERM, waiting longer than the sample shutdownTimeout', () => {
    expect(unit.get('Service.Restart')).toBe('on-failure');
    // on-failure restarts a non-zero exit: the sample's dead engine must exit (1), not idle.
    expect(read('sample/src/app.module.ts')).toMatch(/onCriticalError: 'exit'/);
    expect(unit.get('Service.KillSignal')).toBe('SIGTERM');
    const timeout = unit.get('Service.TimeoutStopSec');
    expect(timeout).toBeDefined();
    expect(seconds(timeout!) * 1000).toBeGreaterThan(sampleShutdownTimeout());
  });

  it('runs node on the built sample, not npm or npx (which do not pass SIGTERM on)', () => {
    const [executable, script] = unit.get('Service.ExecStart')!.split(/\s+/);
    expect(basename(executable)).toBe('node');
    expect(script).toBe('sample/dist/main.js');
    expect(existsSync(join(root, 'sample/src/main.ts'))).toBe(true);
  });

  it.skipIf(spawnSync('systemd-analyze', ['--version']).status !== 0)('passes systemd-analyze verify', () => {
    const result = spawnSync('systemd-analyze', ['verify', join(root, 'sample/systemd/karafka.service')], {
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    expect(result.stderr).not.toContain('karafka.service');
  });
});

describe('Dockerfiles', () => {
  const embedded = dockerStages('sample/Dockerfile');
  const server = dockerStages('sample/Dockerfile.server');

  it.each([
    ['sample/Dockerfile', embedded],
    ['sample/Dockerfile.server', server],
  ])('%s is multi-stage, runs as a non-root user, and stops node itself with SIGTERM', (_, stages) => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const final = stages.at(-1)!;
    const user = find(final, 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(find(final, 'STOPSIGNAL').at(-1)?.args).toBe('SIGTERM');
    const command = JSON.parse(find(final, 'CMD').at(-1)!.args) as string[];
    const runs = command[0] === 'sh' ? command[2] : command.join(' ');
    expect(runs).toMatch(/^(exec )?node /);
    expect(runs).not.toMatch(/\bnpx?\b/);
    for (const copy of find(final, 'COPY')) expect(copy.args).toMatch(/^--from=build /);
  });

  it('the standalone image serves the liveness listener (--no-http) on the port it exposes', () => {
    const { command, env, exposed } = image('sample/Dockerfile.server');
    expect(command.join(' ')).toMatch(/ server --no-http /);
    expect(exposed).toContain(Number(env.PORT));
  });

  it('the embedded image binds every interface on the exposed port, as the sample reads HOST and PORT', () => {
    const final = embedded.at(-1)!;
    const env = find(final, 'ENV')
      .map((i) => i.args)
      .join(' ');
    expect(env).toContain('HOST=0.0.0.0');
    const port = Number(/PORT=(\d+)/.exec(env)?.[1] ?? sampleDefaultPort());
    expect(find(final, 'EXPOSE').map((i) => Number(i.args))).toContain(port);
    expect(JSON.parse(find(final, 'CMD').at(-1)!.args)).toEqual(['node', 'sample/dist/main.js']);
  });

  it('both variants build the same way, from the same context', () => {
    expect(server[0]).toEqual(embedded[0]);
    // BuildKit reads <Dockerfile>.dockerignore next to each Dockerfile (the context is the repository root).
    expect(read('sample/Dockerfile.server.dockerignore')).toBe(read('sample/Dockerfile.dockerignore'));
  });

  describe('the build stage, replayed without Docker', () => {
    const work = mkdtempSync(join(tmpdir(), 'karafka-docker-'));
    afterAll(() => rmSync(work, { recursive: true, force: true }));

    it(
      'compiles the library and the sample into what the final stages copy and run',
      { timeout: 180_000 },
      () => {
        const [build, ...rest] = embedded;
        const ignored = read('sample/Dockerfile.dockerignore')
          .split('\n')
          .filter((l) => l.trim() && !l.startsWith('#'));
        for (const instruction of build) {
          if (instruction.keyword === 'COPY') {
            const parts = instruction.args.split(/\s+/);
            const target = parts.pop()!;
            for (const source of parts) {
              expect(ignored, `${source} is excluded by the .dockerignore`).not.toContain(
                source.split('/')[0],
              );
              const destination = join(work, target.endsWith('/') ? join(target, basename(source)) : target);
              mkdirSync(dirname(destination), { recursive: true });
              cpSync(join(root, source), destination, { recursive: true });
            }
          } else if (instruction.keyword === 'RUN') {
            // `npm ci` would install what this checkout already has.
            if (instruction.args === 'npm ci')
              symlinkSync(join(root, 'node_modules'), join(work, 'node_modules'));
            else execFileSync('sh', ['-c', instruction.args], { cwd: work, stdio: 'pipe' });
          }
        }
        for (const stage of [rest.at(-1)!, server.at(-1)!]) {
          for (const copy of find(stage, 'COPY')) {
            const source = copy.args.split(/\s+/)[1].replace(/^\/app\//, '');
            expect(existsSync(join(work, source)), source).toBe(true);
          }
        }
        expect(readdirSync(join(work, 'sample/dist'))).toContain('main.js');
        expect(readdirSync(join(work, 'sample/dist'))).toContain('app.module.js');
        const bin = (JSON.parse(read('package.json')) as { bin?: Record<string, string> }).bin?.karafka;
        // The server image runs package.json's `karafka` bin, which the build must produce.
        if (bin) expect(existsSync(join(work, bin)), bin).toBe(true);
      },
    );
  });
});

describe('Procfile', () => {
  it("runs the sample on every interface with node, within Heroku's 30 s stop deadline", () => {
    const lines = read('sample/Procfile').trim().split('\n');
    expect(lines).toEqual(['web: HOST=0.0.0.0 node sample/dist/main.js']);
    expect(sampleShutdownTimeout()).toBeLessThan(30_000);
  });
});

describe('Kubernetes manifests', () => {
  const images = ['sample/Dockerfile', 'sample/Dockerfile.server'].map(image);
  const manifests = readdirSync(join(root, 'sample/k8s')).filter((file) => file.endsWith('.yaml'));

  it('there is one per image', () => {
    expect(manifests.sort()).toEqual(['deployment-server.yaml', 'deployment.yaml']);
  });

  it.each(manifests)(
    '%s matches the image it runs: numeric non-root user, exposed ports, probes, grace period, Recreate',
    (file) => {
      const path = `sample/k8s/${file}`;
      const documents = parseAllDocuments(read(path));
      for (const document of documents) expect(document.errors, path).toEqual([]);
      const deployment = documents.map((d) => d.toJS()).find((d) => d?.kind === 'Deployment');
      expect(deployment, 'a Deployment').toBeDefined();
      // Karafka's guide: other strategies rebalance over and over and process twice.
      expect(deployment.spec.strategy.type).toBe('Recreate');
      const pod = deployment.spec.template.spec;
      // Terminus's gracefulShutdownTimeoutMs delays the stop: the grace period covers it and the drain.
      expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(
        sampleShutdownTimeout() + sampleNumber('gracefulShutdownTimeoutMs'),
      );

      for (const container of pod.containers) {
        const built = images.find((candidate) => candidate.tag === container.image.split(':')[0]);
        expect(built, `the Dockerfile building ${container.image}`).toBeDefined();
        const { command, exposed, user } = built!;
        const security = { ...pod.securityContext, ...container.securityContext };
        const imageUid = user?.split(':')[0];
        // The kubelet refuses runAsNonRoot unless it can see a numeric, non-zero uid.
        if (security.runAsNonRoot) expect(String(security.runAsUser ?? imageUid)).toMatch(/^[1-9]\d*$/);
        if (security.runAsUser !== undefined) expect(String(security.runAsUser)).toBe(imageUid);

        const env = {
          ...built!.env,
          ...Object.fromEntries(
            (container.env ?? []).map((e: { name: string; value: string }) => [e.name, e.value]),
          ),
        };
        const port = Number(env.PORT ?? sampleDefaultPort());
        const ports = new Map<string | number, number>(
          (container.ports ?? []).flatMap((p: { name?: string; containerPort: number }) => [
            [p.containerPort, p.containerPort],
            ...(p.name ? [[p.name, p.containerPort] as const] : []),
          ]),
        );
        for (const containerPort of new Set(ports.values())) expect(exposed).toContain(containerPort);

        // --no-http: the liveness listener answers any path; otherwise the sample's controllers do.
        const standalone = command.join(' ').includes('--no-http');
        if (!standalone) expect(env.HOST).toBe('0.0.0.0');
        const probes = standalone ? ['livenessProbe'] : ['livenessProbe', 'readinessProbe'];
        for (const probe of probes) {
          const httpGet = container[probe]?.httpGet;
          expect(httpGet, `${container.name} ${probe}.httpGet`).toBeDefined();
          expect(ports.get(httpGet.port), `${probe} port ${httpGet.port}`).toBe(port);
          if (standalone) expect(httpGet.path).toMatch(/^\//);
          else expect(sampleRoutes(), `${probe} path ${httpGet.path}`).toContain(httpGet.path);
        }
      }
    },
  );
});
