// The entropic barycenters as one IBP iteration over a geometry's kernel (ts/barycenter/): progress reports,
// ε-scaling, threads, and the webgpu kernels (f32) against the js reference (f64) — fixed support on the
// entropic engines (EntropicEngine.fUpdateColLse), convolutional on the grid kernel — including POT's
// fixtures (tests/fixtures/pot/entropic-barycenter.json, entropic-convolutional.json) on webgpu.
//
// f32 tolerances (webgpu): the kernels run the same steps as js in f32; a relative error δ in (f + g − C)/ε is
// a relative error δ in the plans, hence in the barycenter. Observed on lavapipe: ≤ 2e-7 of the largest entry
// at reg 0.02 (4e-5 on POT's fixtures); F32_REL leaves a wide margin. webgpu stops at its default tol (1e-5).
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng, barycenter, convolutionalBarycenter, pointCloud } from 'kantorovich';
import { closeArrays, expectOTError, webgpuGate } from './helpers.js';

const F32_REL = 2e-3;
/** The marginal error of f32 plans stalls near 1e-5 (5e-5 for one of POT's cases in the scaling form): stop above it. */
const F32_TOL = 1e-4;

function histograms(rng: Rng, k: number, n: number): number[][] {
  return Array.from({ length: k }, () => {
    const c = rng.uniform() * n;
    const s = 1 + rng.uniform() * n * 0.1;
    return Array.from({ length: n }, (_, i) => Math.exp(-(((i - c) / s) ** 2)) + 0.05 * rng.uniform());
  });
}

function cost(n: number, nb: number): number[][] {
  const x = (i: number, len: number) => (len === 1 ? 0.5 : i / (len - 1));
  return Array.from({ length: n }, (_, i) => Array.from({ length: nb }, (_, j) => (x(i, n) - x(j, nb)) ** 2));
}

function images(rng: Rng, k: number, h: number, w: number): number[][] {
  return Array.from({ length: k }, () => {
    const ci = rng.uniform() * h;
    const cj = rng.uniform() * w;
    return Array.from({ length: h * w }, (_, q) => Math.exp(-((Math.floor(q / w) - ci) ** 2 + ((q % w) - cj) ** 2) / 6) + 1e-3);
  });
}

type Progress = { iterations: number; error: number; eps: number };

test('onProgress: every 10 iterations and at the last, with the stopping measure and ε; status and threads in the result', async () => {
  const rng = new Rng(3);
  const A = histograms(rng, 3, 20);
  const M = cost(20, 15);
  for (const backend of ['js', 'wasm'] as const) {
    for (const method of ['scaling', 'log'] as const) {
      const seen: Progress[] = [];
      const r = await barycenter(A, M, { reg: 0.05, method, backend, maxIter: 35, tol: 0, onProgress: (p) => seen.push(p) });
      const what = `${backend} ${method}`;
      assert.equal(seen.map((p) => p.iterations), [10, 20, 30, 35], `${what}: iterations reported`);
      assert.ok(seen.every((p) => p.eps === 0.05 && Number.isFinite(p.error)), `${what}: eps and error`);
      assert.is(seen[seen.length - 1].error, r.error, `${what}: last report = result`);
      assert.is(r.status, 'max-iterations');
      assert.is(r.threads, 1);
      const c = await barycenter(A, M, { reg: 0.05, method, backend, tol: 1e-9 });
      assert.is(c.status, 'converged');
      assert.ok(c.error < 1e-9);
    }
    const seen: Progress[] = [];
    const imgs = images(rng, 2, 6, 5);
    const r = await convolutionalBarycenter(imgs, { height: 6, width: 5, reg: 0.05, backend, maxIter: 12, tol: 0, onProgress: (p) => seen.push(p) });
    assert.equal(seen.map((p) => p.iterations), [10, 12], `${backend} convolutional: iterations reported`);
    assert.is(r.status, 'max-iterations');
  }
});

