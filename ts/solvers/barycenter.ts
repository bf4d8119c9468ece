// Barycenters: fixed support (iterative Bregman projections), convolutional on 2D grids (the kernel as a
// separable Gaussian blur), and free support for point clouds (exact OT). The entropic ones run on wasm
// (f64 SIMD kernels, ts/backends/wasm-barycenter.ts) or in plain TypeScript (the reference, below); both run
// the same iterations with the same stopping rule and agree to rounding.
import { OTError } from '../errors.js';
import { type CostInput, pointCloud, toGeometry } from '../geometry.js';
import type { DenseMatrix, MatrixLike, VectorLike } from '../types.js';
import { checkAbort, checkBudget, checkPositiveInteger, sum, toMatrix, toWeights } from '../validate.js';
import { checkReg, chooseMethod } from '../entropic/problem.js';
import { LogSumExp } from '../entropic/logsumexp.js';
import { Rng } from '../rng.js';
import { emd } from './emd.js';
import { chooseBackend } from '../backends/select.js';
import type { WasmKernels } from '../backends/wasm.js';
import { wasmConvolutional, wasmConvolutionalLog, wasmIbpLog, wasmIbpScaling } from '../backends/wasm-barycenter.js';
import type { SparseCoupling } from '../coupling.js';
import type { OTResult } from '../result.js';
import { defineSolver } from '../registry/define.js';
import { matrix, num, oneOf, opt, required, vector } from '../registry/schema.js';
import { backendOption, maxBytesOption, progressOption, signalOption, workerOption } from '../registry/common.js';
import { colsOf, rowsOf } from '../registry/estimate.js';

/** Where an entropic barycenter runs: 'auto' (wasm when it loads, else js), or forced ('backend-unavailable' if it cannot). */
export type BarycenterBackend = 'auto' | 'wasm' | 'js';

export interface BarycenterOptions {
  /** ε. Required. */
  reg: number;
  /** Barycentric weights λ_k (≥ 0; normalized to sum 1). Default uniform. */
  weights?: VectorLike;
  method?: 'scaling' | 'log' | 'auto';
  maxIter?: number;
  /** Stop when Σ_k λ_k ‖(second marginal of P_k) − p‖₁ < tol. Default 1e-9. */
  tol?: number;
  signal?: AbortSignal;
  maxBytes?: number;
  backend?: BarycenterBackend;
  worker?: 'auto' | boolean;
}

/** What the iterations below return; the public functions add the common result fields. */
interface RawBarycenter {
  barycenter: Float64Array;
  iterations: number;
  /** The convergence measure at return. */
  error: number;
  converged: boolean;
  /** Which backend ran. */
  backend: 'wasm' | 'js';
}

function barycentricWeights(w: VectorLike | undefined, k: number): Float64Array {
  const out = toWeights('weights', w, k);
  const s = sum(out);
  return out.map((x) => x / s);
}

/**
 * Entropic barycenter of the histograms in A (one per row, k × n) for the cost M (n × n', the barycenter
 * lives on M's columns): argmin_p Σ_k λ_k OT_ε(a_k, p), by iterative Bregman projections (Benamou et al.
 * 2015), in the scaling or the log domain. Histograms are normalized to mass 1.
 */
async function barycenterRaw(A: MatrixLike, M: CostInput, opts: BarycenterOptions): Promise<RawBarycenter> {
  const reg = checkReg('reg', opts?.reg);
  const H = toMatrix('A', A, opts.maxBytes);
  const geom = toGeometry(M, opts.maxBytes);
  const k = H.rows;
  const n = H.cols;
  if (geom.rows !== n) throw new OTError('shape', `A's histograms have ${n} bins but M has ${geom.rows} rows; M must be (bins of A) × (bins of the barycenter).`);
  const nb = geom.cols;
  checkBudget(n * nb * 8, `the ${n} × ${nb} kernel`, opts.maxBytes);
  const lambda = barycentricWeights(opts.weights, k);
  const hist: Float64Array[] = [];
  for (let t = 0; t < k; t++) {
    const w = toWeights(`A[${t}]`, H.data.subarray(t * n, t * n + n), n);
    const s = sum(w);
    hist.push(w.map((x) => x / s));
  }
  const C = geom.dense().data;
  const method = chooseMethod(
    opts.method,
    () => {
      let scale = 0;
      for (const c of C) scale = Math.max(scale, Math.abs(c));
      return scale;
    },
    reg,
  );
  const maxIter = opts.maxIter ?? 1000;
  const tol = opts.tol ?? 1e-9;
  const wasm = await pickWasm('barycenter', opts.backend);
  if (wasm) {
    try {
      return wasmIbp(wasm.kernels, method, { hist, lambda, C, n, nb, reg, maxIter, tol, signal: opts.signal, maxBytes: opts.maxBytes });
    } catch (e) {
      if (!(wasm.auto && e instanceof OTError && e.code === 'backend-unavailable')) throw e;
    }
  }
  return method === 'scaling' ? ibpScaling(hist, lambda, C, n, nb, reg, maxIter, tol, opts.signal) : ibpLog(hist, lambda, C, n, nb, reg, maxIter, tol, opts.signal);
}

