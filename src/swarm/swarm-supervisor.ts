import { Logger } from '@nestjs/common';
import type { ChildProcess } from 'node:child_process';
import { LivenessServer, type LivenessCheck, type LivenessServerOptions } from '../health/liveness-server.js';
import { isNodeReport } from './node-report.js';
import { nextAction, type NodeSlot, type SupervisionLimits } from './node-supervision.js';

/** How often the control loop runs (Karafka's supervision_interval); node exits run it at once too. */
export const CONTROL_INTERVAL_MS = 1_000;
/**
 * On a swarm stop, what nodes get beyond `shutdownTimeout` before SIGKILL: the signal's way, the
 * commit, leaving the group and closing the app after their own stop.
 */
export const SHUTDOWN_GRACE_MS = 5_000;

export type SupervisorState = 'supervising' | 'quiet' | 'stopping' | 'stopped';

export interface SupervisorSettings extends SupervisionLimits {
  nodes: number;
  controllingTtl: number;
  clientId: string;
  /** The supervisor's liveness listener; none without. */
  liveness?: LivenessServerOptions;
  /** Starts the process of node `index` (with an IPC channel). */
  fork: (index: number) => ChildProcess;
}

/** The supervisor's liveness body (Karafka's SwarmLivenessListener), and what it knows of the nodes. */
export interface SwarmLivenessReport extends LivenessCheck {
  state: SupervisorState;
  controllingTtl: number;
  lastControlAgeMs: number;
  nodes: {
    index: number;
    pid?: number;
    state: 'running' | 'stopping' | 'dead';
    lastReportAgeMs: number;
    rssMb?: number;
  }[];
}

/**
 * Karafka's Swarm::Supervisor and Manager: forks the nodes and keeps them running. The control
 * loop stops (SIGTERM) a node that reports unhealthy, exceeds `nodeMemoryLimit` or is silent past
 * `nodeReportTimeout`, kills it (SIGKILL) if it still lives `shutdownTimeout` later, and starts a
 * dead node again after `nodeRestartTimeout`. Its liveness listener answers 204 while that loop
 * ran within `controllingTtl`, 500 and the reason as JSON otherwise.
 */
export class SwarmSupervisor {
  private readonly logger = new Logger('karafka swarm');
  private readonly slots: NodeSlot[] = [];
  private readonly livenessServer?: LivenessServer;
  private stateValue: SupervisorState = 'supervising';
  private timer?: NodeJS.Timeout;
  private lastControlAt = Date.now();
  private held = false;
  private forced = false;
  private finished?: (exitCode: number) => void;
  private stopped?: Promise<number>;

  constructor(private readonly settings: SupervisorSettings) {
    if (settings.liveness) this.livenessServer = new LivenessServer(settings.liveness, () => this.liveness());
  }

  get state(): SupervisorState {
    return this.stateValue;
  }

  /** Forks every node, starts the control loop and the liveness listener. */
  async start(): Promise<void> {
    this.setState('supervising');
    for (let index = 0; index < this.settings.nodes; index++) this.slots.push(this.spawn(index));
    this.timer = setInterval(() => this.control(), CONTROL_INTERVAL_MS);
    await this.livenessServer?.start();
  }

  /** SIGTSTP to every node; from now on nothing is stopped for health nor restarted. */
  quiet(): void {
    if (this.stateValue !== 'supervising') return;
    this.setState('quiet');
    this.signalNodes('SIGTSTP');
  }

  /**
   * SIGTERM to every node; SIGKILL to those alive `shutdownTimeout` plus a grace later. Resolves
   * the exit code once every node exited: 0, or 2 when a node had to be killed or forced its own stop.
   */
  stop(signal: NodeJS.Signals): Promise<number> {
    if (this.stopped) return this.stopped;
    this.setState('stopping');
    this.stopped = new Promise((resolve) => (this.finished = resolve));
    const killAt = Date.now() + this.settings.shutdownTimeout + SHUTDOWN_GRACE_MS;
    for (const slot of this.alive()) this.terminate(slot, `the swarm stops (${signal})`, killAt);
    this.control();
    return this.stopped;
  }

  /** SIGKILL to every node now (a second SIGINT). */
  forceStop(): void {
    for (const slot of this.alive()) this.kill(slot, 'forced stop (a second SIGINT)');
  }

  /** Passes a signal on to every node that runs (SIGTTIN: each logs its running jobs). */
  signalNodes(signal: NodeJS.Signals): void {
    for (const slot of this.alive()) slot.child?.kill(signal);
  }

