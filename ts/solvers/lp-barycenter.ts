//
// The exact Wasserstein barycenter of K histograms on a fixed support of n bins (Cuturi & Doucet 2014; POT's
// ot.lp.barycenter): the linear program
//   min Σ_k w_k ⟨M, γ_k⟩  s.t.  γ_k 1 = a_k,  γ_kᵀ 1 = q (k = 1..K),  γ_k ≥ 0, q ≥ 0,
// with K·n² + n variables and 2Kn − K + 1 independent equality constraints (one column constraint of each
// γ_k, k ≥ 2, is implied and dropped, as POT does). It is not a network flow for K ≥ 3, so it runs on a dense
// revised simplex (explicit basis inverse, two phases, Dantzig pricing with Bland's rule after long degenerate
// runs, periodic reinversion) written here: no npm LP solver is a dependency (see the report on `highs`).
import { OTError } from '../errors.js';
import type { OTResult } from '../result.js';
import { defineSolver } from '../registry/define.js';
import { maxBytesOption, progressOption, signalOption, workerOption } from '../registry/common.js';
import { num, opt, vector } from '../registry/schema.js';
import type { MatrixLike, VectorLike } from '../types.js';
import { abortPoint, checkAbort, checkBudget, toMatrix, toWeights } from '../validate.js';
import { type WasmKernels, type WasmScope, wasmKernels } from '../backends/wasm.js';

/** The options of {@link lpBarycenter}. */
export interface LpBarycenterOptions {
  /** Barycentric weights (K entries, ≥ 0, normalized to sum 1). Default uniform. POT: weights. */
  weights?: VectorLike;
  /** Simplex pivots at most. Default 10^6. */
  maxIter?: number;
  /** Abort the call: it rejects with OTError code `aborted`. */
  signal?: AbortSignal;
  /** Called with progress reports as the solve goes; the last one arrives before the promise settles. */
  onProgress?: (p: { iterations: number; phase: 1 | 2 }) => void;
  /** Memory budget in bytes for this call's buffers (default 2 GiB); above it the call fails with `too-large` before any work. */
  maxBytes?: number;
  /** Where the call runs: in a worker of the pool ('auto' for large problems, true, false); see WorkerOptions. */
  worker?: 'auto' | boolean;
}

/** What {@link lpBarycenter} returns. */
export interface LpBarycenterResult extends OTResult {
  /** Σ_k w_k OT_M(q, a_k): the LP's optimal value. */
  value: number;
  /** The barycenter q (n bins, sums to the histograms' common mass). */
  barycenter: Float64Array;
  /** Simplex pivots (both phases). */
  iterations: number;
  /** Largest constraint residual |A x − rhs| at return. */
  error: number;
}

/** Sparse columns of the LP, generated on the fly from the variable index. */
interface Lp {
  n: number;
  K: number;
  rows: number;
  vars: number;
  rhs: Float64Array;
  cost: Float64Array;
  /** Rows and values of column v into (ri, rv); returns the count. */
  column(v: number, ri: Int32Array, rv: Float64Array): number;
}

function buildLp(A: Float64Array, K: number, n: number, M: Float64Array, w: Float64Array): Lp {
  const n2 = n * n;
  const colRow = (k: number, j: number): number => {
    if (k === 0) return K * n + j;
    if (j === n - 1) return -1;
    return K * n + n + (k - 1) * (n - 1) + j;
  };
  const rows = 2 * K * n - (K - 1);
  const vars = K * n2 + n;
  const rhs = new Float64Array(rows);
  for (let k = 0; k < K; k++) for (let i = 0; i < n; i++) rhs[k * n + i] = A[k * n + i];
  const cost = new Float64Array(vars);
  for (let k = 0; k < K; k++) for (let t = 0; t < n2; t++) cost[k * n2 + t] = w[k] * M[t];
  return {
    n, K, rows, vars, rhs, cost,
    column(v, ri, rv) {
      if (v < K * n2) {
        const k = Math.floor(v / n2);
        const t = v - k * n2;
        const i = Math.floor(t / n);
        const j = t - i * n;
        ri[0] = k * n + i;
        rv[0] = 1;
        const r = colRow(k, j);
        if (r < 0) return 1;
        ri[1] = r;
        rv[1] = 1;
        return 2;
      }
      const j = v - K * n2;
      let c = 0;
      for (let k = 0; k < K; k++) {
        const r = colRow(k, j);
        if (r >= 0) {
          ri[c] = r;
          rv[c] = -1;
          c++;
        }
      }
      return c;
    },
  };
}

