//
// Partial optimal transport: move exactly `mass` ≤ min(Σa, Σb) from a to b at least cost (a and b may have
// different total masses). Exact: the network simplex on the problem extended by one dummy source and one dummy
// sink (Chapel, Alaya, Gasso 2020; POT's ot.partial.partial_wasserstein). Entropic: Bregman projections on the
// three constraint sets P1 ≤ a, Pᵀ1 ≤ b, ΣP = mass (Benamou et al. 2015; POT's entropic_partial_wasserstein),
// with Dykstra's corrections, which here are row, column and scalar scalings, so the iteration keeps the plan
// as P_ij = exp((f_i + g_j + h − M_ij)/reg) and runs in the scaling domain (two matrix–vector products per
// iteration) or, for small reg, in the log domain (never NaN).
import { OTError } from '../errors.js';
import { lseColumns, lseShifted } from '../entropic/logsumexp.js';
import { DenseCoupling, type LazyCoupling, SparseCoupling } from '../coupling.js';
import type { OTResult } from '../result.js';
import { defineSolver } from '../registry/define.js';
import { maxBytesOption, progressOption, signalOption, workerOption } from '../registry/common.js';
import { num, oneOf, opt, required } from '../registry/schema.js';
import type { DenseMatrix, MatrixLike, VectorLike } from '../types.js';
import { abortPoint, checkAbort, checkBudget, sum, toMatrix, toWeights } from '../validate.js';
import { exactOT } from './inner.js';
import { entropicPartialOnline } from './partial-online.js';
import { type CostInput, toGeometry } from '../geometry.js';
import { chooseBackend } from '../backends/select.js';
import { multiscaleBytes } from './emd-multiscale.js';
import { exactPartialCloud } from './partial-cloud.js';

/** The options of {@link partialWasserstein}. */
export interface PartialOptions {
  /** The mass to transport, 0 ≤ mass ≤ min(Σa, Σb). Required. POT: m. */
  mass: number;
  /** Entropic regularization ε > 0 (POT's convention, kernel exp(−M/ε)); absent: exact partial OT. POT: reg. */
  reg?: number;
  /** Entropic only: 'scaling' (fast: two mat-vec products per iteration; needs every row's and column's least cost within ~300·reg of the global least), 'log' (stable for any reg) or 'auto' (picks, and falls back to log if a scaling overflows). Default 'auto'. */
  method?: 'scaling' | 'log' | 'auto';
  /** Entropic only: iteration cap. Default 1000 (POT: numItermax). */
  maxIter?: number;
  /**
   * Entropic only: stop when the constraint violation Σ_i (P1 − a)_i⁺ + Σ_j (Pᵀ1 − b)_j⁺ < tol (checked every 10
   * iterations; ΣP = mass holds after every iteration). Default 1e-9. POT's stopThr measures the plan's change over
   * one iteration instead, which stalls at small reg; tol: 0 runs exactly maxIter iterations, as POT's default.
   */
  tol?: number;
  /** Abort the call: it rejects with OTError code `aborted`. */
  signal?: AbortSignal;
  /** Called with progress reports as the solve goes; the last one arrives before the promise settles. */
  onProgress?: (p: { iterations: number; error?: number }) => void;
  /** Memory budget in bytes for this call's buffers (default 2 GiB); above it the call fails with `too-large` before any work. */
  maxBytes?: number;
  /** Where the call runs: in a worker of the pool ('auto' for large problems, true, false); see WorkerOptions. */
  worker?: 'auto' | boolean;
  /**
   * Exact only: how the network simplex sees the extended problem. 'dense': the (n + 1) × (m + 1) costs, stored.
   * 'multiscale' (point clouds and grids only): coarse to fine on sparse candidate arcs with column generation
   * against a streamed check of all pairs (emd's strategy of that name; partial-cloud.ts), O((n + m)·k) memory.
   * 'auto' (default): multiscale for point clouds and grids above 2^16 pairs. Both give the same certified optimum.
   */
  strategy?: 'dense' | 'multiscale' | 'auto';
}

