// Neural Optimal Transport (ts/neural/not.ts, Korotin et al. 2023) on the CPU engine: small seeded training runs
// (each a few seconds on one core), every check able to fail:
// - 8 Gaussians → moons: the exact W2² (our emd) between pushed samples and target samples drops by ≥ 5× from
//   the initial map's (measured with the defaults of 2026-12-07, f's form I − LLᵀ on as γ = 0: 2.21 → 0.114, 19.4×;
//   seeds 1–3: 15.7×, 19.8×, 19.0×; without the form 18.4×, 15.8×, 20.5×, 19.3×; the floor of two independent
//   512-point moons samples is 0.013; with the f-step sign flipped, see below);
// - γ = 0, zDim = 0 (deterministic map), Gaussian → Gaussian in D = 2, f with its default quadratic form
//   ('belowIdentity'): L2-UVP ≤ 2 % where the identity map has 65 % (measured: 0.32 %; seeds 1–3: 0.32, 0.48,
//   0.44 %; without the form 4.40, 4.46, 4.89 %);
// - the weak cost rewards conditional variance: Var_z T(x, z) is ≥ 10× larger with γ = 0.9 than with γ = 0
//   (measured at seed 2: 0.18 vs 0.0014; seeds 3, 4: 0.31 vs 0.0012, 0.10 vs 0.0015; tr Σ₂ = 2.5), and ≥ 0.1;
// - emaDecay (the returned T is an average of T's weights over the T steps, default 0.999): equal to its closed form
//   after two T steps (warm-up included), training unchanged, the Gaussian bound met with and without it (measured
//   0.32 % averaged, 0.38 % last weights);
// - quadraticForm (f's learned ½·yᵀQy; by default Q = I − LLᵀ when γ = 0 and none when γ > 0): Q nears the Gaussian
//   pair's closed form I − A⁻¹ and L2-UVP drops ≥ 2× against the form turned off; batchSizeF sizes the f step's draws;
// - onProgress / history / determinism / save–load / abort (OTError('aborted'), before and during training) /
//   option validation.
// Negative controls, run by hand on the built not.js: flipping the sign of L_f (ascending instead of descending)
// fails the first three tests (W2² 1.30 → 8.5e3, L2-UVP 1e5 %); dropping the −γ/2·Var term fails the spread test
// (0.0035 for both γ).
import { test } from 'uvu';
import 'kantorovich'; // registers the wasm binary that emd runs on
import * as assert from 'uvu/assert';
import { OTError } from '../ts/errors.js';
import { Rng } from '../ts/rng.js';
import {
  MLP,
  type NOTProgress,
  type NOTSampler,
  buresMap,
  gaussianL2UVP,
  pushForwardW2,
  randomGaussianPair,
  sample8Gaussians,
  sampleGaussian,
  sampleMoons,
  sampleW2,
  symFunction,
  trainNOT,
} from '../ts/neural/index.js';
import { Tensor, noGrad } from '../ts/neural/tensor.js';
import { expectOTError } from './helpers.js';

const eight: NOTSampler = (n, rng) => sample8Gaussians(n, { seed: rng });
const moons: NOTSampler = (n, rng) => sampleMoons(n, { seed: rng, randomAngles: true });

// cond 4: eigenvalues 0.5 and 2 for both covariances, random rotations and means (seeded)
const pair = randomGaussianPair(2, { seed: 3, cond: 4 });
const gaussP: NOTSampler = (n, rng) => sampleGaussian(n, pair.source.mean, pair.source.cov, { seed: rng });
const gaussQ: NOTSampler = (n, rng) => sampleGaussian(n, pair.target.mean, pair.target.cov, { seed: rng });

const SMALL = { hiddenT: [32, 32], hiddenF: [32, 32], batchSize: 64, innerSteps: 5, lrT: 2e-3, lrF: 2e-3 };

const rejectsWith = (p: Promise<unknown>, code: string, what: string): Promise<void> => expectOTError(code, () => p, what);

