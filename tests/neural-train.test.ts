// Training loops of the CPU neural-OT engine: the ICNN map solver of Makkuva et al. 2020 (ts/neural/icnn-map.ts) and
// the gradient-penalised Kantorovich–Rubinstein critic (ts/neural/critic.ts). Short runs with fixed seeds (about a
// second or three each on one core); thresholds are justified next to each check.
import { test } from 'uvu';
import 'kantorovich'; // registers the wasm binary that emd runs on
import * as assert from 'uvu/assert';
import { OTError } from '../ts/errors.js';
import { Rng } from '../ts/rng.js';
import { expectOTError } from './helpers.js';
import {
  type BatchSampler,
  ICNN,
  Tensor,
  buresWasserstein2,
  gaussianBatchSampler,
  randomGaussianPair,
  gaussianL2UVP,
  pushForwardW2,
  sampleGaussian,
  sampleW2,
  trainICNNMap,
  trainKantorovichRubinsteinCritic,
} from '../ts/neural/index.js';

const SRC = { mean: [0, 0], cov: [1, 0, 0, 1] };
const TGT = { mean: [1, -0.5], cov: [2, 0.6, 0.6, 0.8] };
// lr 1e-2: with the DenseICNN units (CELU, quadratic skips; the defaults since the W2 benchmark work) 5e-3 was too
// slow to undo the initial quadratic bumps in 100 steps (28.9 % at D = 2); 1e-2 gives 0.27 / 0.43 % (seeds 0, 1)
const SHORT = { hidden: [32, 32], batchSize: 128, iterations: 100, innerSteps: 4, lr: 1e-2, lrDecay: 0.1, seed: 0 };

const rejectsWith = (p: Promise<unknown>, code: string, what: string): Promise<void> => expectOTError(code, () => p, what);

test('trainICNNMap: Gaussian → Gaussian in D = 2 reaches L2-UVP ≤ 5 % (identity: 56 %), pushforward W2 far below the source', async () => {
  // Threshold: the Bures map here moves the mean by 1.1 and rescales/rotates the covariance; the identity map has
  // L2-UVP 56 %, the constant map 100 %. This 100-step run (500 g/f updates, ~2.5 s) reaches 0.2–0.9 % for seeds
  // 0..3 (0.7–0.9 % without the learned quadratic form; longer runs of 500–2000 steps ended between 0.6 and 1.7 %:
  // minibatch noise of the min–max, not bias), so
  // 5 % leaves a wide margin for platform rounding while failing any map that is not close to T* (an error of
  // 0.2 in ‖T − T*‖ rms already gives 1.4 %, one of 0.4 gives 5.7 %).
  const t0 = Date.now();
  const r = await trainICNNMap(gaussianBatchSampler(SRC.mean, SRC.cov), gaussianBatchSampler(TGT.mean, TGT.cov), SHORT);
  const seconds = (Date.now() - t0) / 1000;
  const uvp = gaussianL2UVP(r.map, SRC, TGT, { n: 4096, seed: 11 });
  const uvpId = gaussianL2UVP((X) => X, SRC, TGT, { n: 4096, seed: 11 });
  assert.ok(uvp <= 5, `L2-UVP ${uvp.toFixed(3)} % > 5 % (identity ${uvpId.toFixed(1)} %, ${seconds} s)`);
  assert.ok(uvpId > 40 && uvp < uvpId / 10, `identity ${uvpId} vs learned ${uvp}`);
  assert.is(r.history.length, SHORT.iterations);
  assert.is(r.dim, 2);
  // ICNNs stayed convex: hidden-to-hidden weights non-negative after the last projected step
  for (const net of [r.f, r.g]) for (const w of net.wz) assert.ok(w.toArray().every((v) => v >= 0), 'non-negative Wz');
  // The dual estimate of W2² (last 20 batches averaged) is in the right range: the true value is 1.566; the
  // batch estimates (128 points) scatter by ±0.4, so ±30 % for the 20-step mean.
  const last = r.history.slice(-20);
  const w2sq = last.reduce((s, h) => s + h.w2sq, 0) / last.length;
  const truth = buresWasserstein2(SRC, TGT);
  assert.ok(Math.abs(w2sq - truth) < 0.3 * truth, `dual W2² estimate ${w2sq} vs ${truth}`);

  // Pushforward: exact W2² (emd) between T(X) and fresh target samples, vs the source's. Both are empirical
  // measures of 400 points, so even T = T* leaves a positive W2² (two samples of Q: 0.083 here); the source is at
  // 1.83 (population 1.57 + that bias). This run reaches 0.109 (after 2 steps instead: 3.04); we ask for a tenth.
  const X = sampleGaussian(400, SRC.mean, SRC.cov, { seed: 21 });
  const Y = sampleGaussian(400, TGT.mean, TGT.cov, { seed: 22 });
  const before = await sampleW2(X, Y);
  const after = await pushForwardW2(r.map, X, Y);
  assert.is(after.certificate.status, 'optimal');
  assert.ok(after.w2sq < before.w2sq / 10, `W2²(T#X, Y) = ${after.w2sq} vs W2²(X, Y) = ${before.w2sq}`);

  // save/load round trip: the loaded g gives the same map
  const g2 = ICNN.load(JSON.parse(JSON.stringify(r.g.save())));
  const Xt = sampleGaussian(5, SRC.mean, SRC.cov, { seed: 3 });
  const T1 = r.map(Xt);
  const T2 = g2.grad(new Tensor(Xt.data, [5, 2]));
  assert.equal(Array.from(T2.data), Array.from(T1.data));
  // potentials are evaluated row by row
  assert.is(r.potentials.g(Xt).length, 5);
  assert.is(r.potentials.f(Xt).length, 5);
});

