// Closed-form optimal transport between Gaussians (issue 5, item 4): the ground truth of the neural-OT benchmarks.
//
// For μ = N(m1, Σ1) and ν = N(m2, Σ2) in R^D (Σ1 positive definite), the quadratic-cost OT (Bures–Wasserstein) is
//   W2²(μ, ν) = ‖m1 − m2‖² + tr(Σ1 + Σ2 − 2 (Σ1^{1/2} Σ2 Σ1^{1/2})^{1/2}),
// and the optimal map is affine, T(x) = m2 + A (x − m1) with
//   A = Σ1^{−1/2} (Σ1^{1/2} Σ2 Σ1^{1/2})^{1/2} Σ1^{−1/2},
// a symmetric positive (semi)definite matrix, so T = ∇φ for the convex φ(x) = ½ (x − m1)ᵀA(x − m1) + m2ᵀx (Brenier).
// Convention: W2² is E‖x − T(x)‖² — no ½ factor (the ½-cost OT is half of it).
//
// Matrix functions of symmetric matrices (square root, inverse square root) go through the cyclic Jacobi
// eigen-decomposition of ts/linalg/symmetric.ts: small dense matrices (D ≤ 64 in the benchmarks), f64, accurate to ~1e-15 relative in the
// eigenvalues, no dependency. Matrices are row-major D × D Float64Arrays (or `{ data, rows, cols }` / rows).
import { OTError } from '../errors.js';
import { Rng } from '../rng.js';
import type { DenseMatrix, MatrixLike, VectorLike } from '../types.js';
import { toMatrix, toVector } from '../validate.js';
import { type SquareLike, checkSPD, matmulSquare as linalgMatmulSquare, symEig as linalgSymEig, toSquare } from '../linalg/symmetric.js';
import { buresCore } from '../linalg/bures.js';

// The symmetric eigen-solver and matrix functions live in ts/linalg/symmetric.ts (shared with the Gaussian
// closed forms of ts/solvers/gaussian.ts); re-exported here under their historical names.
export { checkSPD, cholesky, invSqrtm, sqrtm, symFunction, toSquare, type SquareLike } from '../linalg/symmetric.js';

/** Eigen-decomposition of a symmetric D × D matrix (ts/linalg/symmetric.ts's QL with a Jacobi polish). */
export function symEig(
  S: Float64Array,
  d: number,
): {
  /** The eigenvalues λ (length D), ascending. */
  values: Float64Array;
  /** V, D × D row-major, the eigenvectors in its COLUMNS: S = V diag(λ) Vᵀ. */
  vectors: Float64Array;
} {
  return linalgSymEig(S, d);
}

// The public forms below keep the internal wasm kernel argument of ts/linalg/symmetric.ts out of the API.
/** C = A B for row-major D × D matrices. */
export function matmulSquare(A: Float64Array, B: Float64Array, d: number): Float64Array {
  return linalgMatmulSquare(A, B, d);
}

/** A Gaussian N(mean, cov) in R^D, cov row-major D × D. */
export interface GaussianSpec {
  /** The mean m (length D). */
  mean: VectorLike;
  /** The covariance Σ, D × D symmetric positive definite (row-major flat, `{ data, rows, cols }` or rows). */
  cov: SquareLike;
}

function normalizePair(p: GaussianSpec, q: GaussianSpec): { m1: Float64Array; S1: Float64Array; m2: Float64Array; S2: Float64Array; d: number } {
  const m1 = toVector('source mean', p.mean);
  const d = m1.length;
  const m2 = toVector('target mean', q.mean);
  if (m2.length !== d) throw new OTError('shape', `the target mean has ${m2.length} entries but the source mean has ${d}.`);
  const S1 = toSquare('source cov', p.cov, d).data;
  const S2 = toSquare('target cov', q.cov, d).data;
  checkSPD('source cov', S1, d);
  checkSPD('target cov', S2, d);
  return { m1, S1, m2, S2, d };
}

/**
 * Bures–Wasserstein distance: W2²(N(m1, Σ1), N(m2, Σ2)) = ‖m1 − m2‖² + tr(Σ1 + Σ2 − 2 (Σ1^{1/2} Σ2 Σ1^{1/2})^{1/2}).
 * Both covariances must be symmetric positive definite (OTError('invalid-option') otherwise).
 */
export function buresWasserstein2(p: GaussianSpec, q: GaussianSpec): number {
  const { m1, S1, m2, S2, d } = normalizePair(p, q);
  return buresCore(m1, S1, symEig(S1, d), m2, S2, d, false).value;
}

/** The affine optimal map T(x) = m2 + A (x − m1) between two Gaussians. */
export interface GaussianMap {
  /** The dimension D. */
  d: number;
  /** A = Σ1^{−1/2} (Σ1^{1/2} Σ2 Σ1^{1/2})^{1/2} Σ1^{−1/2}: symmetric positive definite, row-major D × D. */
  A: Float64Array;
  /** The source mean m1 (length D). */
  m1: Float64Array;
  /** The target mean m2 (length D). */
  m2: Float64Array;
  /** T applied to each row of X (n × D). */
  apply(X: MatrixLike): DenseMatrix;
}

/**
 * The Brenier map between N(m1, Σ1) and N(m2, Σ2): T(x) = m2 + A (x − m1), A as in GaussianMap (POT 0.8:
 * `ot.da.OT_mapping_linear` from samples; POT 0.9: `ot.gaussian.bures_wasserstein_mapping`). Cost O(D³).
 */
