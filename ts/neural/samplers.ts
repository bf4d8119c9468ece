// Seeded benchmark distributions for neural OT (issue 5, item 4). Every sampler draws from the library's Rng
// (ts/rng.ts), so a seed gives the same points in every environment, and returns a row-major point cloud
// `{ data: Float64Array, rows: n, cols: D }` like the rest of the library. `seed` may be a number (a fresh
// Rng(seed)) or an Rng to continue drawing from (e.g. one stream for all minibatches of a training loop).
//
// Parameterisations (defaults in brackets):
// - sampleGaussian(n, mean, cov): x = mean + L z, z ~ N(0, I_D), L the Cholesky factor of cov (cov = L Lᵀ,
//   checked symmetric positive definite: OTError('invalid-option') otherwise).
// - sampleGaussianMixture(n, centres, std): a centre chosen uniformly at random per point, plus isotropic
//   N(0, std² I) noise.
// - sample8Gaussians(n, { radius [2], std [0.02] }): the WGAN-GP toy set (Gulrajani et al. 2017), used by the
//   ICNN/NOT papers: centres radius·(cos kπ/4, sin kπ/4), k = 0..7, equal weights, per-coordinate std `std`.
//   (The WGAN-GP script divides the result by 1.414: radius √2, std 0.02/√2 reproduces it.)
// - sampleMoons(n, { noise [0.1] }): sklearn.datasets.make_moons: ⌊n/2⌋ points on the outer half circle
//   (cos t, sin t) and n − ⌊n/2⌋ on the inner one (1 − cos t, 1 − sin t − ½), t = linspace(0, π) on each
//   (or t ~ U[0, π] with `randomAngles: true`, better for minibatches), plus N(0, noise² I), rows shuffled.
//   Support ≈ [−1, 2] × [−0.5, 1], mean (½, ¼).
// - sampleSwissRoll(n, { noise [0.8], scale [1/7.5] }): sklearn.datasets.make_swiss_roll projected on its
//   (x, z) coordinates: t = 1.5π (1 + 2u), u ~ U[0, 1), point (t cos t, t sin t) + N(0, noise² I), times `scale`.
//   The defaults are the common 2D version (NOT and W2GN code: make_swiss_roll(noise=0.8)[:, [0, 2]] / 7.5),
//   a spiral of radius ≈ 0.6 to 1.9.
import { OTError } from '../errors.js';
import { Rng } from '../rng.js';
import type { DenseMatrix, MatrixLike, VectorLike } from '../types.js';
import { toMatrix, toVector } from '../validate.js';
import { type SquareLike, checkSPD, cholesky, toSquare } from './gaussian.js';

/** A number seeds a fresh Rng; an Rng is drawn from (and advanced). */
export type SeedLike = number | Rng;

/** Options every sampler takes. */
export interface SamplerOptions {
  /** A number seeds a fresh Rng; an Rng is drawn from and advanced (one stream for many batches). Default 0. */
  seed?: SeedLike;
}

function rngOf(seed: SeedLike | undefined): Rng {
  return seed instanceof Rng ? seed : new Rng(seed ?? 0);
}

function checkCount(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new OTError('invalid-option', `the number of samples must be a positive integer (got ${n}).`);
}

function checkNonNegative(name: string, x: number): void {
  if (!(x >= 0) || !Number.isFinite(x)) throw new OTError('invalid-option', `${name} must be a finite number ≥ 0 (got ${x}).`);
}

/** n samples of N(mean, cov) in R^D: mean + L z with cov = L Lᵀ (Cholesky). cov must be symmetric positive definite. */
export function sampleGaussian(n: number, mean: VectorLike, cov: SquareLike, opts: SamplerOptions = {}): DenseMatrix {
  checkCount(n);
  const m = toVector('mean', mean);
  const d = m.length;
  const S = toSquare('cov', cov, d).data;
  checkSPD('cov', S, d);
  const L = cholesky('cov', S, d);
  const rng = rngOf(opts.seed);
  const out = new Float64Array(n * d);
  const z = new Float64Array(d);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < d; j++) z[j] = rng.normal();
    for (let i = 0; i < d; i++) {
      let s = m[i];
      for (let j = 0; j <= i; j++) s += L[i * d + j] * z[j];
      out[r * d + i] = s;
    }
  }
  return { data: out, rows: n, cols: d };
}

/** n samples of the equal-weight mixture of N(c_k, std² I) over the rows c_k of `centres` (K × D). */
export function sampleGaussianMixture(n: number, centres: MatrixLike, std: number, opts: SamplerOptions = {}): DenseMatrix {
  checkCount(n);
  checkNonNegative('std', std);
  const C = toMatrix('centres', centres);
  const d = C.cols;
  const rng = rngOf(opts.seed);
  const out = new Float64Array(n * d);
  for (let r = 0; r < n; r++) {
    const k = Math.min(C.rows - 1, Math.floor(rng.uniform() * C.rows));
    for (let j = 0; j < d; j++) out[r * d + j] = C.data[k * d + j] + std * rng.normal();
  }
  return { data: out, rows: n, cols: d };
}

/** The 8 centres radius·(cos kπ/4, sin kπ/4), k = 0..7, as an 8 × 2 matrix. */
export function eightGaussiansCentres(radius = 2): DenseMatrix {
  const data = new Float64Array(16);
  for (let k = 0; k < 8; k++) {
    data[2 * k] = radius * Math.cos((k * Math.PI) / 4);
    data[2 * k + 1] = radius * Math.sin((k * Math.PI) / 4);
  }
  return { data, rows: 8, cols: 2 };
}

