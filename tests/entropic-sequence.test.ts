// EntropicSequence (ts/solvers/inner.ts): entropic OT for a sequence of costs on fixed marginals, one engine kept
// across the solves (wasm setCost) — each solve must equal a fresh `sinkhorn` warm-started from the previous
// potentials, through a change of method ('auto': scaling, then log where max|C|/reg > 50, then scaling again).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng, sinkhorn } from 'kantorovich';
import { EntropicSequence } from '../ts/solvers/inner.js';
import { WasmEntropicEngine } from '../ts/backends/wasm-entropic.js';

function weights(rng: Rng, n: number): Float64Array {
  const w = Float64Array.from({ length: n }, () => 0.2 + rng.uniform());
  const s = w.reduce((x, y) => x + y, 0);
  return w.map((x) => x / s);
}

function maxAbsDiff(x: Float64Array, y: Float64Array): number {
  let e = 0;
  for (let t = 0; t < x.length; t++) e = Math.max(e, Math.abs(x[t] - y[t]));
  return e;
}

test('a sequence of costs = sinkhorn solves each warm-started from the previous potentials (scaling, log, scaling)', async () => {
  const rng = new Rng(11);
  const n = 37;
  const m = 23;
  const a = weights(rng, n);
  const b = weights(rng, m);
  const reg = 0.05;
  // scales 1, 4 (4/0.05 = 80 > 50: the log domain), 1.5
  const costs = [1, 4, 1.5].map((s) => Float64Array.from({ length: n * m }, () => s * rng.uniform()));
  const seq = new EntropicSequence(a, b, reg, 1000, 1e-9);
  let init: { f: Float64Array; g: Float64Array } | undefined;
  const backends: string[] = [];
  try {
    for (const C of costs) {
      let top = 0;
      for (const x of C) top = Math.max(top, Math.abs(x));
      const s = await seq.solve(C, top);
      const plan = new Float64Array(n * m);
      await seq.planInto(plan);
      const ref = await sinkhorn(a, b, { data: C, rows: n, cols: m }, { reg, init, maxIter: 1000, tol: 1e-9, plan: true, worker: false });
      init = ref.potentials;
      const want = ref.plan.toDense();
      assert.is(s.iterations, ref.iterations, 'the same iterations as a warm-started sinkhorn');
      assert.is(s.converged, ref.status === 'converged');
      assert.ok(maxAbsDiff(plan, want) < 1e-13, `plans agree: ${maxAbsDiff(plan, want)}`);
      assert.ok(Math.abs(s.error - ref.error) <= 1e-12, 'the same marginal error');
      backends.push(s.backend);
    }
  } finally {
    seq.dispose();
  }
  assert.equal(backends, ['wasm', 'wasm', 'wasm']);
});

test('wasm setCost keeps f, g and rebuilds the kernel: = a fresh engine with setPotentials; densePlanInto = densePlan', async () => {
  const rng = new Rng(3);
  const n = 9;
  const m = 14;
  const a = weights(rng, n);
  const b = weights(rng, m);
  const C1 = Float64Array.from({ length: n * m }, () => rng.uniform());
  const C2 = Float64Array.from({ length: n * m }, () => rng.uniform());
  for (const method of ['scaling', 'log'] as const) {
    const e1 = await WasmEntropicEngine.create({ cost: { kind: 'dense', C: C1, n, m }, a, b, method, tauA: 1, tauB: 1, threads: 1 });
    await e1.setEps(0.1);
    await e1.iterate(7);
    await e1.marginalError(); // leaves a pending f-half on C1, which setCost must drop
    const { f, g } = await e1.potentials();
    await e1.setCost(C2);
    const e2 = await WasmEntropicEngine.create({ cost: { kind: 'dense', C: C2, n, m }, a, b, method, tauA: 1, tauB: 1, threads: 1 });
    await e2.setEps(0.1);
    await e2.setPotentials(f, g);
    for (const e of [e1, e2]) await e.iterate(5);
    const p1 = new Float64Array(n * m);
    await e1.densePlanInto(p1);
    const p2 = await e2.densePlan();
    assert.ok(maxAbsDiff(p1, p2) < 1e-15, `${method}: ${maxAbsDiff(p1, p2)}`);
    assert.ok(Math.abs((await e1.marginalError()) - (await e2.marginalError())) < 1e-15, method);
    const wrong = await e1.densePlanInto(new Float64Array(3)).then(() => 'no error', (err: { code?: string }) => err.code);
    assert.is(wrong, 'shape', 'a wrong-size out fails');
    e1.dispose();
    e2.dispose();
  }
});

test.run();