export function buresMap(p: GaussianSpec, q: GaussianSpec): GaussianMap {
  const { m1, S1, m2, S2, d } = normalizePair(p, q);
  const A = buresCore(m1, S1, symEig(S1, d), m2, S2, d, true).A!;
  return {
    d,
    A,
    m1,
    m2,
    apply(Xin: MatrixLike): DenseMatrix {
      const X = toMatrix('X', Xin);
      if (X.cols !== d) throw new OTError('shape', `X has ${X.cols} columns but the map is in dimension ${d}.`);
      const out = new Float64Array(X.rows * d);
      const c = new Float64Array(d);
      for (let r = 0; r < X.rows; r++) {
        for (let j = 0; j < d; j++) c[j] = X.data[r * d + j] - m1[j];
        for (let i = 0; i < d; i++) {
          let s = m2[i];
          for (let j = 0; j < d; j++) s += A[i * d + j] * c[j];
          out[r * d + i] = s;
        }
      }
      return { data: out, rows: X.rows, cols: d };
    },
  };
}

/** Options of {@link randomSPD}. */
export interface RandomSPDOptions {
  /** Condition number λmax / λmin (≥ 1). Default 10. */
  cond?: number;
  /** The geometric mean of the eigenvalues (default 1): eigenvalues run from scale/√cond to scale·√cond. */
  scale?: number;
  /** Seed of the library's Rng (or an Rng to draw from). Default 0. */
  seed?: number | Rng;
}

/**
 * A random D × D symmetric positive definite matrix with a given condition number, for benchmark pairs:
 * Σ = Q diag(λ) Qᵀ with Q a random orthogonal matrix (Gram–Schmidt on a standard normal D × D matrix, with the
 * sign fix that makes Q Haar-distributed) and eigenvalues log-spaced: λ_i = scale · cond^{i/(D−1) − 1/2},
 * i = 0..D−1, so λmax/λmin = cond exactly and the log-eigenvalues are centred on log(scale). D = 1 gives [scale].
 */
export function randomSPD(d: number, opts: RandomSPDOptions = {}): Float64Array {
  if (!Number.isInteger(d) || d < 1) throw new OTError('invalid-option', `d must be a positive integer (got ${d}).`);
  const cond = opts.cond ?? 10;
  const scale = opts.scale ?? 1;
  if (!(cond >= 1) || !Number.isFinite(cond)) throw new OTError('invalid-option', `cond must be a finite number ≥ 1 (got ${cond}).`);
  if (!(scale > 0) || !Number.isFinite(scale)) throw new OTError('invalid-option', `scale must be a finite number > 0 (got ${scale}).`);
  const rng = opts.seed instanceof Rng ? opts.seed : new Rng(opts.seed ?? 0);
  // Q: columns from modified Gram–Schmidt on Gaussian columns (= QR with positive R diagonal: Haar measure).
  const Q = new Float64Array(d * d);
  for (let i = 0; i < d * d; i++) Q[i] = rng.normal();
  for (let j = 0; j < d; j++) {
    for (let k = 0; k < j; k++) {
      let dot = 0;
      for (let i = 0; i < d; i++) dot += Q[i * d + j] * Q[i * d + k];
      for (let i = 0; i < d; i++) Q[i * d + j] -= dot * Q[i * d + k];
    }
    let norm = 0;
    for (let i = 0; i < d; i++) norm += Q[i * d + j] ** 2;
    norm = Math.sqrt(norm);
    for (let i = 0; i < d; i++) Q[i * d + j] /= norm;
  }
  const lambda = Float64Array.from({ length: d }, (_, i) => scale * cond ** (d === 1 ? 0 : i / (d - 1) - 0.5));
  const S = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += Q[i * d + k] * lambda[k] * Q[j * d + k];
      S[i * d + j] = S[j * d + i] = s;
    }
  }
  return S;
}

/** Options of {@link randomGaussianPair}: those of {@link randomSPD} (for both covariances) and the means' scale. */
export interface GaussianPairOptions extends RandomSPDOptions {
  /** Standard deviation of each coordinate of the two random means (default 1; 0 for centred Gaussians). */
  meanScale?: number;
}

/**
 * A random benchmark pair (source, target) in R^D: two independent random SPD covariances with condition number
 * `cond` (randomSPD) and means with N(0, meanScale²) coordinates, all drawn from one seeded Rng.
 */
export function randomGaussianPair(
  d: number,
  opts: GaussianPairOptions = {},
): {
  /** The source N(mean, cov). */
  source: GaussianSpec & {
    /** The mean (length D). */
    mean: Float64Array;
    /** The covariance, D × D row-major. */
    cov: Float64Array;
  };
  /** The target N(mean, cov). */
  target: GaussianSpec & {
    /** The mean (length D). */
    mean: Float64Array;
    /** The covariance, D × D row-major. */
    cov: Float64Array;
  };
} {
  const rng = opts.seed instanceof Rng ? opts.seed : new Rng(opts.seed ?? 0);
  const ms = opts.meanScale ?? 1;
  const mean = () => Float64Array.from({ length: d }, () => ms * rng.normal());
  const sourceCov = randomSPD(d, { ...opts, seed: rng });
  const targetCov = randomSPD(d, { ...opts, seed: rng });
  return { source: { mean: mean(), cov: sourceCov }, target: { mean: mean(), cov: targetCov } };
}
