// Barycenters: fixed support (iterative Bregman projections), convolutional on 2D grids (the kernel as a
// separable Gaussian blur), and free support for point clouds (exact OT). The entropic ones are one IBP
// iteration (ts/barycenter/ibp.ts) over a geometry's kernel operation, on webgpu, wasm or js (ts/barycenter/).
import { OTError } from '../errors.js';
import { type CostInput, pointCloud, toGeometry } from '../geometry.js';
import type { DenseMatrix, MatrixLike, VectorLike } from '../types.js';
import { checkAbort, checkBudget, checkPositiveInteger, sum, toMatrix, toWeights } from '../validate.js';
import { type IterationOptions, checkReg, chooseMethod, entropicCost } from '../entropic/problem.js';
import { iterationSchema } from '../entropic/options.js';
import { Rng } from '../rng.js';
import { emd } from './emd.js';
import { solveConvolutional, solveFixedSupport } from '../barycenter/solve.js';
import type { SparseCoupling } from '../coupling.js';
import type { OTResult } from '../result.js';
import type { PairCost } from '../entropic/engine.js';
import { defineSolver } from '../registry/define.js';
import { matrix, num, oneOf, opt, required, vector } from '../registry/schema.js';
import { backendOption, maxBytesOption, progressOption, signalOption, workerOption } from '../registry/common.js';
import { colsOf, rowsOf } from '../registry/estimate.js';

/**
 * Where an entropic barycenter runs: 'auto' (webgpu on hardware for large problems, else wasm when it loads,
 * else js), or forced ('backend-unavailable' if it cannot).
 */
export type BarycenterBackend = 'auto' | 'webgpu' | 'wasm' | 'js';

/**
 * Options of {@link barycenter} (POT: the keyword arguments of `ot.bregman.barycenter`; `numItermax` is
 * `maxIter`, `stopThr` is `tol`, `method='sinkhorn_log'` is `method: 'log'`).
 */
export interface BarycenterOptions {
  /** ε. Required. */
  reg: number;
  /** Barycentric weights λ_k (≥ 0; normalized to sum 1). Default uniform. */
  weights?: VectorLike;
  /**
   * 'scaling' (multipliers on the kernel exp(−M/reg): fast, overflows when reg ≪ cost scale), 'log' (potentials
   * by log-sum-exp: stable at any reg, slower), 'auto' (default): log when max|M| / reg > 50 or with epsScaling.
   */
  method?: 'scaling' | 'log' | 'auto';
  /** Iteration cap; an iteration is one Bregman projection on each side for every histogram (POT: numItermax). Default 1000. */
  maxIter?: number;
  /** Stop when Σ_k λ_k ‖(second marginal of P_k) − p‖₁ < tol. Default 1e-9 (1e-5 on webgpu, f32). */
  tol?: number;
  /** Aborts the solve between iterations: the call rejects with OTError code 'aborted'. */
  signal?: AbortSignal;
  /**
   * Memory budget in bytes for the buffers of this call (the n × n' kernel, 8·n·n' bytes, and the k scalings);
   * above it the call fails with OTError('too-large') before any work. Default 2 GiB ({@link DEFAULT_MAX_BYTES}).
   */
  maxBytes?: number;
  /**
   * Force a backend: 'webgpu' (f32), 'wasm' (f64) or 'js' (f64); 'auto' (default) takes webgpu on a hardware
   * adapter for large problems, else wasm, else js. A forced backend that is unavailable is OTError('backend-unavailable').
   */
  backend?: BarycenterBackend;
  /** Where the call runs: 'auto' (default) sends k·n·n' ≥ 2^18 kernel entries per pass to a worker; see {@link WorkerOptions}. */
  worker?: 'auto' | boolean;
  /** Every 10 iterations and at the last: iterations so far, the convergence measure, the current ε. */
  onProgress?: IterationOptions['onProgress'];
  /** ε-scaling: solve for ε₀ > ε₁ > … > reg, each warm-starting the next (`true`: ε₀ = cost scale, factor ½). */
  epsScaling?: IterationOptions['epsScaling'];
  /** wasm: threads sharing each pass over the kernel ('auto' default; see IterationOptions.threads). */
  threads?: number | 'auto';
}

/** What the iterations below return; the public functions add the common result fields. */
interface RawBarycenter {
  barycenter: Float64Array;
  value: number;
  iterations: number;
  /** The convergence measure at return. */
  error: number;
  converged: boolean;
  /** Which backend ran, on how many threads. */
  backend: 'webgpu' | 'wasm' | 'js';
  threads: number;
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
  if (geom.kind !== 'grid') checkBudget(n * nb * 8, `the ${n} × ${nb} kernel`, opts.maxBytes);
  const lambda = barycentricWeights(opts.weights, k);
  const hist: Float64Array[] = [];
  for (let t = 0; t < k; t++) {
    const w = toWeights(`A[${t}]`, H.data.subarray(t * n, t * n + n), n);
    const s = sum(w);
    hist.push(w.map((x) => x / s));
  }
  if (geom.kind === 'grid') {
    // the grid's separable kernel: the convolutional barycenter, at the geometry's spacing
    const scale = () => geom.diameterSquared;
    const method = chooseMethod(opts.method, scale, reg, !!opts.epsScaling);
    return solveConvolutional(geom.height, geom.width, hist, opts, { reg, lambda, method, scale }, [geom.dy, geom.dx]);
  }
  const { cost, scale } = entropicCost(geom);
  const method = chooseMethod(opts.method, scale, reg, !!opts.epsScaling);
  return solveFixedSupport(cost as PairCost, hist, opts, { reg, lambda, method, scale });
}