/** Pivot tolerance of the ratio test. */
const PIV = 1e-11;

/**
 * Dense revised simplex on min cᵀx, Ax = rhs ≥ 0, x ≥ 0 (artificial start, or a feasible basis given). B⁻¹ is
 * kept explicitly (product-form updates, re-inverted every 400 pivots); pricing is partial Dantzig over the plan
 * variables, Bland's rule during long degenerate runs.
 */
class RevisedSimplex {
  private readonly m: number;
  private readonly N: number;
  /** The plan variables (two rows each); the barycenter's variables come after them. */
  private readonly NG: number;
  private Binv: Float64Array;
  private readonly basis: Int32Array;
  /** Row of a basic variable, −1 for a nonbasic one. */
  private readonly where: Int32Array;
  private readonly xB: Float64Array;
  /** Duals; y[m] = 0 is the row of a dropped constraint. */
  private y: Float64Array;
  private readonly rowA: Int32Array;
  private readonly rowB: Int32Array;
  private alpha: Float64Array;
  /**
   * With the wasm kernels: B⁻¹, y, α and the reinversion's B live in wasm memory; the pivot's O(m²) update and the
   * reinversion run there in f64x2.
   */
  private readonly wasm?: { k: WasmKernels; mem: WasmScope; binv: number; y: number; alpha: number; bmat: number };
  private readonly ri: Int32Array;
  private readonly rv: Float64Array;
  private readonly scaledCost: Float64Array;
  private readonly zeroCost: Float64Array;
  private readonly scale: number;
  private segStart = 0;
  pivots = 0;

  constructor(private readonly lp: Lp, k?: WasmKernels) {
    const m = (this.m = lp.rows);
    const N = (this.N = lp.vars);
    this.NG = lp.K * lp.n * lp.n;
    if (k) {
      const mem = k.scope();
      this.wasm = { k, mem, binv: mem.f64(m * m), y: mem.f64(m + 1), alpha: mem.f64(m), bmat: mem.f64(m * m) };
    }
    this.Binv = this.wasm ? this.wasm.k.f64(this.wasm.binv, m * m) : new Float64Array(m * m);
    for (let r = 0; r < m; r++) this.Binv[r * m + r] = 1;
    this.basis = new Int32Array(m);
    this.where = new Int32Array(N + m).fill(-1); // structural then artificial (artificial r has column e_r)
    for (let r = 0; r < m; r++) {
      this.basis[r] = N + r;
      this.where[N + r] = r;
    }
    this.xB = Float64Array.from(lp.rhs);
    this.y = this.wasm ? this.wasm.k.f64(this.wasm.y, m + 1) : new Float64Array(m + 1);
    this.rowA = new Int32Array(this.NG);
    this.rowB = new Int32Array(this.NG);
    this.alpha = this.wasm ? this.wasm.k.f64(this.wasm.alpha, m) : new Float64Array(m);
    this.ri = new Int32Array(lp.K + 2);
    this.rv = new Float64Array(lp.K + 2);
    let cmax = 0;
    for (let v = 0; v < N; v++) cmax = Math.max(cmax, Math.abs(lp.cost[v]));
    this.scale = cmax > 0 ? 1 / cmax : 1;
    for (let v = 0; v < this.NG; v++) {
      const c = lp.column(v, this.ri, this.rv);
      this.rowA[v] = this.ri[0];
      this.rowB[v] = c > 1 ? this.ri[1] : m;
    }
    this.zeroCost = new Float64Array(N);
    this.scaledCost = lp.cost.map((x) => x * this.scale);
  }

