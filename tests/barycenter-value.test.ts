// The objective of the entropic barycenters (result.value = Σ_k λ_k OT_ε(a_k, p), POT's entropic term) against
// its definition: one Sinkhorn solve per histogram between a_k and the returned barycenter p.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng, barycenter, convolutionalBarycenter, sinkhorn } from 'kantorovich';
import { uniforms } from './helpers.js';

async function objective(A: Float64Array[], p: Float64Array, C: { data: Float64Array; rows: number; cols: number }, lambda: number[], reg: number): Promise<number> {
  let v = 0;
  for (let t = 0; t < A.length; t++) {
    const r = await sinkhorn(A[t], p, C, { reg, method: 'log', tol: 1e-13, maxIter: 100000, normalize: true });
    v += lambda[t] * r.regValue;
  }
  return v;
}

test('fixed support: value = Σ λ_k OT_ε(a_k, p) on every backend and method', async () => {
  const rng = new Rng(8);
  const n = 9;
  const nb = 7;
  const C = { data: Float64Array.from({ length: n * nb }, (_, k) => (Math.floor(k / nb) / (n - 1) - (k % nb) / (nb - 1)) ** 2), rows: n, cols: nb };
  const A = [uniforms(rng, n, 0.1, 1), uniforms(rng, n, 0.1, 1)].map((a) => a.map((x) => x / a.reduce((s, y) => s + y, 0)));
  const lambda = [0.3, 0.7];
  for (const backend of ['wasm', 'js'] as const)
    for (const method of ['scaling', 'log'] as const) {
      const r = await barycenter(A.map((a) => Array.from(a)), C, { reg: 0.05, weights: lambda, method, backend, tol: 1e-13, maxIter: 20000 });
      assert.is(r.status, 'converged');
      const want = await objective(A, r.barycenter, C, lambda, 0.05);
      assert.ok(Math.abs(r.value - want) < 1e-8 * (1 + Math.abs(want)), `${backend} ${method}: ${r.value} vs ${want}`);
    }
});

test('convolutional: value = Σ λ_k OT_ε(a_k, p) for the grid cost', async () => {
  const h = 5;
  const w = 4;
  const rng = new Rng(9);
  const imgs = [uniforms(rng, h * w, 0.05, 1), uniforms(rng, h * w, 0.05, 1)].map((a) => a.map((x) => x / a.reduce((s, y) => s + y, 0)));
  const C = new Float64Array((h * w) ** 2);
  for (let p = 0; p < h * w; p++)
    for (let q = 0; q < h * w; q++) C[p * h * w + q] = ((Math.floor(p / w) - Math.floor(q / w)) / (h - 1)) ** 2 + (((p % w) - (q % w)) / (w - 1)) ** 2;
  for (const method of ['scaling', 'log'] as const) {
    const r = await convolutionalBarycenter(imgs.map((a) => Array.from(a)), { height: h, width: w, reg: 0.1, method, tol: 1e-14, maxIter: 20000, backend: 'wasm' });
    const want = await objective(imgs, r.barycenter, { data: C, rows: h * w, cols: h * w }, [0.5, 0.5], 0.1);
    assert.ok(Math.abs(r.value - want) < 1e-7 * (1 + Math.abs(want)), `${method}: ${r.value} vs ${want}`);
  }
});

test.run();
