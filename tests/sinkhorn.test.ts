// Entropic solvers (on whichever engine `auto` picks, and on the js reference engine): convergence,
// stability at small reg, limits, divergences and their gradients, unbalanced OT, barycenters.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  OTError,
  backends,
  Rng,
  convolutionalBarycenter,
  costMatrix,
  emd,
  freeSupportBarycenter,
  pointCloud,
  sinkhorn,
  sinkhornDivergence,
  sinkhornUnbalanced,
} from 'kantorovich';
import { WasmEntropicEngine } from '../ts/backends/wasm-entropic.js';

function cloud(rng: Rng, n: number, d: number, shift = 0) {
  return { data: Float64Array.from({ length: n * d }, () => rng.uniform() + shift), rows: n, cols: d };
}

function weights(rng: Rng, n: number) {
  const w = Float64Array.from({ length: n }, () => 0.2 + rng.uniform());
  const s = w.reduce((x, y) => x + y, 0);
  return w.map((x) => x / s);
}

test('tol 0 with nobody waiting runs the iterations in one step: one measure instead of one per 10; same result', async () => {
  const rng = new Rng(41);
  const X = cloud(rng, 40, 2);
  const Y = cloud(rng, 30, 2, 0.3);
  const M = costMatrix(X, Y).M;
  const proto = WasmEntropicEngine.prototype;
  const original = proto.marginalError;
  let measures = 0;
  proto.marginalError = function (this: WasmEntropicEngine) {
    measures++;
    return original.call(this);
  };
  try {
    for (const method of ['scaling', 'log'] as const) {
      const base = { reg: 0.05, method, maxIter: 57, tol: 0, backend: 'wasm' as const, threads: 1, worker: false as const };
      measures = 0;
      const once = await sinkhorn(undefined, undefined, M, base);
      const onceMeasures = measures;
      measures = 0;
      const every = await sinkhorn(undefined, undefined, M, { ...base, checkEvery: 10 });
      assert.is(onceMeasures, 1, `${method}: one measure`);
      assert.is(measures, 6, `${method}: one measure per 10 iterations with checkEvery`);
      assert.is(once.iterations, 57);
      assert.is(every.iterations, 57);
      assert.ok(Math.abs(once.value - every.value) <= 1e-12 * Math.abs(every.value), `${method}: ${once.value} vs ${every.value}`);
      assert.ok(Math.abs(once.error - every.error) <= 1e-9 * every.error + 1e-15, `${method}: error ${once.error} vs ${every.error}`);
      // a progress callback or a signal keeps the checks (they are what those wait on)
      let reports = 0;
      await sinkhorn(undefined, undefined, M, { ...base, onProgress: () => reports++ });
      assert.is(reports, 6, `${method}: progress every 10 iterations`);
    }
  } finally {
    proto.marginalError = original;
  }
});

test('balanced: marginals within tol at convergence, both methods, dense and point clouds', async () => {
  const rng = new Rng(1);
  for (let t = 0; t < 8; t++) {
    const n = 5 + t * 7;
    const m = 4 + t * 5;
    const X = cloud(rng, n, 2);
    const Y = cloud(rng, m, 2);
    const a = weights(rng, n);
    const b = weights(rng, m);
    for (const method of ['scaling', 'log'] as const) {
      for (const geom of [costMatrix(X, Y), pointCloud(X, Y)]) {
        const r = await sinkhorn(a, b, geom, { reg: 0.05, method, tol: 1e-10, maxIter: 20000 });
        assert.ok((r.status === 'converged'), `${method} ${geom.kind} converged`);
        const P = r.plan!.toDense();
        let err = 0;
        for (let j = 0; j < m; j++) {
          let s = 0;
          for (let i = 0; i < n; i++) s += P[i * m + j];
          err += Math.abs(s - b[j]);
        }
        for (let i = 0; i < n; i++) err += Math.abs(P.subarray(i * m, i * m + m).reduce((x, y) => x + y, 0) - a[i]);
        assert.ok(err < 1e-9, `${method} ${geom.kind}: marginal error ${err}`);
        // regCost (POT's objective) recomputed from the plan
        let obj = 0;
        const C = costMatrix(X, Y).M.data;
        for (let k = 0; k < n * m; k++) if (P[k] > 0) obj += P[k] * C[k] + 0.05 * P[k] * (Math.log(P[k]) - 1);
        assert.ok(Math.abs(obj - r.regValue) < 1e-10, `regCost ${r.regValue} vs ${obj}`);
      }
    }
  }
});