  /** Starts from a feasible basis (phase 1 is then not needed). */
  setBasis(start: Int32Array): void {
    this.where.fill(-1);
    for (let r = 0; r < this.m; r++) {
      this.basis[r] = start[r];
      this.where[start[r]] = r;
    }
    this.reinvert();
  }

  async solve(phases: (1 | 2)[], maxIter: number, opts: LpBarycenterOptions): Promise<{ x: Float64Array; pivots: number; optimal: boolean }> {
    for (const phase of phases) {
      this.refresh(phase);
      let degenerate = 0;
      let sinceReinvert = 0;
      while (true) {
        if (this.pivots >= maxIter) return { x: this.extract(), pivots: this.pivots, optimal: false };
        const bland = degenerate > 50;
        const { enter, reducedCost } = this.price(phase, bland);
        if (enter < 0) break;
        this.enteringColumn(enter);
        const { leave, theta } = this.ratioTest(phase, bland);
        degenerate = theta === 0 ? degenerate + 1 : 0;
        this.pivot(enter, leave, theta, reducedCost);
        if (++sinceReinvert >= 400) {
          sinceReinvert = 0;
          this.reinvert();
          this.refresh(phase);
        }
        if (this.pivots % 200 === 0) {
          opts.onProgress?.({ iterations: this.pivots, phase });
          await abortPoint(opts.signal, () => `lpBarycenter, after ${this.pivots} pivots`);
          this.views();
        }
      }
      if (phase === 1) {
        let infeas = 0;
        for (let r = 0; r < this.m; r++) if (this.basis[r] >= this.N) infeas += Math.abs(this.xB[r]);
        if (infeas > 1e-9) throw new OTError('internal', `lpBarycenter: phase 1 ended with infeasibility ${infeas}. This is a bug in kantorovich; please report it.`);
      }
    }
    return { x: this.extract(), pivots: this.pivots, optimal: true };
  }

  /** Fresh views of the wasm arrays (another solve on this thread may have grown the memory meanwhile). */
  private views(): void {
    const w = this.wasm;
    if (!w) return;
    this.Binv = w.k.f64(w.binv, this.m * this.m);
    this.y = w.k.f64(w.y, this.m + 1);
    this.alpha = w.k.f64(w.alpha, this.m);
  }

  /** Frees the wasm arrays. */
  release(): void {
    this.wasm?.mem.release();
  }

  private costOf(phase: 1 | 2, v: number): number {
    return phase === 1 ? (v >= this.N ? 1 : 0) : v >= this.N ? 0 : this.lp.cost[v] * this.scale;
  }

  /** y = c_B B⁻¹. */
  private refresh(phase: 1 | 2): void {
    const { m, y, Binv } = this;
    y.fill(0);
    for (let r = 0; r < m; r++) {
      const c = this.costOf(phase, this.basis[r]);
      if (c === 0) continue;
      const o = r * m;
      for (let s = 0; s < m; s++) y[s] += c * Binv[o + s];
    }
  }

