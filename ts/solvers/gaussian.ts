//
// Closed forms of quadratic-cost OT between Gaussians (Bures–Wasserstein), the Gaussian (linear) map estimated
// from samples (POT's ot.da.OT_mapping_linear) and the Bures barycenter (fixed point of Álvarez-Esteban et al.
// 2016). One definition of the Bures math (`buresCore` in ts/linalg/bures.ts), also used by ts/neural/gaussian.ts. Small dense f64
// matrices; symmetric square roots by the Jacobi eigen-solver of ts/linalg/symmetric.ts.
import { OTError } from '../errors.js';
import type { OTResult } from '../result.js';
import { defineSolver } from '../registry/define.js';
import { type OptionSpec, bool, num, opt, vector } from '../registry/schema.js';
import { workerOption } from '../registry/common.js';
import type { DenseMatrix, MatrixLike, VectorLike } from '../types.js';
import { toMatrix, toVector, toWeights } from '../validate.js';
import { type SquareLike, fromEig, matmulSquare, symEig, symmetrize, toSquare } from '../linalg/symmetric.js';
import { SINGULAR, buresCore, checkCov, covEig } from '../linalg/bures.js';
import { wasmKernels } from '../backends/wasm.js';

/** A Gaussian N(mean, cov) in R^D: mean of length D, cov a symmetric positive (semi)definite D × D matrix. */
export interface Gaussian {
  /** The mean, length D. */
  mean: VectorLike;
  /** The covariance, D × D (rows, `{ data, rows, cols }` or a flat row-major array of D² numbers). */
  cov: SquareLike;
}

/** The affine Monge map T(x) = A x + b (column vectors; A is symmetric, so x·A + b for row vectors is the same). */
export interface AffineMap {
  /** D × D, symmetric positive semidefinite. */
  A: DenseMatrix;
  /** Length D. */
  b: Float64Array;
}

function toGaussian(name: string, g: Gaussian | undefined, d?: number): { mean: Float64Array; cov: Float64Array; d: number } {
  if (typeof g !== 'object' || g === null || !('mean' in g) || !('cov' in g)) {
    throw new OTError('shape', `${name} must be a Gaussian { mean, cov } (mean of length D, cov D × D).`);
  }
  const mean = toVector(`${name}.mean`, g.mean);
  if (d !== undefined && mean.length !== d) throw new OTError('shape', `${name}.mean has ${mean.length} entries but the dimension is ${d}.`);
  const cov = toSquare(`${name}.cov`, g.cov, mean.length).data;
  return { mean, cov, d: mean.length };
}

const closed = { status: 'closed-form' as const, iterations: 0, error: 0, threads: 1 };

/** The wasm kernels for the eigen-decompositions and products (assembly/symeig.ts, tensor.ts), or undefined: JS. */
const kernels = () => wasmKernels().catch(() => undefined);

// ---------------------------------------------------------------------------------------------------------
// gaussianW2

/** The options of {@link gaussianW2}. */
export interface GaussianW2Options {
  /** Also compute the Monge map (needs a non-singular source covariance). Default true. */
  map?: boolean;
  /** Where the call runs: in a worker of the pool ('auto' for large problems, true, false); see WorkerOptions. */
  worker?: 'auto' | boolean;
}

/** What {@link gaussianW2} returns. */
export interface GaussianW2Result extends OTResult {
  /** W2²(N(m1, Σ1), N(m2, Σ2)) = ‖m1 − m2‖² + tr(Σ1 + Σ2 − 2 (Σ1^½ Σ2 Σ1^½)^½) (squared Bures–Wasserstein; no ½). */
  value: number;
  /** The optimal map T(x) = A x + b; absent with { map: false }. */
  map?: AffineMap;
  /** How the solve ended: 'closed-form' (no iteration), 'optimal', 'converged' or 'max-iterations'. */
  status: 'closed-form';
}

const gaussianW2Options: Record<string, OptionSpec> = {
  map: opt(bool, 'Also compute the Monge map T(x) = A x + b (the source covariance must then be non-singular).', 'true'),
  worker: workerOption,
};

