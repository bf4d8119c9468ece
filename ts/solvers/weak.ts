//
// Discrete weak optimal transport with the barycentric quadratic cost of Gozlan, Roberto, Samson, Tetali (2017):
//   min_{P ∈ Π(a, b)} Σ_i a_i ‖x_i − (1/a_i) Σ_j P_ij y_j‖²,
// each source point pays the squared distance to the barycentre of where its mass goes (the discrete counterpart
// of the NOT trainer's γ-weak cost at γ = 0). The objective is a convex quadratic in P, solved by conditional
// gradient (Frank–Wolfe) on the network simplex, as POT's ot.weak.weak_optimal_transport — with the exact line
// search of the quadratic where POT uses Armijo backtracking (so each step decreases the objective at least as much).
import { OTError } from '../errors.js';
import { DenseCoupling } from '../coupling.js';
import type { OTResult } from '../result.js';
import { defineSolver } from '../registry/define.js';
import { maxBytesOption, progressOption, signalOption, workerOption } from '../registry/common.js';
import { matrix, num, opt, vector } from '../registry/schema.js';
import type { MatrixLike, VectorLike } from '../types.js';
import { abortPoint, balanceMasses, checkAbort, checkBudget, toMatrix, toWeights } from '../validate.js';
import { exactOT, startingPlan } from './inner.js';

/** The options of {@link weakOT}. */
export interface WeakOTOptions {
  /** Source weights (n, ≥ 0). Default uniform. POT: a. */
  a?: VectorLike;
  /** Target weights (m, ≥ 0, same total). Default uniform. POT: b. */
  b?: VectorLike;
  /** Starting plan n × m with marginals a, b (1e-8). Default a·bᵀ. POT: G0. */
  init?: MatrixLike;
  /** Conditional gradient steps at most. Default 200 (POT's numItermax). */
  maxIter?: number;
  /** Stop when the objective changes by < tol relatively or absolutely (POT's stopThr, stopThr2). Default 1e-9. */
  tol?: number;
  /** Abort the call: it rejects with OTError code `aborted`. */
  signal?: AbortSignal;
  /** Called with progress reports as the solve goes; the last one arrives before the promise settles. */
  onProgress?: (p: { iterations: number; value: number; error: number }) => void;
  /** Memory budget in bytes for this call's buffers (default 2 GiB); above it the call fails with `too-large` before any work. */
  maxBytes?: number;
  /** Where the call runs: in a worker of the pool ('auto' for large problems, true, false); see WorkerOptions. */
  worker?: 'auto' | boolean;
}

/** What {@link weakOT} returns. */
export interface WeakOTResult extends OTResult {
  /** Σ_i a_i ‖x_i − (P Y)_i / a_i‖² of the plan (rows with a_i = 0 contribute 0). */
  value: number;
  /** The transport plan (a Coupling: `toDense()`, `entries()`, `apply(V)`, `marginals()`). */
  plan: DenseCoupling;
  /** |Δ objective| / |objective| at the last step. */
  error: number;
}

