// Closed-form optimal transport between Gaussians (issue 5, item 4): the ground truth of the neural-OT benchmarks.
//
// For μ = N(m1, Σ1) and ν = N(m2, Σ2) in R^D (Σ1 positive definite), the quadratic-cost OT (Bures–Wasserstein) is
//   W2²(μ, ν) = ‖m1 − m2‖² + tr(Σ1 + Σ2 − 2 (Σ1^{1/2} Σ2 Σ1^{1/2})^{1/2}),
// and the optimal map is affine, T(x) = m2 + A (x − m1) with
//   A = Σ1^{−1/2} (Σ1^{1/2} Σ2 Σ1^{1/2})^{1/2} Σ1^{−1/2},
// a symmetric positive (semi)definite matrix, so T = ∇φ for the convex φ(x) = ½ (x − m1)ᵀA(x − m1) + m2ᵀx (Brenier).
// Convention: W2² is E‖x − T(x)‖² — no ½ factor (the ½-cost OT is half of it).
//
// Matrix functions of symmetric matrices (square root, inverse square root) go through a cyclic Jacobi
// eigen-decomposition: small dense matrices (D ≤ 64 in the benchmarks), f64, accurate to ~1e-15 relative in the
// eigenvalues, no dependency. Matrices are row-major D × D Float64Arrays (or `{ data, rows, cols }` / rows).
import { OTError } from '../errors.js';
import { Rng } from '../rng.js';
import type { DenseMatrix, MatrixLike, VectorLike } from '../types.js';
import { toMatrix, toVector } from '../validate.js';

/** A square symmetric matrix as callers give it: row-major D × D array, `{ data, rows, cols }`, or rows. */
export type SquareLike = MatrixLike | Float64Array | ArrayLike<number>;

/** A Gaussian N(mean, cov) in R^D, cov row-major D × D. */
export interface GaussianSpec {
  mean: VectorLike;
  cov: SquareLike;
}

/** Normalizes a D × D matrix (a flat array must have a square length, or D given). */
export function toSquare(name: string, S: SquareLike, d?: number): { data: Float64Array; d: number } {
  let data: Float64Array;
  let n: number;
  const isFlat = (S as ArrayLike<unknown>).length !== undefined && !Array.isArray((S as ArrayLike<unknown>)[0]) && !('rows' in (S as object));
  if (isFlat) {
    data = toVector(name, S as ArrayLike<number>);
    n = Math.round(Math.sqrt(data.length));
    if (n * n !== data.length) throw new OTError('shape', `${name} has ${data.length} entries, not a square D × D matrix.`);
  } else {
    const m: DenseMatrix = toMatrix(name, S as MatrixLike);
    if (m.rows !== m.cols) throw new OTError('shape', `${name} is ${m.rows} × ${m.cols}; a covariance must be square.`);
    data = Float64Array.from(m.data);
    n = m.rows;
  }
  if (d !== undefined && n !== d) throw new OTError('shape', `${name} is ${n} × ${n} but the dimension is ${d}.`);
  return { data, d: n };
}

/**
 * Checks that S (D × D, row-major) is symmetric (|S_ij − S_ji| ≤ 1e-10 · max|S|) and positive definite (Cholesky
 * succeeds with pivots > 1e-14 · max diagonal). Throws OTError('invalid-option') naming what failed.
 */
export function checkSPD(name: string, S: Float64Array, d: number): void {
  let maxAbs = 0;
  for (let i = 0; i < d * d; i++) maxAbs = Math.max(maxAbs, Math.abs(S[i]));
  const tol = 1e-10 * maxAbs;
  for (let i = 0; i < d; i++) {
    for (let j = i + 1; j < d; j++) {
      if (Math.abs(S[i * d + j] - S[j * d + i]) > tol) {
        throw new OTError('invalid-option', `${name} is not symmetric: [${i}][${j}] = ${S[i * d + j]} but [${j}][${i}] = ${S[j * d + i]}.`);
      }
    }
  }
  cholesky(name, S, d);
}

/**
 * Lower-triangular L with S = L Lᵀ (row-major D × D). Throws OTError('invalid-option') when S is not positive
 * definite (a pivot ≤ 1e-14 · max diagonal, or not finite). Reads only the lower triangle.
 */
export function cholesky(name: string, S: Float64Array, d: number): Float64Array {
  let maxDiag = 0;
  for (let i = 0; i < d; i++) maxDiag = Math.max(maxDiag, S[i * d + i]);
  const L = new Float64Array(d * d);
  for (let j = 0; j < d; j++) {
    let s = S[j * d + j];
    for (let k = 0; k < j; k++) s -= L[j * d + k] * L[j * d + k];
    if (!(s > 1e-14 * maxDiag) || !Number.isFinite(s)) {
      throw new OTError('invalid-option', `${name} is not positive definite (Cholesky pivot ${j} is ${s}); a covariance must be symmetric positive definite.`);
    }
    const ljj = Math.sqrt(s);
    L[j * d + j] = ljj;
    for (let i = j + 1; i < d; i++) {
      let t = S[i * d + j];
      for (let k = 0; k < j; k++) t -= L[i * d + k] * L[j * d + k];
      L[i * d + j] = t / ljj;
    }
  }
  return L;
}

/**
 * Eigen-decomposition of a symmetric D × D matrix by cyclic Jacobi rotations: S = V diag(values) Vᵀ with
 * V orthogonal (eigenvectors in its COLUMNS, row-major storage). Sweeps until the off-diagonal mass is below
 * 1e-30 of the total (or 100 sweeps; a few suffice: convergence is quadratic). Values in ascending order.
 */
