// Evaluation of learned transport maps (issue 5, item 5).
//
// - L2-UVP (Korotin et al. 2021, "Do neural optimal transport solvers work? A continuous Wasserstein-2 benchmark"):
//     L2-UVP(T̂) = 100 · E_{x~P} ‖T̂(x) − T*(x)‖² / Var(Q)   [percent],
//   T* the true OT map from P to Q, Var(Q) = E‖y − E y‖² = tr Cov(Q). 0 for T̂ = T*; 100 for the constant map
//   T̂ ≡ E_Q y (the "unexplained variance percentage"). Estimated here on samples x_1..x_n of P: the expectation is
//   the sample mean; Var(Q) is given (tr Σ2 for a Gaussian target) or estimated from the samples T*(x_i).
// - W2 between pushed samples T̂(x_i) and target samples y_j by our exact `emd` (network simplex, f64):
//   squared-Euclidean point clouds with uniform weights, so the result is the exact W2² of the two empirical
//   measures, with the solver's certificate (status, duality gap, dual infeasibility) to show it is optimal.
//   It is a biased estimate of the population W2²: for n samples in D dimensions the empirical W2² converges at
//   the rate n^{−2/D} (D ≥ 5), n^{−1/2}-ish in D ≤ 3, and is biased upwards (even two samples of the SAME measure
//   are at a positive distance), so compare maps at equal n rather than against 0.
import { OTError } from '../errors.js';
import { pointCloud } from '../geometry.js';
import { type EmdOptions, type EmdResult, type EmdStatus, emd } from '../solvers/emd.js';
import type { DenseMatrix, Matrix, MatrixLike } from '../types.js';
import { toMatrix } from '../validate.js';
import { type GaussianSpec, buresMap, toSquare } from './gaussian.js';
import { type SeedLike, empiricalMoments, sampleGaussian } from './samplers.js';

/** Something with values and a 2-D shape: a neural-engine Tensor ([n, D]) qualifies. */
export interface ShapedLike {
  /** The values, row-major (n·D of them). */
  data: ArrayLike<number>;
  /** [n, D]. */
  shape: readonly number[];
}

/** A map applied to a batch of points (n × D → n × D'): returns a matrix, rows, or an [n, D'] tensor. */
export type PointMap = (X: DenseMatrix) => MatrixLike | ShapedLike;

function toCloud(name: string, x: MatrixLike | ShapedLike): DenseMatrix {
  if (typeof x === 'object' && x !== null && 'shape' in x && !('rows' in x)) {
    const s = (x as ShapedLike).shape;
    if (s.length !== 2) throw new OTError('shape', `${name} has shape [${s.join(', ')}]; a batch of points is [n, D].`);
    return toMatrix(name, { data: (x as ShapedLike).data, rows: s[0], cols: s[1] });
  }
  return toMatrix(name, x as MatrixLike);
}

/** Applies a map to a point cloud and checks the result is n × D'. */
export function pushForward(map: PointMap, X: MatrixLike): DenseMatrix {
  const Xm = toMatrix('X', X);
  const Y = toCloud('map(X)', map(Xm));
  if (Y.rows !== Xm.rows) throw new OTError('shape', `the map returned ${Y.rows} points for ${Xm.rows} inputs.`);
  return Y;
}

/**
 * L2-UVP from paired samples: 100 · mean_i ‖pred_i − truth_i‖² / targetVariance, pred_i = T̂(x_i), truth_i = T*(x_i).
 * `targetVariance` (Var(Q) = tr Cov(Q)) defaults to the trace of the empirical covariance of `truth`.
 */
export function l2uvpFromSamples(pred: MatrixLike | ShapedLike, truth: MatrixLike | ShapedLike, targetVariance?: number): number {
  const P = toCloud('pred', pred);
  const Tm = toCloud('truth', truth);
  if (P.rows !== Tm.rows || P.cols !== Tm.cols) {
    throw new OTError('shape', `pred is ${P.rows} × ${P.cols} but truth is ${Tm.rows} × ${Tm.cols}; they must be the same points' images.`);
  }
  let v = targetVariance;
  if (v === undefined) {
    if (Tm.rows < 2) throw new OTError('invalid-option', 'estimating Var(target) needs at least 2 samples; pass targetVariance.');
    const { cov } = empiricalMoments(Tm);
    v = 0;
    for (let j = 0; j < Tm.cols; j++) v += cov[j * Tm.cols + j];
  }
  if (!(v > 0) || !Number.isFinite(v)) throw new OTError('invalid-option', `the target variance must be a finite number > 0 (got ${v}).`);
  let s = 0;
  for (let i = 0; i < P.data.length; i++) s += (P.data[i] - Tm.data[i]) ** 2;
  return (100 * s) / P.rows / v;
}

