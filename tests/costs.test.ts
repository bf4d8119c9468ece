// One definition of the ground cost ‖x − y‖^p per language — TS (ts/costs.ts, the reference), AssemblyScript
// (assembly/cost.ts, through the wasm pairwiseCosts kernel) and WGSL (gpu/kernels.ts, through its
// pairwiseCost kernel) — and the three agree on random points for p ∈ {1, 2, 1.5} (WGSL to f32 rounding).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from 'kantorovich';
import { pointCost, powerOfDistance, powerOfSquaredDistance, toCost } from '../ts/costs.js';
import { wasmKernels } from '../ts/backends/wasm.js';
import { gpuDevice } from '../ts/backends/webgpu.js';
import { pairwiseCost } from '../gpu/kernels.js';
import { COPY_DST, GpuRuntime, UNIFORM } from '../gpu/runtime.js';
import { closeArrays, webgpuGate } from './helpers.js';

const POWERS = [1, 2, 1.5];
const n = 37;
const m = 23;
const d = 3;

function points(seed: number): { X: Float64Array; Y: Float64Array } {
  const rng = new Rng(seed);
  return { X: Float64Array.from({ length: n * d }, () => 4 * rng.uniform() - 2), Y: Float64Array.from({ length: m * d }, () => 4 * rng.uniform() - 2) };
}

function tsCosts(X: Float64Array, Y: Float64Array, power: number): Float64Array {
  const cost = toCost({ p: power });
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out[i * m + j] = pointCost(cost, X, i, Y, j, d);
  return out;
}

test('the TS definition: ‖x − y‖^p from the squared distance and from the distance', () => {
  for (const p of POWERS) {
    for (const t of [0, 1e-3, 0.5, 1, 3.7]) {
      assert.ok(Math.abs(powerOfSquaredDistance(t * t, p) - t ** p) <= 1e-15 * Math.max(1, t ** p), `p ${p} t ${t}`);
      assert.is(powerOfDistance(t, p), p === 1 ? t : p === 2 ? t * t : Math.pow(t, p));
    }
  }
});

test('AssemblyScript (wasm pairwiseCosts) = TS (bit for bit for p = 1, 2), p ∈ {1, 2, 1.5}', async () => {
  const k = await wasmKernels();
  const run = k.fn('pairwiseCosts');
  const { X, Y } = points(1);
  for (const p of POWERS) {
    const s = k.scope();
    try {
      const px = s.put(X);
      const py = s.put(Y);
      const out = s.f64(n * m);
      run(px, py, n, m, d, p, out);
      const got = k.f64(out, n * m).slice();
      // bit-identical for p = 1, 2; for other p, AssemblyScript's Math.pow and V8's may differ in the last bit
      if (p === 1 || p === 2) assert.equal(Array.from(got), Array.from(tsCosts(X, Y, p)), `p ${p}: bit-identical`);
      else closeArrays(got, tsCosts(X, Y, p), 1e-15, `p ${p}: wasm vs TS`);
    } finally {
      s.release();
    }
  }
});

const { it } = await webgpuGate('costs.test');

it('WGSL (pairwiseCost kernel) = TS to f32 rounding, p ∈ {1, 2, 1.5}', async () => {
  const device = await gpuDevice();
  const { X, Y } = points(2);
  for (const p of POWERS) {
    const src = pairwiseCost(d, p, 64);
    const rt = new GpuRuntime(device, 'the cost test');
    const prm = rt.buffer(32, UNIFORM | COPY_DST);
    const ab = new ArrayBuffer(32);
    new Uint32Array(ab, 0, 4).set([n, m, 0, 0]);
    device.queue.writeBuffer(prm, 0, ab);
    const dst = rt.buffer(n * m * 4);
    const pass = rt.dispatch(src, { P: prm, ptsOut: rt.upload(Float32Array.from(X)), ptsIn: rt.upload(Float32Array.from(Y)), dst }, n * m);
    const [f32] = await rt.read([pass], [dst], [n * m]);
    rt.dispose();
    const got = Float64Array.from(f32);
    // f32 inputs and arithmetic: ~1e-7 relative per operation, a few operations deep
    closeArrays(got, tsCosts(X, Y, p), 2e-6, `p ${p}: WGSL vs TS`);
  }
});

test.run();