export function symEig(S: Float64Array, d: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(S);
  // symmetrize (callers checked symmetry to 1e-10; this removes the rounding asymmetry)
  for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) a[i * d + j] = a[j * d + i] = 0.5 * (a[i * d + j] + a[j * d + i]);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  let total = 0;
  for (let i = 0; i < d * d; i++) total += a[i] * a[i];
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) off += 2 * a[i * d + j] * a[i * d + j];
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p * d + q];
        if (apq === 0) continue;
        const app = a[p * d + p];
        const aqq = a[q * d + q];
        // rotation angle that zeroes a_pq (Golub & Van Loan, sym.schur2)
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          // columns p, q of A
          const akp = a[k * d + p];
          const akq = a[k * d + q];
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          // rows p, q of A
          const apk = a[p * d + k];
          const aqk = a[q * d + k];
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        a[p * d + q] = a[q * d + p] = 0;
        for (let k = 0; k < d; k++) {
          const vkp = v[k * d + p];
          const vkq = v[k * d + q];
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: d }, (_, i) => i).sort((i, j) => a[i * d + i] - a[j * d + j]);
  const values = new Float64Array(d);
  const vectors = new Float64Array(d * d);
  order.forEach((src, dst) => {
    values[dst] = a[src * d + src];
    for (let k = 0; k < d; k++) vectors[k * d + dst] = v[k * d + src];
  });
  return { values, vectors };
}

/** f(S) = V diag(f(λ)) Vᵀ for a symmetric S (row-major D × D). */
export function symFunction(S: Float64Array, d: number, f: (lambda: number) => number): Float64Array {
  const { values, vectors } = symEig(S, d);
  const fl = values.map(f);
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += vectors[i * d + k] * fl[k] * vectors[j * d + k];
      out[i * d + j] = out[j * d + i] = s;
    }
  }
  return out;
}

/** Principal square root of a symmetric positive semidefinite matrix (eigenvalues clamped at 0 against rounding). */
export function sqrtm(S: Float64Array, d: number): Float64Array {
  return symFunction(S, d, (l) => Math.sqrt(Math.max(l, 0)));
}

/** S^{−1/2} of a symmetric positive definite matrix. */
export function invSqrtm(S: Float64Array, d: number): Float64Array {
  return symFunction(S, d, (l) => 1 / Math.sqrt(l));
}

/** C = A B for row-major D × D matrices. */
export function matmulSquare(A: Float64Array, B: Float64Array, d: number): Float64Array {
  const C = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const aik = A[i * d + k];
      if (aik === 0) continue;
      for (let j = 0; j < d; j++) C[i * d + j] += aik * B[k * d + j];
    }
  }
  return C;
}

function symmetrize(S: Float64Array, d: number): Float64Array {
  for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) S[i * d + j] = S[j * d + i] = 0.5 * (S[i * d + j] + S[j * d + i]);
  return S;
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
  const r1 = sqrtm(S1, d);
  const cross = sqrtm(symmetrize(matmulSquare(matmulSquare(r1, S2, d), r1, d), d), d);
  let w = 0;
  for (let i = 0; i < d; i++) w += (m1[i] - m2[i]) ** 2 + S1[i * d + i] + S2[i * d + i] - 2 * cross[i * d + i];
  return Math.max(w, 0);
}

/** The affine optimal map T(x) = m2 + A (x − m1) between two Gaussians. */
export interface GaussianMap {
  d: number;
  /** A = Σ1^{−1/2} (Σ1^{1/2} Σ2 Σ1^{1/2})^{1/2} Σ1^{−1/2}: symmetric positive definite, row-major D × D. */
  A: Float64Array;
  m1: Float64Array;
  m2: Float64Array;
  /** T applied to each row of X (n × D). */
  apply(X: MatrixLike): DenseMatrix;
}

/** The Brenier map between N(m1, Σ1) and N(m2, Σ2): T(x) = m2 + A (x − m1), A as in GaussianMap. */
export function buresMap(p: GaussianSpec, q: GaussianSpec): GaussianMap {
  const { m1, S1, m2, S2, d } = normalizePair(p, q);
  const r1 = sqrtm(S1, d);
  const ir1 = invSqrtm(S1, d);
  const cross = sqrtm(symmetrize(matmulSquare(matmulSquare(r1, S2, d), r1, d), d), d);
  const A = symmetrize(matmulSquare(matmulSquare(ir1, cross, d), ir1, d), d);
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

export interface GaussianPairOptions extends RandomSPDOptions {
  /** Standard deviation of each coordinate of the two random means (default 1; 0 for centred Gaussians). */
  meanScale?: number;
}

/**
 * A random benchmark pair (source, target) in R^D: two independent random SPD covariances with condition number
 * `cond` (randomSPD) and means with N(0, meanScale²) coordinates, all drawn from one seeded Rng.
 */
export function randomGaussianPair(d: number, opts: GaussianPairOptions = {}): { source: GaussianSpec & { mean: Float64Array; cov: Float64Array }; target: GaussianSpec & { mean: Float64Array; cov: Float64Array } } {
  const rng = opts.seed instanceof Rng ? opts.seed : new Rng(opts.seed ?? 0);
  const ms = opts.meanScale ?? 1;
  const mean = () => Float64Array.from({ length: d }, () => ms * rng.normal());
  const sourceCov = randomSPD(d, { ...opts, seed: rng });
  const targetCov = randomSPD(d, { ...opts, seed: rng });
  return { source: { mean: mean(), cov: sourceCov }, target: { mean: mean(), cov: targetCov } };
}