/** What {@link partialWasserstein} returns. */
export interface PartialResult extends OTResult {
  /** ⟨P, M⟩ of the plan (POT's partial_w_dist); no entropy term. */
  value: number;
  /** ⟨P, M⟩ (same as value). */
  cost: number;
  /**
   * n × m: sparse for the exact solver (at most n + m + 1 entries), dense for the entropic one on a cost matrix,
   * lazy (from the potentials, no n × m memory) for the entropic one on point clouds or a grid.
   */
  plan: SparseCoupling | DenseCoupling | LazyCoupling;
  /** Σ P: equals the `mass` option (exact up to rounding; entropic up to the convergence). */
  mass: number;
  /**
   * Exact: pivots of the network simplex, status 'optimal'. Entropic: Bregman iterations; `error` is
   * the constraint violation Σ(P1 − a)⁺ + Σ(Pᵀ1 − b)⁺ at the last check; status 'converged' or 'max-iterations'.
   */
  iterations: number;
  /** Entropic only: which iteration ran. */
  method?: 'scaling' | 'log';
  /** Exact only: the strategy that ran ('auto' resolved). */
  strategy?: 'dense' | 'multiscale';
}

/**
 * strategy 'auto': point clouds above this many pairs are solved coarse to fine. CPU time on 2-D Gaussian clouds,
 * mass 0.5, dense vs multiscale: n = 100 3.6 vs 3.6 ms, 200 15 vs 7, 500 29 vs 23, 700 55 vs 16, 1000 355 vs 30
 * (the dense extended matrix is built in JS and copied: the crossover is lower than emd's 2^20).
 */
const MULTISCALE_PAIRS = 2 ** 16;

/** Above this spread/reg (see scalingSpread), 'auto' iterates in the log domain (exp(−300) ≈ 5e-131 keeps scalings in range). */
const SCALING_LIMIT = 300;

async function partialRun(a: VectorLike | undefined, b: VectorLike | undefined, M: CostInput, opts: PartialOptions): Promise<PartialResult> {
  const geom = toGeometry(M, opts.maxBytes);
  const n = geom.rows;
  const m = geom.cols;
  const wa = toWeights('a', a, n);
  const wb = toWeights('b', b, m);
  const sa = sum(wa);
  const sb = sum(wb);
  const mass = opts.mass;
  if (!(mass >= 0) || mass > Math.min(sa, sb) * (1 + 1e-12)) {
    throw new OTError('mass', `partialWasserstein: mass = ${mass} must be in [0, min(Σa, Σb)] = [0, ${Math.min(sa, sb)}] (Σa = ${sa}, Σb = ${sb}).`);
  }
  checkAbort(opts.signal);
  if (opts.reg === undefined) {
    if (opts.method !== undefined || opts.maxIter !== undefined || opts.tol !== undefined) {
      throw new OTError('invalid-option', 'partialWasserstein: method, maxIter and tol apply to the entropic solver only; give reg too, or drop them.');
    }
    const strategy = opts.strategy ?? 'auto';
    if (strategy === 'multiscale' && geom.kind === 'costMatrix') {
      throw new OTError('invalid-option', "partialWasserstein: strategy 'multiscale' needs point clouds or a grid (a cost matrix has no geometry to coarsen); use 'dense' or 'auto'.");
    }
    if (geom.kind !== 'costMatrix' && (strategy === 'multiscale' || (strategy === 'auto' && n * m > MULTISCALE_PAIRS))) {
      const cloud = geom.kind === 'grid' ? geom.toPointCloud() : geom;
      checkBudget(multiscaleBytes(n, m, cloud.dim), `the multiscale partial solve's sparse arcs (${n} + ${m} points)`, opts.maxBytes);
      const chosen = await chooseBackend('partialWasserstein', ['wasm'], undefined);
      if (chosen.name !== 'wasm') throw new OTError('backend-unavailable', 'exact partialWasserstein runs on the wasm backend only.');
      return exactPartialCloud(chosen.wasm, cloud, wa, wb, Math.min(mass, sa, sb), opts);
    }
    // dense: the simplex on the extended problem reads stored costs (a cloud's are computed once, within maxBytes)
    return exactPartial(wa, wb, geom.kind === 'costMatrix' ? geom.M : geom.dense(opts.maxBytes), Math.min(mass, sa, sb), opts);
  }
  if (opts.strategy !== undefined) throw new OTError('invalid-option', 'partialWasserstein: strategy applies to the exact solver only; drop it, or drop reg.');
  if (geom.kind !== 'costMatrix') return entropicPartialOnline(wa, wb, geom, Math.min(mass, sa, sb), opts.reg, opts);
  checkBudget(3 * n * m * 8, `entropic partial OT (${n} × ${m}: kernel, plan, previous plan)`, opts.maxBytes);
  return entropicPartial(wa, wb, geom.M, Math.min(mass, sa, sb), opts.reg, opts);
}

