// How the families (partial, Gromov–Wasserstein, weak OT) call the exact and entropic solvers inside their own
// iterations: in-process (they may already run in a worker), masses rescaled to each other, and the fields those
// loops read (plan, duals, a dense entropic plan without a copy).
import { DenseCoupling, type SparseCoupling } from '../coupling.js';
import { OTError } from '../errors.js';
import type { DenseMatrix, MatrixLike } from '../types.js';
import { toMatrix } from '../validate.js';
import { emd as emdRun } from './emd.js';
import { sinkhorn as sinkhornRun } from './sinkhorn.js';

export interface InnerExact {
  /** ⟨P, M⟩. */
  value: number;
  plan: SparseCoupling;
  u: Float64Array;
  v: Float64Array;
  iterations: number;
  optimal: boolean;
}

/**
 * Exact OT between a and b (equal masses, zeros allowed) for a dense cost, in-process (never a worker: the
 * families call it many times from inside their own run, which may already be in a worker). `warm`: dual
 * potentials of a similar problem (the previous linearization), which pick the starting basis.
 */
export async function exactOT(
  a: Float64Array, b: Float64Array, M: DenseMatrix, signal?: AbortSignal, warm?: { u: Float64Array; v: Float64Array },
): Promise<InnerExact> {
  const opts = { worker: false, signal, normalize: true, warmStart: warm } as Parameters<typeof emdRun>[3];
  const r = await emdRun(a, b, M, opts);
  return { value: r.value, plan: r.plan, u: r.potentials.u, v: r.potentials.v, iterations: r.iterations, optimal: r.status === 'optimal' };
}

export interface InnerEntropic {
  /** The dense plan, n × m row-major. */
  plan: Float64Array;
  f: Float64Array;
  g: Float64Array;
  iterations: number;
  /** Whether the marginal error fell below tol within maxIter, and that error. */
  converged: boolean;
  error: number;
  backend: import('../types.js').BackendName;
  threads: number;
}

/**
 * Entropic OT (POT's convention: kernel exp(−M/reg)) with a dense plan, in-process, optionally warm-started from
 * potentials (f, g) of a previous solve.
 */
export async function entropicOT(
  a: Float64Array, b: Float64Array, M: DenseMatrix, reg: number,
  init: { f: Float64Array; g: Float64Array } | undefined, maxIter: number, tol: number, signal?: AbortSignal,
): Promise<InnerEntropic> {
  const opts = { reg, plan: true, init, maxIter, tol, signal, normalize: true, worker: false, method: 'auto' } as Parameters<typeof sinkhornRun>[3];
  const r = await sinkhornRun(a, b, M, opts);
  // plan: true gives a dense plan: use its array rather than a copy (one n × m copy per outer iteration saved)
  const plan = r.plan instanceof DenseCoupling ? r.plan.data : r.plan.toDense();
  return { plan, f: r.potentials.f, g: r.potentials.g, iterations: r.iterations, converged: r.status === 'converged', error: r.error, backend: r.backend, threads: r.threads };
}

/**
 * The starting plan of a conditional-gradient family (GW, weak OT): `init` checked (n × m, non-negative, marginals
 * a and b within 1e-8), or the product a·bᵀ when absent. A fresh array either way.
 */
export function startingPlan(init: MatrixLike | undefined, a: Float64Array, b: Float64Array, maxBytes?: number): Float64Array {
  const n = a.length;
  const m = b.length;
  if (init === undefined) {
    const T = new Float64Array(n * m);
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) T[i * m + j] = a[i] * b[j];
    return T;
  }
  const I = toMatrix('init', init, maxBytes);
  if (I.rows !== n || I.cols !== m) throw new OTError('shape', `init is ${I.rows} × ${I.cols}; the plan is ${n} × ${m}.`);
  const rs = new Float64Array(n);
  const cs = new Float64Array(m);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      const x = I.data[i * m + j];
      if (x < 0) throw new OTError('negative', `init[${i}][${j}] = ${x} is negative; a plan is non-negative.`);
      rs[i] += x;
      cs[j] += x;
    }
  for (let i = 0; i < n; i++) if (Math.abs(rs[i] - a[i]) > 1e-8) throw new OTError('mass', `init's row ${i} sums to ${rs[i]} but a[${i}] = ${a[i]}; the start must be a plan with marginals a, b (within 1e-8).`);
  for (let j = 0; j < m; j++) if (Math.abs(cs[j] - b[j]) > 1e-8) throw new OTError('mass', `init's column ${j} sums to ${cs[j]} but b[${j}] = ${b[j]}; the start must be a plan with marginals a, b (within 1e-8).`);
  return Float64Array.from(I.data);
}
