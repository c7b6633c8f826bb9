import { spawn, type ChildProcess } from 'node:child_process';

/** Child processes started by a test; kill them all in `afterEach`. */
export class ChildFixtures {
  private readonly children: ChildProcess[] = [];

  constructor(private readonly fixture: string) {}

  start(env: Record<string, string>): ChildProcess {
    const child = spawn(process.execPath, [this.fixture], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.children.push(child);
    return child;
  }

  killAll(): void {
    for (const child of this.children.splice(0)) child.kill('SIGKILL');
  }
}

/** Resolves once `child` exited (at once if it already did). */
export function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
  );
}