/** The wasm kernels when the call runs on wasm (auto: when they load), else undefined (js). */
async function pickWasm(solver: string, requested: BarycenterBackend | undefined): Promise<{ kernels: WasmKernels; auto: boolean } | undefined> {
  const chosen = await chooseBackend(solver, ['wasm', 'js'], requested ?? 'auto');
  return chosen.name === 'wasm' ? { kernels: chosen.wasm, auto: (requested ?? 'auto') === 'auto' } : undefined;
}

function wasmIbp(
  kernels: WasmKernels,
  method: 'scaling' | 'log',
  pr: { hist: Float64Array[]; lambda: Float64Array; C: Float64Array; n: number; nb: number; reg: number; maxIter: number; tol: number; signal?: AbortSignal; maxBytes?: number },
): RawBarycenter {
  if (method === 'scaling') {
    const r = wasmIbpScaling(kernels, pr);
    if (!Number.isFinite(r.error)) {
      throw new OTError('numerical', `barycenter: the scaling iteration overflowed at reg = ${pr.reg}; use method: 'log'.`);
    }
    return { barycenter: normalized(r.p), iterations: r.iterations, error: r.error, converged: r.error < pr.tol, backend: 'wasm' };
  }
  const r = wasmIbpLog(kernels, pr);
  return { barycenter: normalized(r.p.map(Math.exp)), iterations: r.iterations, error: r.error, converged: r.error < pr.tol, backend: 'wasm' };
}

function ibpScaling(hist: Float64Array[], lambda: Float64Array, C: Float64Array, n: number, nb: number, reg: number, maxIter: number, tol: number, signal?: AbortSignal): RawBarycenter {
  const K = C.map((c) => Math.exp(-c / reg));
  const k = hist.length;
  const v = hist.map(() => new Float64Array(nb).fill(1));
  const Ktu = hist.map(() => new Float64Array(nb));
  const u = new Float64Array(n);
  const p = new Float64Array(nb);
  let error = Infinity;
  let it = 0;
  while (it < maxIter) {
    checkAbort(signal);
    it++;
    for (let t = 0; t < k; t++) {
      // u = a / (K v); Kᵀu accumulated row by row (K is row-major)
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < nb; j++) s += K[i * nb + j] * v[t][j];
        u[i] = hist[t][i] / s;
      }
      Ktu[t].fill(0);
      for (let i = 0; i < n; i++) {
        const ui = u[i];
        if (ui === 0) continue;
        for (let j = 0; j < nb; j++) Ktu[t][j] += K[i * nb + j] * ui;
      }
    }
    // p = Π_k (v_k ⊙ Kᵀu_k)^λ_k, the KL projection onto equal second marginals
    p.fill(0);
    for (let t = 0; t < k; t++) for (let j = 0; j < nb; j++) p[j] += lambda[t] * Math.log(v[t][j] * Ktu[t][j]);
    for (let j = 0; j < nb; j++) p[j] = Math.exp(p[j]);
    error = 0;
    for (let t = 0; t < k; t++) for (let j = 0; j < nb; j++) error += lambda[t] * Math.abs(v[t][j] * Ktu[t][j] - p[j]);
    if (!Number.isFinite(error)) {
      throw new OTError('numerical', `barycenter: the scaling iteration overflowed at reg = ${reg}; use method: 'log'.`);
    }
    for (let t = 0; t < k; t++) for (let j = 0; j < nb; j++) v[t][j] = p[j] / Ktu[t][j];
    if (error < tol) return { barycenter: normalized(p), iterations: it, error, converged: true, backend: 'js' };
  }
  return { barycenter: normalized(p), iterations: it, error, converged: false, backend: 'js' };
}