async function exactPartial(a: Float64Array, b: Float64Array, C: DenseMatrix, mass: number, opts: PartialOptions): Promise<PartialResult> {
  const n = C.rows;
  const m = C.cols;
  checkBudget((n + 1) * (m + 1) * 8 * 2, `the extended ${n + 1} × ${m + 1} cost matrix`, opts.maxBytes);
  let lo = Infinity;
  let hi = -Infinity;
  for (let t = 0; t < n * m; t++) {
    const x = C.data[t];
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  // Dummy-to-dummy cost: POT's 2·max(M) for non-negative costs; any D > −min(M) keeps the dummy pair from
  // absorbing transported mass (swap (i, j) + (dummy, dummy) for (i, dummy) + (dummy, j): cost 0 < M_ij + D).
  const D = lo >= 0 && hi > 0 ? 2 * hi : 2 * (hi - lo) + 1;
  // A constant added to a whole row (column) of the dummy adds a constant to every feasible plan's cost, so the
  // optimal plans are unchanged: the dummy row costs hi + 1 and the dummy column min(lo, 0), which orders them
  // last and first in the simplex's initial staircase (its orders sort by cost to column 0 and from row 0)
  // instead of pairing them with each other (5× more pivots at n = 1000; measured, 2.5× faster overall).
  const rowShift = hi + 1;
  const colShift = Math.min(lo, 0);
  const M2 = new Float64Array((n + 1) * (m + 1));
  for (let i = 0; i < n; i++) {
    M2.set(C.data.subarray(i * m, i * m + m), i * (m + 1));
    M2[i * (m + 1) + m] = colShift;
  }
  for (let j = 0; j < m; j++) M2[n * (m + 1) + j] = rowShift;
  M2[n * (m + 1) + m] = D + rowShift + colShift;
  const sa = sum(a);
  const sb = sum(b);
  const a2 = new Float64Array(n + 1);
  a2.set(a);
  a2[n] = Math.max(sb - mass, 0);
  const b2 = new Float64Array(m + 1);
  b2.set(b);
  b2[m] = Math.max(sa - mass, 0);
  const r = await exactOT(a2, b2, { data: M2, rows: n + 1, cols: m + 1 }, opts.signal);
  const P = r.plan;
  let k = 0;
  for (let t = 0; t < P.values.length; t++) if (P.rowIndex[t] < n && P.colIndex[t] < m && P.values[t] !== 0) k++;
  const ri = new Int32Array(k);
  const ci = new Int32Array(k);
  const vals = new Float64Array(k);
  k = 0;
  let cost = 0;
  let moved = 0;
  for (let t = 0; t < P.values.length; t++) {
    const i = P.rowIndex[t];
    const j = P.colIndex[t];
    if (i < n && j < m && P.values[t] !== 0) {
      ri[k] = i;
      ci[k] = j;
      vals[k] = P.values[t];
      cost += P.values[t] * C.data[i * m + j];
      moved += P.values[t];
      k++;
    }
  }
  return {
    value: cost,
    cost,
    plan: new SparseCoupling(n, m, ri, ci, vals),
    mass: moved,
    status: r.optimal ? 'optimal' : 'max-iterations',
    iterations: r.iterations,
    error: 0,
    backend: 'wasm',
    threads: 1,
    strategy: 'dense',
  };
}

/**
 * How far the scalings must reach: the largest, over rows and columns with mass, of the row's (column's) least
 * cost (above the global least). Each such row has a kernel entry ≥ exp(−spread/reg), so the scalings stay
 * within ~exp(spread/reg); entries that underflow carry plan mass below ~1e-300·e^{2·300}, i.e. none.
 */
function scalingSpread(M: Float64Array, n: number, m: number, a: Float64Array, b: Float64Array, lo: number): number {
  const colMin = new Float64Array(m).fill(Infinity);
  let spread = 0;
  for (let i = 0; i < n; i++) {
    const off = i * m;
    let rmin = Infinity;
    for (let j = 0; j < m; j++) {
      const x = M[off + j];
      if (x < rmin) rmin = x;
      if (x < colMin[j]) colMin[j] = x;
    }
    if (a[i] > 0) spread = Math.max(spread, rmin - lo);
  }
  for (let j = 0; j < m; j++) if (b[j] > 0) spread = Math.max(spread, colMin[j] - lo);
  return spread;
}

async function entropicPartial(a: Float64Array, b: Float64Array, C: DenseMatrix, mass: number, reg: number, opts: PartialOptions): Promise<PartialResult> {
  const n = C.rows;
  const m = C.cols;
  const M = C.data;
  const maxIter = opts.maxIter ?? 1000;
  const tol = opts.tol ?? 1e-9;
  let hi = 0;
  let lo = Infinity;
  for (let t = 0; t < n * m; t++) {
    hi = Math.max(hi, M[t]);
    lo = Math.min(lo, M[t]);
  }
  const requested = opts.method ?? 'auto';
  let method: 'scaling' | 'log' = requested === 'auto' ? (scalingSpread(M, n, m, a, b, lo) / reg <= SCALING_LIMIT ? 'scaling' : 'log') : requested;
  if (mass === 0) {
    return { value: 0, cost: 0, plan: new DenseCoupling(n, m, new Float64Array(n * m)), mass: 0, status: 'converged', iterations: 0, error: 0, backend: 'js', threads: 1, method };
  }
  let out = method === 'scaling' ? await partialScaling(a, b, M, n, m, mass, reg, maxIter, tol, opts) : undefined;
  if (out === undefined) {
    if (requested === 'scaling') {
      throw new OTError('numerical', `partialWasserstein: the scaling iteration left the range of f64 at reg = ${reg} (max M / reg = ${(hi / reg).toPrecision(3)}); use { method: 'log' } or 'auto'.`);
    }
    method = 'log';
    out = await partialLog(a, b, M, n, m, mass, reg, maxIter, tol, opts);
  }
  const { P, iterations, error } = out;
  let cost = 0;
  let moved = 0;
  for (let t = 0; t < n * m; t++) {
    cost += P[t] * M[t];
    moved += P[t];
  }
  return {
    value: cost,
    cost,
    plan: new DenseCoupling(n, m, P),
    mass: moved,
    status: error < tol ? 'converged' : 'max-iterations',
    iterations,
    error,
    backend: 'js',
    threads: 1,
    method,
  };
}

interface LoopOut {
  P: Float64Array;
  iterations: number;
  error: number;
}

/**
 * POT's loop with K = s · diag(u) K0 diag(v), K0 = exp(−M/reg) / Σ exp(−M/reg) · mass, and the Dykstra
 * corrections q1 = diag(x), q2 = diag(y), q3 = z (they are scalings: q ← q·Kprev/K undoes exactly the last
 * projection's scaling). Returns undefined when a scaling stops being finite and positive (the caller switches
 * to the log domain).
 */
async function partialScaling(
  a: Float64Array, b: Float64Array, M: Float64Array, n: number, m: number, mass: number, reg: number,
  maxIter: number, tol: number, opts: PartialOptions,
): Promise<LoopOut | undefined> {
  const K0 = new Float64Array(n * m);
  let total = 0;
  for (let t = 0; t < n * m; t++) total += K0[t] = Math.exp(-M[t] / reg);
  if (!(total > 0) || !Number.isFinite(total)) return undefined;
  const c0 = mass / total;
  const u = new Float64Array(n).fill(1);
  const v = new Float64Array(m).fill(1);
  let s = c0;
  const x = new Float64Array(n).fill(1);
  const y = new Float64Array(m).fill(1);
  let z = 1;
  const Kv = new Float64Array(n);
  const Ktu = new Float64Array(m);
  // plan snapshot at the last check: P = s u_i K0_ij v_j, kept as its factors
  let err = Infinity;
  let it = 0;
  while (err > tol && it < maxIter) {
    // 1: K ← K∘q1 then rows capped at a: d1 = min(a / rowsum, 1); q1 ← 1/d1
    for (let i = 0; i < n; i++) u[i] *= x[i];
    for (let i = 0; i < n; i++) {
      let acc = 0;
      const off = i * m;
      for (let j = 0; j < m; j++) acc += K0[off + j] * v[j];
      Kv[i] = acc;
    }
    for (let i = 0; i < n; i++) {
      const r = s * u[i] * Kv[i];
      const d = r > 0 ? Math.min(a[i] / r, 1) : 1;
      u[i] *= d;
      x[i] = d > 0 ? 1 / d : 1;
    }
    // 2: columns capped at b
    for (let j = 0; j < m; j++) v[j] *= y[j];
    Ktu.fill(0);
    for (let i = 0; i < n; i++) {
      const ui = u[i];
      if (ui === 0) continue;
      const off = i * m;
      for (let j = 0; j < m; j++) Ktu[j] += K0[off + j] * ui;
    }
    let tot = 0;
    for (let j = 0; j < m; j++) {
      const c = s * v[j] * Ktu[j];
      const d = c > 0 ? Math.min(b[j] / c, 1) : 1;
      v[j] *= d;
      y[j] = d > 0 ? 1 / d : 1;
      tot += c * d;
    }
    // 3: K ← K∘q3, total mass set to `mass`
    s *= z;
    tot *= z;
    const d3 = mass / tot;
    s *= d3;
    z = 1 / d3;
    if (!(s > 0) || !Number.isFinite(s) || !Number.isFinite(tot)) return undefined;
    if (it % 10 === 0) {
      // violation of P1 ≤ a and Pᵀ1 ≤ b (ΣP = mass holds after step 3)
      let viol = 0;
      for (let j = 0; j < m; j++) viol += Math.max(s * v[j] * Ktu[j] - b[j], 0);
      for (let i = 0; i < n; i++) {
        let acc = 0;
        const off = i * m;
        for (let j = 0; j < m; j++) acc += K0[off + j] * v[j];
        viol += Math.max(s * u[i] * acc - a[i], 0);
      }
      err = viol;
      if (!Number.isFinite(err)) return undefined;
      opts.onProgress?.({ iterations: it + 1, error: err });
      await abortPoint(opts.signal, () => `entropic partial OT, iteration ${it + 1}`);
    }
    it++;
  }
  for (let i = 0; i < n; i++) if (!Number.isFinite(u[i])) return undefined;
  for (let j = 0; j < m; j++) if (!Number.isFinite(v[j])) return undefined;
  const P = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    const f = s * u[i];
    const off = i * m;
    for (let j = 0; j < m; j++) P[off + j] = f * K0[off + j] * v[j];
  }
  return { P, iterations: it, error: err };
}