test('small reg (1e-3 of the cost scale): log domain converges with finite output; scaling fails loudly', async () => {
  const rng = new Rng(2);
  const X = cloud(rng, 30, 2);
  const Y = cloud(rng, 25, 2);
  const M = costMatrix(X, Y);
  const scale = Math.max(...M.M.data);
  const reg = 1e-3 * scale;
  const r = await sinkhorn(undefined, undefined, M, { reg, method: 'log', tol: 1e-6, maxIter: 200000, epsScaling: true });
  assert.ok((r.status === 'converged') && r.error < 1e-6, `converged ${(r.status === 'converged')} after ${r.iterations}, error ${r.error}`);
  assert.ok([...r.potentials.f, ...r.potentials.g, ...r.plan!.toDense()].every(Number.isFinite));
  // the auto method picks the log domain here
  assert.is((await sinkhorn(undefined, undefined, M, { reg, maxIter: 10 })).method, 'log');
  try {
    await sinkhorn(undefined, undefined, M, { reg: 1e-4 * scale, method: 'scaling', maxIter: 1000 });
    assert.unreachable('scaling should overflow');
  } catch (e) {
    assert.instance(e, OTError);
    assert.is((e as OTError).code, 'numerical');
  }
});

test('reg → 0: the entropic cost approaches the exact (emd) cost', async () => {
  const rng = new Rng(3);
  const X = cloud(rng, 20, 2);
  const Y = cloud(rng, 20, 2);
  const exact = (await emd(undefined, undefined, pointCloud(X, Y))).cost;
  let prevGap = Infinity;
  for (const reg of [1e-1, 1e-2, 1e-3, 1e-4]) {
    const r = await sinkhorn(undefined, undefined, pointCloud(X, Y), { reg, epsScaling: true, tol: 1e-10, maxIter: 500000 });
    const gap = r.cost - exact;
    assert.ok(gap > -1e-9, `entropic plan cannot beat the optimum (reg ${reg}: ${gap})`);
    assert.ok(gap < prevGap + 1e-12, `gap shrinks with reg (reg ${reg}: ${gap} vs ${prevGap})`);
    prevGap = gap;
  }
  assert.ok(prevGap < 1e-3 * exact, `at reg 1e-4 the cost is within 0.1% of emd (${prevGap})`);
});

test('unbalanced: regM → ∞ recovers balanced OT; weaker regM lets the marginals deviate more', async () => {
  const rng = new Rng(4);
  const X = cloud(rng, 15, 2);
  const Y = cloud(rng, 12, 2, 0.5);
  const a = weights(rng, 15);
  const b = weights(rng, 12);
  const bal = await sinkhorn(a, b, pointCloud(X, Y), { reg: 0.05, tol: 1e-12, maxIter: 100000 });
  const loose = await sinkhornUnbalanced(a, b, pointCloud(X, Y), { reg: 0.05, regM: 1e5, tol: 1e-12, maxIter: 100000 });
  const maxDiff = Math.max(...bal.plan!.toDense().map((p, k) => Math.abs(p - loose.plan!.toDense()[k])));
  assert.ok(maxDiff < 1e-4, `regM = 1e5 plan vs balanced: ${maxDiff}`);
  let prev = -1;
  for (const regM of [100, 1, 0.1, 0.01]) {
    const r = await sinkhornUnbalanced(a, b, pointCloud(X, Y), { reg: 0.05, regM, tol: 1e-12, maxIter: 100000 });
    const P = r.plan!.toDense();
    let dev = 0;
    for (let i = 0; i < 15; i++) dev += Math.abs(P.subarray(i * 12, i * 12 + 12).reduce((x, y) => x + y, 0) - a[i]);
    assert.ok(dev > prev, `regM ${regM}: marginal deviation ${dev} grows as the penalty weakens (previous ${prev})`);
    prev = dev;
  }
  // masses may differ in unbalanced OT, not in balanced
  await sinkhornUnbalanced(a, b.map((x) => 2 * x), pointCloud(X, Y), { reg: 0.05, regM: 1 });
  try {
    await sinkhorn(a, b.map((x) => 2 * x), pointCloud(X, Y), { reg: 0.05 });
    assert.unreachable();
  } catch (e) {
    assert.is((e as OTError).code, 'mass');
  }
});