async function weakRun(XaIn: MatrixLike, XbIn: MatrixLike, opts: WeakOTOptions = {}): Promise<WeakOTResult> {
  const Xa = toMatrix('Xa', XaIn, opts.maxBytes);
  const Xb = toMatrix('Xb', XbIn, opts.maxBytes);
  if (Xa.cols !== Xb.cols) throw new OTError('shape', `Xa has ${Xa.cols} columns but Xb has ${Xb.cols}; both are point clouds in the same dimension.`);
  const n = Xa.rows;
  const m = Xb.rows;
  const d = Xa.cols;
  const a = toWeights('a', opts.a, n);
  const b = balanceMasses(a, toWeights('b', opts.b, m), {});
  checkBudget(8 * 6 * n * m, `weakOT (${n} × ${m}: plan, gradient and work arrays)`, opts.maxBytes);
  const T = startingPlan(opts.init, a, b, opts.maxBytes);
  checkAbort(opts.signal);
  const maxIter = opts.maxIter ?? 200;
  const tol = opts.tol ?? 1e-9;
  const Y = Xb.data;
  const X = Xa.data;
  // TY = T·Y (n × d), kept up to date incrementally
  const TY = new Float64Array(n * d);
  const mulY = (P: Float64Array, out: Float64Array) => {
    out.fill(0);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < m; j++) {
        const p = P[i * m + j];
        if (p === 0) continue;
        for (let t = 0; t < d; t++) out[i * d + t] += p * Y[j * d + t];
      }
  };
  mulY(T, TY);
  const objective = () => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      if (!(a[i] > 0)) continue;
      let r = 0;
      for (let t = 0; t < d; t++) r += (X[i * d + t] - TY[i * d + t] / a[i]) ** 2;
      s += a[i] * r;
    }
    return s;
  };
  let fval = objective();
  const G = new Float64Array(n * m);
  const R = new Float64Array(n * d);
  const DY = new Float64Array(n * d);
  let it = 0;
  let err = Infinity;
  let converged = false;
  let warm: { u: Float64Array; v: Float64Array } | undefined;
  while (true) {
    it++;
    const old = fval;
    // gradient −2 (X − TY/a) Yᵀ (rows with a_i = 0 get 0: they carry no mass)
    for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) R[i * d + t] = a[i] > 0 ? X[i * d + t] - TY[i * d + t] / a[i] : 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (let t = 0; t < d; t++) s += R[i * d + t] * Y[j * d + t];
        G[i * m + j] = -2 * s;
      }
    const lin = await exactOT(a, b, { data: G, rows: n, cols: m }, opts.signal, warm);
    warm = { u: lin.u, v: lin.v };
    // direction Δ = Gc − T; ΔY = Gc·Y − TY
    DY.fill(0);
    const P = lin.plan;
    for (let k = 0; k < P.values.length; k++) {
      const i = P.rowIndex[k];
      const j = P.colIndex[k];
      for (let t = 0; t < d; t++) DY[i * d + t] += P.values[k] * Y[j * d + t];
    }
    for (let q = 0; q < n * d; q++) DY[q] -= TY[q];
    // exact line search: f(T + τΔ) = f − 2τ Σ⟨r_i, Δy_i⟩ + τ² Σ ‖Δy_i‖² / a_i
    let lin1 = 0;
    let quad = 0;
    for (let i = 0; i < n; i++) {
      if (!(a[i] > 0)) continue;
      for (let t = 0; t < d; t++) {
        const dy = DY[i * d + t];
        lin1 += R[i * d + t] * dy;
        quad += (dy * dy) / a[i];
      }
    }
    const tau = quad > 0 ? Math.min(1, Math.max(0, lin1 / quad)) : lin1 > 0 ? 1 : 0;
    if (tau > 0) {
      for (let q = 0; q < n * m; q++) T[q] *= 1 - tau;
      for (let k = 0; k < P.values.length; k++) T[P.rowIndex[k] * m + P.colIndex[k]] += tau * P.values[k];
      for (let q = 0; q < n * d; q++) TY[q] += tau * DY[q];
    }
    fval = objective();
    const abs = Math.abs(fval - old);
    err = fval !== 0 ? abs / Math.abs(fval) : 0;
    opts.onProgress?.({ iterations: it, value: fval, error: err });
    if (err < tol || abs < tol) {
      converged = true;
      break;
    }
    if (it >= maxIter) break;
    await abortPoint(opts.signal, () => `weakOT, after ${it} conditional gradient steps`);
  }
  return {
    value: fval,
    plan: new DenseCoupling(n, m, T),
    status: converged ? 'converged' : 'max-iterations',
    iterations: it,
    error: err,
    backend: 'wasm',
    threads: 1,
  };
}

/**
 * Discrete weak OT with the barycentric quadratic cost (Gozlan et al. 2017; POT's ot.weak.weak_optimal_transport):
 * the plan P ∈ Π(a, b) minimizing Σ_i a_i ‖x_i − (P Y)_i / a_i‖², by conditional gradient on the network simplex
 * with exact line search. Xa (n × d) and Xb (m × d) are point clouds (one sample per row).
 */
export const weakOT = defineSolver({
  name: 'weakOT',
  summary: 'Discrete weak OT (barycentric quadratic cost) by conditional gradient on the network simplex.',
  params: ['Xa', 'Xb'],
  options: {
    a: opt(vector, 'Source weights (n, ≥ 0). POT: a.', 'uniform'),
    b: opt(vector, 'Target weights (m, ≥ 0, same total as a). POT: b.', 'uniform'),
    init: opt(matrix, 'Starting plan n × m with marginals a, b. POT: G0.', 'a·bᵀ'),
    maxIter: opt(num({ integer: true, min: 1 }), 'Conditional gradient steps at most. POT: numItermax.', '200'),
    tol: opt(num({ min: 0 }), 'Stop when the objective changes by < tol, relatively or absolutely. POT: stopThr, stopThr2.', '1e-9'),
    signal: signalOption,
    onProgress: progressOption('{ iterations, value, error }'),
    maxBytes: maxBytesOption,
    worker: workerOption,
  },
  backends: ['wasm'],
  workEstimate: (args) => {
    const rows = (x: unknown) => {
      const X = x as { rows?: number; length?: number } | undefined;
      return typeof X?.rows === 'number' ? X.rows : (X?.length ?? 0);
    };
    return rows(args[0]) * rows(args[1]);
  },
  run: weakRun,
});