/**
 * The same iteration on log-scalings: P_ij = exp(α_i + β_j + γ − M_ij/reg); row and column sums by
 * log-sum-exp (two passes over n × m per iteration). Zero weights give α_i = −∞ (that row stays 0).
 */
async function partialLog(
  a: Float64Array, b: Float64Array, M: Float64Array, n: number, m: number, mass: number, reg: number,
  maxIter: number, tol: number, opts: PartialOptions,
): Promise<LoopOut> {
  const L = new Float64Array(n * m);
  for (let t = 0; t < n * m; t++) L[t] = -M[t] / reg;
  const alpha = new Float64Array(n);
  const beta = new Float64Array(m);
  const la = Float64Array.from(a, Math.log);
  const lb = Float64Array.from(b, Math.log);
  // γ: normalize the initial kernel to total `mass`
  let gamma = Math.log(mass) - lseShifted(L, 0, new Float64Array(n * m), n * m);
  const x = new Float64Array(n);
  const y = new Float64Array(m);
  let z = 0;
  const colLse = new Float64Array(m);
  let err = Infinity;
  let it = 0;
  while (err > tol && it < maxIter) {
    // 1: rows
    for (let i = 0; i < n; i++) {
      if (la[i] === -Infinity) {
        alpha[i] = -Infinity;
        x[i] = 0;
        continue;
      }
      const ai = alpha[i] + x[i];
      const lr = ai + gamma + lseShifted(L, i * m, beta, m);
      const ld = lr > -Infinity ? Math.min(la[i] - lr, 0) : 0;
      alpha[i] = ai + ld;
      x[i] = -ld;
    }
    // 2: columns
    for (let j = 0; j < m; j++) beta[j] += y[j];
    lseColumns(L, alpha, n, m, colLse);
    const lc = new Float64Array(m);
    for (let j = 0; j < m; j++) {
      if (lb[j] === -Infinity) {
        beta[j] = -Infinity;
        y[j] = 0;
        lc[j] = -Infinity;
        continue;
      }
      const l = beta[j] + gamma + colLse[j];
      const ld = l > -Infinity ? Math.min(lb[j] - l, 0) : 0;
      beta[j] += ld;
      y[j] = -ld;
      lc[j] = l + ld;
    }
    // 3: total mass
    const lt = lseShifted(lc, 0, new Float64Array(m), m) + z;
    const ld3 = Math.log(mass) - lt;
    const shift = z + ld3;
    gamma += shift;
    z = -ld3;
    if (it % 10 === 0) {
      let viol = 0;
      for (let j = 0; j < m; j++) if (lc[j] > -Infinity) viol += Math.max(Math.exp(lc[j] + shift) - b[j], 0);
      for (let i = 0; i < n; i++) {
        const ai = alpha[i] + gamma;
        if (ai === -Infinity) continue;
        viol += Math.max(Math.exp(ai + lseShifted(L, i * m, beta, m)) - a[i], 0);
      }
      err = viol;
      opts.onProgress?.({ iterations: it + 1, error: err });
      await abortPoint(opts.signal, () => `entropic partial OT, iteration ${it + 1}`);
    }
    it++;
  }
  const P = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    const ai = alpha[i] + gamma;
    if (ai === -Infinity) continue;
    const off = i * m;
    for (let j = 0; j < m; j++) {
      const e = Math.exp(L[off + j] + ai + beta[j]);
      P[off + j] = e === e ? e : 0;
    }
  }
  return { P, iterations: it, error: err };
}

