// The seam between entropic solvers (which own the iteration: schedules, convergence, results) and the
// backends (which own the n × m work). Every backend — js (reference), wasm (f64, SIMD), webgpu (f32) —
// implements EntropicEngine with exactly these semantics; tests compare them against the js engine.
//
// Conventions (POT's): kernel K = exp(−C/ε), plan P_ij = exp((f_i + g_j − C_ij)/ε), i.e. u = e^{f/ε},
// v = e^{g/ε}, P = diag(u) K diag(v). One iteration is the f-update followed by the g-update:
//   f_i ← τ_a · ε·(log a_i − LSE_j((g_j − C_ij)/ε))
//   g_j ← τ_b · ε·(log b_j − LSE_i((f_i − C_ij)/ε))
// with τ = 1 for balanced OT and τ = ρ/(ρ + ε) for KL-relaxed marginals of strength ρ (unbalanced OT).
// Zero weights give f_i = −∞ (that row of P is 0); engines keep −∞ and never produce NaN from it.
import type { BackendName } from '../types.js';
import { pointCost } from '../costs.js';

/** A cost between two sets of points: a stored matrix, or two clouds evaluated on the fly. */
export type PairCost =
  | { kind: 'dense'; C: Float64Array; n: number; m: number }
  | { kind: 'points'; X: Float64Array; Y: Float64Array; n: number; m: number; d: number; power: number };

/** C_ij of a pair cost: the stored entry, or ts/costs.ts's ‖x_i − y_j‖^power for points. */
export function pairCostAt(c: PairCost, i: number, j: number): number {
  return c.kind === 'dense' ? c.C[i * c.m + j] : pointCost(c, c.X, i, c.Y, j, c.d);
}

/** The n × m costs of a pair cost (a dense one's own array; for points, computed: the caller checked n·m fits). */
export function pairCostMatrix(c: PairCost): Float64Array {
  if (c.kind === 'dense') return c.C;
  const C = new Float64Array(c.n * c.m);
  for (let i = 0; i < c.n; i++) for (let j = 0; j < c.m; j++) C[i * c.m + j] = pairCostAt(c, i, j);
  return C;
}

/** Both measures on one h × w grid (n = m = h·w) with the squared Euclidean cost: a separable kernel. */
export interface GridCost {
  kind: 'grid';
  n: number;
  m: number;
  height: number;
  width: number;
  dy: number;
  dx: number;
}

/** The cost side of the problem, already validated (see ts/geometry.ts). */
export type EntropicCost = PairCost | GridCost;

export interface EngineProblem<C extends EntropicCost = PairCost> {
  cost: C;
  /** Marginal weights, ≥ 0 (zeros allowed). For unbalanced OT the masses may differ. */
  a: Float64Array;
  b: Float64Array;
  /** 'scaling': iterate u, v with a stored kernel (fast, overflows for small ε); 'log': iterate f, g (stable). */
  method: 'scaling' | 'log';
  /** τ_a, τ_b of the updates above (1 for balanced). */
  tauA: number;
  tauB: number;
  /** How many threads may share the n × m work (a hint: the wasm engine uses it, the others ignore it). */
  threads?: number | 'auto';
  /** The caller's memory budget (default DEFAULT_MAX_BYTES): engines decide what to store against it. */
  maxBytes?: number;
}

export interface PlanStats {
  /** ⟨P, C⟩. */
  transportCost: number;
  /** P·1 (n) and Pᵀ·1 (m). */
  rowSums: Float64Array;
  colSums: Float64Array;
}

export interface EntropicEngine {
  readonly backend: BackendName;
  /** Threads sharing the n × m work, where the engine splits it (wasm); absent means one. */
  readonly threads?: number;
  readonly n: number;
  readonly m: number;
  /** Set ε (the engine rebuilds whatever depends on it, e.g. a stored kernel). Potentials are kept. */
  setEps(eps: number): Promise<void>;
  /** Run `count` full iterations (f-update then g-update) without reading anything back. */
  iterate(count: number): Promise<void>;
  /**
   * Σ_i |(P·1)_i − a_i| for the current potentials (after a g-update the columns are exact when τ_b = 1), or its
   * L2 form after setErrorNorm(2).
   */
  marginalError(): Promise<number>;
  /** Current f, g (f64 copies; −∞ where the weight is 0). */
  potentials(): Promise<{ f: Float64Array; g: Float64Array }>;
  setPotentials(f: Float64Array, g: Float64Array): Promise<void>;
  stats(): Promise<PlanStats>;
  /** P·V for V (m × k, row-major), or Pᵀ·V for V (n × k) when `transpose`. */
  planApply(V: Float64Array, k: number, transpose: boolean): Promise<Float64Array>;
  /** The dense plan, n × m row-major (callers check the memory budget first). */
  densePlan(): Promise<Float64Array>;
  /**
   * Optional: replace a dense cost by C (same n × m, copied), keeping f, g as setPotentials would: the next
   * iterations continue from the current potentials on the new cost (a warm start without a new engine). For a
   * sequence of costs on the same marginals (entropic Gromov–Wasserstein, ts/solvers/inner.ts EntropicSequence).
   */
  setCost?(C: Float64Array): Promise<void>;
  /**
   * Optional: the norm of marginalError's row errors d_i = (P·1)_i − a_i: 1 (default) Σ|d_i|, 2 √Σd_i² (POT's
   * ot.sinkhorn stops on the L2 norm of a marginal error; entropic GW's inner solves use it, as POT's do).
   */
  setErrorNorm?(norm: 1 | 2): Promise<void>;
  /** Optional: densePlan written into `out` (n·m entries), without a new array. */
  densePlanInto?(out: Float64Array): Promise<void>;
  /** Release buffers (GPU memory, wasm allocations). The engine is unusable afterwards. */
  dispose(): void;

  // ---- barycenters (iterative Bregman projections, ts/barycenter/ibp.ts) ----
  /**
   * Set g (m), run the f-update from it (iterate's first half, τ_a applied), and return
   * h_j = LSE_i((f_i − C_ij)/ε) = log (Kᵀu)_j: the log of the plan's column sums over v_j. g stays as set;
   * the b of the problem is not used. Scaling method: h = log Kᵀu, non-finite where the scalings overflow.
   */
  fUpdateColLse(g: Float64Array): Promise<Float64Array>;
  /** Optional: fUpdateColLse of `engines` (this one first, same cost and backend) in one call, G and H k × m (H written). */
  fUpdateColLseBatch?(engines: EntropicEngine[], G: Float64Array, H: Float64Array): Promise<void>;
}
