import type { KarafkaModuleOptions } from './karafka-options.js';

/**
 * Set by a process owner (the `karafka` CLI) before it boots the user's module: `defaults`
 * apply where the user set nothing, `forced` win over what the user set. Embedded apps leave it empty.
 */
export interface ProcessOverrides {
  defaults?: Partial<KarafkaModuleOptions>;
  forced?: Partial<KarafkaModuleOptions>;
  /** The process owns the signals (no embedding warnings). */
  ownsSignals?: boolean;
  /** No standalone liveness listener, whatever `liveness.port` the module sets (`--no-liveness`). */
  withoutLivenessListener?: boolean;
  /**
   * The index of this process in a `karafka swarm`: the standalone liveness listener refuses to
   * start (the supervisor's answers for the swarm), and titles and logs name the node.
   */
  swarmNode?: number;
}

let current: ProcessOverrides = {};

export function setProcessOverrides(overrides: ProcessOverrides): void {
  current = overrides;
}

export function processOverrides(): ProcessOverrides {
  return current;
}
