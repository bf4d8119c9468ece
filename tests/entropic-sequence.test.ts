// EntropicSequence (ts/solvers/inner.ts): entropic OT for a sequence of costs on fixed marginals, one engine kept
// across the solves (wasm setCost) — each solve must equal a fresh engine warm-started from the previous
// potentials, through a change of method ('auto': scaling, then log where max|C|/reg > 50, then scaling again),
// stopping on POT's L2 marginal error (setErrorNorm, checked against the plan's row sums on every engine kind).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from 'kantorovich';
import { EntropicSequence } from '../ts/solvers/inner.js';
import { WasmEntropicEngine } from '../ts/backends/wasm-entropic.js';
import { JsEntropicEngine } from '../ts/backends/js/entropic.js';
import { wasmThreadsUnavailableReason } from '../ts/backends/wasm-threads.js';
import { iterate } from '../ts/entropic/problem.js';
import type { EntropicEngine } from '../ts/entropic/engine.js';

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

test('a sequence of costs = a fresh engine per cost from the previous potentials (scaling, log, scaling), stopping on the L2 marginal error', async () => {
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
    for (const [k, C] of costs.entries()) {
      let top = 0;
      for (const x of C) top = Math.max(top, Math.abs(x));
      const s = await seq.solve(C, top);
      const plan = new Float64Array(n * m);
      await seq.planInto(plan);
      // the reference: what entropicOT did per projection, with POT's L2 stopping rule
      const method = top / reg > 50 ? 'log' : 'scaling';
      const e = await WasmEntropicEngine.create({ cost: { kind: 'dense', C, n, m }, a, b, method, tauA: 1, tauB: 1, threads: 1 });
      try {
        await e.setErrorNorm(2);
        if (init) await e.setPotentials(init.f, init.g);
        const loop = await iterate(e, [reg], { maxIter: 1000, tol: 1e-9 }, () => e.marginalError(), () => 'overflow');
        init = await e.potentials();
        const want = await e.densePlan();
        assert.is(s.iterations, loop.iterations, `cost ${k}: the same iterations`);
        assert.ok(s.converged && loop.converged, `cost ${k}: converged`);
        assert.ok(maxAbsDiff(plan, want) < 1e-15, `cost ${k}: plans agree: ${maxAbsDiff(plan, want)}`);
        // the error it stopped on is the L2 norm of the row-marginal error, below tol
        const { rowSums } = await e.stats();
        const l2 = Math.sqrt(rowSums.reduce((acc, r, i) => acc + (r - a[i]) ** 2, 0));
        assert.ok(s.error < 1e-9 && Math.abs(s.error - l2) <= 1e-6 * l2 + 1e-18, `cost ${k}: L2 error ${s.error} vs ${l2}`);
      } finally {
        e.dispose();
      }
      backends.push(s.backend);
    }
  } finally {
    seq.dispose();
  }
  assert.equal(backends, ['wasm', 'wasm', 'wasm']);
});

test("an engine without setCost (js): a fresh engine per cost from the previous potentials, the same plans as wasm's sequence", async () => {
  const rng = new Rng(4);
  const n = 11;
  const m = 8;
  const a = weights(rng, n);
  const b = weights(rng, m);
  const reg = 0.1;
  const costs = [1, 6, 2].map((s) => Float64Array.from({ length: n * m }, () => s * rng.uniform()));
  const js = new EntropicSequence(a, b, reg, 1000, 1e-9, undefined, 'js');
  const wasm = new EntropicSequence(a, b, reg, 1000, 1e-9);
  try {
    for (const [k, C] of costs.entries()) {
      const top = C.reduce((x, y) => Math.max(x, y), 0);
      const sj = await js.solve(C, top);
      const sw = await wasm.solve(C, top);
      assert.is(sj.backend, 'js');
      assert.is(sj.iterations, sw.iterations, `cost ${k}: the same iterations`);
      const pj = new Float64Array(n * m);
      const pw = new Float64Array(n * m);
      await js.planInto(pj);
      await wasm.planInto(pw);
      assert.ok(maxAbsDiff(pj, pw) < 1e-12, `cost ${k}: js = wasm: ${maxAbsDiff(pj, pw)}`);
    }
  } finally {
    js.dispose();
    wasm.dispose();
  }
});

test('setErrorNorm(2): marginalError = √Σ((P·1)_i − a_i)² on wasm (scaling, log, costs on the fly, 2 threads) and js; 1 = Σ|·|', async () => {
  const rng = new Rng(23);
  const n = 19;
  const m = 26;
  const a = weights(rng, n);
  const b = weights(rng, m);
  const C = Float64Array.from({ length: n * m }, () => rng.uniform());
  const X = Float64Array.from({ length: n * 2 }, () => rng.uniform());
  const Y = Float64Array.from({ length: m * 2 }, () => rng.uniform());
  const engines: [string, () => Promise<EntropicEngine>][] = [
    ['wasm scaling', () => WasmEntropicEngine.create({ cost: { kind: 'dense', C, n, m }, a, b, method: 'scaling', tauA: 1, tauB: 1, threads: 1 })],
    ['wasm log', () => WasmEntropicEngine.create({ cost: { kind: 'dense', C, n, m }, a, b, method: 'log', tauA: 1, tauB: 1, threads: 1 })],
    ['wasm on the fly', () => WasmEntropicEngine.create({ cost: { kind: 'points', X, Y, n, m, d: 2, power: 2 }, a, b, method: 'log', tauA: 1, tauB: 1, threads: 1 }, { storeKernel: false })],
    ['js', async () => new JsEntropicEngine({ cost: { kind: 'dense', C, n, m }, a, b, method: 'log', tauA: 1, tauB: 1 })],
  ];
  if (!wasmThreadsUnavailableReason()) {
    engines.push(['wasm 2 threads', () => WasmEntropicEngine.create({ cost: { kind: 'dense', C, n, m }, a, b, method: 'log', tauA: 1, tauB: 1, threads: 2 })]);
  } else console.log(`  (2 threads not checked: ${wasmThreadsUnavailableReason()})`);
  for (const [name, make] of engines) {
    const e = await make();
    try {
      await e.setEps(0.2);
      await e.iterate(3);
      const { rowSums } = await e.stats();
      const l1 = rowSums.reduce((acc, r, i) => acc + Math.abs(r - a[i]), 0);
      const l2 = Math.sqrt(rowSums.reduce((acc, r, i) => acc + (r - a[i]) ** 2, 0));
      assert.ok(l1 > 1.5 * l2, `${name}: the norms differ here (${l1} vs ${l2}), so the check can fail`);
      const first = await e.marginalError();
      assert.ok(Math.abs(first - l1) <= 1e-12 * l1, `${name} L1: ${first} vs ${l1}`);
      await e.setErrorNorm!(2);
      const second = await e.marginalError();
      assert.ok(Math.abs(second - l2) <= 1e-12 * l2, `${name} L2: ${second} vs ${l2}`);
      await e.setErrorNorm!(1);
      assert.ok(Math.abs((await e.marginalError()) - l1) <= 1e-12 * l1, `${name}: back to L1`);
    } finally {
      e.dispose();
    }
  }
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
