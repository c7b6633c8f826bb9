// Types for cells.mjs (plain Node, run before anything is built), for the specs that import it.
export interface Cell {
  run: 'suite' | 'smoke' | 'esm-app' | 'cjs-app';
  node: 22 | 24;
  nest: 11 | 12;
  kafka: 3 | 4;
}
export const NODE: Record<22 | 24, string>;
export const KAFKA_OLDER: string;
export const KAFKA_OLDER_PORTS: Record<string, string>;
/** Package name -> version. */
export const NEST_11: Record<string, string>;
export const NEST_12: Record<string, string>;
export const CELLS: Cell[];
export function kafkaOf(cell: Cell): string;
export function nestOf(cell: Cell): Record<string, string>;
export function cellName(cell: Cell): string;
export function requirementsTable(): string;
