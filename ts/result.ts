// The fields every solver result has (DESIGN.md "The result"; POT's OTResult and OTT's outputs as models).
import type { BackendName } from './types.js';

/**
 * How a solve ended. 'optimal': an exact solver proved optimality (certificate); 'converged': an iterative
 * solver's stopping measure (`error`) fell below `tol`; 'max-iterations': the iteration cap came first
 * (the result is the last iterate); 'closed-form': no iteration (1D sorting, sliced projections).
 */
export type SolveStatus = 'optimal' | 'converged' | 'max-iterations' | 'closed-form';

/**
 * The fields every solver result has (POT 0.9's `ot.utils.OTResult`: `value`, `plan`, `potentials`, `status`).
 * Each solver's result extends it with its own fields (`plan`, `potentials`, `cost`, gradients…).
 */
export interface OTResult {
  /** The solver's objective (each solver's docs say which: ⟨P, C⟩, S_ε, W_p, a barycenter objective…). */
  value: number;
  /** How the solve ended (see {@link SolveStatus}). */
  status: SolveStatus;
  /** Iterations (or pivots) done; 0 for closed forms. */
  iterations: number;
  /** The stopping measure at return (each solver names it: marginal violation, dual infeasibility…); 0 for closed forms. */
  error: number;
  /** The backend that ran. */
  backend: BackendName;
  /** Threads that shared the work (1 unless the wasm engine split it). */
  threads: number;
}