test('divergence: S(μ, μ) = 0, symmetric, positive, and the MMD limit as reg → ∞', async () => {
  const rng = new Rng(5);
  const X = cloud(rng, 25, 2);
  const Y = cloud(rng, 20, 2, 0.3);
  const a = weights(rng, 25);
  const b = weights(rng, 20);
  const opts = { reg: 0.1, tol: 1e-12, maxIter: 100000 };
  const self = await sinkhornDivergence(X, X, { ...opts, a, b: a });
  assert.ok(Math.abs(self.value) < 1e-10, `S(μ, μ) = ${self.value}`);
  const xy = await sinkhornDivergence(X, Y, { ...opts, a, b });
  const yx = await sinkhornDivergence(Y, X, { ...opts, a: b, b: a });
  assert.ok(xy.value > 0, 'positive');
  assert.ok(Math.abs(xy.value - yx.value) < 1e-10, `symmetric: ${xy.value} vs ${yx.value}`);
  // reg → ∞: S → ½‖α − β‖²_{−c} = ⟨a⊗b, C_xy⟩ − ½⟨a⊗a, C_xx⟩ − ½⟨b⊗b, C_yy⟩
  const mmd = (P: typeof X, Q: typeof X, wp: Float64Array, wq: Float64Array) => {
    const C = costMatrix(P, Q).M.data;
    let s = 0;
    for (let i = 0; i < wp.length; i++) for (let j = 0; j < wq.length; j++) s += wp[i] * wq[j] * C[i * wq.length + j];
    return s;
  };
  const limit = mmd(X, Y, a, b) - 0.5 * mmd(X, X, a, a) - 0.5 * mmd(Y, Y, b, b);
  const big = await sinkhornDivergence(X, Y, { reg: 1e5, a, b, tol: 1e-14, maxIter: 1000 });
  assert.ok(Math.abs(big.value - limit) < 1e-4 * limit, `reg = 1e5: ${big.value} vs MMD limit ${limit}`);
});

test('divergence gradients (positions and weights) match central finite differences', async () => {
  const rng = new Rng(6);
  const n = 6;
  const m = 5;
  const d = 2;
  const X = cloud(rng, n, d);
  const Y = cloud(rng, m, d, 0.4);
  const a = weights(rng, n);
  const b = weights(rng, m);
  for (const cost of ['sqeuclidean', 'euclidean'] as const) {
    const opts = { reg: 0.3, tol: 1e-14, maxIter: 100000, cost };
    const r = await sinkhornDivergence(X, Y, { ...opts, a, b, gradient: true });
    const h = 1e-6;
    for (const [which, k] of [
      ['X', 0],
      ['X', 7],
      ['Y', 3],
      ['Y', 8],
    ] as const) {
      const P = which === 'X' ? X : Y;
      const plus = { ...P, data: P.data.slice() };
      const minus = { ...P, data: P.data.slice() };
      plus.data[k] += h;
      minus.data[k] -= h;
      const vp = (await sinkhornDivergence(which === 'X' ? plus : X, which === 'Y' ? plus : Y, { ...opts, a, b })).value;
      const vm = (await sinkhornDivergence(which === 'X' ? minus : X, which === 'Y' ? minus : Y, { ...opts, a, b })).value;
      const fd = (vp - vm) / (2 * h);
      const g = (which === 'X' ? r.gradX! : r.gradY!)[k];
      assert.ok(Math.abs(fd - g) < 1e-6 * Math.max(1, Math.abs(g)), `${cost} ∂/∂${which}[${k}]: ${g} vs finite difference ${fd}`);
    }
    // weights: move mass from point 1 to point 4 (the total must stay equal to b's)
    const ap = a.slice();
    const am = a.slice();
    ap[1] += h; ap[4] -= h;
    am[1] -= h; am[4] += h;
    const vp = (await sinkhornDivergence(X, Y, { ...opts, a: ap, b })).value;
    const vm = (await sinkhornDivergence(X, Y, { ...opts, a: am, b })).value;
    const fd = (vp - vm) / (2 * h);
    const g = r.gradA![1] - r.gradA![4];
    assert.ok(Math.abs(fd - g) < 1e-6 * Math.max(1, Math.abs(g)), `${cost} ∂/∂a along e1 − e4: ${g} vs ${fd}`);
  }
});

test('convolutional barycenter of two translated bumps sits in the middle', async () => {
  const h = 24;
  const w = 24;
  const bump = (ci: number, cj: number) =>
    Float64Array.from({ length: h * w }, (_, q) => Math.exp(-(((Math.floor(q / w) - ci) ** 2 + ((q % w) - cj) ** 2) / 4)));
  const A = { data: new Float64Array([...bump(12, 5), ...bump(12, 18)]), rows: 2, cols: h * w };
  const r = await convolutionalBarycenter(A, { width: w, height: h, reg: 4e-3, tol: 1e-10, maxIter: 2000 });
  let ci = 0;
  let cj = 0;
  let mass = 0;
  r.barycenter.forEach((p, q) => {
    ci += p * Math.floor(q / w);
    cj += p * (q % w);
    mass += p;
  });
  assert.ok(Math.abs(mass - 1) < 1e-9);
  assert.ok(Math.abs(ci / mass - 12) < 0.1, `row centre ${ci / mass}`);
  assert.ok(Math.abs(cj / mass - 11.5) < 0.3, `column centre ${cj / mass} (the midpoint is 11.5)`);
  // displacement interpolation, not a mixture: little mass remains at the original bumps' centres
  const at = (i: number, j: number) => r.barycenter[i * w + j];
  assert.ok(at(12, 11) + at(12, 12) > 10 * (at(12, 5) + at(12, 18)), 'mass moved to the middle');
});

