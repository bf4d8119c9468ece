// Samplers, closed-form Gaussian OT and evaluation helpers of the neural-OT engine (ts/neural/samplers.ts,
// gaussian.ts, evaluate.ts). Statistical tolerances are stated in standard errors (SE) of the estimator; seeds
// are fixed, so a pass is deterministic, and 5 SE leaves a ~6e-7 two-sided chance per check that a correct
// sampler with a different seed would fail, while a wrong one (a transposed Cholesky factor, a wrong A) moves the
// estimate by far more than 5 SE at n = 2e4.
import { test } from 'uvu';
import 'kantorovich'; // registers the wasm binary that emd runs on
import * as assert from 'uvu/assert';
import { OTError } from '../ts/errors.js';
import { Rng } from '../ts/rng.js';
import * as NT from '../ts/neural/tensor.js';
import {
  buresMap,
  buresWasserstein2,
  cholesky,
  eightGaussiansCentres,
  empiricalMoments,
  gaussianL2UVP,
  invSqrtm,
  l2uvp,
  l2uvpFromSamples,
  matmulSquare,
  pushForwardW2,
  randomGaussianPair,
  randomSPD,
  sample8Gaussians,
  sampleGaussian,
  sampleMoons,
  sampleSwissRoll,
  sampleW2,
  sqrtm,
  symEig,
} from '../ts/neural/index.js';
import type { DenseMatrix } from '../ts/types.js';

const MEAN3 = [1, -2, 0.5];
const COV3 = [2, 0.6, 0.3, 0.6, 1, -0.2, 0.3, -0.2, 0.5];

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/**
 * The first empirical moment outside 5 SE of the given one, or null: SE(mean_j) = √(Σ_jj/n);
 * SE(cov_ij) = √((Σ_ii Σ_jj + Σ_ij²)/n) (Gaussian fourth moments).
 */
function momentsMismatch(X: DenseMatrix, mean: ArrayLike<number>, cov: ArrayLike<number>): string | null {
  const n = X.rows;
  const d = X.cols;
  const emp = empiricalMoments(X);
  for (let j = 0; j < d; j++) {
    const se = Math.sqrt(cov[j * d + j] / n);
    if (!(Math.abs(emp.mean[j] - mean[j]) < 5 * se)) return `mean[${j}] = ${emp.mean[j]} vs ${mean[j]} (SE ${se})`;
  }
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      const se = Math.sqrt((cov[i * d + i] * cov[j * d + j] + cov[i * d + j] ** 2) / n);
      if (!(Math.abs(emp.cov[i * d + j] - cov[i * d + j]) < 5 * se)) return `cov[${i}][${j}] = ${emp.cov[i * d + j]} vs ${cov[i * d + j]} (SE ${se})`;
    }
  }
  return null;
}

function assertMoments(X: DenseMatrix, mean: ArrayLike<number>, cov: ArrayLike<number>, what: string): void {
  const bad = momentsMismatch(X, mean, cov);
  assert.ok(bad === null, `${what}: ${bad}`);
}

function assertOTError(fn: () => unknown, code: string, what: string): void {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof OTError, `${what}: ${String(e)} is not an OTError`);
    assert.is((e as OTError).code, code, `${what}: code`);
    return;
  }
  assert.unreachable(`${what}: no error`);
}

test('sampleGaussian: empirical mean and covariance of 2e4 samples within 5 standard errors', () => {
  const X = sampleGaussian(20000, MEAN3, COV3, { seed: 1 });
  assert.is(X.rows, 20000);
  assert.is(X.cols, 3);
  assertMoments(X, MEAN3, COV3, 'N(m, Σ)');
  // negative control: the same samples are NOT within tolerance of a covariance with the off-diagonals flipped
  const flipped = COV3.map((v, k) => (k % 4 === 0 ? v : -v));
  assert.ok(momentsMismatch(X, MEAN3, flipped) !== null, 'negative control: flipped off-diagonals');
  // rows as input, D = 1
  const Y = sampleGaussian(20000, [3], [[0.25]], { seed: 2 });
  assertMoments(Y, [3], [0.25], 'N(3, 0.25)');
});