test('NOT 8 Gaussians → moons: exact W2² between pushed and target samples drops ≥ 5× from initialisation', async () => {
  const opts = { ...SMALL, zDim: 2, zSamples: 2, gamma: 0, seed: 0 };
  const X = sample8Gaussians(512, { seed: 101 });
  const Y = sampleMoons(512, { seed: 102, randomAngles: true });
  const init = await trainNOT(eight, moons, { ...opts, iterations: 0 });
  const w0 = await pushForwardW2((x) => init.sample(x, new Rng(5)), X, Y);
  const t0 = Date.now();
  const res = await trainNOT(eight, moons, { ...opts, iterations: 150 });
  const ms = Date.now() - t0;
  const w1 = await pushForwardW2((x) => res.sample(x, new Rng(5)), X, Y);
  // the floor at n = 512: two independent moons samples are at W2² ≈ 0.013
  const floor = await sampleW2(sampleMoons(512, { seed: 103, randomAngles: true }), Y);
  assert.is(w1.certificate.status, 'optimal');
  console.log(`  NOT 8G→moons: W2² ${w0.w2sq.toFixed(4)} → ${w1.w2sq.toFixed(4)} (${(w0.w2sq / w1.w2sq).toFixed(1)}×; floor ${floor.w2sq.toFixed(4)}), ${ms} ms`);
  assert.ok(w0.w2sq > 0.5, `initial W2² ${w0.w2sq} should be far from the target`);
  assert.ok(w0.w2sq / w1.w2sq >= 5, `W2² ${w0.w2sq} → ${w1.w2sq}: less than a 5× reduction`);
  // the untrained map (iterations 0) is the one training started from: same seed, same weights
  assert.equal(init.T.save().params, (await trainNOT(eight, moons, { ...opts, iterations: 0 })).T.save().params);
});

test('NOT γ = 0, zDim = 0 (deterministic map), Gaussian → Gaussian D = 2: L2-UVP ≤ 2 % (identity: 65 %)', async () => {
  const t0 = Date.now();
  const res = await trainNOT(gaussP, gaussQ, { ...SMALL, gamma: 0, zDim: 0, iterations: 150, seed: 1 });
  assert.is(res.f.config.quadraticForm, 'belowIdentity', "f's quadratic form is on by default when γ = 0");
  const ms = Date.now() - t0;
  const identity = gaussianL2UVP((x) => x, pair.source, pair.target, { n: 4096, seed: 9 });
  const uvp = gaussianL2UVP((x) => res.map(x), pair.source, pair.target, { n: 4096, seed: 9 });
  console.log(`  NOT Gaussian D=2: L2-UVP ${uvp.toFixed(2)} % (identity ${identity.toFixed(2)} %), ${ms} ms`);
  assert.ok(identity > 50, `identity L2-UVP ${identity}`);
  assert.ok(uvp <= 2, `L2-UVP ${uvp} % > 2 %`);
  // deterministic: sample() ignores the rng, map() takes no Z
  const X = sampleGaussian(8, pair.source.mean, pair.source.cov, { seed: 4 });
  assert.equal(Array.from(res.sample(X, new Rng(1)).data), Array.from(res.map(X).data));
  assert.is(res.zDim, 0);
});

