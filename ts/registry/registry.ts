// The registry as data: every public solver's descriptor, by name (from the one list in ts/solvers/index.ts).
import * as api from '../solvers/index.js';
import type { SolverDescriptor } from './define.js';

function isSolver(x: unknown): x is { descriptor: SolverDescriptor } {
  return typeof x === 'function' && typeof (x as { descriptor?: unknown }).descriptor === 'object';
}

/** name → descriptor, in the registry's order. */
export const SOLVERS: ReadonlyMap<string, SolverDescriptor> = new Map(
  Object.values(api)
    .filter(isSolver)
    .map((f) => [f.descriptor.name, f.descriptor]),
);

export function solverDescriptor(name: string): SolverDescriptor | undefined {
  return SOLVERS.get(name);
}