test('samplers: a seed reproduces bit for bit, different seeds differ, an Rng continues its stream', () => {
  const draws: [string, (seed: number | Rng) => DenseMatrix][] = [
    ['gaussian', (seed) => sampleGaussian(64, MEAN3, COV3, { seed })],
    ['8gaussians', (seed) => sample8Gaussians(64, { seed })],
    ['moons', (seed) => sampleMoons(64, { seed })],
    ['moons random angles', (seed) => sampleMoons(64, { seed, randomAngles: true })],
    ['swiss roll', (seed) => sampleSwissRoll(64, { seed })],
  ];
  for (const [name, draw] of draws) {
    assert.equal(Array.from(draw(7).data), Array.from(draw(7).data), `${name}: same seed`);
    assert.ok(maxAbsDiff(draw(7).data, draw(8).data) > 1e-3, `${name}: different seeds`);
    const rng = new Rng(7);
    const first = draw(rng);
    assert.equal(Array.from(first.data), Array.from(draw(7).data), `${name}: Rng(7) = seed 7`);
    assert.ok(maxAbsDiff(first.data, draw(rng).data) > 1e-3, `${name}: a continued stream gives a new batch`);
  }
});

test('sample8Gaussians: 8 modes on the circle, nearest-centre counts balanced, points tight around their centre', () => {
  const n = 8000;
  const std = 0.02;
  const X = sample8Gaussians(n, { seed: 3, radius: 2, std });
  const C = eightGaussiansCentres(2);
  for (let k = 0; k < 8; k++) assert.ok(Math.abs(Math.hypot(C.data[2 * k], C.data[2 * k + 1]) - 2) < 1e-12);
  const counts = new Array(8).fill(0);
  let worst = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestD = Infinity;
    for (let k = 0; k < 8; k++) {
      const dd = (X.data[2 * i] - C.data[2 * k]) ** 2 + (X.data[2 * i + 1] - C.data[2 * k + 1]) ** 2;
      if (dd < bestD) [best, bestD] = [k, dd];
    }
    counts[best]++;
    worst = Math.max(worst, Math.sqrt(bestD));
  }
  // each count ~ Binomial(n, 1/8): SD = √(n · 1/8 · 7/8) ≈ 29.6; 5 SD around n/8 = 1000
  const sd = Math.sqrt((n * 7) / 64);
  for (let k = 0; k < 8; k++) assert.ok(Math.abs(counts[k] - n / 8) < 5 * sd, `mode ${k}: ${counts[k]} points`);
  // ‖x − c‖/std is χ with 2 dof: P(> 7) = e^{−24.5} ≈ 2e-11, so no point of 8000 is expected beyond 7 std
  assert.ok(worst < 7 * std, `farthest point ${worst} from its centre`);
});