  /** B from the basic columns, B⁻¹ by Gauss–Jordan with partial pivoting, then x_B = B⁻¹ rhs. */
  private reinvert(): void {
    const { m, N, Binv, ri, rv } = this;
    const w = this.wasm;
    const B = w ? w.k.f64(w.bmat, m * m).fill(0) : new Float64Array(m * m);
    for (let r = 0; r < m; r++) {
      const v = this.basis[r];
      if (v >= N) B[(v - N) * m + r] = 1;
      else {
        const c = this.lp.column(v, ri, rv);
        for (let t = 0; t < c; t++) B[ri[t] * m + r] = rv[t];
      }
    }
    if (w) {
      // the same Gauss–Jordan in wasm f64x2 (assembly/lp.ts lpInvert)
      if (w.k.abi.lpInvert(w.bmat, w.binv, m) >= 0) throw new OTError('internal', 'lpBarycenter: the simplex basis became singular. This is a bug in kantorovich; please report it.');
      this.solveRhs();
      return;
    }
    Binv.fill(0);
    for (let r = 0; r < m; r++) Binv[r * m + r] = 1;
    for (let c = 0; c < m; c++) {
      let p = c;
      let best = Math.abs(B[c * m + c]);
      for (let r = c + 1; r < m; r++) if (Math.abs(B[r * m + c]) > best) (best = Math.abs(B[r * m + c])), (p = r);
      if (best < 1e-14) throw new OTError('internal', 'lpBarycenter: the simplex basis became singular. This is a bug in kantorovich; please report it.');
      if (p !== c) {
        for (let s = 0; s < m; s++) {
          let t = B[c * m + s]; B[c * m + s] = B[p * m + s]; B[p * m + s] = t;
          t = Binv[c * m + s]; Binv[c * m + s] = Binv[p * m + s]; Binv[p * m + s] = t;
        }
      }
      const d = 1 / B[c * m + c];
      for (let s = 0; s < m; s++) {
        B[c * m + s] *= d;
        Binv[c * m + s] *= d;
      }
      for (let r = 0; r < m; r++) {
        if (r === c) continue;
        const f = B[r * m + c];
        if (f === 0) continue;
        for (let s = 0; s < m; s++) {
          B[r * m + s] -= f * B[c * m + s];
          Binv[r * m + s] -= f * Binv[c * m + s];
        }
      }
    }
    this.solveRhs();
  }

  /** x_B = B⁻¹ rhs. */
  private solveRhs(): void {
    const { m, Binv } = this;
    for (let r = 0; r < m; r++) {
      let s = 0;
      for (let t = 0; t < m; t++) s += Binv[r * m + t] * this.lp.rhs[t];
      this.xB[r] = Math.abs(s) < 1e-15 ? 0 : s;
    }
  }

  /**
   * The entering variable: Dantzig (most negative reduced cost) over segments of the plan variables (NG/8 from a
   * rotating start, the best of the first segment that has one), then the barycenter's variables; Bland (a full
   * scan, first candidate) during long degenerate runs. enter = −1: optimal for this phase.
   */
  private price(phase: 1 | 2, bland: boolean): { enter: number; reducedCost: number } {
    const { NG, N, y, where, rowA, rowB, ri, rv } = this;
    let enter = -1;
    let bestD = -1e-11;
    const cph = phase === 1 ? this.zeroCost : this.scaledCost;
    const seg = bland ? NG : Math.max(1, Math.ceil(NG / 8));
    const nseg = Math.ceil(NG / seg);
    for (let q = 0; q < nseg && enter < 0; q++) {
      const sIdx = bland ? q : (this.segStart + q) % nseg;
      const lo = sIdx * seg;
      const hi = Math.min(lo + seg, NG);
      for (let v = lo; v < hi; v++) {
        if (where[v] >= 0) continue;
        const d = cph[v] - y[rowA[v]] - y[rowB[v]];
        if (d < bestD) {
          bestD = d;
          enter = v;
          if (bland) break;
        }
      }
      if (enter >= 0 && !bland) this.segStart = (sIdx + 1) % nseg;
    }
    if (!(bland && enter >= 0)) {
      for (let v = NG; v < N; v++) {
        if (where[v] >= 0) continue;
        const c = this.lp.column(v, ri, rv);
        let d = cph[v];
        for (let t = 0; t < c; t++) d -= y[ri[t]] * rv[t];
        if (d < bestD) {
          bestD = d;
          enter = v;
          if (bland) break;
        }
      }
    }
    return { enter, reducedCost: bestD };
  }

  /** α = B⁻¹ a_enter. */
  private enteringColumn(enter: number): void {
    const { m, alpha, Binv, ri, rv } = this;
    alpha.fill(0);
    const c = this.lp.column(enter, ri, rv);
    for (let t = 0; t < c; t++) {
      const s = ri[t];
      const val = rv[t];
      for (let r = 0; r < m; r++) alpha[r] += Binv[r * m + s] * val;
    }
  }