test('epsScaling: ε decreases to reg, the barycenter is the one without it (fixed support and convolutional, log at small reg)', async () => {
  const rng = new Rng(5);
  const A = histograms(rng, 3, 40);
  const M = cost(40, 30);
  for (const backend of ['js', 'wasm'] as const) {
    const reg = 2e-3;
    const seen: Progress[] = [];
    const annealed = await barycenter(A, M, { reg, backend, epsScaling: true, tol: 1e-10, maxIter: 20000, onProgress: (p) => seen.push(p) });
    const plain = await barycenter(A, M, { reg, backend, method: 'log', tol: 1e-10, maxIter: 20000 });
    assert.ok(annealed.status === 'converged' && plain.status === 'converged', `${backend}: both converge`);
    const eps = seen.map((p) => p.eps);
    assert.ok(eps[0] === 1 && eps.every((e, i) => i === 0 || e <= eps[i - 1]) && eps[eps.length - 1] === reg, `${backend}: ε schedule ${[...new Set(eps)].join(', ')}`);
    closeArrays(annealed.barycenter, plain.barycenter, 1e-6, `${backend}: annealed vs plain`);
    const custom = await barycenter(A, M, { reg, backend, epsScaling: { start: 0.1, factor: 0.25 }, tol: 1e-10, maxIter: 20000, onProgress: (p) => seen.push(p) });
    closeArrays(custom.barycenter, plain.barycenter, 1e-6, `${backend}: custom schedule vs plain`);
    const imgs = images(rng, 2, 10, 8);
    const ca = await convolutionalBarycenter(imgs, { height: 10, width: 8, reg: 0.004, backend, epsScaling: true, tol: 1e-11, maxIter: 20000 });
    const cp = await convolutionalBarycenter(imgs, { height: 10, width: 8, reg: 0.004, backend, method: 'log', tol: 1e-11, maxIter: 20000 });
    closeArrays(ca.barycenter, cp.barycenter, 1e-6, `${backend}: convolutional annealed vs plain`);
  }
  // as sinkhorn: annealing is for the log domain
  await expectOTError('invalid-option', () => barycenter(A, M, { reg: 0.01, method: 'scaling', epsScaling: true }), 'epsScaling with scaling');
  await expectOTError('invalid-option', () => convolutionalBarycenter(images(rng, 2, 4, 4), { height: 4, width: 4, reg: 0.01, method: 'scaling', epsScaling: true }), 'conv epsScaling with scaling');
});

test('threads: a barycenter split over two wasm threads = one thread', async () => {
  const rng = new Rng(9);
  const n = 700;
  const A = histograms(rng, 2, n);
  const M = cost(n, n);
  for (const method of ['scaling', 'log'] as const) {
    const one = await barycenter(A, M, { reg: 0.02, method, backend: 'wasm', threads: 1, maxIter: 40, tol: 0 });
    const two = await barycenter(A, M, { reg: 0.02, method, backend: 'wasm', threads: 2, maxIter: 40, tol: 0 });
    assert.is(one.threads, 1);
    assert.ok(two.threads >= 1, `threads ${two.threads}`);
    closeArrays(two.barycenter, one.barycenter, 1e-12, `${method}: 2 threads vs 1`);
  }
});

/** Histograms on a 2D cloud, the barycenter on another (the cost ‖x − y‖² computed by the engines). */
function cloudProblem(): { A: number[][]; X: number[][]; Y: number[][] } {
  const X = Array.from({ length: 20 }, (_, i) => [i / 20, Math.sin(i)]);
  const Y = Array.from({ length: 15 }, (_, j) => [j / 15, Math.cos(j)]);
  const A = [Array.from({ length: 20 }, (_, i) => 1 + (i % 3)), Array.from({ length: 20 }, (_, i) => 1 + (i % 5))];
  return { A, X, Y };
}

test('point clouds: the engines compute the costs; wasm = js', async () => {
  const { A, X, Y } = cloudProblem();
  for (const method of ['scaling', 'log'] as const) {
    const j = await barycenter(A, pointCloud(X, Y), { reg: 0.1, method, backend: 'js' });
    const w = await barycenter(A, pointCloud(X, Y), { reg: 0.1, method, backend: 'wasm' });
    assert.is(w.iterations, j.iterations);
    closeArrays(w.barycenter, j.barycenter, 1e-12, `${method}: wasm vs js`);
  }
});