test('NOT weak cost: Var_z T(x, z) with γ = 0.9 is ≥ 10× that with γ = 0 (the −γ/2·Var term rewards spread)', async () => {
  const X = sampleGaussian(128, pair.source.mean, pair.source.cov, { seed: 11 });
  const spread = (res: Awaited<ReturnType<typeof trainNOT>>): number => {
    const K = 16;
    const rng = new Rng(12);
    const draws = Array.from({ length: K }, () => res.sample(X, rng).data);
    let tot = 0;
    for (let i = 0; i < X.data.length; i++) {
      let m = 0;
      for (const d of draws) m += d[i];
      m /= K;
      let v = 0;
      for (const d of draws) v += (d[i] - m) ** 2;
      tot += v / (K - 1);
    }
    return tot / X.rows; // mean over x of tr Cov_z T(x, z)
  };
  const opts = { ...SMALL, zDim: 2, zSamples: 4, iterations: 100, seed: 2 };
  const t0 = Date.now();
  const strong = await trainNOT(gaussP, gaussQ, { ...opts, gamma: 0 });
  const weak = await trainNOT(gaussP, gaussQ, { ...opts, gamma: 0.9 });
  const ms = Date.now() - t0;
  const s0 = spread(strong);
  const s1 = spread(weak);
  console.log(`  NOT spread: γ = 0 → ${s0.toFixed(4)}, γ = 0.9 → ${s1.toFixed(4)} (tr Σ₂ = 2.5), ${ms} ms for both`);
  assert.ok(s1 >= 10 * s0, `spread γ=0.9 ${s1} vs γ=0 ${s0}`);
  assert.ok(s1 > 0.1, `spread γ=0.9 ${s1} should be a visible part of Var(Q) = 2.5`);
  // map(X, Z) is sample's function of z: the same z gives the same points, a different z different ones
  const Z = { data: Float64Array.from({ length: 2 * X.rows }, (_, i) => Math.sin(i)), rows: X.rows, cols: 2 };
  assert.equal(Array.from(weak.map(X, Z).data), Array.from(weak.map(X, Z).data));
  const zeroZ = weak.map(X);
  let diff = 0;
  weak.map(X, Z).data.forEach((v, i) => (diff = Math.max(diff, Math.abs(v - zeroZ.data[i]))));
  assert.ok(diff > 1e-3, 'map(X) (z = 0) differs from map(X, Z)');
});

test('NOT onProgress and history: steps 1..n in order, finite losses, seeded runs identical, T and f save/load', async () => {
  const seen: NOTProgress[] = [];
  const opts = { ...SMALL, zDim: 1, zSamples: 2, gamma: 0.5, iterations: 6, innerSteps: 2, batchSize: 16, seed: 7 };
  const res = await trainNOT(eight, moons, { ...opts, onProgress: (p) => seen.push(p) });
  assert.equal(seen.map((p) => p.step), [1, 2, 3, 4, 5, 6]);
  assert.equal(res.history, seen);
  for (const p of seen) assert.ok(Number.isFinite(p.loss) && Number.isFinite(p.lossF) && Number.isFinite(p.lossT), JSON.stringify(p));
  const again = await trainNOT(eight, moons, opts);
  assert.equal(again.history, res.history, 'same seed, same run');
  const other = await trainNOT(eight, moons, { ...opts, seed: 8 });
  assert.ok(other.history[5].loss !== res.history[5].loss, 'another seed, another run');
  // the saved networks reproduce the map and the potential bit for bit
  const X = sample8Gaussians(10, { seed: 1 });
  const Z = { data: Float64Array.from({ length: 10 }, (_, i) => i / 10 - 0.5), rows: 10, cols: 1 };
  const T2 = MLP.load(JSON.parse(JSON.stringify(res.T.save())));
  const inp = new Float64Array(30);
  for (let i = 0; i < 10; i++) inp.set([X.data[2 * i], X.data[2 * i + 1], Z.data[i]], 3 * i);
  const out = noGrad(() => T2.forward(new Tensor(inp, [10, 3])));
  // residual by default: T(x, z) = x + MLP([x, z])
  assert.is(res.residual, true);
  assert.equal(Array.from(out.data, (v, k) => X.data[k] + v), Array.from(res.map(X, Z).data));
  const f2 = MLP.load(JSON.parse(JSON.stringify(res.f.save())));
  const y = new Tensor(X.data, [10, 2]);
  assert.equal(Array.from(noGrad(() => f2.forward(y)).data), Array.from(noGrad(() => res.f.forward(y)).data));
});