test('sampleMoons and sampleSwissRoll: sklearn parameterisations', () => {
  // noise-free moons: every point on one of the two half circles; ⌊n/2⌋ on the outer one; mean (½, ¼) (linspace)
  const n = 1001;
  const M = sampleMoons(n, { noise: 0, seed: 4 });
  let outer = 0;
  for (let i = 0; i < n; i++) {
    const [x, y] = [M.data[2 * i], M.data[2 * i + 1]];
    const onOuter = Math.abs(Math.hypot(x, y) - 1) < 1e-12 && y >= -1e-12;
    const onInner = Math.abs(Math.hypot(x - 1, y - 0.5) - 1) < 1e-12 && y <= 0.5 + 1e-12;
    assert.ok(onOuter || onInner, `point ${i} (${x}, ${y}) is on neither moon`);
    if (onOuter) outer++;
  }
  assert.is(outer, Math.floor(n / 2));
  const mm = empiricalMoments(M).mean;
  assert.ok(Math.abs(mm[0] - 0.5) < 2e-3 && Math.abs(mm[1] - 0.25) < 2e-3, `moons mean ${mm[0]}, ${mm[1]}`);
  // noisy moons: the noise adds noise² to each variance
  const clean = empiricalMoments(sampleMoons(20000, { noise: 0, seed: 5 })).cov;
  const noisy = empiricalMoments(sampleMoons(20000, { noise: 0.1, seed: 5 })).cov;
  assert.ok(Math.abs(noisy[0] - clean[0] - 0.01) < 0.01 && Math.abs(noisy[3] - clean[3] - 0.01) < 0.01);
  // noise-free swiss roll: ‖p‖ / scale = t = the angle of p (mod 2π), t ∈ [1.5π, 4.5π)
  const S = sampleSwissRoll(2000, { noise: 0, scale: 1, seed: 6 });
  for (let i = 0; i < S.rows; i++) {
    const [x, z] = [S.data[2 * i], S.data[2 * i + 1]];
    const t = Math.hypot(x, z);
    assert.ok(t >= 1.5 * Math.PI - 1e-9 && t < 4.5 * Math.PI + 1e-9, `t = ${t}`);
    assert.ok(Math.abs(x - t * Math.cos(t)) < 1e-9 && Math.abs(z - t * Math.sin(t)) < 1e-9);
  }
  const D = sampleSwissRoll(2000, { seed: 6 }); // defaults: noise 0.8, scale 1/7.5
  let maxR = 0;
  for (let i = 0; i < D.rows; i++) maxR = Math.max(maxR, Math.hypot(D.data[2 * i], D.data[2 * i + 1]));
  assert.ok(maxR > 1.6 && maxR < 2.5, `default swiss roll radius ${maxR}`);
});

test('Jacobi eigen-decomposition and matrix square roots, D = 1..64', () => {
  for (const d of [1, 2, 5, 16, 64]) {
    const S = randomSPD(d, { cond: 1000, seed: d });
    const { values, vectors } = symEig(S, d);
    // V diag(λ) Vᵀ = S, VᵀV = I, eigenvalues cond-spaced
    let err = 0;
    let orth = 0;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        let s = 0;
        let o = 0;
        for (let k = 0; k < d; k++) {
          s += vectors[i * d + k] * values[k] * vectors[j * d + k];
          o += vectors[k * d + i] * vectors[k * d + j];
        }
        err = Math.max(err, Math.abs(s - S[i * d + j]));
        orth = Math.max(orth, Math.abs(o - (i === j ? 1 : 0)));
      }
    }
    assert.ok(err < 1e-12 * Math.sqrt(1000), `d=${d}: reconstruction ${err}`);
    assert.ok(orth < 1e-12, `d=${d}: orthogonality ${orth}`);
    if (d > 1) assert.ok(Math.abs(values[d - 1] / values[0] - 1000) < 1e-8, `d=${d}: condition number ${values[d - 1] / values[0]}`);
    const R = sqrtm(S, d);
    assert.ok(maxAbsDiff(matmulSquare(R, R, d), S) < 1e-11 * Math.sqrt(1000), `d=${d}: sqrtm² = S`);
    const iR = invSqrtm(S, d);
    const I = matmulSquare(matmulSquare(iR, S, d), iR, d);
    assert.ok(maxAbsDiff(I, Float64Array.from({ length: d * d }, (_, k) => (k % (d + 1) === 0 ? 1 : 0))) < 1e-9, `d=${d}: S^{-1/2} S S^{-1/2} = I`);
  }
});