  /** One line per node: what SIGTTIN logs in the supervisor before the nodes dump their jobs. */
  describeNodes(): string[] {
    const now = Date.now();
    return this.slots.map((slot) => {
      if (slot.exit) return `node ${slot.index}: dead for ${now - slot.exit.at} ms`;
      const memory = slot.report ? `, ${slot.report.rssMb} MB` : '';
      const stopping = slot.stop ? `, stopping (${slot.stop.reason})` : '';
      return `node ${slot.index}: pid ${slot.pid}, reported ${now - slot.lastReportAt} ms ago${memory}${stopping}`;
    });
  }

  /** Test hook: while held, the control loop does nothing, so liveness turns 500 past controllingTtl. */
  holdControl(held: boolean): void {
    this.held = held;
  }

  liveness(): SwarmLivenessReport {
    const now = Date.now();
    const age = now - this.lastControlAt;
    const { controllingTtl } = this.settings;
    const healthy = age < controllingTtl;
    return {
      healthy,
      reasons: healthy
        ? []
        : [
            `controllingTtl exceeded: the swarm supervisor's control loop last ran ${age} ms ago (controllingTtl ${controllingTtl} ms)`,
          ],
      state: this.stateValue,
      controllingTtl,
      lastControlAgeMs: age,
      nodes: this.slots.map((slot) => ({
        index: slot.index,
        pid: slot.pid,
        state: slot.exit ? 'dead' : slot.stop ? 'stopping' : 'running',
        lastReportAgeMs: now - slot.lastReportAt,
        rssMb: slot.report?.rssMb,
      })),
    };
  }

  private alive(): NodeSlot[] {
    return this.slots.filter((slot) => !slot.exit);
  }

  private setState(state: SupervisorState): void {
    this.stateValue = state;
    process.title = `karafka ${this.settings.clientId} swarm (${state})`;
  }

  private spawn(index: number): NodeSlot {
    const now = Date.now();
    const child = this.settings.fork(index);
    const slot: NodeSlot = { index, child, pid: child.pid, startedAt: now, lastReportAt: now };
    child.on('message', (message) => {
      if (!isNodeReport(message) || this.slots[index] !== slot) return;
      slot.report = message;
      slot.lastReportAt = Date.now();
    });
    const exited = (code: number | null, signal: NodeJS.Signals | null) => {
      if (slot.exit) return;
      slot.exit = { at: Date.now(), code, signal };
      if (this.stateValue === 'stopping' && code === 2) this.forced = true;
      const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
      if (this.stateValue === 'stopping') this.logger.log(`node ${index} (pid ${slot.pid}) ${how}`);
      else {
        this.logger.warn(
          `node ${index} (pid ${slot.pid}) ${how}; starting it again in ${this.settings.nodeRestartTimeout} ms (swarm.nodeRestartTimeout)`,
        );
      }
      this.control();
    };
    child.on('exit', exited);
    child.on('error', (error) => {
      this.logger.error(`node ${index}: ${error.message}`);
      if (child.pid === undefined) exited(null, null);
    });
    this.logger.log(`node ${index} started (pid ${child.pid})`);
    return slot;
  }

  private terminate(slot: NodeSlot, reason: string, killAt: number): void {
    slot.stop ??= { at: Date.now(), reason, killAt };
    slot.child?.kill('SIGTERM');
  }

  private kill(slot: NodeSlot, reason: string): void {
    slot.killedAt = Date.now();
    if (this.stateValue === 'stopping') this.forced = true;
    this.logger.error(`node ${slot.index} (pid ${slot.pid}): SIGKILL: ${reason}`);
    slot.child?.kill('SIGKILL');
  }

  /** One run of the control loop: Karafka's Manager#control over every node. */
  private control(): void {
    if (this.held) return;
    this.lastControlAt = Date.now();
    try {
      const supervising = this.stateValue === 'supervising';
      for (const slot of this.slots) {
        const action = nextAction(slot, this.lastControlAt, this.settings, supervising);
        if (action?.kind === 'kill') this.kill(slot, action.reason);
        else if (action?.kind === 'restart') this.slots[slot.index] = this.spawn(slot.index);
        else if (action?.kind === 'terminate') {
          this.logger.warn(`node ${slot.index} (pid ${slot.pid}) ${action.reason}: SIGTERM`);
          this.terminate(slot, action.reason, this.lastControlAt + this.settings.shutdownTimeout);
        }
      }
      if (this.stateValue === 'stopping' && this.alive().length === 0) void this.finish();
    } catch (error) {
      // The loop must outlive any one failure: liveness would say it stopped otherwise.
      this.logger.error(`control loop: ${(error as Error).message}`);
    }
  }

  private async finish(): Promise<void> {
    if (this.stateValue === 'stopped') return;
    this.setState('stopped');
    clearInterval(this.timer);
    await this.livenessServer?.stop();
    this.finished?.(this.forced ? 2 : 0);
  }
}