test('trainICNNMap: Gaussian → Gaussian in D = 8 reaches the issue\'s 1 % L2-UVP (learned quadratic form)', async () => {
  // A random pair (condition number 4) whose identity map is at L2-UVP 420–430 %. With the default learned quadratic
  // ½‖x·A‖² in both networks, 300 steps of [16, 16] softplus ICNNs (~6 s) end at 0.35 % (pair seed 5) and 0.14 %
  // (seed 8); without it the same budget diverged (hundreds of %, then thousands). 1 % is the goal.
  const pair = randomGaussianPair(8, { cond: 4, seed: 5 });
  const r = await trainICNNMap(gaussianBatchSampler(pair.source.mean, pair.source.cov), gaussianBatchSampler(pair.target.mean, pair.target.cov), {
    hidden: [16, 16],
    batchSize: 128,
    iterations: 300,
    innerSteps: 4,
    lr: 1e-2, // 0.74 % with the DenseICNN units (5e-3: 1.42 %; the default 3e-2: 1.07 %)
    seed: 0,
  });
  const uvp = gaussianL2UVP(r.map, pair.source, pair.target, { n: 4096, seed: 11 });
  const identity = gaussianL2UVP((X) => X, pair.source, pair.target, { n: 4096, seed: 11 });
  assert.ok(identity > 100, `identity ${identity} %`);
  assert.ok(uvp <= 1, `L2-UVP ${uvp.toFixed(3)} % > 1 % (identity ${identity.toFixed(1)} %)`);
  assert.ok(r.g.wq && r.f.wq, 'both networks carry the learned quadratic form');
});

test('trainICNNMap: onProgress reports steps and finite losses; same seed → same result', async () => {
  const seen: { step: number; loss: number }[] = [];
  const opts = { ...SHORT, iterations: 6, progressEvery: 2 };
  const a = await trainICNNMap(gaussianBatchSampler(SRC.mean, SRC.cov), gaussianBatchSampler(TGT.mean, TGT.cov), {
    ...opts,
    onProgress: (p) => seen.push(p),
  });
  assert.equal(seen.map((p) => p.step), [2, 4, 6]);
  assert.ok(seen.every((p) => Number.isFinite(p.loss)));
  const b = await trainICNNMap(gaussianBatchSampler(SRC.mean, SRC.cov), gaussianBatchSampler(TGT.mean, TGT.cov), opts);
  assert.equal(b.history.map((h) => h.loss), a.history.map((h) => h.loss));
});