/** Options of `sample8Gaussians` (the WGAN-GP / NOT toy distribution). */
export interface EightGaussiansOptions extends SamplerOptions {
  /** Radius of the circle of centres (default 2). */
  radius?: number;
  /** Per-coordinate standard deviation of each component (default 0.02). */
  std?: number;
}

/** The 8-Gaussians benchmark: equal mixture of N(radius·(cos kπ/4, sin kπ/4), std² I), k = 0..7 (see the header). */
export function sample8Gaussians(n: number, opts: EightGaussiansOptions = {}): DenseMatrix {
  const radius = opts.radius ?? 2;
  checkNonNegative('radius', radius);
  return sampleGaussianMixture(n, eightGaussiansCentres(radius), opts.std ?? 0.02, opts);
}

/** Options of `sampleMoons` (sklearn's make_moons). */
export interface MoonsOptions extends SamplerOptions {
  /** Standard deviation of the Gaussian noise added to each coordinate (default 0.1). */
  noise?: number;
  /** Angles uniform on [0, π] instead of sklearn's linspace (default false). */
  randomAngles?: boolean;
  /** Shuffle the rows, as sklearn does by default (default true). */
  shuffle?: boolean;
}

/** Two interleaving half circles, as sklearn.datasets.make_moons (see the header). */
export function sampleMoons(n: number, opts: MoonsOptions = {}): DenseMatrix {
  checkCount(n);
  const noise = opts.noise ?? 0.1;
  checkNonNegative('noise', noise);
  const rng = rngOf(opts.seed);
  const nOut = Math.floor(n / 2);
  const nIn = n - nOut;
  const out = new Float64Array(n * 2);
  const angle = (i: number, count: number) => (opts.randomAngles ? Math.PI * rng.uniform() : count === 1 ? 0 : (Math.PI * i) / (count - 1));
  for (let i = 0; i < nOut; i++) {
    const t = angle(i, nOut);
    out[2 * i] = Math.cos(t);
    out[2 * i + 1] = Math.sin(t);
  }
  for (let i = 0; i < nIn; i++) {
    const t = angle(i, nIn);
    out[2 * (nOut + i)] = 1 - Math.cos(t);
    out[2 * (nOut + i) + 1] = 1 - Math.sin(t) - 0.5;
  }
  if (opts.shuffle ?? true) shuffleRows(out, n, 2, rng);
  if (noise > 0) for (let i = 0; i < 2 * n; i++) out[i] += noise * rng.normal();
  return { data: out, rows: n, cols: 2 };
}

/** Options of `sampleSwissRoll` (sklearn's make_swiss_roll, coordinates 0 and 2, scaled). */
export interface SwissRollOptions extends SamplerOptions {
  /** Standard deviation of the Gaussian noise added to each coordinate before scaling (default 0.8). */
  noise?: number;
  /** Factor applied to the points (default 1/7.5). */
  scale?: number;
}

/** The 2D swiss roll: sklearn's make_swiss_roll on its (x, z) coordinates, scaled (see the header). */
export function sampleSwissRoll(n: number, opts: SwissRollOptions = {}): DenseMatrix {
  checkCount(n);
  const noise = opts.noise ?? 0.8;
  const scale = opts.scale ?? 1 / 7.5;
  checkNonNegative('noise', noise);
  if (!Number.isFinite(scale)) throw new OTError('invalid-option', `scale must be finite (got ${scale}).`);
  const rng = rngOf(opts.seed);
  const out = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    const t = 1.5 * Math.PI * (1 + 2 * rng.uniform());
    const x = t * Math.cos(t) + (noise > 0 ? noise * rng.normal() : 0);
    const z = t * Math.sin(t) + (noise > 0 ? noise * rng.normal() : 0);
    out[2 * i] = scale * x;
    out[2 * i + 1] = scale * z;
  }
  return { data: out, rows: n, cols: 2 };
}

/** Fisher–Yates shuffle of the rows of a row-major n × d array, in place. */
function shuffleRows(data: Float64Array, n: number, d: number, rng: Rng): void {
  const tmp = new Float64Array(d);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(rng.uniform() * (i + 1)));
    if (j === i) continue;
    tmp.set(data.subarray(i * d, i * d + d));
    data.copyWithin(i * d, j * d, j * d + d);
    data.set(tmp, j * d);
  }
}

/** Empirical mean (D) and covariance (D × D, divided by n − 1) of a point cloud. */
export function empiricalMoments(X: MatrixLike): {
  /** The mean (length D). */
  mean: Float64Array;
  /** The unbiased covariance, D × D row-major, divided by n − 1 (by 1 when n = 1), as numpy.cov. */
  cov: Float64Array;
} {
  const M = toMatrix('X', X);
  const { rows: n, cols: d, data } = M;
  const mean = new Float64Array(d);
  for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) mean[j] += data[r * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const cov = new Float64Array(d * d);
  const c = new Float64Array(d);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < d; j++) c[j] = data[r * d + j] - mean[j];
    for (let i = 0; i < d; i++) for (let j = i; j < d; j++) cov[i * d + j] += c[i] * c[j];
  }
  const den = Math.max(n - 1, 1);
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      cov[i * d + j] /= den;
      cov[j * d + i] = cov[i * d + j];
    }
  }
  return { mean, cov };
}
