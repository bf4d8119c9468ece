// Samplers as plain data, so a training call can cross to a worker (a function cannot): every trainer takes a
// BatchSampler function or one of these specs, turned into the same function by `samplerOf`.
//   { kind: 'gaussian', mean, cov }            N(mean, cov)                       (samplers.ts sampleGaussian)
//   { kind: 'mixture', centres, std }          centres ± N(0, std² I)             (sampleGaussianMixture)
//   { kind: '8gaussians', radius?, std? }      the WGAN-GP toy set                (sample8Gaussians)
//   { kind: 'moons', noise?, randomAngles? }   two half circles                   (sampleMoons)
//   { kind: 'swissroll', noise?, scale? }      the 2D swiss roll                  (sampleSwissRoll)
//   { kind: 'points', X }                      rows of X drawn uniformly, with replacement
// Every draw comes from the training loop's Rng, so a spec and a seed give the same batches in every thread.
import { OTError } from '../errors.js';
import type { DenseMatrix, MatrixLike, VectorLike } from '../types.js';
import { toMatrix } from '../validate.js';
import type { SquareLike } from './gaussian.js';
import { type EightGaussiansOptions, type MoonsOptions, type SwissRollOptions, sample8Gaussians, sampleGaussian, sampleGaussianMixture, sampleMoons, sampleSwissRoll } from './samplers.js';
import type { Rng } from '../rng.js';

/** A batch source: `n` rows drawn with (and advancing) `rng`, as { data, rows, cols }. */
export type BatchSampler = (n: number, rng: Rng) => DenseMatrix;

type NoSeed<T> = Omit<T, 'seed'>;

/**
 * A sampler as plain data (so a training call can cross to a worker, where a function cannot): the trainers take a
 * {@link BatchSampler} or one of these, turned into the same function by `samplerOf`. Every draw comes from the
 * training loop's Rng, so a spec and a seed give the same batches in every thread.
 */
export type SamplerSpec =
  | {
      /** N(mean, cov) (see `sampleGaussian`). */
      kind: 'gaussian';
      /** The mean (length d). */
      mean: VectorLike;
      /** The covariance, d × d symmetric positive definite (checked by its Cholesky factorisation). */
      cov: SquareLike;
    }
  | {
      /** An equal-weight Gaussian mixture: a uniformly drawn centre plus N(0, std²·I) (see `sampleGaussianMixture`). */
      kind: 'mixture';
      /** The centres, k × d, one per row. */
      centres: MatrixLike;
      /** The standard deviation of each component. */
      std: number;
    }
  | ({
      /** The WGAN-GP toy set: 8 Gaussians on a circle (see `sample8Gaussians`). */
      kind: '8gaussians';
    } & NoSeed<EightGaussiansOptions>)
  | ({
      /** Two interleaved half circles (see `sampleMoons`). */
      kind: 'moons';
    } & NoSeed<MoonsOptions>)
  | ({
      /** The 2D swiss roll (see `sampleSwissRoll`). */
      kind: 'swissroll';
    } & NoSeed<SwissRollOptions>)
  | {
      /** An empirical measure: rows of X drawn uniformly, with replacement. */
      kind: 'points';
      /** The points, n × d, one per row. */
      X: MatrixLike;
    };

/** Whether x looks like a {@link SamplerSpec} (an object with a string `kind`; `samplerOf` checks the rest). */
export function isSamplerSpec(x: unknown): x is SamplerSpec {
  return typeof x === 'object' && x !== null && typeof (x as { kind?: unknown }).kind === 'string';
}

/** The BatchSampler of a spec (a function is returned as it is). Unknown kinds and bad points fail here, before training. */
export function samplerOf(name: string, s: SamplerSpec | BatchSampler): BatchSampler {
  if (typeof s === 'function') return s;
  if (!isSamplerSpec(s)) throw new OTError('invalid-option', `${name} must be a function (n, rng) => points or a sampler spec { kind, ... }.`);
  switch (s.kind) {
    case 'gaussian':
      return (n, rng) => sampleGaussian(n, s.mean, s.cov, { seed: rng });
    case 'mixture':
      return (n, rng) => sampleGaussianMixture(n, s.centres, s.std, { seed: rng });
    case '8gaussians':
      return (n, rng) => sample8Gaussians(n, { ...s, seed: rng });
    case 'moons':
      return (n, rng) => sampleMoons(n, { ...s, seed: rng });
    case 'swissroll':
      return (n, rng) => sampleSwissRoll(n, { ...s, seed: rng });
    case 'points': {
      const X = toMatrix(`${name}.X`, s.X);
      if (X.rows === 0) throw new OTError('empty', `${name}: the point set is empty.`);
      return (n, rng) => {
        const out = new Float64Array(n * X.cols);
        for (let i = 0; i < n; i++) {
          const r = Math.min(X.rows - 1, Math.floor(rng.uniform() * X.rows));
          out.set(X.data.subarray(r * X.cols, (r + 1) * X.cols), i * X.cols);
        }
        return { data: out, rows: n, cols: X.cols };
      };
    }
    default:
      throw new OTError('invalid-option', `${name}: unknown sampler kind '${(s as { kind: string }).kind}' (gaussian, mixture, 8gaussians, moons, swissroll, points).`);
  }
}