function ibpLog(hist: Float64Array[], lambda: Float64Array, C: Float64Array, n: number, nb: number, reg: number, maxIter: number, tol: number, signal?: AbortSignal): RawBarycenter {
  const k = hist.length;
  const g = hist.map(() => new Float64Array(nb)); // ε log v_k
  const f = new Float64Array(n); // ε log u_k (recomputed per k)
  const h = hist.map(() => new Float64Array(nb)); // log (Kᵀu_k)
  const logp = new Float64Array(nb);
  let error = Infinity;
  let it = 0;
  while (it < maxIter) {
    checkAbort(signal);
    it++;
    for (let t = 0; t < k; t++) {
      for (let i = 0; i < n; i++) {
        if (hist[t][i] === 0) {
          f[i] = -Infinity;
          continue;
        }
        const lse = new LogSumExp();
        for (let j = 0; j < nb; j++) lse.add((g[t][j] - C[i * nb + j]) / reg);
        f[i] = reg * (Math.log(hist[t][i]) - lse.value());
      }
      for (let j = 0; j < nb; j++) {
        const lse = new LogSumExp();
        for (let i = 0; i < n; i++) lse.add((f[i] - C[i * nb + j]) / reg);
        h[t][j] = lse.value();
      }
    }
    logp.fill(0);
    for (let t = 0; t < k; t++) for (let j = 0; j < nb; j++) logp[j] += lambda[t] * (g[t][j] / reg + h[t][j]);
    error = 0;
    for (let t = 0; t < k; t++) for (let j = 0; j < nb; j++) error += lambda[t] * Math.abs(Math.exp(g[t][j] / reg + h[t][j]) - Math.exp(logp[j]));
    for (let t = 0; t < k; t++) for (let j = 0; j < nb; j++) g[t][j] = reg * (logp[j] - h[t][j]);
    if (error < tol) return { barycenter: normalized(logp.map(Math.exp)), iterations: it, error, converged: true, backend: 'js' };
  }
  return { barycenter: normalized(logp.map(Math.exp)), iterations: it, error, converged: false, backend: 'js' };
}

function normalized(p: Float64Array): Float64Array {
  const s = sum(p);
  return p.map((x) => x / s);
}

export interface ConvolutionalOptions {
  width: number;
  height: number;
  /** ε, in units of the squared grid coordinates, which span [0, 1] along each axis (as in POT). */
  reg: number;
  weights?: VectorLike;
  /**
   * 'scaling': the blur on scalings with POT's 1e-30 floor (fast; loses mass once reg is small for the grid:
   * 'numerical'). 'log': potentials in the log domain, each blur an exact separable log-sum-exp (10–30×
   * slower per iteration; any reg, and no floor bias). 'auto' (default): the dense solvers' rule (chooseMethod of
   * ts/entropic/problem.ts) for the grid's squared-distance cost, whose largest entry is 2 on [0,1]² (1 when
   * one side has a single pixel, 0 for one pixel): log when that scale / reg > 50, i.e. reg < 0.04 on a 2D
   * grid — there the Gibbs kernel spans more than e^−50, and blurs of vanishing image tails can reach the
   * 1e-30 (≈ e^−69) floor (reg 0.004 on 32 × 28 already biases the scaling form by ~0.5%; 0.002 on 64 × 64
   * loses mass). It is the method `barycenter` picks on the same grid's cost matrix.
   */
  method?: 'scaling' | 'log' | 'auto';
  maxIter?: number;
  /** Stop when Σ|p − p_previous| / Σp < tol (relative: p may start out tiny). Default 1e-9. */
  tol?: number;
  signal?: AbortSignal;
  backend?: BarycenterBackend;
  worker?: 'auto' | boolean;
}

/**
 * Entropic barycenter of images on a height × width grid (A: one image per row, row-major pixels),
 * with the Gibbs kernel of the squared distance on [0,1]² applied as a separable Gaussian blur:
 * O(hw(h + w)) per application instead of O((hw)²) (Solomon et al. 2015; POT's convolutional_barycenter2d),
 * on scalings (method 'scaling', POT's method='sinkhorn') or on log-potentials (method 'log', POT's
 * 'sinkhorn_log'); 'auto' picks log at small reg (see ConvolutionalOptions.method).
 */