async function gaussianW2Run(source: Gaussian, target: Gaussian, opts: GaussianW2Options = {}): Promise<GaussianW2Result> {
  const s = toGaussian('source', source);
  const t = toGaussian('target', target, s.d);
  const d = s.d;
  const w = await kernels();
  const e1 = covEig('source.cov', s.cov, d, w);
  checkCov('target.cov', t.cov, d, w);
  const withMap = opts.map ?? true;
  const r = buresCore(s.mean, s.cov, e1, t.mean, t.cov, d, withMap, 'source.cov', w);
  const out: GaussianW2Result = { value: r.value, ...closed, backend: w ? 'wasm' : 'js' };
  if (withMap) out.map = { A: { data: r.A!, rows: d, cols: d }, b: r.b! };
  return out;
}

/**
 * Squared 2-Wasserstein distance between two Gaussians in closed form (Bures–Wasserstein), and the affine Monge
 * map T(x) = A x + b between them (A = Σ1^{−½}(Σ1^½ Σ2 Σ1^½)^½ Σ1^{−½}, b = m2 − A m1). Covariances may be
 * singular (positive semidefinite) for the value; the map needs a non-singular source covariance (else
 * OTError 'invalid-option', or pass { map: false }). Non-symmetric or indefinite covariances: 'invalid-option';
 * mismatched dimensions: 'shape'. POT: ot.gaussian.bures_wasserstein_distance² / bures_wasserstein_mapping (POT ≥ 0.9),
 * ot.da.OT_mapping_linear on exact moments.
 */
export const gaussianW2 = defineSolver({
  name: 'gaussianW2',
  summary: 'Closed-form W2² and Monge map between two Gaussians (Bures–Wasserstein).',
  params: ['source', 'target'],
  options: gaussianW2Options,
  backends: ['wasm', 'js'],
  workEstimate: () => 0,
  run: gaussianW2Run,
});

// ---------------------------------------------------------------------------------------------------------
// linearMap

/** The options of {@link linearMap}. */
export interface LinearMapOptions {
  /** Weights of the source samples (length ns, ≥ 0). Default uniform. POT: ws. */
  ws?: VectorLike;
  /** Weights of the target samples (length nt, ≥ 0). Default uniform. POT: wt. */
  wt?: VectorLike;
  /** Added to both covariance diagonals. Default 1e-6 (POT's). */
  reg?: number;
  /** Centre the samples (estimate an affine map) — false: a linear map through the origin. Default true. */
  bias?: boolean;
  /** Where the call runs: in a worker of the pool ('auto' for large problems, true, false); see WorkerOptions. */
  worker?: 'auto' | boolean;
}

/** What {@link linearMap} returns. */
export interface LinearMapResult extends OTResult {
  /** W2² between the two estimated Gaussians N(μs, Cs) and N(μt, Ct) (means 0 when bias is false). */
  value: number;
  /** Mapped row vector: x·A + b (A is symmetric, d × d). POT's A. */
  A: DenseMatrix;
  /** Length d. POT's b (1 × d there). */
  b: Float64Array;
  /** The regularized source covariance (d × d). */
  Cs: DenseMatrix;
  /** The regularized target covariance (d × d). */
  Ct: DenseMatrix;
  /** How the solve ended: 'closed-form' (no iteration), 'optimal', 'converged' or 'max-iterations'. */
  status: 'closed-form';
}

/** Mean (unweighted, as POT's) and biased weighted covariance Σ w x xᵀ / Σ w + reg I of the centred samples. */
function moments(X: DenseMatrix, w: Float64Array, reg: number, bias: boolean): { mean: Float64Array; C: Float64Array } {
  const n = X.rows;
  const d = X.cols;
  const mean = new Float64Array(d);
  if (bias) {
    for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) mean[k] += X.data[i * d + k];
    for (let k = 0; k < d; k++) mean[k] /= n;
  }
  let wsum = 0;
  for (let i = 0; i < n; i++) wsum += w[i];
  const C = new Float64Array(d * d);
  const x = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const wi = w[i];
    if (wi === 0) continue;
    for (let k = 0; k < d; k++) x[k] = X.data[i * d + k] - mean[k];
    for (let k = 0; k < d; k++) {
      const f = wi * x[k];
      for (let l = k; l < d; l++) C[k * d + l] += f * x[l];
    }
  }
  for (let k = 0; k < d; k++) {
    for (let l = k; l < d; l++) C[l * d + k] = C[k * d + l] = C[k * d + l] / wsum;
    C[k * d + k] += reg;
  }
  return { mean, C };
}