/**
 * Partial optimal transport: the plan P ≥ 0 with P1 ≤ a, Pᵀ1 ≤ b and ΣP = mass of least ⟨P, M⟩ (exact, POT's
 * ot.partial.partial_wasserstein) or of least ⟨P, M⟩ + reg·Σ P(log P − 1) by Bregman projections (POT's
 * entropic_partial_wasserstein), with `reg`. Masses of a and b may differ; mass ≤ min(Σa, Σb) ('mass' error
 * otherwise). a, b: weights (undefined = uniform, total 1); M: n × m costs, or a geometry: with `reg`, point
 * clouds and grids are iterated online on the entropic engines (wasm threads, webgpu; no n × m memory, a lazy
 * plan); exact partial OT solves them coarse to fine without n × m memory above 2^16 pairs (strategy), else on
 * their costs, computed once.
 */
export const partialWasserstein = defineSolver({
  name: 'partialWasserstein',
  summary: 'Partial OT: transport exactly `mass` (exact by network simplex, or entropic).',
  params: ['a', 'b', 'M'],
  options: {
    mass: required(num({ min: 0 }), 'The mass to transport, ≤ min(Σa, Σb). POT: m.'),
    reg: opt(num({ gt: 0 }), 'Entropic regularization (kernel exp(−M/reg)); absent: exact partial OT. POT: reg.'),
    method: opt(oneOf('scaling', 'log', 'auto'), "Entropic only: 'scaling' (two mat-vec products per iteration), 'log' (stable for any reg), 'auto' (log when a row's or column's least cost exceeds the global least by 300·reg).", "'auto'"),
    maxIter: opt(num({ integer: true, min: 1 }), 'Entropic only: iteration cap. POT: numItermax.', '1000'),
    tol: opt(num({ min: 0 }), 'Entropic only: stop when the violation Σ(P1 − a)⁺ + Σ(Pᵀ1 − b)⁺, checked every 10 iterations, is < tol. POT: stopThr (another measure).', '1e-9'),
    signal: signalOption,
    onProgress: progressOption('{ iterations, error }'),
    maxBytes: maxBytesOption,
    worker: workerOption,
    strategy: opt(oneOf('dense', 'multiscale', 'auto'), "Exact only: the (n + 1) × (m + 1) extended costs stored ('dense'), or coarse to fine on sparse arcs with column generation ('multiscale', point clouds and grids: O((n + m)·k) memory); 'auto': multiscale for clouds above 2^16 pairs.", "'auto'"),
  },
  backends: ['wasm', 'js'],
  workEstimate: (args) => {
    const M = args[2] as { rows?: number; cols?: number; length?: number; [k: number]: { length: number } } | undefined;
    if (!M) return 0;
    if (typeof M.rows === 'number' && typeof M.cols === 'number') return M.rows * M.cols;
    return (M.length ?? 0) * (M[0]?.length ?? 0);
  },
  run: partialRun,
});