async function convolutionalRaw(A: MatrixLike, opts: ConvolutionalOptions): Promise<RawBarycenter> {
  const reg = checkReg('reg', opts?.reg);
  const h = checkPositiveInteger('height', opts.height);
  const w = checkPositiveInteger('width', opts.width);
  const H = toMatrix('A', A);
  if (H.cols !== h * w) throw new OTError('shape', `A's rows have ${H.cols} pixels but height × width = ${h * w}.`);
  const k = H.rows;
  const lambda = barycentricWeights(opts.weights, k);
  const imgs: Float64Array[] = [];
  for (let t = 0; t < k; t++) {
    const img = toWeights(`A[${t}]`, H.data.subarray(t * h * w, (t + 1) * h * w), h * w);
    const s = sum(img);
    imgs.push(img.map((x) => x / s));
  }
  // the largest squared distance between two pixels of [0,1]² (the scale of chooseMethod)
  const method = chooseMethod(opts.method, () => (h > 1 ? 1 : 0) + (w > 1 ? 1 : 0), reg);
  const maxIter = opts.maxIter ?? 1000;
  const tol = opts.tol ?? 1e-9;
  if (method === 'log') return convolutionalLog(imgs, lambda, h, w, reg, maxIter, tol, opts);
  const gauss = (len: number) => {
    const xi = new Float64Array(len * len);
    for (let i = 0; i < len; i++)
      for (let j = 0; j < len; j++) {
        const d = len === 1 ? 0 : (i - j) / (len - 1);
        xi[i * len + j] = Math.exp(-(d * d) / reg);
      }
    return xi;
  };
  const xiH = gauss(h);
  const xiW = gauss(w);
  const wasm = await pickWasm('convolutionalBarycenter', opts.backend);
  if (wasm) {
    try {
      const r = wasmConvolutional(wasm.kernels, { imgs, lambda, h, w, xiH, xiW, maxIter, tol, signal: opts.signal });
      return checkedConvolutional({ barycenter: r.p, iterations: r.iterations, error: r.error, converged: r.error < tol, backend: 'wasm' }, reg, 'scaling');
    } catch (e) {
      if (!(wasm.auto && e instanceof OTError && e.code === 'backend-unavailable')) throw e;
    }
  }
  // K(x) = ξ_h · x · ξ_w (x as an h × w image); both ξ are symmetric, so K is self-adjoint
  const tmp = new Float64Array(h * w);
  const applyK = (x: Float64Array, out: Float64Array) => {
    tmp.fill(0);
    for (let i = 0; i < h; i++) for (let r = 0; r < h; r++) {
      const c = xiH[i * h + r];
      if (c === 0) continue;
      for (let j = 0; j < w; j++) tmp[i * w + j] += c * x[r * w + j];
    }
    for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
      let s = 0;
      for (let q = 0; q < w; q++) s += tmp[i * w + q] * xiW[q * w + j];
      out[i * w + j] = s;
    }
  };
  const STAB = 1e-30; // floor against division by underflowed blurs, as POT does
  const U = imgs.map(() => new Float64Array(h * w).fill(1));
  const KV = imgs.map(() => new Float64Array(h * w));
  const KU = new Float64Array(h * w);
  const ratio = new Float64Array(h * w);
  let p = new Float64Array(h * w);
  let error = Infinity;
  let it = 0;
  while (it < maxIter) {
    checkAbort(opts.signal);
    it++;
    const logp = new Float64Array(h * w);
    for (let t = 0; t < k; t++) {
      applyK(U[t], KU);
      for (let q = 0; q < h * w; q++) ratio[q] = imgs[t][q] / Math.max(STAB, KU[q]);
      applyK(ratio, KV[t]);
      for (let q = 0; q < h * w; q++) logp[q] += lambda[t] * Math.log(Math.max(STAB, U[t][q] * KV[t][q]));
    }
    const next = logp.map(Math.exp);
    for (let t = 0; t < k; t++) for (let q = 0; q < h * w; q++) U[t][q] = next[q] / Math.max(STAB, KV[t][q]);
    // relative change: p can start out tiny (far-apart shapes, small reg) and must not "converge" there
    error = 0;
    for (let q = 0; q < h * w; q++) error += Math.abs(next[q] - p[q]);
    error /= Math.max(sum(next), 1e-300);
    p = next;
    if (error < tol) return checkedConvolutional({ barycenter: p, iterations: it, error, converged: true, backend: 'js' }, reg, 'scaling');
  }
  return checkedConvolutional({ barycenter: p, iterations: it, error, converged: false, backend: 'js' }, reg, 'scaling');
}

