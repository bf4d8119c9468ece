// The f32 engine's range (issue #15 items 4 and 8): the WebGPU scaling method raises 'numerical' where f32's
// exp leaves its range (threshold derived from f32, not guessed) instead of returning a capped plan, and the
// Sinkhorn divergence computed from f32 potentials is never negative.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OTError, Rng, backends, pointCloud, sinkhorn, sinkhornDivergence, sinkhornUnbalanced } from 'kantorovich';
import { F32_SCALING_MAX_EXPONENT } from '../gpu/entropic.js';
import { expectOTError, uniforms } from './helpers.js';

async function gpu(): Promise<boolean> {
  const r = (await backends()).find((x) => x.name === 'webgpu')!;
  if (r.available) return true;
  if (process.env.KANTOROVICH_REQUIRE_WEBGPU === '1') assert.unreachable(`webgpu required but unavailable: ${r.reason}`);
  console.log(`  (skipped: webgpu unavailable here: ${r.reason})`);
  return false;
}

test('the threshold is f32’s: ln 2^126 (smallest normal), below ln FLT_MAX', () => {
  assert.ok(Math.abs(F32_SCALING_MAX_EXPONENT + Math.log(Math.fround(2 ** -126))) < 1e-12);
  assert.ok(F32_SCALING_MAX_EXPONENT < Math.log(3.4028234663852886e38));
  // the f32 facts behind it: e^-87.34 is f32's smallest normal, e^-x below it is denormal, e^88.8 overflows
  assert.is(Math.fround(Math.exp(-F32_SCALING_MAX_EXPONENT)) >= 2 ** -126 * (1 - 1e-6), true);
  assert.is(Math.fround(Math.exp(88.8)), Infinity);
});

test("webgpu scaling beyond f32's range raises 'numerical' (it returned capped or zero plans)", async () => {
  if (!(await gpu())) return;
  // the case: C/reg = 88.4, the unbalanced solver reported converged with ΣP = 1072
  await expectOTError(
    'numerical',
    () => sinkhornUnbalanced([0.5, 0.5], [2], [[0], [0.00325]], { reg: 3.675e-5, regM: 6.23e-4, method: 'scaling', backend: 'webgpu', plan: true, worker: false }),
    'unbalanced, C/reg = 88.4',
  );
  const rng = new Rng(4);
  const k = 12;
  const C = { data: uniforms(rng, k * k), rows: k, cols: k };
  let max = 0;
  let min = Infinity;
  for (const c of C.data) [max, min] = [Math.max(max, c), Math.min(min, c)];
  const range = max - min; // balanced dense: the engine stores C − min C
  await expectOTError('numerical', () => sinkhorn(undefined, undefined, C, { reg: range / 90, method: 'scaling', backend: 'webgpu', worker: false }), 'dense, range/reg = 90');
  const ok = await sinkhorn(undefined, undefined, C, { reg: range / 30, method: 'scaling', backend: 'webgpu', worker: false, maxIter: 2000 });
  const ref = await sinkhorn(undefined, undefined, C, { reg: range / 30, method: 'scaling', backend: 'wasm', worker: false, maxIter: 2000 });
  assert.ok(Math.abs(ok.cost - ref.cost) < 1e-3 * Math.abs(ref.cost), `inside the range it solves: ${ok.cost} vs ${ref.cost}`);
  const X = { data: uniforms(rng, 2 * k), rows: k, cols: 2 };
  const Y = { data: uniforms(rng, 2 * k, 0.5, 1.5), rows: k, cols: 2 };
  await expectOTError('numerical', () => sinkhorn(undefined, undefined, pointCloud(X, Y), { reg: 1e-3, method: 'scaling', backend: 'webgpu', worker: false }), 'points');
  // a 1 × 1 unbalanced problem at reg = 1e-6·C returned cost 0
  await expectOTError('numerical', () => sinkhornUnbalanced([1], [1], [[1]], { reg: 1e-6, regM: 1, method: 'scaling', backend: 'webgpu', worker: false }), '1 × 1');
  // 'auto' never takes the scaling form there: it runs the log domain
  const auto = await sinkhornUnbalanced([0.5, 0.5], [2], [[0], [0.00325]], { reg: 3.675e-5, regM: 6.23e-4, backend: 'webgpu', worker: false });
  assert.ok(auto.cost >= 0 && Number.isFinite(auto.cost));
  void OTError;
});

test('the Sinkhorn divergence is never negative, on f32 and f64 engines (nearly identical clouds)', async () => {
  const rng = new Rng(8);
  const n = 200;
  const X = { data: uniforms(rng, 2 * n), rows: n, cols: 2 };
  const Y = { data: X.data.map((x) => x + 1e-4 * (rng.uniform() - 0.5)), rows: n, cols: 2 };
  const engines = (await gpu()) ? (['webgpu', 'wasm', 'js'] as const) : (['wasm', 'js'] as const);
  for (const backend of engines)
    for (const reg of [0.1, 0.05]) {
      const r = await sinkhornDivergence(X, Y, { reg, backend, worker: false });
      assert.ok(r.value >= 0, `${backend} reg ${reg}: S_ε = ${r.value}`);
      assert.ok(r.value < 1e-6, `${backend} reg ${reg}: S_ε = ${r.value} for clouds 1e-4 apart`);
    }
});

test.run();