test('Bures W2²: 1D closed form, commuting covariances, symmetry, and W2 between a Gaussian and itself', () => {
  // 1D: |m1 − m2|² + (σ1 − σ2)²
  assert.ok(Math.abs(buresWasserstein2({ mean: [1], cov: [4] }, { mean: [-0.5], cov: [0.25] }) - (2.25 + 2.25)) < 1e-14);
  // commuting: Σ1 = Q diag(a) Qᵀ, Σ2 = Q diag(b) Qᵀ → ‖Δm‖² + Σ (√a_k − √b_k)²
  const d = 4;
  const Q = symEig(randomSPD(d, { seed: 11 }), d).vectors; // an orthogonal matrix
  const a = [0.5, 1, 2, 4];
  const b = [3, 0.1, 2, 1];
  const build = (l: number[]) => {
    const S = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) S[i * d + j] += Q[i * d + k] * l[k] * Q[j * d + k];
    return S;
  };
  const m1 = [0, 1, 2, 3];
  const m2 = [1, 1, 0, 3];
  let expected = 1 + 4;
  for (let k = 0; k < d; k++) expected += (Math.sqrt(a[k]) - Math.sqrt(b[k])) ** 2;
  const p = { mean: m1, cov: build(a) };
  const q = { mean: m2, cov: build(b) };
  assert.ok(Math.abs(buresWasserstein2(p, q) - expected) < 1e-12, `commuting: ${buresWasserstein2(p, q)} vs ${expected}`);
  // non-commuting, D = 16: symmetric in (p, q), zero from a Gaussian to itself, positive otherwise
  const { source, target } = randomGaussianPair(16, { cond: 20, seed: 12 });
  const w = buresWasserstein2(source, target);
  assert.ok(w > 0 && Math.abs(w - buresWasserstein2(target, source)) < 1e-10 * w, 'symmetry');
  assert.ok(buresWasserstein2(source, source) < 1e-10, 'W2(μ, μ) = 0');
});

test('Bures map: A symmetric positive definite (T = ∇ of a convex function), A Σ1 A = Σ2, E‖x − T(x)‖² = W2²', () => {
  for (const d of [2, 16, 64]) {
    const { source, target } = randomGaussianPair(d, { cond: 50, seed: 20 + d });
    const map = buresMap(source, target);
    const A = map.A;
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) assert.ok(Math.abs(A[i * d + j] - A[j * d + i]) < 1e-12, `d=${d}: A symmetric`);
    cholesky('A', A, d); // throws unless A is positive definite
    assert.ok(symEig(A, d).values[0] > 0, `d=${d}: λmin(A) > 0`);
    const push = matmulSquare(matmulSquare(A, source.cov, d), A, d);
    const scaleS2 = Math.max(...Array.from(target.cov, Math.abs));
    assert.ok(maxAbsDiff(push, target.cov) < 1e-9 * scaleS2, `d=${d}: A Σ1 A = Σ2 (${maxAbsDiff(push, target.cov)})`);
    // E‖x − T(x)‖² over N(m1, Σ1) = ‖m1 − m2‖² + tr((I − A) Σ1 (I − A)) must equal the Bures W2²
    const IA = Float64Array.from(A, (v, k) => (k % (d + 1) === 0 ? 1 : 0) - v);
    const M = matmulSquare(matmulSquare(IA, source.cov, d), IA, d);
    let cost = 0;
    for (let i = 0; i < d; i++) cost += (source.mean[i] - target.mean[i]) ** 2 + M[i * d + i];
    const w = buresWasserstein2(source, target);
    assert.ok(Math.abs(cost - w) < 1e-9 * w, `d=${d}: transport cost ${cost} vs W2² ${w}`);
  }
  // the Jacobian of T by central differences is A (T is affine), and T is monotone: ⟨T(x) − T(y), x − y⟩ > 0
  const { source, target } = randomGaussianPair(3, { cond: 10, seed: 5 });
  const map = buresMap(source, target);
  const rng = new Rng(9);
  const X = Array.from({ length: 20 }, () => [rng.normal(), rng.normal(), rng.normal()]);
  const TX = map.apply(X).data;
  for (let i = 0; i + 1 < 20; i++) {
    let s = 0;
    for (let j = 0; j < 3; j++) s += (TX[3 * i + j] - TX[3 * i + 3 + j]) * (X[i][j] - X[i + 1][j]);
    assert.ok(s > 0, 'monotone');
  }
  const h = 1e-4;
  for (let j = 0; j < 3; j++) {
    const xp = [...X[0]];
    const xm = [...X[0]];
    xp[j] += h;
    xm[j] -= h;
    const tp = map.apply([xp]).data;
    const tm = map.apply([xm]).data;
    for (let i = 0; i < 3; i++) assert.ok(Math.abs((tp[i] - tm[i]) / (2 * h) - map.A[i * 3 + j]) < 1e-8, 'Jacobian = A');
  }
});

