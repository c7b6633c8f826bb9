import { Logger } from '@nestjs/common';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { setProcessOverrides } from '../../src/config/process-overrides.js';
import { LivenessServer } from '../../src/health/liveness-server.js';
import type { LivenessReport } from '../../src/index.js';

const healthy: LivenessReport = {
  healthy: true,
  reasons: [],
  state: 'running',
  pollingTtl: 300_000,
  consumingTtl: 300_000,
  subscriptionGroups: [],
};

const servers: LivenessServer[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

function serve(check: () => LivenessReport) {
  const server = new LivenessServer({ port: 0, hostname: '127.0.0.1' }, check);
  servers.push(server);
  return server;
}

const get = (server: LivenessServer, path = '/') =>
  fetch(`http://127.0.0.1:${server.address()!.port}${path}`);

describe('LivenessServer (real HTTP on loopback)', () => {
  it('answers any path 204 when healthy, 500 with the JSON report when not', async () => {
    let report = healthy;
    const server = serve(() => report);
    await server.start();
    const ok = await get(server, '/whatever?x=1');
    expect(ok.status).toBe(204);
    expect(await ok.text()).toBe('');

    report = { ...healthy, healthy: false, reasons: ['pollingTtl exceeded: …'] };
    const down = await get(server);
    expect(down.status).toBe(500);
    expect(down.headers.get('content-type')).toBe('application/json');
    expect(await down.json()).toEqual(report);
  });

  it('answers 500 naming the failure when the check itself throws', async () => {
    const server = serve(() => {
      throw new Error('no engine');
    });
    await server.start();
    const response = await get(server);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({
      healthy: false,
      reasons: ['the liveness check failed: no engine'],
    });
  });

  it('logs a taken port and resolves, listening nowhere; the process goes on', async () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const server = new LivenessServer({ port, hostname: '127.0.0.1' }, () => healthy);
      servers.push(server);
      await server.start();
      expect(server.address()).toBeUndefined();
      expect(warn).toHaveBeenCalledWith(
        `liveness listener not started: 127.0.0.1:${port} is already in use (another process in this pod?); consuming goes on without it`,
      );
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it("refuses to start in a swarm node, pointing at the supervisor's listener", async () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    setProcessOverrides({ swarmNode: 2 });
    try {
      const server = serve(() => healthy);
      await server.start();
      expect(server.address()).toBeUndefined();
      expect(warn).toHaveBeenCalledWith(
        "liveness listener not started on 127.0.0.1:0: this process is node 2 of a karafka swarm, where the supervisor's swarm liveness listener answers for the pod (karafka swarm --liveness-port, liveness.controllingTtl); probe that one",
      );
    } finally {
      setProcessOverrides({});
    }
  });

  it('a stop racing a start closes what the start opened; start again listens again', async () => {
    const server = serve(() => healthy);
    const starting = server.start();
    await server.stop();
    await starting;
    expect(server.address()).toBeUndefined();
    await server.start();
    await server.start(); // idempotent while listening
    expect((await get(server)).status).toBe(204);
    const { port } = server.address()!;
    await server.stop();
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  });
});