test('trainICNNMap and the critic: an AbortSignal rejects with OTError aborted between steps', async () => {
  const P = gaussianBatchSampler(SRC.mean, SRC.cov);
  const Q = gaussianBatchSampler(TGT.mean, TGT.cov);
  const ac = new AbortController();
  let last = 0;
  await rejectsWith(
    trainICNNMap(P, Q, { ...SHORT, iterations: 1000, progressEvery: 1, signal: ac.signal, onProgress: (p) => {
      last = p.step;
      if (p.step === 3) ac.abort();
    } }),
    'aborted',
    'abort from onProgress',
  );
  assert.is(last, 3, 'stopped right after the step that aborted');
  // from a timer: the loop yields to the event loop, so the abort lands while it runs
  const ac2 = new AbortController();
  setTimeout(() => ac2.abort(), 50);
  let reached = 0;
  await rejectsWith(
    trainICNNMap(P, Q, { ...SHORT, iterations: 100000, progressEvery: 1, signal: ac2.signal, onProgress: (p) => (reached = p.step) }),
    'aborted',
    'abort from a timer',
  );
  assert.ok(reached < 1000, `stopped mid-run (last step ${reached} of 100000)`);
  const ac3 = new AbortController();
  ac3.abort();
  await rejectsWith(trainICNNMap(P, Q, { signal: ac3.signal }), 'aborted', 'pre-aborted');
  await rejectsWith(trainKantorovichRubinsteinCritic(P, Q, { signal: ac3.signal }), 'aborted', 'critic pre-aborted');
  const ac4 = new AbortController();
  setTimeout(() => ac4.abort(), 50);
  await rejectsWith(trainKantorovichRubinsteinCritic(P, Q, { iterations: 100000, signal: ac4.signal }), 'aborted', 'critic from a timer');
});

test('trainICNNMap: conditional map T(x | c) = ∇ₓg(x, c) learns a condition-dependent shift', async () => {
  // c = ±1 with probability ½ each (the same law in both samplers); P | c = N(0, 1), Q | c = N(c, 1), so
  // T*(x | c) = x + c. Error: 100 · E(T − T*)² / Var(Q | c) (an L2-UVP per condition, Var(Q | c) = 1). The identity
  // and every map that ignores c score ≥ 100 % (E c² = 1); this 150-step run (~3.5 s) reaches 0.85–1.0 % for seeds
  // 0..2 (100 steps: 2.8–7.2 %), so 5 % fails any map that does not use the condition.
  const cond = (rng: Rng) => (rng.uniform() < 0.5 ? -1 : 1);
  const P: BatchSampler = (n, rng) => {
    const data = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      data[2 * i] = rng.normal();
      data[2 * i + 1] = cond(rng);
    }
    return { data, rows: n, cols: 2 };
  };
  const Q: BatchSampler = (n, rng) => {
    const data = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      const c = cond(rng);
      data[2 * i] = c + rng.normal();
      data[2 * i + 1] = c;
    }
    return { data, rows: n, cols: 2 };
  };
  const r = await trainICNNMap(P, Q, { ...SHORT, iterations: 150, conditionDim: 1 });
  assert.is(r.dim, 1);
  assert.is(r.conditionDim, 1);
  const X = P(2000, new Rng(5));
  const T = r.map(X);
  assert.is(T.cols, 1);
  assert.is(T.rows, 2000);
  let err = 0;
  for (let i = 0; i < X.rows; i++) err += (T.data[i] - (X.data[2 * i + 1] + X.data[2 * i])) ** 2;
  const rel = (100 * err) / X.rows;
  assert.ok(rel < 5, `conditional error ${rel.toFixed(2)} %`);
});