test('free-support barycenter of two translated clouds is the midpoint cloud', async () => {
  const rng = new Rng(8);
  const n = 30;
  const X = cloud(rng, n, 2);
  const Y = { ...X, data: X.data.map((x, k) => x + (k % 2 ? 2 : 0)) };
  const r = await freeSupportBarycenter([{ X }, { X: Y }], { init: cloud(rng, n, 2, 5), maxIter: 50 });
  assert.ok((r.status === 'converged'));
  const mid = { ...X, data: X.data.map((x, k) => x + (k % 2 ? 1 : 0)) };
  const w = await emd(undefined, undefined, pointCloud(r.X, mid));
  assert.ok(w.cost < 1e-12, `W2²(barycenter, midpoint cloud) = ${w.cost}`);
});

test('abort: a timer can cancel a running in-process solve (the loop yields), with code aborted', async () => {
  const rng = new Rng(5);
  const X = cloud(rng, 300, 2);
  const Y = cloud(rng, 300, 2, 0.5);
  // the work done before the abort landed (progress reports), not wall time, shows the solve was cut short
  let done = 0;
  for (const [run, total] of [
    [(signal: AbortSignal) => sinkhorn(undefined, undefined, pointCloud(X, Y), { reg: 1e-3, method: 'log', maxIter: 1e7, tol: 0, signal, worker: false, onProgress: (p: { iterations: number }) => (done = p.iterations) } as never), 1e7],
    [(signal: AbortSignal) => emd(undefined, undefined, pointCloud(cloud(rng, 3000, 2), cloud(rng, 3000, 2)), { signal, worker: false, onProgress: (p: { iterations: number }) => (done = p.iterations) } as never), Infinity],
  ] as const) {
    done = 0;
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    let code = 'none';
    try {
      await run(controller.signal);
    } catch (e) {
      code = (e as OTError).code;
    }
    assert.is(code, 'aborted');
    assert.ok(done < Math.min(total, 1e6), `stopped mid-solve (progress ${done})`);
  }
});

test('entropic errors: bad reg, bad method, init shapes, epsScaling with scaling', async () => {
  const M = [
    [0, 1],
    [1, 0],
  ];
  const codeOf = async (f: () => Promise<unknown>) => {
    try {
      await f();
    } catch (e) {
      return (e as OTError).code;
    }
    return 'none';
  };
  assert.is(await codeOf(() => sinkhorn(undefined, undefined, M, { reg: 0 })), 'invalid-option');
  assert.is(await codeOf(() => sinkhorn(undefined, undefined, M, { reg: NaN })), 'invalid-option');
  assert.is(await codeOf(() => sinkhorn(undefined, undefined, M, { reg: 1, method: 'magic' as 'log' })), 'invalid-option');
  assert.is(await codeOf(() => sinkhorn(undefined, undefined, M, { reg: 1, init: { f: [0], g: [0, 0] } })), 'shape');
  assert.is(await codeOf(() => sinkhorn(undefined, undefined, M, { reg: 0.01, method: 'scaling', epsScaling: true })), 'invalid-option');
  assert.is(await codeOf(() => sinkhornUnbalanced(undefined, undefined, M, { reg: 1, regM: -1 })), 'invalid-option');
  // a forced backend runs there or fails loudly, never elsewhere
  const gpu = (await backends()).find((b) => b.name === 'webgpu')!;
  if (gpu.available) assert.is((await sinkhorn(undefined, undefined, M, { reg: 1, backend: 'webgpu' })).backend, 'webgpu');
  else assert.is(await codeOf(() => sinkhorn(undefined, undefined, M, { reg: 1, backend: 'webgpu' })), 'backend-unavailable');
  assert.is(await codeOf(() => convolutionalBarycenter([[1, 2, 3]], { width: 2, height: 2, reg: 1 })), 'shape');
  assert.is(await codeOf(() => freeSupportBarycenter([])), 'empty');
});

test.run();
