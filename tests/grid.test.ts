// The grid geometry: its separable kernel must give what the same problem gives on the grid's cost matrix
// (the dense js engine and the network simplex are the oracles), and a grid barycenter is the convolutional one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng, barycenter, convolutionalBarycenter, emd, grid, pointCloud, sinkhorn, sinkhornUnbalanced } from 'kantorovich';
import { closeArrays, expectOTError, randomWeights, relErr } from './helpers.js';

const H = 6;
const W = 5;

function image(rng: Rng, zeros = false): Float64Array {
  return randomWeights(rng, H * W, zeros);
}

test('grid(): sizes and spacing are checked; costs are the squared distances of the pixel centres', async () => {
  await expectOTError('invalid-option', async () => grid({ height: 0, width: 3 }));
  await expectOTError('invalid-option', async () => grid({ height: 2.5, width: 3 }));
  await expectOTError('invalid-option', async () => grid({ height: 2, width: 3, spacing: -1 }));
  await expectOTError('invalid-option', async () => grid({ height: 2, width: 3, spacing: [1, NaN] }));
  const g = grid({ height: H, width: W, spacing: [0.5, 2] });
  const C = g.dense();
  const centres = g.toPointCloud();
  for (let i = 0; i < g.rows; i++)
    for (let j = 0; j < g.cols; j++) {
      const ri = Math.floor(i / W), ci = i % W, rj = Math.floor(j / W), cj = j % W;
      const want = ((ri - rj) * 0.5) ** 2 + ((ci - cj) * 2) ** 2;
      assert.ok(Math.abs(C.data[i * g.cols + j] - want) < 1e-12, `C[${i},${j}]`);
      assert.ok(Math.abs(centres.costAt(i, j) - want) < 1e-12, `centres ${i},${j}`);
    }
  // default: the grid spans [0, 1]² (POT's convolutional convention)
  const u = grid({ height: H, width: W });
  assert.ok(Math.abs(u.costAt(0, H * W - 1) - 2) < 1e-12);
});

test('sinkhorn on a grid = sinkhorn on its cost matrix (value, potentials, plan, lazy plan products)', async () => {
  const rng = new Rng(7);
  for (const [spacing, reg] of [[undefined, 0.02], [[1, 0.5] as [number, number], 0.3]] as const) {
    const g = grid({ height: H, width: W, spacing });
    const a = image(rng, true);
    const b = image(rng);
    const opts = { reg, tol: 1e-12, maxIter: 20000, method: 'log' as const, backend: 'js' as const };
    const sep = await sinkhorn(a, b, g, opts);
    const den = await sinkhorn(a, b, g.dense(), opts);
    assert.is(sep.status, 'converged');
    assert.ok(relErr(sep.value, den.value) < 1e-9, `value ${sep.value} vs ${den.value}`);
    closeArrays(sep.potentials.g, den.potentials.g, 1e-7, 'g');
    closeArrays(sep.plan.toDense(), den.plan.toDense(), 1e-7, 'plan');
    // lazy plan: products with signed V
    const lazy = await sinkhorn(a, b, g, { ...opts, plan: false });
    const V = Float64Array.from({ length: H * W * 3 }, () => rng.uniform() - 0.5);
    closeArrays(lazy.plan.apply(V, 3), den.plan.apply(V, 3), 1e-7, 'P·V');
    closeArrays(lazy.plan.applyTranspose(V, 3), den.plan.applyTranspose(V, 3), 1e-7, 'Pᵀ·V');
  }
});

test('unbalanced Sinkhorn on a grid = on its cost matrix', async () => {
  const rng = new Rng(8);
  const g = grid({ height: H, width: W });
  const a = image(rng).map((x) => 2 * x);
  const b = image(rng);
  const opts = { reg: 0.05, regM: 0.5, tol: 1e-12, maxIter: 20000, backend: 'js' as const };
  const sep = await sinkhornUnbalanced(a, b, g, opts);
  const den = await sinkhornUnbalanced(a, b, g.dense(), opts);
  assert.ok(relErr(sep.value, den.value) < 1e-9, `value ${sep.value} vs ${den.value}`);
  closeArrays(sep.plan.toDense(), den.plan.toDense(), 1e-7, 'plan');
});

test('a grid geometry has no wasm/webgpu separable kernel yet: forcing one is backend-unavailable', async () => {
  const rng = new Rng(9);
  await expectOTError('backend-unavailable', () => sinkhorn(image(rng), image(rng), grid({ height: H, width: W }), { reg: 0.1, backend: 'wasm' }));
});

test('emd on a grid = emd on its cost matrix and on its pixel centres (certified)', async () => {
  const rng = new Rng(10);
  const g = grid({ height: H, width: W, spacing: 0.3 });
  const a = image(rng, true);
  const b = image(rng);
  const r = await emd(a, b, g);
  const d = await emd(a, b, g.dense());
  assert.ok(Math.abs(r.value - d.value) <= 1e-12 * Math.max(1, d.value), `${r.value} vs ${d.value}`);
  const X = g.toPointCloud().X;
  const p = await emd(a, b, pointCloud(X, X));
  assert.ok(Math.abs(r.value - p.value) <= 1e-12 * Math.max(1, p.value));
});

test('barycenter on a grid = the convolutional barycenter (default spacing) and = the fixed-support one on its matrix', async () => {
  const rng = new Rng(11);
  const A = { data: new Float64Array(3 * H * W), rows: 3, cols: H * W };
  for (let t = 0; t < 3; t++) A.data.set(image(rng), t * H * W);
  const conv = await convolutionalBarycenter(A, { height: H, width: W, reg: 0.05, tol: 1e-11, maxIter: 5000, method: 'log' });
  const viaGrid = await barycenter(A, grid({ height: H, width: W }), { reg: 0.05, tol: 1e-11, maxIter: 5000, method: 'log' });
  closeArrays(viaGrid.barycenter, conv.barycenter, 1e-9, 'grid vs convolutional');
  const g = grid({ height: H, width: W, spacing: [0.4, 0.7] });
  const sep = await barycenter(A, g, { reg: 0.1, tol: 1e-11, maxIter: 5000, method: 'log' });
  const den = await barycenter(A, g.dense(), { reg: 0.1, tol: 1e-11, maxIter: 5000, method: 'log', backend: 'js' });
  closeArrays(sep.barycenter, den.barycenter, 1e-6, 'grid vs its cost matrix');
  assert.ok(relErr(sep.value, den.value) < 1e-6, `value ${sep.value} vs ${den.value}`);
});

test('a grid geometry crosses to a worker', async () => {
  const rng = new Rng(12);
  const g = grid({ height: H, width: W });
  const a = image(rng);
  const b = image(rng);
  const inProcess = await sinkhorn(a, b, g, { reg: 0.05, tol: 1e-10, worker: false, plan: false });
  const inWorker = await sinkhorn(a, b, g, { reg: 0.05, tol: 1e-10, worker: true, plan: false });
  assert.ok(relErr(inWorker.value, inProcess.value) < 1e-12);
  const V = Float64Array.from({ length: H * W }, () => rng.uniform());
  closeArrays(inWorker.plan.apply(V, 1), inProcess.plan.apply(V, 1), 1e-12, 'lazy plan after the worker');
});

test.run();
