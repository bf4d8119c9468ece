// The trainers' `precision` option (ts/neural/engines.ts): 'f32' trains on the wasm engine's f32 storages. Checked:
// - the engine choice for every backend / precision pair, and the forced combinations no engine can honour
//   ('js' + 'f32', 'webgpu' + 'f64', an unknown name) as OTError('invalid-option') before any sample is drawn;
// - trainNOT and trainICNNMap in f32 on a Gaussian → Gaussian pair in D = 2 against the closed-form Bures map
//   (the oracle, ts/neural/gaussian.ts) and against the same seeded run in f64: the returned weights are f32
//   values (so the run really was f32), the first step's losses agree with f64 to f32 rounding, and the final maps
//   are as good as the f64 ones (L2-UVP thresholds as in neural-not / neural-train; measured: NOT 0.32 % f32 vs
//   0.32 % f64 with f's default quadratic form, the maps < 0.01 % of the target's spread apart at worst (without the
//   form 4.46 % vs 4.50 %, 1.8 % apart); ICNN 0.27 % vs 0.27 %, 2e-7 apart: its
//   min–max follows the f64 trajectory to f32 rounding). The gap bound, 10 % of the spread, fails a run whose f32
//   arithmetic went wrong while leaving room for the NOT max–min's divergence of trajectories.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import 'kantorovich'; // registers the wasm binary
import { tensorEngine } from '../ts/neural/engines.js';
import { WasmTensorEngine } from '../ts/neural/wasm-engine.js';
import {
  type MLP,
  type NOTSampler,
  gaussianBatchSampler,
  gaussianL2UVP,
  randomGaussianPair,
  sampleGaussian,
  trainICNNMap,
  trainKantorovichRubinsteinCritic,
  trainNOT,
} from '../ts/neural/index.js';
import type { ICNN } from '../ts/neural/models.js';
import { expectOTError } from './helpers.js';

const rejectsWith = (p: Promise<unknown>, code: string, what: string): Promise<void> => expectOTError(code, () => p, what);

/** Every parameter of the networks is a float32 value (what an f32 run copies back). */
function allF32(nets: (MLP | ICNN)[]): boolean {
  return nets.every((n) => n.parameters().every((t) => Array.from(t.data).every((v) => Math.fround(v) === v)));
}

/** max over rows of ‖a − b‖, over the rms spread of b around its mean. */
function relGap(a: Float64Array, b: Float64Array, d: number): number {
  const n = b.length / d;
  const m = new Float64Array(d);
  for (let i = 0; i < b.length; i++) m[i % d] += b[i] / n;
  let spread = 0;
  for (let i = 0; i < b.length; i++) spread += (b[i] - m[i % d]) ** 2 / n;
  let worst = 0;
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += (a[r * d + k] - b[r * d + k]) ** 2;
    worst = Math.max(worst, Math.sqrt(s));
  }
  return worst / Math.sqrt(spread);
}

test('precision: the engine for each backend / precision pair; impossible forced pairs are invalid-option', async () => {
  const pick = async (b?: 'js' | 'wasm' | 'auto', p?: 'f64' | 'f32'): Promise<string> => {
    const E = await tensorEngine(b, p);
    return E instanceof WasmTensorEngine ? `wasm-${E.precision}` : E.name;
  };
  assert.is(await pick(), 'wasm-f64');
  assert.is(await pick(undefined, 'f32'), 'wasm-f32');
  assert.is(await pick('wasm'), 'wasm-f64');
  assert.is(await pick('wasm', 'f32'), 'wasm-f32');
  assert.is(await pick('wasm', 'f64'), 'wasm-f64');
  assert.is(await pick('js', 'f64'), 'js');
  assert.is(await pick('auto', 'f64'), 'wasm-f64', "'auto' with f64 stays on the CPU");
  await expectOTError('invalid-option', () => tensorEngine('js', 'f32'), "'js' + 'f32'");
  await expectOTError('invalid-option', () => tensorEngine('webgpu', 'f64'), "'webgpu' + 'f64'");
  await expectOTError('invalid-option', () => tensorEngine('wasm', 'f16' as 'f32'), 'unknown precision');
});

test('precision: the trainers reject impossible pairs before drawing a sample', async () => {
  let draws = 0;
  const s = gaussianBatchSampler([0, 0], [1, 0, 0, 1]);
  const counting = (n: number, r: Parameters<typeof s>[1]) => (draws++, s(n, r));
  await rejectsWith(trainNOT(counting, s, { backend: 'js', precision: 'f32' }), 'invalid-option', 'trainNOT js + f32');
  await rejectsWith(trainICNNMap(counting, s, { backend: 'js', precision: 'f32' }), 'invalid-option', 'trainICNNMap js + f32');
  await rejectsWith(trainKantorovichRubinsteinCritic(counting, s, { backend: 'js', precision: 'f32' }), 'invalid-option', 'critic js + f32');
  await rejectsWith(trainNOT(counting, s, { backend: 'webgpu', precision: 'f64' }), 'invalid-option', 'trainNOT webgpu + f64');
  await rejectsWith(trainNOT(counting, s, { precision: 'f16' as 'f32' }), 'invalid-option', 'trainNOT f16');
  assert.is(draws, 0, 'nothing drawn');
});