test('Bures map pushes 2e4 samples of N(m1, Σ1) to samples with mean ≈ m2 and covariance ≈ Σ2 (5 SE)', () => {
  const { source, target } = randomGaussianPair(3, { cond: 10, seed: 31 });
  const X = sampleGaussian(20000, source.mean, source.cov, { seed: 32 });
  const Y = buresMap(source, target).apply(X);
  assertMoments(Y, target.mean, target.cov, 'T#P');
  // negative control: the pushed samples do not match the source's covariance
  assert.ok(momentsMismatch(Y, target.mean, source.cov) !== null, 'negative control: Σ1');
});

test('emd W2² between samples approaches the Bures value as n grows (finite-sample bias and CLT tolerance)', async () => {
  // 2D pair with W2² ≈ 1.9. The empirical W2² between independent n-samples has a CLT fluctuation of
  // SD ≈ √((Var f(X) + Var g(Y)) / n), f, g the Kantorovich potentials (f(x) = ‖x'‖² − x'ᵀAx' + 2⟨x', Δm⟩ with
  // x' = x − m1, g(y) = ‖y'‖² − y'ᵀA⁻¹y' − 2⟨y', Δm⟩, Δm = m1 − m2), plus a positive bias of order log(n)/n in 2D
  // (Ajtai–Komlós–Tusnády). We accept |emd − Bures| < 4 SD + 2 · W2²(two n-samples of the target), the latter a
  // measured upper proxy for the bias (it is the bias of the W2 = 0 case, which dominates the W2 > 0 one).
  const source = { mean: [0, 0], cov: [1, 0.3, 0.3, 0.5] };
  const target = { mean: [1, 0.5], cov: [0.4, -0.2, -0.2, 1.5] };
  const exact = buresWasserstein2(source, target);
  const map = buresMap(source, target);
  const Ainv = invSqrtm(matmulSquare(map.A, map.A, 2), 2); // A⁻¹ (A SPD)
  const dm = [source.mean[0] - target.mean[0], source.mean[1] - target.mean[1]];
  const quad = (M: ArrayLike<number>, v: number[]) => v[0] * (M[0] * v[0] + M[1] * v[1]) + v[1] * (M[2] * v[0] + M[3] * v[1]);
  const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  const variance = (v: number[]) => {
    const m = mean(v);
    return v.reduce((s, x) => s + (x - m) ** 2, 0) / (v.length - 1);
  };
  const gaps: number[] = [];
  for (const n of [200, 1500]) {
    const X = sampleGaussian(n, source.mean, source.cov, { seed: 40 + n });
    const Y = sampleGaussian(n, target.mean, target.cov, { seed: 50 + n });
    const r = await sampleW2(X, Y);
    assert.is(r.certificate.status, 'optimal');
    assert.ok(Math.abs(r.certificate.dualityGap) < 1e-9 && r.certificate.dualInfeasibility < 1e-9, 'certificate');
    assert.ok(Math.abs(r.w2 - Math.sqrt(r.w2sq)) < 1e-15);
    const f: number[] = [];
    const g: number[] = [];
    for (let i = 0; i < n; i++) {
      const x = [X.data[2 * i] - source.mean[0], X.data[2 * i + 1] - source.mean[1]];
      const y = [Y.data[2 * i] - target.mean[0], Y.data[2 * i + 1] - target.mean[1]];
      f.push(x[0] ** 2 + x[1] ** 2 - quad(map.A, x) + 2 * (x[0] * dm[0] + x[1] * dm[1]));
      g.push(y[0] ** 2 + y[1] ** 2 - quad(Ainv, y) - 2 * (y[0] * dm[0] + y[1] * dm[1]));
    }
    const sd = Math.sqrt((variance(f) + variance(g)) / n);
    const Y2 = sampleGaussian(n, target.mean, target.cov, { seed: 60 + n });
    const bias = (await sampleW2(Y, Y2)).w2sq;
    const err = Math.abs(r.w2sq - exact);
    const tol = 4 * sd + 2 * bias;
    // Weak duality, exactly: f(x) + g(y) + ‖Δm‖² ≤ ‖x − y‖² for ALL x, y, so the true potentials averaged over
    // the samples are a lower bound of the discrete optimum; (lower − Bures) is the CLT fluctuation term, and
    // gap = emd − lower ≥ 0 the finite-sample bias, which must shrink with n.
    const lower = mean(f) + mean(g) + dm[0] ** 2 + dm[1] ** 2;
    const gap = r.w2sq - lower;
    if (process.env.NEURAL_EVAL_VERBOSE) console.log({ n, emd: r.w2sq, exact, sd, bias, tol, lower, gap });
    assert.ok(err < tol, `n=${n}: emd ${r.w2sq} vs Bures ${exact} (SD ${sd}, bias proxy ${bias})`);
    assert.ok(gap > -1e-9, `n=${n}: emd ${r.w2sq} below the dual lower bound ${lower}`);
    gaps.push(gap);
  }
  // the bias decreases (≈ log n / n in 2D: 200 → 1500 divides it by ~5) and is small at n = 1500
  assert.ok(gaps[1] < 0.5 * gaps[0] && gaps[1] < 0.02 * exact, `bias terms ${gaps} (W2² ${exact})`);
  // pushForwardW2 of the true map: T#P samples against Q samples are as close as two Q samples (no transport left)
  const n = 1000;
  const X = sampleGaussian(n, source.mean, source.cov, { seed: 70 });
  const Y = sampleGaussian(n, target.mean, target.cov, { seed: 71 });
  const pushedTrue = await pushForwardW2((x) => map.apply(x), X, Y);
  const pushedId = await pushForwardW2((x) => x, X, Y);
  assert.ok(pushedTrue.w2sq < 0.2 * exact, `true map: W2² ${pushedTrue.w2sq}`);
  assert.ok(pushedId.w2sq > 0.8 * exact, `identity: W2² ${pushedId.w2sq}`);
});