test('NOT lrDecay: 0.1 by default; a cosine decay changes only the steps after the first', async () => {
  const opts = { ...SMALL, iterations: 4, innerSteps: 1, batchSize: 16, seed: 3 };
  const byDefault = await trainNOT(eight, moons, opts);
  const tenth = await trainNOT(eight, moons, { ...opts, lrDecay: 0.1 });
  assert.equal(tenth.history, byDefault.history);
  const plain = await trainNOT(eight, moons, { ...opts, lrDecay: 1 });
  const decayed = tenth;
  // step 1 runs at the full rate (its losses are measured before any update of that step's networks)
  assert.is(decayed.history[0].lossF, plain.history[0].lossF);
  assert.ok(decayed.history[3].loss !== plain.history[3].loss, 'the decayed rates moved the networks differently');
  await rejectsWith(trainNOT(eight, moons, { ...opts, lrDecay: 0 }), 'invalid-option', 'lrDecay 0');
});

test('NOT abort: a pre-aborted signal, an abort from onProgress and one from a timer reject with OTError("aborted")', async () => {
  const pre = new AbortController();
  pre.abort();
  let drawn = 0;
  const counting: NOTSampler = (n, rng) => {
    drawn++;
    return eight(n, rng);
  };
  await rejectsWith(trainNOT(counting, moons, { signal: pre.signal }), 'aborted', 'pre-aborted');
  assert.is(drawn, 0, 'nothing drawn after a pre-aborted signal');

  const ac = new AbortController();
  const steps: number[] = [];
  const opts = { ...SMALL, batchSize: 16, innerSteps: 2, iterations: 1000 };
  await rejectsWith(
    trainNOT(eight, moons, {
      ...opts,
      signal: ac.signal,
      onProgress: (p) => {
        steps.push(p.step);
        if (p.step === 3) ac.abort();
      },
    }),
    'aborted',
    'abort in onProgress',
  );
  assert.equal(steps, [1, 2, 3], 'stops right after the step that aborted');

  const timer = new AbortController();
  let last = 0;
  setTimeout(() => timer.abort(), 100);
  await rejectsWith(trainNOT(eight, moons, { ...opts, signal: timer.signal, onProgress: (p) => (last = p.step) }), 'aborted', 'timer abort');
  assert.ok(last > 0 && last < 1000, `stopped mid-run (last step ${last})`);
});

test('NOT option validation', async () => {
  await rejectsWith(trainNOT(eight, moons, { gamma: 0.5, zDim: 2, zSamples: 1 }), 'invalid-option', 'γ > 0 needs zSamples ≥ 2');
  await rejectsWith(trainNOT(eight, moons, { gamma: -1 }), 'invalid-option', 'negative γ');
  await rejectsWith(trainNOT(eight, moons, { innerSteps: 0 }), 'invalid-option', 'innerSteps 0');
  await rejectsWith(trainNOT(eight, moons, { batchSize: 2.5 }), 'invalid-option', 'fractional batch');
  const wrongDim: NOTSampler = (n, rng) => sampleGaussian(n, [0, 0, 0], [1, 0, 0, 0, 1, 0, 0, 0, 1], { seed: rng });
  await rejectsWith(trainNOT(eight, wrongDim, { iterations: 1 }), 'shape', 'Q in another dimension');
  const res = await trainNOT(eight, moons, { zDim: 2, iterations: 0 });
  try {
    res.map(sample8Gaussians(4, { seed: 1 }), { data: new Float64Array(4), rows: 4, cols: 1 });
    assert.unreachable('Z of the wrong width');
  } catch (e) {
    assert.ok(e instanceof OTError && e.code === 'shape', String(e));
  }
});