  /** The leaving row (artificials still basic in phase 2 leave at ratio 0 whatever the sign of α). */
  private ratioTest(phase: 1 | 2, bland: boolean): { leave: number; theta: number } {
    const { m, N, alpha, basis, xB } = this;
    let leave = -1;
    let theta = Infinity;
    let bestA = 0;
    for (let r = 0; r < m; r++) {
      const ar = alpha[r];
      let ratio: number;
      if (phase === 2 && basis[r] >= N && Math.abs(ar) > PIV) ratio = 0;
      else if (ar > PIV) ratio = Math.max(xB[r], 0) / ar;
      else continue;
      if (ratio < theta - 1e-14 || (ratio <= theta + 1e-14 && (bland ? basis[r] < basis[leave] : Math.abs(ar) > bestA))) {
        theta = ratio;
        leave = r;
        bestA = Math.abs(ar);
      }
    }
    if (leave < 0) throw new OTError('internal', 'lpBarycenter: the LP looked unbounded. This is a bug in kantorovich; please report it.');
    return { leave, theta: Math.max(theta, 0) };
  }

  /** x_B, y and B⁻¹ after `enter` replaces the basic variable of row `leave`. */
  private pivot(enter: number, leave: number, theta: number, reducedCost: number): void {
    const { m, alpha, xB } = this;
    const ap = alpha[leave];
    for (let r = 0; r < m; r++) if (r !== leave && alpha[r] !== 0) xB[r] -= theta * alpha[r];
    xB[leave] = theta;
    const f = reducedCost / ap;
    if (this.wasm) {
      const w = this.wasm;
      w.k.abi.lpPivotUpdate(w.binv, m, leave, w.alpha, ap, w.y, f);
    } else {
      this.pivotUpdate(leave, ap, f);
    }
    this.where[this.basis[leave]] = -1;
    this.basis[leave] = enter;
    this.where[enter] = leave;
    this.pivots++;
  }

  /** The O(m²) part of a pivot in JS (assembly/lp.ts lpPivotUpdate does the same in wasm). */
  private pivotUpdate(leave: number, ap: number, f: number): void {
    const { m, alpha, y, Binv } = this;
    const po = leave * m;
    for (let s = 0; s < m; s++) y[s] += f * Binv[po + s];
    for (let s = 0; s < m; s++) Binv[po + s] /= ap;
    for (let r = 0; r < m; r++) {
      const ar = alpha[r];
      if (r === leave || ar === 0) continue;
      const o = r * m;
      for (let s = 0; s < m; s++) Binv[o + s] -= ar * Binv[po + s];
    }
  }

  private extract(): Float64Array {
    const x = new Float64Array(this.N);
    for (let r = 0; r < this.m; r++) if (this.basis[r] < this.N) x[this.basis[r]] = Math.max(this.xB[r], 0);
    return x;
  }
}

/** Dense revised simplex on min cᵀx, Ax = rhs ≥ 0, x ≥ 0 (artificial start, or `start`). Returns x and the pivots. */
async function revisedSimplex(lp: Lp, maxIter: number, opts: LpBarycenterOptions, start?: Int32Array): Promise<{ x: Float64Array; pivots: number; optimal: boolean }> {
  const k = await wasmKernels().catch(() => undefined);
  const sx = new RevisedSimplex(lp, k);
  try {
    if (start) sx.setBasis(start);
    return await sx.solve(start ? [2] : [1, 2], maxIter, opts);
  } finally {
    sx.release();
  }
}