const { it } = await webgpuGate('barycenter-engine.test');

it('webgpu = js on point clouds (scaling, log)', async () => {
  const { A, X, Y } = cloudProblem();
  for (const method of ['scaling', 'log'] as const) {
    const j = await barycenter(A, pointCloud(X, Y), { reg: 0.1, method, backend: 'js' });
    const g = await barycenter(A, pointCloud(X, Y), { reg: 0.1, method, backend: 'webgpu' });
    closeArrays(g.barycenter, j.barycenter, F32_REL, `${method}: webgpu vs js`);
  }
});

it('webgpu = js: fixed support (scaling, log; weights, non-square) and convolutional (scaling, log; non-square grid)', async () => {
  const rng = new Rng(7);
  const A = histograms(rng, 3, 30);
  const M = cost(30, 25);
  for (const method of ['scaling', 'log'] as const) {
    const opts = { reg: 0.02, method, weights: [0.2, 0.3, 0.5] };
    const j = await barycenter(A, M, { ...opts, backend: 'js' });
    const g = await barycenter(A, M, { ...opts, backend: 'webgpu' });
    assert.is(g.backend, 'webgpu');
    assert.ok(g.status === 'converged' && g.error < 1e-5, `${method}: webgpu converged (error ${g.error})`);
    closeArrays(g.barycenter, j.barycenter, F32_REL, `fixed support ${method}: webgpu vs js`);
  }
  const imgs = images(rng, 2, 12, 9);
  for (const method of ['scaling', 'log'] as const) {
    const opts = { height: 12, width: 9, reg: 0.02, method, weights: [0.4, 0.6] };
    const j = await convolutionalBarycenter(imgs, { ...opts, backend: 'js' });
    const g = await convolutionalBarycenter(imgs, { ...opts, backend: 'webgpu' });
    assert.is(g.backend, 'webgpu');
    assert.ok(g.status === 'converged', `convolutional ${method}: webgpu converged (error ${g.error})`);
    closeArrays(g.barycenter, j.barycenter, F32_REL, `convolutional ${method}: webgpu vs js`);
  }
});

const FIXTURES = new URL('../../tests/fixtures/pot/', import.meta.url);
const load = <T>(name: string): T => JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as T;

it("webgpu matches POT's barycenters (the fixtures of tests/pot-entropic.test.ts, f32 tolerance)", async () => {
  type Bary = { name: string; A: number[][]; M: number[][]; reg: number; weights: number[] | null; barycenter: number[] };
  type Conv = Bary & { height: number; width: number };
  for (const c of load<{ cases: Bary[] }>('entropic-barycenter.json').cases) {
    for (const method of ['scaling', 'log'] as const) {
      const r = await barycenter(c.A, c.M, { reg: c.reg, weights: c.weights ?? undefined, method, backend: 'webgpu', tol: F32_TOL, maxIter: 20000 });
      if (process.env.KANTOROVICH_TEST_VERBOSE) console.log(c.name, method, r.iterations, r.error);
      assert.ok(r.status === 'converged', `${c.name} ${method}: converged (error ${r.error})`);
      closeArrays(r.barycenter, c.barycenter, F32_REL, `${c.name} ${method}: webgpu vs POT`);
    }
  }
  for (const c of load<{ cases: Conv[] }>('entropic-convolutional.json').cases) {
    const r = await convolutionalBarycenter(c.A, { height: c.height, width: c.width, reg: c.reg, weights: c.weights ?? undefined, backend: 'webgpu', tol: F32_TOL, maxIter: 20000 });
    if (process.env.KANTOROVICH_TEST_VERBOSE) console.log(c.name, r.iterations, r.error);
    assert.ok(r.status === 'converged', `${c.name}: converged (error ${r.error})`);
    closeArrays(r.barycenter, c.barycenter, F32_REL, `${c.name}: webgpu vs POT`);
  }
});

test.run();