async function linearMapRun(Xs: MatrixLike, Xt: MatrixLike, opts: LinearMapOptions = {}): Promise<LinearMapResult> {
  const S = toMatrix('Xs', Xs);
  const T = toMatrix('Xt', Xt);
  if (S.cols !== T.cols) throw new OTError('shape', `Xs has ${S.cols} columns but Xt has ${T.cols}; both are point clouds in the same dimension.`);
  const d = S.cols;
  const ws = toWeights('ws', opts.ws, S.rows);
  const wt = toWeights('wt', opts.wt, T.rows);
  const reg = opts.reg ?? 1e-6;
  const bias = opts.bias ?? true;
  const ms = moments(S, ws, reg, bias);
  const mt = moments(T, wt, reg, bias);
  const w = await kernels();
  const e1 = covEig('the source covariance', ms.C, d, w);
  const r = buresCore(ms.mean, ms.C, e1, mt.mean, mt.C, d, true, 'the source covariance (Σ ws x xᵀ / Σ ws + reg I)', w);
  return {
    value: r.value,
    A: { data: r.A!, rows: d, cols: d },
    b: r.b!,
    Cs: { data: ms.C, rows: d, cols: d },
    Ct: { data: mt.C, rows: d, cols: d },
    ...closed,
    backend: w ? 'wasm' : 'js',
  };
}

/**
 * The Gaussian (linear) OT map estimated from samples, as POT's ot.da.OT_mapping_linear: Cs, Ct are the biased
 * weighted covariances of the centred samples (centred at their unweighted means when bias, as POT does) plus
 * reg·I; A = Cs^{−½}(Cs^½ Ct Cs^½)^½ Cs^{−½}, b = μt − μs·A; a source row x maps to x·A + b.
 */
export const linearMap = defineSolver({
  name: 'linearMap',
  summary: 'Gaussian (linear) OT map estimated from two samples, as POT ot.da.OT_mapping_linear.',
  params: ['Xs', 'Xt'],
  options: {
    ws: opt(vector, 'Weights of the source samples (length ns, ≥ 0). POT: ws.', 'uniform'),
    wt: opt(vector, 'Weights of the target samples (length nt, ≥ 0). POT: wt.', 'uniform'),
    reg: opt(num({ min: 0 }), 'Added to both covariance diagonals. POT: reg.', '1e-6'),
    bias: opt(bool, 'Estimate an affine map (centre the samples); false: linear through the origin. POT: bias.', 'true'),
    worker: workerOption,
  },
  backends: ['wasm', 'js'],
  workEstimate: () => 0,
  run: linearMapRun,
});

// ---------------------------------------------------------------------------------------------------------
// gaussianBarycenter

/** The options of {@link gaussianBarycenter}. */
export interface GaussianBarycenterOptions {
  /** Barycentric weights (K entries, ≥ 0, normalized to sum 1). Default uniform. */
  weights?: VectorLike;
  /** Fixed-point iterations at most. Default 1000. */
  maxIter?: number;
  /** Stop when ‖S_{t+1} − S_t‖_F ≤ tol · ‖S_t‖_F. Default 1e-12. */
  tol?: number;
  /** Where the call runs: in a worker of the pool ('auto' for large problems, true, false); see WorkerOptions. */
  worker?: 'auto' | boolean;
}

/** What {@link gaussianBarycenter} returns. */
export interface GaussianBarycenterResult extends OTResult {
  /** Σ_k w_k W2²(barycenter, N(m_k, Σ_k)): the barycenter objective. */
  value: number;
  /** Σ_k w_k m_k. */
  mean: Float64Array;
  /** The barycenter's covariance (D × D). */
  cov: DenseMatrix;
  /** ‖S_{t+1} − S_t‖_F / ‖S_t‖_F at the last iteration. */
  error: number;
}