test('trainKantorovichRubinsteinCritic: W1 between shifted Gaussians (1D and 2D), gradient norms ≈ 1', async () => {
  // Equal covariances, means m and m + s: W1 = ‖s‖ and the optimal critic is linear, φ(x) = −⟨s/‖s‖, x⟩.
  // With the gradient penalty λ(‖∇φ‖ − 1)² the penalised optimum over linear critics has slope 1 + W1/(2λ)
  // (critic.ts header), so the WGAN-GP estimate tends to W1(1 + W1/(2λ)) and w1Normalized (divided by the mean
  // slope) to W1. Sampling error of the final estimate: SE of a mean difference of a unit-slope critic over 4096
  // samples of each unit-variance law = √(2/4096) ≈ 0.022, i.e. ≈ 1.5 % of W1 = 1.5; we allow 5 % (≈ 3 SE at W1 =
  // 1.5, more at W1 = 2) for both, which an untrained or sign-wrong critic misses by far.
  const lambda = 10;
  const cases = [
    { name: '1D', P: gaussianBatchSampler([0], [1]), Q: gaussianBatchSampler([2], [1]), w1: 2, probe: sampleGaussian(2000, [1], [1], { seed: 4 }) },
    {
      name: '2D',
      P: gaussianBatchSampler([0, 0], [1, 0.3, 0.3, 0.8]),
      Q: gaussianBatchSampler([0.9, 1.2], [1, 0.3, 0.3, 0.8]),
      w1: 1.5,
      probe: sampleGaussian(2000, [0.45, 0.6], [1, 0.3, 0.3, 0.8], { seed: 4 }),
    },
  ];
  for (const c of cases) {
    const t0 = Date.now();
    const r = await trainKantorovichRubinsteinCritic(c.P, c.Q, { hidden: [32, 32], batchSize: 128, iterations: 200, lr: 5e-3, lambda, seed: 1 });
    const seconds = (Date.now() - t0) / 1000;
    const biased = c.w1 * (1 + c.w1 / (2 * lambda));
    assert.ok(Math.abs(r.w1Estimate - biased) <= 0.05 * c.w1, `${c.name}: WGAN-GP estimate ${r.w1Estimate} vs W1(1 + W1/2λ) = ${biased} (${seconds} s)`);
    assert.ok(Math.abs(r.w1Normalized - c.w1) <= 0.05 * c.w1, `${c.name}: normalised estimate ${r.w1Normalized} vs W1 = ${c.w1}`);
    // gradient norms on samples around the middle: ≈ 1 (at most the penalised slope 1 + W1/2λ, plus slack)
    const gn = r.gradNorm(c.probe);
    const meanGn = gn.reduce((s, v) => s + v, 0) / gn.length;
    const maxGn = gn.reduce((m, v) => Math.max(m, v), 0);
    assert.ok(meanGn > 0.85 && meanGn < 1 + c.w1 / (2 * lambda) + 0.05, `${c.name}: mean ‖∇φ‖ ${meanGn}`);
    assert.ok(maxGn < 1.35, `${c.name}: max ‖∇φ‖ ${maxGn}`);
    assert.is(r.history.length, 200);
  }
});

test('trainICNNMap emaDecay: training unchanged, g averaged (still an ICNN), the Bures map to L2-UVP ≤ 5 % as without', async () => {
  const P = gaussianBatchSampler(SRC.mean, SRC.cov);
  const Q = gaussianBatchSampler(TGT.mean, TGT.cov);
  const last = await trainICNNMap(P, Q, SHORT);
  const avg = await trainICNNMap(P, Q, { ...SHORT, emaDecay: 0.99 });
  assert.equal(avg.history, last.history, 'the average does not change training');
  assert.equal(avg.f.save().params, last.f.save().params, 'f is the last iterate');
  assert.ok(avg.g.save().params.some((p, i) => p.data.some((v, j) => v !== last.g.save().params[i].data[j])), 'g is averaged');
  for (const w of avg.g.wz) assert.ok(w.toArray().every((v) => v >= 0), 'the averaged g keeps non-negative Wz');
  const uvpLast = gaussianL2UVP(last.map, SRC, TGT, { n: 4096, seed: 11 });
  const uvpAvg = gaussianL2UVP(avg.map, SRC, TGT, { n: 4096, seed: 11 });
  console.log(`  ICNN D=2 L2-UVP averaged g ${uvpAvg.toFixed(2)} % vs last ${uvpLast.toFixed(2)} %`);
  assert.ok(uvpAvg <= 5, `L2-UVP ${uvpAvg} % > 5 %`);
  await rejectsWith(trainICNNMap(P, Q, { ...SHORT, emaDecay: 1 }), 'invalid-option', 'emaDecay 1');
});

test.run();