/**
 * In the scaling form, when reg is small for the grid, the blurred scalings underflow to the 1e-30 floor and
 * the iteration "converges" to a barycenter that lost its mass (at the fixed point every plan, hence p, has
 * mass 1). Fail loudly instead of returning it. (The log form has no floor; the check guards it all the same.)
 */
function checkedConvolutional(r: RawBarycenter, reg: number, method: 'scaling' | 'log'): RawBarycenter {
  const mass = sum(r.barycenter);
  if (!Number.isFinite(mass) || (r.converged && Math.abs(mass - 1) > 1e-6) || !(mass > 0)) {
    throw new OTError(
      'numerical',
      `convolutionalBarycenter: the ${method} iteration under/overflowed at reg = ${reg} (barycenter mass ${mass} instead of 1); ` +
        (method === 'scaling' ? `use method: 'log' or a larger reg for this grid` : `use a larger reg for this grid`) +
        ` (reg is in units of the squared grid extent [0,1]²).`,
    );
  }
  return r;
}

/**
 * The convolutional barycenter in the log domain (POT's convolutional_barycenter2d(method='sinkhorn_log')
 * idea): the scaling form's iteration, same order and stopping rule, on LU_t = log U_t, without the floor.
 * The kernel application log(K e^x) = log(ξ_h · e^x · ξ_w) is separable: a log-sum-exp along the columns,
 * tmp[i,j] = LSE_r(−((i−r)/(h−1))²/ε + x[r,j]), then along the rows, LSE_q(tmp[i,q] − ((q−j)/(w−1))²/ε):
 * hw(h + w) exponentials per application, no (hw)² storage. Zero pixels have log-weight −∞, which the
 * log-sum-exps skip; every potential stays finite.
 */
async function convolutionalLog(
  imgs: Float64Array[],
  lambda: Float64Array,
  h: number,
  w: number,
  reg: number,
  maxIter: number,
  tol: number,
  opts: ConvolutionalOptions,
): Promise<RawBarycenter> {
  const k = imgs.length;
  const hw = h * w;
  const logKernel = (len: number) => {
    const lk = new Float64Array(len * len);
    for (let i = 0; i < len; i++)
      for (let j = 0; j < len; j++) {
        const d = len === 1 ? 0 : (i - j) / (len - 1);
        lk[i * len + j] = -(d * d) / reg;
      }
    return lk;
  };
  const lH = logKernel(h);
  const lW = logKernel(w);
  const logImgs = imgs.map((x) => x.map((v) => (v === 0 ? -Infinity : Math.log(v))));
  const wasm = await pickWasm('convolutionalBarycenter', opts.backend);
  if (wasm) {
    try {
      const r = wasmConvolutionalLog(wasm.kernels, { logImgs, lambda, h, w, lH, lW, maxIter, tol, signal: opts.signal });
      return checkedConvolutional({ barycenter: r.p, iterations: r.iterations, error: r.error, converged: r.error < tol, backend: 'wasm' }, reg, 'log');
    } catch (e) {
      if (!(wasm.auto && e instanceof OTError && e.code === 'backend-unavailable')) throw e;
    }
  }
  const tmp = new Float64Array(hw);
  // out = log(ξ_h · e^x · ξ_w), both log kernels symmetric
  const applyLogK = (x: Float64Array, out: Float64Array) => {
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) {
        const lse = new LogSumExp();
        for (let r = 0; r < h; r++) lse.add(lH[i * h + r] + x[r * w + j]);
        tmp[i * w + j] = lse.value();
      }
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) {
        const lse = new LogSumExp();
        for (let q = 0; q < w; q++) lse.add(tmp[i * w + q] + lW[j * w + q]);
        out[i * w + j] = lse.value();
      }
  };
  const LU = imgs.map(() => new Float64Array(hw)); // log U, U = 1 at the start
  const LKV = imgs.map(() => new Float64Array(hw));
  const LKU = new Float64Array(hw);
  const LR = new Float64Array(hw);
  let p = new Float64Array(hw);
  let error = Infinity;
  let it = 0;
  while (it < maxIter) {
    checkAbort(opts.signal);
    it++;
    const logp = new Float64Array(hw);
    for (let t = 0; t < k; t++) {
      applyLogK(LU[t], LKU);
      for (let q = 0; q < hw; q++) LR[q] = logImgs[t][q] - LKU[q];
      applyLogK(LR, LKV[t]);
      for (let q = 0; q < hw; q++) logp[q] += lambda[t] * (LU[t][q] + LKV[t][q]);
    }
    const next = logp.map(Math.exp);
    for (let t = 0; t < k; t++) for (let q = 0; q < hw; q++) LU[t][q] = logp[q] - LKV[t][q];
    error = 0;
    for (let q = 0; q < hw; q++) error += Math.abs(next[q] - p[q]);
    error /= Math.max(sum(next), 1e-300);
    p = next;
    if (error < tol) return checkedConvolutional({ barycenter: p, iterations: it, error, converged: true, backend: 'js' }, reg, 'log');
  }
  return checkedConvolutional({ barycenter: p, iterations: it, error, converged: false, backend: 'js' }, reg, 'log');
}