test('NOT emaDecay: T after two T steps is the closed-form average of θ₀, θ₁, θ₂; training unchanged; a Gaussian map as good', async () => {
  const opts = { ...SMALL, iterations: 1, batchSize: 16, seed: 4, emaDecay: 0 };
  const theta = async (o: object): Promise<number[][]> => (await trainNOT(eight, moons, { ...opts, ...o })).T.save().params.map((p) => p.data);
  // θ₀ (initial), θ₁ (after the first T step: the same draws as the two-step run up to there), θ₂ (the last)
  const [t0, t1, t2] = [await theta({ iterations: 0 }), await theta({ innerSteps: 1 }), await theta({ innerSteps: 2 })];
  const plain = await trainNOT(eight, moons, { ...opts, innerSteps: 2 });
  const beta = 0.2;
  const avg = await trainNOT(eight, moons, { ...opts, innerSteps: 2, emaDecay: beta });
  // β_t = min(β, (1 + t)/(10 + t)): 2/11 at t = 1 (the warm-up), then β = 0.2 < 3/12 at t = 2
  const [b1, b2] = [2 / 11, beta];
  assert.equal(avg.history, plain.history, 'the average does not change training');
  assert.equal(avg.f.save().params, plain.f.save().params, 'nor the potential');
  let worst = 0;
  avg.T.save().params.forEach((p, i) =>
    p.data.forEach((v, j) => {
      const want = b2 * (b1 * t0[i][j] + (1 - b1) * t1[i][j]) + (1 - b2) * t2[i][j];
      worst = Math.max(worst, Math.abs(v - want));
    }),
  );
  assert.ok(worst < 1e-12, `EMA off the closed form by ${worst}`);
  assert.ok(t2.some((p, i) => p.some((v, j) => v !== avg.T.save().params[i].data[j])), 'the average differs from the last weights');
  // on the Gaussian pair of the deterministic-map test: the last weights reach the same bound (≤ 2 %)
  const res = await trainNOT(gaussP, gaussQ, { ...SMALL, iterations: 150, seed: 1, emaDecay: 0 });
  const uvp = gaussianL2UVP((x) => res.map(x), pair.source, pair.target, { n: 4096, seed: 9 });
  console.log(`  NOT Gaussian D=2 with the last weights (emaDecay 0): L2-UVP ${uvp.toFixed(2)} %`);
  assert.ok(uvp <= 2, `L2-UVP ${uvp} % > 2 %`);
  await rejectsWith(trainNOT(eight, moons, { emaDecay: 1 }), 'invalid-option', 'emaDecay 1');
  // the default (0.999) averages: T differs from the last weights
  const byDefault = await trainNOT(eight, moons, { ...opts, innerSteps: 2, emaDecay: undefined });
  assert.equal(byDefault.history, plain.history);
  assert.ok(byDefault.T.save().params.some((p, i) => p.data.some((v, j) => v !== t2[i][j])), 'averaged by default');
});