/**
 * Options of {@link convolutionalBarycenter} (POT: the keyword arguments of `ot.bregman.convolutional_barycenter2d`;
 * POT takes the images as an array of shape (k, height, width), here one flattened image per row of A).
 */
export interface ConvolutionalOptions {
  /** Grid width: pixels per image row (each row of A holds height × width pixels, row-major). Required. */
  width: number;
  /** Grid height: image rows. Required. */
  height: number;
  /** ε, in units of the squared grid coordinates, which span [0, 1] along each axis (as in POT). */
  reg: number;
  /** Barycentric weights λ_k (≥ 0; normalized to sum 1), one per image. Default uniform. */
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
  /** Iteration cap (POT: numItermax). Default 1000. Each iteration costs O(k·h·w·(h + w)) (two separable blurs per image). */
  maxIter?: number;
  /** Stop when Σ|p − p_previous| / Σp < tol (relative: p may start out tiny). Default 1e-9 (1e-5 on webgpu). */
  tol?: number;
  /** Aborts the solve between iterations: the call rejects with OTError code 'aborted'. */
  signal?: AbortSignal;
  /**
   * Force a backend: 'webgpu' (f32), 'wasm' (f64) or 'js' (f64); 'auto' (default) takes webgpu on a hardware
   * adapter for large problems, else wasm, else js. A forced backend that is unavailable is OTError('backend-unavailable').
   */
  backend?: BarycenterBackend;
  /**
   * Where the call runs: 'auto' (default) sends k·h·w·(h + w) ≥ 2^18 (log method) or ≥ 2^22 (scaling method,
   * no exponentials) multiply-adds per pass to a worker; see {@link WorkerOptions}.
   */
  worker?: 'auto' | boolean;
  /** Called with { iterations, error, eps } at every convergence check; the last report arrives before the promise settles. */
  onProgress?: IterationOptions['onProgress'];
  /** ε-scaling from the grid's cost scale (see BarycenterOptions.epsScaling). */
  epsScaling?: IterationOptions['epsScaling'];
  /** Accepted for symmetry with `barycenter`; the grid kernels run on one thread. */
  threads?: number | 'auto';
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
  const scale = () => (h > 1 ? 1 : 0) + (w > 1 ? 1 : 0);
  const method = chooseMethod(opts.method, scale, reg, !!opts.epsScaling);
  return solveConvolutional(h, w, imgs, opts, { reg, lambda, method, scale });
}

/**
 * Options of {@link freeSupportBarycenter} (POT: the keyword arguments of `ot.lp.free_support_barycenter`;
 * `X_init` is `init`, `b` is `b`, `weights` is `weights`, `numItermax` is `maxIter`, `stopThr` is `tol`).
 * Either `init` or `k` is required.
 */
export interface FreeSupportOptions {
  /** Initial support (k × d), or … */
  init?: MatrixLike;
  /** … the number of support points, drawn from the pooled input points with `seed`. */
  k?: number;
  /** Seed of the draw of the `k` initial support points (ignored with `init`). Default 0. */
  seed?: number;
  /** Weights of the barycenter's support points (default uniform). */
  b?: VectorLike;
  /** Barycentric weights λ_t (≥ 0; normalized to sum 1), one per measure. Default uniform. */
  weights?: VectorLike;
  /** Iteration cap (POT: numItermax). Default 100. Each iteration solves one exact OT problem (k × n_t) per measure. */
  maxIter?: number;
  /** Stop when Σ‖X_new − X‖² < tol. Default 1e-7 (POT's default). */
  tol?: number;
  /** Aborts the solve between iterations: the call rejects with OTError code 'aborted'. */
  signal?: AbortSignal;
  /** Called after each step with { iterations, error: the displacement Σ‖X_new − X‖² }. */
  onProgress?: (p: { iterations: number; error: number }) => void;
  /** 'auto' (default) or 'wasm': the exact OT steps run on the network simplex, which exists only in wasm. */
  backend?: 'auto' | 'wasm';
  /** Where the call runs: 'auto' (default) sends k·Σ_t n_t ≥ 2^18 support–point pairs to a worker; see {@link WorkerOptions}. */
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
export interface BarycenterResult extends OTResult {
  /** The barycenter, a histogram of mass 1 on the columns of M (or the grid's pixels). */
  barycenter: Float64Array;
  /**
   * The objective Σ_k λ_k OT_ε(a_k, p) with POT's entropic term (reg·Σ P(log P − 1)), read from the dual potentials
   * of the last iteration: exact at convergence.
   */
  value: number;
  /**
   * 'converged' when `error` fell below tol: Σ_k λ_k ‖(second marginal of P_k) − p‖₁ (fixed support), or
   * Σ|p − p_previous| / Σp (convolutional).
   */
  status: 'converged' | 'max-iterations';
  backend: 'webgpu' | 'wasm' | 'js';
}

function publicBarycenter(r: RawBarycenter): BarycenterResult {
  return { barycenter: r.barycenter, value: r.value, status: r.converged ? 'converged' : 'max-iterations', iterations: r.iterations, error: r.error, backend: r.backend, threads: r.threads };
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
  tol: opt(num({ min: 0 }), 'Stop when the convergence measure (see the result\'s error) falls below tol (POT: stopThr).', '1e-9 (f64 engines), 1e-5 (webgpu)'),
  epsScaling: iterationSchema.epsScaling,
  threads: iterationSchema.threads,
  backend: backendOption(['webgpu', 'wasm', 'js']),
  signal: signalOption,
  onProgress: progressOption('{ iterations, error, eps } every 10 iterations and at the last'),
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
  backends: ['webgpu', 'wasm', 'js'],
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
  backends: ['webgpu', 'wasm', 'js'],
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