export interface FreeSupportOptions {
  /** Initial support (k × d), or … */
  init?: MatrixLike;
  /** … the number of support points, drawn from the pooled input points with `seed`. */
  k?: number;
  seed?: number;
  /** Weights of the barycenter's support points (default uniform). */
  b?: VectorLike;
  weights?: VectorLike;
  maxIter?: number;
  /** Stop when Σ‖X_new − X‖² < tol. Default 1e-7 (POT's default). */
  tol?: number;
  signal?: AbortSignal;
  /** Called after each step with { iterations, error: the displacement Σ‖X_new − X‖² }. */
  onProgress?: (p: { iterations: number; error: number }) => void;
  backend?: 'auto' | 'wasm';
  worker?: 'auto' | boolean;
}

interface RawFreeSupport {
  X: DenseMatrix;
  b: Float64Array;
  value: number;
  iterations: number;
  displacement: number;
  converged: boolean;
  /** The exact OT steps run on wasm. */
  backend: 'wasm';
}

/**
 * Wasserstein-2 barycenter with free support (Cuturi & Doucet 2014; POT's free_support_barycenter):
 * alternate exact OT (our network simplex) from the support to each measure and the move of every
 * support point to the λ-weighted barycentric projection.
 */
async function freeSupportRaw(measures: { X: MatrixLike; a?: VectorLike }[], opts: FreeSupportOptions = {}): Promise<RawFreeSupport> {
  if (!Array.isArray(measures) || measures.length === 0) throw new OTError('empty', 'freeSupportBarycenter needs at least one measure { X, a? }.');
  const ms = measures.map((mu, t) => {
    const X = toMatrix(`measures[${t}].X`, mu.X);
    return { X, a: toWeights(`measures[${t}].a`, mu.a, X.rows) };
  });
  const d = ms[0].X.cols;
  ms.forEach((mu, t) => {
    if (mu.X.cols !== d) throw new OTError('shape', `measures[${t}] lives in dimension ${mu.X.cols}, measures[0] in ${d}.`);
  });
  let X: Float64Array;
  let k: number;
  if (opts.init !== undefined) {
    const X0 = toMatrix('init', opts.init);
    if (X0.cols !== d) throw new OTError('shape', `init has dimension ${X0.cols}, the measures ${d}.`);
    X = X0.data.slice();
    k = X0.rows;
  } else {
    if (opts.k === undefined) throw new OTError('invalid-option', 'freeSupportBarycenter needs the support: pass { init } (k × d points) or { k } (the number of support points to draw).');
    k = opts.k;
    const pooled = ms.flatMap((mu) => Array.from({ length: mu.X.rows }, (_, i) => mu.X.data.subarray(i * d, i * d + d)));
    const rng = new Rng(opts.seed ?? 0);
    X = new Float64Array(k * d);
    for (let r = 0; r < k; r++) X.set(pooled[Math.floor(rng.uniform() * pooled.length)], r * d);
  }
  const b = opts.b === undefined ? new Float64Array(k).fill(1 / k) : toWeights('b', opts.b, k);
  const lambda = barycentricWeights(opts.weights, ms.length);
  const maxIter = opts.maxIter ?? 100;
  const tol = opts.tol ?? 1e-7;
  let displacement = Infinity;
  let it = 0;
  let plans: SparseCoupling[] = [];
  while (it < maxIter && displacement > tol) {
    checkAbort(opts.signal);
    it++;
    const next = new Float64Array(k * d);
    plans = [];
    for (let t = 0; t < ms.length; t++) {
      const mu = ms[t];
      const r = await emd(b, mu.a, pointCloud({ data: X, rows: k, cols: d }, mu.X), { normalize: true, worker: false });
      plans.push(r.plan);
      const bt = r.plan.marginals().a;
      for (const [i, j, mass] of r.plan.entries()) {
        const wgt = (lambda[t] * mass) / bt[i];
        for (let q = 0; q < d; q++) next[i * d + q] += wgt * mu.X.data[j * d + q];
      }
    }
    displacement = 0;
    for (let q = 0; q < k * d; q++) displacement += (next[q] - X[q]) ** 2;
    X = next;
    opts.onProgress?.({ iterations: it, error: displacement });
  }
  // Σ_t λ_t ⟨P_t, ‖x − y‖²⟩ of the last plans at the returned support: Σ λ W₂² up to the last move (equal at a fixed point)
  let value = 0;
  plans.forEach((plan, t) => {
    for (const [i, j, mass] of plan.entries()) {
      let sq = 0;
      for (let q = 0; q < d; q++) sq += (X[i * d + q] - ms[t].X.data[j * d + q]) ** 2;
      value += lambda[t] * mass * sq;
    }
  });
  return { X: { data: X, rows: k, cols: d }, b, value, iterations: it, displacement, converged: displacement <= tol, backend: 'wasm' };
}