// the pair and small networks of neural-not.test.ts's deterministic-map test (L2-UVP ≤ 10 %, identity 65 %)
const pair = randomGaussianPair(2, { seed: 3, cond: 4 });
const gaussP: NOTSampler = (n, rng) => sampleGaussian(n, pair.source.mean, pair.source.cov, { seed: rng });
const gaussQ: NOTSampler = (n, rng) => sampleGaussian(n, pair.target.mean, pair.target.cov, { seed: rng });
const SMALL = { hiddenT: [32, 32], hiddenF: [32, 32], batchSize: 64, innerSteps: 5, lrT: 2e-3, lrF: 2e-3, iterations: 150, seed: 1 };

test("trainNOT precision 'f32': f32 weights, the f64 run's first losses, the Bures map to L2-UVP ≤ 10 % as f64", async () => {
  const r64 = await trainNOT(gaussP, gaussQ, SMALL);
  const r32 = await trainNOT(gaussP, gaussQ, { ...SMALL, precision: 'f32' });
  assert.ok(allF32([r32.T, r32.f]), 'the f32 run returns float32 weights');
  assert.not.ok(allF32([r64.T, r64.f]), 'the f64 run does not');
  const h32 = r32.history[0];
  const h64 = r64.history[0];
  for (const k of ['loss', 'lossF', 'lossT'] as const) {
    assert.ok(Math.abs(h32[k] - h64[k]) <= 1e-4 * (1 + Math.abs(h64[k])), `step 1 ${k}: f32 ${h32[k]} vs f64 ${h64[k]}`);
  }
  const uvp64 = gaussianL2UVP((x) => r64.map(x), pair.source, pair.target, { n: 4096, seed: 9 });
  const uvp32 = gaussianL2UVP((x) => r32.map(x), pair.source, pair.target, { n: 4096, seed: 9 });
  const X = sampleGaussian(512, pair.source.mean, pair.source.cov, { seed: 10 });
  const gap = relGap(r32.map(X).data, r64.map(X).data, 2);
  console.log(`  NOT D=2 L2-UVP f32 ${uvp32.toFixed(2)} % vs f64 ${uvp64.toFixed(2)} %; max map gap ${(100 * gap).toFixed(2)} % of the spread`);
  assert.ok(uvp32 <= 10 && uvp64 <= 10, `L2-UVP f32 ${uvp32} %, f64 ${uvp64} %`);
  assert.ok(gap < 0.1, `the f32 and f64 maps differ by ${gap} of the target spread`);
});

test("trainICNNMap precision 'f32': f32 weights, the Bures map to L2-UVP ≤ 5 % as f64", async () => {
  const SRC = { mean: [0, 0], cov: [1, 0, 0, 1] };
  const TGT = { mean: [1, -0.5], cov: [2, 0.6, 0.6, 0.8] };
  const opts = { hidden: [32, 32], batchSize: 128, iterations: 100, innerSteps: 4, lr: 1e-2, lrDecay: 0.1, seed: 0 };
  const P = gaussianBatchSampler(SRC.mean, SRC.cov);
  const Q = gaussianBatchSampler(TGT.mean, TGT.cov);
  const r64 = await trainICNNMap(P, Q, opts);
  const r32 = await trainICNNMap(P, Q, { ...opts, precision: 'f32' });
  assert.ok(allF32([r32.g, r32.f]), 'the f32 run returns float32 weights');
  assert.not.ok(allF32([r64.g, r64.f]), 'the f64 run does not');
  const uvp64 = gaussianL2UVP(r64.map, SRC, TGT, { n: 4096, seed: 11 });
  const uvp32 = gaussianL2UVP(r32.map, SRC, TGT, { n: 4096, seed: 11 });
  const X = sampleGaussian(512, SRC.mean, SRC.cov, { seed: 12 });
  const gap = relGap(r32.map(X).data, r64.map(X).data, 2);
  console.log(`  ICNN D=2 L2-UVP f32 ${uvp32.toFixed(2)} % vs f64 ${uvp64.toFixed(2)} %; max map gap ${(100 * gap).toPrecision(2)} % of the spread`);
  assert.ok(uvp32 <= 5 && uvp64 <= 5, `L2-UVP f32 ${uvp32} %, f64 ${uvp64} %`);
  assert.ok(gap < 0.1, `the f32 and f64 maps differ by ${gap} of the target spread`);
});

test.run();