test('L2-UVP: 0 for the true map, 100·W2²/tr Σ2 for the identity, 100 for the constant target mean', () => {
  const { source, target } = randomGaussianPair(4, { cond: 10, seed: 80 });
  const T = buresMap(source, target);
  const trS2 = [0, 1, 2, 3].reduce((s, i) => s + target.cov[i * 5], 0);
  assert.is(gaussianL2UVP((x) => T.apply(x), source, target, { n: 4096, seed: 1 }), 0);
  // identity: 100 · E‖x − T*(x)‖² / tr Σ2, and E‖x − T*(x)‖² = W2² (T* optimal). SE from the per-sample costs.
  const n = 20000;
  const X = sampleGaussian(n, source.mean, source.cov, { seed: 81 });
  const TX = T.apply(X);
  const c = Array.from({ length: n }, (_, i) => {
    let s = 0;
    for (let j = 0; j < 4; j++) s += (X.data[4 * i + j] - TX.data[4 * i + j]) ** 2;
    return s;
  });
  const mean = c.reduce((s, x) => s + x, 0) / n;
  const se = Math.sqrt(c.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1) / n);
  const expected = (100 * buresWasserstein2(source, target)) / trS2;
  const uvpId = l2uvp((x) => x, (x) => T.apply(x), X, { targetVariance: trS2 });
  assert.ok(Math.abs(uvpId - expected) < 5 * (100 * se) / trS2, `identity: ${uvpId} vs ${expected}`);
  assert.ok(Math.abs(uvpId - (100 * mean) / trS2) < 1e-9, 'identity: the sample formula');
  const uvpIdG = gaussianL2UVP((x) => x, source, target, { n, seed: 82 });
  assert.ok(Math.abs(uvpIdG - expected) < 5 * (100 * se) / trS2, `gaussianL2UVP identity: ${uvpIdG} vs ${expected}`);
  // constant map at the target mean: 100 · tr Σ2 / tr Σ2 = 100 (in expectation; empirical variance default)
  const constant = (x: DenseMatrix) => ({ data: Float64Array.from({ length: x.rows * 4 }, (_, k) => target.mean[k % 4]), rows: x.rows, cols: 4 });
  const uvpConst = l2uvp(constant, (x) => T.apply(x), X);
  assert.ok(Math.abs(uvpConst - 100) < 0.01 * 100, `constant: ${uvpConst}`);
  // a map given as a neural-engine Tensor ([n, D]) is accepted: the true map through T.matmul
  const At = T.A;
  const asTensor = (x: DenseMatrix) => {
    const centred = T.m1.length;
    const xt = new NT.Tensor(Float64Array.from(x.data, (v, k) => v - T.m1[k % centred]), [x.rows, centred]);
    return NT.add(NT.matmul(xt, new NT.Tensor(Float64Array.from(At), [4, 4])), new NT.Tensor(Float64Array.from(T.m2), [4]));
  };
  assert.ok(l2uvp(asTensor, (x) => T.apply(x), X, { targetVariance: trS2 }) < 1e-20, 'tensor map');
  // a 10 % relative error of A − I in the map → a positive, finite L2-UVP that the metric sees
  const wrong = buresMap(source, { mean: target.mean, cov: Float64Array.from(target.cov, (v) => 1.1 * v) });
  assert.ok(l2uvpFromSamples(wrong.apply(X), TX, trS2) > 0.1, 'a wrong map has L2-UVP > 0.1 %');
});