// ---- the public solvers -------------------------------------------------------------------------------------

/** An entropic barycenter: the histogram and how the iteration ended. */
export interface BarycenterResult extends Omit<OTResult, 'value'> {
  /** The barycenter, a histogram of mass 1 on the columns of M (or the grid's pixels). */
  barycenter: Float64Array;
  /**
   * 'converged' when `error` fell below tol: Σ_k λ_k ‖(second marginal of P_k) − p‖₁ (fixed support), or
   * Σ|p − p_previous| / Σp (convolutional).
   */
  status: 'converged' | 'max-iterations';
  backend: 'wasm' | 'js';
}

function publicBarycenter(r: RawBarycenter): BarycenterResult {
  return { barycenter: r.barycenter, status: r.converged ? 'converged' : 'max-iterations', iterations: r.iterations, error: r.error, backend: r.backend, threads: 1 };
}

/** A free-support barycenter: its support points and weights, and the objective. */
export interface FreeSupportResult extends OTResult {
  /** The support, k × d. */
  X: DenseMatrix;
  /** Its weights. */
  b: Float64Array;
  /** Σ_t λ_t ⟨P_t, ‖x − y‖²⟩ of the last exact plans at the returned support (Σ λ_t W₂² at a fixed point). */
  value: number;
  /** 'converged' when the last move Σ‖X_new − X‖² (`error`) fell below tol. */
  status: 'converged' | 'max-iterations';
  backend: 'wasm';
}

const entropicBarycenterOptions = {
  reg: required(num({ gt: 0 }), 'ε, the entropic regularization (POT: reg).'),
  weights: opt(vector, 'Barycentric weights λ_k ≥ 0, normalized to sum 1.', 'uniform'),
  method: opt(oneOf('scaling', 'log', 'auto'), "'scaling' (fast), 'log' (stable at small reg), 'auto' (log when the cost scale / reg > 50).", "'auto'"),
  maxIter: opt(num({ integer: true, min: 0 }), 'Iteration cap (POT: numItermax).', '1000'),
  tol: opt(num({ min: 0 }), 'Stop when the convergence measure (see the result\'s error) falls below tol (POT: stopThr).', '1e-9'),
  backend: backendOption(['wasm', 'js']),
  signal: signalOption,
  worker: workerOption,
};

/**
 * Entropic barycenter of the histograms in A (one per ROW, k × n; POT's layout is columns) for the cost M
 * (n × n', the barycenter lives on M's columns): argmin_p Σ_k λ_k OT_ε(a_k, p), by iterative Bregman
 * projections (Benamou et al. 2015; POT: ot.bregman.barycenter), in the scaling or the log domain.
 * Histograms are normalized to mass 1.
 */