async function gaussianBarycenterRun(gaussians: Gaussian[], opts: GaussianBarycenterOptions = {}): Promise<GaussianBarycenterResult> {
  if (!Array.isArray(gaussians)) throw new OTError('shape', 'gaussians must be an array of { mean, cov }.');
  if (gaussians.length === 0) throw new OTError('empty', 'gaussians is empty; give at least one Gaussian.');
  const K = gaussians.length;
  const gs: { mean: Float64Array; cov: Float64Array }[] = [];
  let d = 0;
  const wk = await kernels();
  for (let k = 0; k < K; k++) {
    const g = toGaussian(`gaussians[${k}]`, gaussians[k], k === 0 ? undefined : d);
    d = g.d;
    checkCov(`gaussians[${k}].cov`, g.cov, d, wk);
    gs.push(g);
  }
  const w = toWeights('weights', opts.weights, K);
  let ws = 0;
  for (let k = 0; k < K; k++) ws += w[k];
  for (let k = 0; k < K; k++) w[k] /= ws;
  const maxIter = opts.maxIter ?? 1000;
  const tol = opts.tol ?? 1e-12;
  const mean = new Float64Array(d);
  let S: Float64Array = new Float64Array(d * d);
  for (let k = 0; k < K; k++) {
    for (let i = 0; i < d; i++) mean[i] += w[k] * gs[k].mean[i];
    for (let i = 0; i < d * d; i++) S[i] += w[k] * gs[k].cov[i];
  }
  let iterations = 0;
  let error = Infinity;
  // S ← S^{−½} (Σ_k w_k (S^½ Σ_k S^½)^½)² S^{−½} (Álvarez-Esteban, del Barrio, Cuesta-Albertos, Matrán 2016)
  while (iterations < maxIter) {
    const e = symEig(S, d, wk);
    const top = Math.max(e.values[d - 1], Number.MIN_VALUE);
    if (!(e.values[0] > SINGULAR * top)) {
      throw new OTError('invalid-option', `gaussianBarycenter: the iterate became singular (smallest eigenvalue ${e.values[0]}); the barycenter fixed point needs non-singular covariances (add a small multiple of the identity).`);
    }
    const r = fromEig(e.values, e.vectors, d, (l) => Math.sqrt(l), wk);
    const ir = fromEig(e.values, e.vectors, d, (l) => 1 / Math.sqrt(l), wk);
    const Msum = new Float64Array(d * d);
    for (let k = 0; k < K; k++) {
      if (w[k] === 0) continue;
      const c = symEig(symmetrize(matmulSquare(matmulSquare(r, gs[k].cov, d, wk), r, d, wk), d), d, wk);
      const root = fromEig(c.values, c.vectors, d, (l) => Math.sqrt(Math.max(l, 0)), wk);
      for (let i = 0; i < d * d; i++) Msum[i] += w[k] * root[i];
    }
    const t = matmulSquare(ir, Msum, d, wk);
    const next = symmetrize(matmulSquare(t, matmulSquare(Msum, ir, d, wk), d, wk), d);
    let diff = 0;
    let norm = 0;
    for (let i = 0; i < d * d; i++) {
      diff += (next[i] - S[i]) ** 2;
      norm += S[i] ** 2;
    }
    S = next;
    iterations++;
    error = Math.sqrt(diff / norm);
    if (error <= tol) break;
  }
  let value = 0;
  const eS = symEig(S, d, wk);
  for (let k = 0; k < K; k++) if (w[k] > 0) value += w[k] * buresCore(mean, S, eS, gs[k].mean, gs[k].cov, d, false, undefined, wk).value;
  return {
    value,
    mean,
    cov: { data: S, rows: d, cols: d },
    status: error <= tol ? 'converged' : 'max-iterations',
    iterations,
    error,
    backend: wk ? 'wasm' : 'js',
    threads: 1,
  };
}

/**
 * The W2 barycenter of Gaussians N(m_k, Σ_k) with weights w: N(Σ w_k m_k, S) with S the fixed point of
 * S = S^{−½}(Σ_k w_k (S^½ Σ_k S^½)^½)² S^{−½} (Álvarez-Esteban et al. 2016), started at Σ w_k Σ_k. `error` is the
 * relative Frobenius change of the last step; status 'converged' when it is ≤ tol. POT: ot.gaussian.bures_wasserstein_barycenter (POT ≥ 0.9).
 */
export const gaussianBarycenter = defineSolver({
  name: 'gaussianBarycenter',
  summary: 'W2 barycenter of Gaussians (Bures fixed point).',
  params: ['gaussians'],
  options: {
    weights: opt(vector, 'Barycentric weights (K entries, ≥ 0; normalized to sum 1).', 'uniform'),
    maxIter: opt(num({ integer: true, min: 1 }), 'Fixed-point iterations at most.', '1000'),
    tol: opt(num({ min: 0 }), 'Stop when the relative Frobenius change of the covariance is ≤ tol.', '1e-12'),
    worker: workerOption,
  },
  backends: ['wasm', 'js'],
  workEstimate: () => 0,
  run: gaussianBarycenterRun,
});