test('bad covariances and shapes: OTError', () => {
  const nonSym = [1, 0.5, 0.4, 1];
  const indefinite = [1, 2, 2, 1];
  const singular = [1, 1, 1, 1];
  for (const [name, cov] of [['non-symmetric', nonSym], ['indefinite', indefinite], ['singular', singular], ['negative', [-1]]] as const) {
    const d = Math.sqrt(cov.length);
    const m = new Array(d).fill(0);
    const good = { mean: m, cov: Float64Array.from({ length: d * d }, (_, k) => (k % (d + 1) === 0 ? 1 : 0)) };
    assertOTError(() => sampleGaussian(10, m, cov), 'invalid-option', `sampleGaussian ${name}`);
    assertOTError(() => buresWasserstein2({ mean: m, cov }, good), 'invalid-option', `bures source ${name}`);
    assertOTError(() => buresMap(good, { mean: m, cov }), 'invalid-option', `bures target ${name}`);
  }
  assertOTError(() => sampleGaussian(10, [0, 0], [1, 0, 0]), 'shape', 'non-square cov');
  assertOTError(() => sampleGaussian(10, [0, 0, 0], [1, 0, 0, 1]), 'shape', 'mean/cov dimension mismatch');
  assertOTError(() => sampleGaussian(0, [0], [1]), 'invalid-option', 'n = 0');
  assertOTError(() => sample8Gaussians(10, { std: -1 }), 'invalid-option', 'negative std');
  assertOTError(() => randomSPD(3, { cond: 0.5 }), 'invalid-option', 'cond < 1');
  assertOTError(() => l2uvpFromSamples([[0, 0]], [[0, 0], [1, 1]], 1), 'shape', 'l2uvp shape');
});


test.run();