export const barycenter = defineSolver({
  name: 'barycenter',
  summary: 'Fixed-support entropic barycenter by iterative Bregman projections.',
  params: ['A', 'M'],
  options: { ...entropicBarycenterOptions, maxBytes: maxBytesOption },
  backends: ['wasm', 'js'],
  workEstimate: ([A, M]) => rowsOf(A) * rowsOf(M) * colsOf(M),
  run: async (A: MatrixLike, M: CostInput, opts: BarycenterOptions): Promise<BarycenterResult> => publicBarycenter(await barycenterRaw(A, M, opts)),
});

/**
 * Entropic barycenter of images on a height × width grid (A: one image per row, row-major pixels), the
 * Gibbs kernel applied as a separable Gaussian blur (Solomon et al. 2015; POT: convolutional_barycenter2d).
 */
export const convolutionalBarycenter = defineSolver({
  name: 'convolutionalBarycenter',
  summary: 'Entropic barycenter of images on a grid, by separable convolutions.',
  params: ['A'],
  options: {
    width: required(num({ integer: true, min: 1 }), 'Grid width (pixels per image row).'),
    height: required(num({ integer: true, min: 1 }), 'Grid height.'),
    ...entropicBarycenterOptions,
  },
  backends: ['wasm', 'js'],
  workEstimate: ([A, opts]) => {
    // one separable blur costs h·w·(h + w) multiply-adds (an exponential each in the log domain, which 'auto' picks below reg 0.04)
    const o = (opts ?? {}) as ConvolutionalOptions;
    const h = Number(o.height) || 0;
    const w = Number(o.width) || 0;
    const log = o.method === 'log' || (o.method !== 'scaling' && !(Number(o.reg) >= 0.04));
    return (rowsOf(A) * h * w * (h + w)) / (log ? 1 : 16);
  },
  run: async (A: MatrixLike, opts: ConvolutionalOptions): Promise<BarycenterResult> => publicBarycenter(await convolutionalRaw(A, opts)),
});

/**
 * Wasserstein-2 barycenter with free support (Cuturi & Doucet 2014; POT: ot.lp.free_support_barycenter):
 * alternate exact OT (our network simplex) from the support to each measure and the move of every support
 * point to the λ-weighted barycentric projection.
 */
export const freeSupportBarycenter = defineSolver({
  name: 'freeSupportBarycenter',
  summary: 'Wasserstein-2 barycenter with free support (exact OT steps).',
  params: ['measures'],
  options: {
    init: opt(matrix, 'Initial support, k × d.'),
    k: opt(num({ integer: true, min: 1 }), 'Or: the number of support points, drawn from the pooled input points with seed.'),
    seed: opt(num({ integer: true, min: 0 }), 'Seed of the drawn support.', '0'),
    b: opt(vector, "Weights of the barycenter's support points.", 'uniform'),
    weights: opt(vector, 'Barycentric weights λ_t, normalized to sum 1.', 'uniform'),
    maxIter: opt(num({ integer: true, min: 0 }), 'Iteration cap (POT: numItermax).', '100'),
    tol: opt(num({ min: 0 }), 'Stop when the move Σ‖X_new − X‖² falls below tol (POT: stopThr).', '1e-7'),
    backend: backendOption(['wasm']),
    signal: signalOption,
    onProgress: progressOption('{ iterations, error } after each step'),
    worker: workerOption,
  },
  backends: ['wasm'],
  workEstimate: ([measures, opts]) => {
    const o = (opts ?? {}) as FreeSupportOptions;
    let total = 0;
    if (Array.isArray(measures)) for (const mu of measures as { X?: unknown }[]) total += rowsOf(mu?.X);
    const k = o.init !== undefined ? rowsOf(o.init) : Number(o.k) || 0;
    return k * total;
  },
  run: async (measures: { X: MatrixLike; a?: VectorLike }[], opts: FreeSupportOptions = {}): Promise<FreeSupportResult> => {
    const r = await freeSupportRaw(measures, opts);
    return { X: r.X, b: r.b, value: r.value, status: r.converged ? 'converged' : 'max-iterations', iterations: r.iterations, error: r.displacement, backend: 'wasm', threads: 1 };
  },
});