async function lpBarycenterRun(Ain: MatrixLike, Min: MatrixLike, opts: LpBarycenterOptions = {}): Promise<LpBarycenterResult> {
  const A = toMatrix('A', Ain, opts.maxBytes);
  const M = toMatrix('M', Min, opts.maxBytes);
  const K = A.rows;
  const n = A.cols;
  if (M.rows !== n || M.cols !== n) throw new OTError('shape', `M is ${M.rows} × ${M.cols} but the histograms (rows of A) have ${n} bins: M must be ${n} × ${n}.`);
  let mass = -1;
  for (let k = 0; k < K; k++) {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const x = A.data[k * n + i];
      if (x < 0) throw new OTError('negative', `A[${k}][${i}] = ${x} is negative; histograms are masses, ≥ 0.`);
      s += x;
    }
    if (!(s > 0)) throw new OTError('mass', `A's row ${k} sums to 0; every histogram needs positive mass.`);
    if (mass < 0) mass = s;
    else if (Math.abs(s - mass) > 1e-9 * mass) throw new OTError('mass', `A's row ${k} sums to ${s} but row 0 sums to ${mass}; the histograms need equal masses.`);
  }
  const w = toWeights('weights', opts.weights, K);
  let ws = 0;
  for (let k = 0; k < K; k++) ws += w[k];
  for (let k = 0; k < K; k++) w[k] /= ws;
  const rows = 2 * K * n - (K - 1);
  checkBudget(8 * rows * rows * 2 + 8 * (K * n * n + n) * 2, `lpBarycenter (a dense ${rows} × ${rows} basis inverse)`, opts.maxBytes);
  checkAbort(opts.signal);
  // every histogram at exactly row 0's mass (they agree to 1e-9), so the crash basis below is feasible
  const H = Float64Array.from(A.data);
  for (let k = 1; k < K; k++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += H[k * n + i];
    for (let i = 0; i < n; i++) H[k * n + i] *= mass / s;
  }
  const lp = buildLp(H, K, n, M.data, w);
  // (a crash basis — q = a_1, north-west corner plans — halves the pivots but makes B⁻¹ dense: 1.5× slower)
  const { x, pivots, optimal } = await revisedSimplex(lp, opts.maxIter ?? 1e6, opts);
  const q = x.slice(K * n * n);
  let value = 0;
  for (let v = 0; v < K * n * n; v++) value += lp.cost[v] * x[v];
  // residual
  let err = 0;
  const Ax = new Float64Array(lp.rows);
  const ri = new Int32Array(K + 2);
  const rv = new Float64Array(K + 2);
  for (let v = 0; v < lp.vars; v++) {
    if (x[v] === 0) continue;
    const c = lp.column(v, ri, rv);
    for (let t = 0; t < c; t++) Ax[ri[t]] += rv[t] * x[v];
  }
  for (let r = 0; r < lp.rows; r++) err = Math.max(err, Math.abs(Ax[r] - lp.rhs[r]));
  return { value, barycenter: q, status: optimal ? 'optimal' : 'max-iterations', iterations: pivots, error: err, backend: 'js', threads: 1 };
}

/**
 * The exact (linear-programming) Wasserstein barycenter of the histograms in the ROWS of A (K × n; POT's layout
 * is columns) for the bin-to-bin cost M (n × n): q minimizing Σ_k w_k OT_M(q, a_k), as POT's ot.lp.barycenter.
 * Histograms need equal masses. The LP has K·n² + n variables: meant for a few hundred bins.
 */
export const lpBarycenter = defineSolver({
  name: 'lpBarycenter',
  summary: 'Exact Wasserstein barycenter on a fixed support, as a linear program (revised simplex).',
  params: ['A', 'M'],
  options: {
    weights: opt(vector, 'Barycentric weights (K entries, ≥ 0; normalized to sum 1). POT: weights.', 'uniform'),
    maxIter: opt(num({ integer: true, min: 1 }), 'Simplex pivots at most (both phases).', '1e6'),
    signal: signalOption,
    onProgress: progressOption('{ iterations, phase }'),
    maxBytes: maxBytesOption,
    worker: workerOption,
  },
  backends: ['js'],
  workEstimate: (args) => {
    const X = args[0] as { rows?: number; cols?: number; length?: number; [k: number]: { length: number } } | undefined;
    if (!X) return 0;
    const K = typeof X.rows === 'number' ? X.rows : (X.length ?? 0);
    const n = typeof X.cols === 'number' ? X.cols : (X[0]?.length ?? 0);
    return K * n * n;
  },
  run: lpBarycenterRun,
});