test('NOT quadraticForm: f\'s learned ½·yᵀQy nears the closed form I − A⁻¹ and lowers the Gaussian L2-UVP; batchSizeF', async () => {
  // The optimal f of an affine map y = Ax + b (A SPD) has ∇f(y) = y − T⁻¹(y) = (I − A⁻¹)y + const: a quadratic, which a
  // relu f (piecewise-constant gradient) can only approximate. Measured at 600 iterations, seeds 1–3: L2-UVP 0.12 /
  // 0.15 / 0.16 % with the form (lrScaleQuadratic 10, its default), 0.64 / 0.70 / 0.57 % with lrScaleQuadratic 1,
  // 0.95 / 1.19 / 1.10 % without, 0.09 / 0.12 / 0.12 % with 'belowIdentity' (Q = I − LLᵀ); ‖sym Q − (I − A⁻¹)‖ /
  // ‖I − A⁻¹‖ ≈ 0.2 (free Q), ≈ 0.1 (I − LLᵀ).
  const { A, d } = buresMap(pair.source, pair.target);
  const want = Float64Array.from(symFunction(A, d, (l) => 1 / l), (v, k) => (k % (d + 1) === 0 ? 1 : 0) - v);
  const norm = (v: ArrayLike<number>): number => Math.sqrt(Array.from(v).reduce((p, c) => p + c * c, 0));
  const uvps = async (quadraticForm: boolean | 'belowIdentity'): Promise<number[]> => {
    const out: number[] = [];
    for (const seed of [1, 2, 3]) {
      const res = await trainNOT(gaussP, gaussQ, { ...SMALL, iterations: 600, seed, quadraticForm });
      assert.is(res.f.wq !== undefined, quadraticForm !== false);
      out.push(gaussianL2UVP((x) => res.map(x), pair.source, pair.target, { n: 4096, seed: 9 }));
      if (!quadraticForm) continue;
      const w = res.f.wq!.data;
      // Q itself, or I − LLᵀ for 'belowIdentity'
      const Q = quadraticForm === true ? w : Float64Array.from(w, (_, k) => {
        const [i, j] = [Math.floor(k / d), k % d];
        let ll = 0;
        for (let t = 0; t < d; t++) ll += w[i * d + t] * w[j * d + t];
        return (i === j ? 1 : 0) - ll;
      });
      const off = Float64Array.from(want, (w, k) => (Q[k] + Q[(k % d) * d + Math.floor(k / d)]) / 2 - w);
      console.log(`  ${quadraticForm} seed ${seed}: sym Q off I − A⁻¹ by ${(norm(off) / norm(want)).toFixed(3)} (relative)`);
      assert.ok(norm(off) < 0.35 * norm(want), `Q ${Array.from(Q)} vs I − A⁻¹ ${Array.from(want)}`);
    }
    return out;
  };
  const [withQ, below, without] = [await uvps(true), await uvps('belowIdentity'), await uvps(false)];
  const avg = (a: number[]): number => a.reduce((p, c) => p + c, 0) / a.length;
  console.log(`  'belowIdentity' (Q = I − LLᵀ): ${below.map((v) => v.toFixed(2)).join(' / ')} %`);
  assert.ok(avg(below) <= 0.5 * avg(without), `quadraticForm 'belowIdentity' ${avg(below)} % vs ${avg(without)} %`);
  console.log(`  NOT Gaussian D=2, 600 iterations: L2-UVP with quadraticForm ${withQ.map((v) => v.toFixed(2)).join(' / ')} %, without ${without.map((v) => v.toFixed(2)).join(' / ')} %`);
  assert.ok(avg(withQ) <= 0.5 * avg(without), `quadraticForm ${avg(withQ)} % vs ${avg(without)} %`);
  // the default: 'belowIdentity' when γ = 0, none when γ > 0 (the weak cost would need Q ⪯ (1 − γ)·I)
  const form = async (o: Parameters<typeof trainNOT>[2]) => (await trainNOT(gaussP, gaussQ, { ...SMALL, iterations: 0, ...o })).f.config.quadraticForm;
  assert.is(await form({}), 'belowIdentity');
  assert.is(await form({ zDim: 2, zSamples: 2 }), 'belowIdentity');
  assert.is(await form({ gamma: 0.5, zDim: 2, zSamples: 2 }), undefined);
  assert.is(await form({ gamma: 0.5, zDim: 2, zSamples: 2, quadraticForm: 'belowIdentity' }), 'belowIdentity');
  // batchSizeF: the f step draws that many x's and y's, the T steps batchSize
  const sizes: string[] = [];
  const rec = (name: string, s: NOTSampler): NOTSampler => (n, rng) => (sizes.push(`${name}${n}`), s(n, rng));
  await trainNOT(rec('P', gaussP), rec('Q', gaussQ), { ...SMALL, iterations: 2, innerSteps: 1, batchSize: 8, batchSizeF: 24 });
  assert.equal(sizes, ['P24', 'Q24', 'P8', 'P24', 'Q24', 'P8']);
  await rejectsWith(trainNOT(gaussP, gaussQ, { batchSizeF: 0 }), 'invalid-option', 'batchSizeF 0');
});

test.run();