/** Options of {@link l2uvp}. */
export interface L2UVPOptions {
  /** Var(Q) = tr Cov(Q); default: estimated from T*(X). */
  targetVariance?: number;
}

/** L2-UVP of `map` against the true map `trueMap`, estimated on the source samples X (n × D). */
export function l2uvp(map: PointMap, trueMap: PointMap, X: MatrixLike, opts: L2UVPOptions = {}): number {
  return l2uvpFromSamples(pushForward(map, X), pushForward(trueMap, X), opts.targetVariance);
}

/** Options of {@link gaussianL2UVP}. */
export interface GaussianL2UVPOptions {
  /** Source samples (default 2^14). */
  n?: number;
  /** Seed of the source samples: a number, or an Rng to draw from. Default 0. */
  seed?: SeedLike;
}

/**
 * The Gaussian benchmark: L2-UVP of `map` from N(m1, Σ1) to N(m2, Σ2), with T* the Bures map and Var(Q) = tr Σ2
 * exactly; the expectation over P is estimated with n seeded source samples.
 */
export function gaussianL2UVP(map: PointMap, source: GaussianSpec, target: GaussianSpec, opts: GaussianL2UVPOptions = {}): number {
  const T = buresMap(source, target);
  const S2 = toSquare('target cov', target.cov, T.d).data;
  let v = 0;
  for (let j = 0; j < T.d; j++) v += S2[j * T.d + j];
  const X = sampleGaussian(opts.n ?? 1 << 14, source.mean, source.cov, { seed: opts.seed });
  return l2uvp(map, (x) => T.apply(x), X, { targetVariance: v });
}

/** The solver's evidence that the W2² below is the exact optimum of the discrete problem. */
export interface EmdCertificate {
  /** 'optimal', or 'max-iterations' when the pivot limit came first (then the value is not certified). */
  status: EmdStatus;
  /** cost − (Σ a·u + Σ b·v): 0 up to rounding at optimality. */
  dualityGap: number;
  /** max(u_i + v_j − M_ij, 0): 0 up to rounding at optimality. */
  dualInfeasibility: number;
  /** Pivots of the network simplex. */
  iterations: number;
}

/** The result of {@link sampleW2} and {@link pushForwardW2}: the exact empirical W2² and its certificate. */
export interface SampleW2Result {
  /** Exact W2² between the two empirical measures (uniform weights, squared Euclidean cost, no ½). */
  w2sq: number;
  /** √w2sq. */
  w2: number;
  /** The evidence that w2sq is the exact optimum (status, duality gap, dual infeasibility, pivots). */
  certificate: EmdCertificate;
  /** The full emd result (plan, duals). */
  result: EmdResult;
}

/** Exact W2² between the uniform empirical measures on the rows of X (n × D) and Y (m × D), by `emd`. */
export async function sampleW2(X: MatrixLike | ShapedLike, Y: MatrixLike | ShapedLike, opts: EmdOptions = {}): Promise<SampleW2Result> {
  const A = toCloud('X', X);
  const B = toCloud('Y', Y);
  if (A.cols !== B.cols) throw new OTError('shape', `X has ${A.cols} columns but Y has ${B.cols}; both clouds must be in the same dimension.`);
  const result = await emd(undefined, undefined, pointCloud(A as Matrix, B as Matrix, { cost: 'sqeuclidean' }), opts);
  const w2sq = Math.max(result.cost, 0);
  return {
    w2sq,
    w2: Math.sqrt(w2sq),
    certificate: { status: result.status, dualityGap: result.dualityGap, dualInfeasibility: result.error, iterations: result.iterations },
    result,
  };
}

/** W2² between the push-forward T̂#P (the images of the source samples X) and the target samples Y, by exact emd. */
export async function pushForwardW2(map: PointMap, X: MatrixLike, Y: MatrixLike, opts: EmdOptions = {}): Promise<SampleW2Result> {
  return sampleW2(pushForward(map, X), Y, opts);
}
