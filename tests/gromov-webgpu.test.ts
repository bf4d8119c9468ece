// Entropic Gromov–Wasserstein on the webgpu backend (ts/solvers/gromov-gpu.ts: the products h1·P·h2ᵀ and the
// inner Sinkhorn in f32) against the wasm solve (f64), on whatever adapter this machine has (lavapipe in CI);
// without one the file skips with a reason line (KANTOROVICH_REQUIRE_WEBGPU=1 makes that a failure).
//
// Tolerance: the webgpu solve stops at the f32 floors (inner marginal error 1e-6, outer ‖ΔP‖_F 1e-5 of the mass),
// so it is a slightly earlier point of the same iteration: at n = 60 its value was 4.2e-6 relative off the f64 one.
// VALUE_TOL leaves a 10× margin; the plan's marginals are held to the inner tolerance.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OTError, Rng, gromovWasserstein } from 'kantorovich';
import { normalDistances, webgpuGate } from './helpers.js';

const VALUE_TOL = 5e-5;
const MARGINAL_TOL = 2e-6;

const { it } = await webgpuGate('gromov-webgpu.test');

it('entropic GW on webgpu (products and Sinkhorn in f32) = the wasm f64 solve within f32 tolerance', async () => {
  const rng = new Rng(3);
  const n = 40;
  const m = 33;
  const C1 = normalDistances(rng, n, 2);
  const C2 = normalDistances(rng, m, 3);
  const ref = await gromovWasserstein(C1, C2, { reg: 0.05, backend: 'wasm', worker: false });
  const gpu = await gromovWasserstein(C1, C2, { reg: 0.05, backend: 'webgpu', worker: false });
  assert.is(ref.backend, 'wasm');
  assert.is(gpu.backend, 'webgpu');
  assert.is(gpu.status, 'converged', `${gpu.iterations} iterations, error ${gpu.error}`);
  const rel = Math.abs(gpu.value - ref.value) / ref.value;
  assert.ok(rel <= VALUE_TOL, `value ${gpu.value} vs ${ref.value}: ${rel.toExponential(2)} relative`);
  // the reported value is the loss of the returned plan, whose marginals are a and b within the inner tolerance
  const P = gpu.plan.toDense();
  let worst = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < m; j++) s += P[i * m + j];
    worst += Math.abs(s - 1 / n);
  }
  assert.ok(worst <= MARGINAL_TOL, `row marginal L1 error ${worst}`);
});

it("forced 'webgpu' without reg (the conditional gradient) is refused before any work", async () => {
  const rng = new Rng(4);
  const C = normalDistances(rng, 10, 2);
  try {
    await gromovWasserstein(C, C, { backend: 'webgpu', worker: false });
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.instance(e, OTError);
    assert.is((e as OTError).code, 'backend-unavailable');
    assert.match((e as Error).message, /give reg/);
  }
});

test.run();
