// The wasm (f64, SIMD) entropic engine against the js reference engine: potentials, plans, stats, plan
// products and marginal errors agree to ~1e-10 for both methods, dense and point-cloud costs, balanced
// and unbalanced, with zero weights, at tiny reg (log) and across setEps; plus the SIMD exp.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng, costMatrix, dispose, pointCloud, sinkhorn, sinkhornUnbalanced } from 'kantorovich';
import { JsEntropicEngine } from '../ts/backends/js/entropic.js';
import { WasmEntropicEngine } from '../ts/backends/wasm-entropic.js';
import { wasmKernels } from '../ts/backends/wasm.js';
import { setWasmThreadsSource, wasmThreadCount, wasmThreadsUnavailableReason } from '../ts/backends/wasm-threads.js';
import { readFile } from 'node:fs/promises';
import type { EngineProblem, EntropicEngine } from '../ts/entropic/engine.js';

function cloud(rng: Rng, n: number, d: number, shift = 0): Float64Array {
  return Float64Array.from({ length: n * d }, () => rng.uniform() + shift);
}

function weights(rng: Rng, n: number, zeros: number[] = []): Float64Array {
  const w = Float64Array.from({ length: n }, () => 0.2 + rng.uniform());
  for (const i of zeros) w[i] = 0;
  const s = w.reduce((x, y) => x + y, 0);
  return w.map((x) => x / s);
}

function problem(
  rng: Rng,
  opts: { n: number; m: number; kind: 'dense' | 'points'; method: 'scaling' | 'log'; tau?: number; shift?: number; power?: number; zeros?: boolean },
): EngineProblem {
  const { n, m, kind } = opts;
  const d = 2;
  const X = cloud(rng, n, d);
  const Y = cloud(rng, m, d, opts.shift ?? 0.2);
  const power = opts.power ?? 2;
  const a = weights(rng, n, opts.zeros ? [1, n - 1] : []);
  const b = weights(rng, m, opts.zeros ? [0, 3] : []);
  const tau = opts.tau ?? 1;
  if (kind === 'points') return { cost: { kind, X, Y, n, m, d, power }, a, b, method: opts.method, tauA: tau, tauB: tau };
  const C = new Float64Array(n * m);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += (X[i * d + k] - Y[j * d + k]) ** 2;
      C[i * m + j] = Math.pow(s, power / 2);
    }
  return { cost: { kind, C, n, m }, a, b, method: opts.method, tauA: tau, tauB: tau };
}

/** max |x − y| / max |y| over finite y; identical infinities count as equal, any other mismatch is ∞. */
function relErr(x: Float64Array, y: Float64Array): number {
  assert.is(x.length, y.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < x.length; i++) {
    if (x[i] === y[i]) continue;
    if (!Number.isFinite(x[i]) || !Number.isFinite(y[i])) return Infinity;
    num = Math.max(num, Math.abs(x[i] - y[i]));
  }
  for (const v of y) if (Number.isFinite(v)) den = Math.max(den, Math.abs(v));
  return num / (den || 1);
}

async function compare(label: string, js: EntropicEngine, wa: EntropicEngine, tol = 1e-10): Promise<void> {
  const pj = await js.potentials();
  const pw = await wa.potentials();
  assert.ok(relErr(pw.f, pj.f) < tol, `${label}: f differs by ${relErr(pw.f, pj.f)}`);
  assert.ok(relErr(pw.g, pj.g) < tol, `${label}: g differs by ${relErr(pw.g, pj.g)}`);
  for (const [x, y] of [[pw.f, pj.f], [pw.g, pj.g]]) {
    for (let i = 0; i < x.length; i++) assert.ok(!Number.isNaN(x[i]), `${label}: NaN potential`);
    for (let i = 0; i < x.length; i++) assert.is(x[i] === -Infinity, y[i] === -Infinity, `${label}: −∞ pattern`);
  }
  const Pj = await js.densePlan();
  const Pw = await wa.densePlan();
  assert.ok(relErr(Pw, Pj) < tol, `${label}: plan differs by ${relErr(Pw, Pj)}`);
  const sj = await js.stats();
  const sw = await wa.stats();
  assert.ok(Math.abs(sw.transportCost - sj.transportCost) <= tol * Math.abs(sj.transportCost), `${label}: cost ${sw.transportCost} vs ${sj.transportCost}`);
  assert.ok(relErr(sw.rowSums, sj.rowSums) < tol, `${label}: row sums`);
  assert.ok(relErr(sw.colSums, sj.colSums) < tol, `${label}: col sums`);
  const { n, m } = js;
  const rng = new Rng(99);
  for (const k of [1, 3]) {
    const V = Float64Array.from({ length: m * k }, () => rng.uniform() - 0.3);
    const W = Float64Array.from({ length: n * k }, () => rng.uniform() - 0.3);
    assert.ok(relErr(await wa.planApply(V, k, false), await js.planApply(V, k, false)) < tol, `${label}: P·V (k = ${k})`);
    assert.ok(relErr(await wa.planApply(W, k, true), await js.planApply(W, k, true)) < tol, `${label}: Pᵀ·W (k = ${k})`);
  }
  const ej = await js.marginalError();
  const ew = await wa.marginalError();
  // Σ|P1 − a| cancels near convergence: compare against the mass (1), not the error itself
  assert.ok(Math.abs(ew - ej) <= tol * ej + 1e-13, `${label}: marginal error ${ew} vs ${ej}`);
}

/** Runs both engines through the same schedule: [eps, iterations] stages, marginal checks in between. */
async function runBoth(
  p: EngineProblem,
  stages: [number, number][],
  check = 10,
  opts: { threads?: number; storeKernel?: boolean } = {},
): Promise<[JsEntropicEngine, WasmEntropicEngine]> {
  const js = new JsEntropicEngine(p);
  const wa = await WasmEntropicEngine.create(p, { threads: 1, ...opts });
  for (const e of [js, wa] as EntropicEngine[]) {
    for (const [eps, iters] of stages) {
      await e.setEps(eps);
      for (let t = 0; t < iters; t += check) {
        await e.iterate(Math.min(check, iters - t));
        await e.marginalError();
      }
    }
  }
  return [js, wa];
}

test('wasm engine = js engine: both methods, dense and points, balanced and unbalanced, zero weights', async () => {
  const rng = new Rng(11);
  for (const method of ['scaling', 'log'] as const)
    for (const kind of ['dense', 'points'] as const)
      for (const tau of [1, 0.8])
        for (const zeros of [false, true]) {
          const n = 17 + (zeros ? 4 : 0);
          const m = 13 + (tau === 1 ? 0 : 1); // odd and even lengths (SIMD tails)
          const p = problem(rng, { n, m, kind, method, tau, zeros });
          const [js, wa] = await runBoth(p, [[0.05, 35]]);
          await compare(`${method} ${kind} τ=${tau} zeros=${zeros}`, js, wa);
          wa.dispose();
        }
});

test('threaded passes (2 and 3 threads, shares of 0 to many rows; any core count) = js: methods, τ, zero weights, tiny reg, ε-scaling, no stored kernel', async () => {
  const why = wasmThreadsUnavailableReason();
  if (why) {
    console.log(`  skipped: wasm threads unavailable here (${why})`);
    return;
  }
  const rng = new Rng(21);
  for (const threads of [2, 3])
    for (const method of ['scaling', 'log'] as const)
      for (const kind of ['dense', 'points'] as const)
        for (const [n, m, tau, zeros] of [[5, 7, 1, false], [37, 29, 0.8, true], [64, 33, 1, true]] as const) {
          const p = problem(rng, { n, m, kind, method, tau, zeros });
          const [js, wa] = await runBoth(p, [[0.05, 25]], 10, { threads });
          await compare(`${threads} threads ${method} ${kind} ${n}×${m} τ=${tau}`, js, wa);
          wa.dispose();
        }
  // absorption and the exact fallbacks inside shares (far-apart clouds at reg 0.01), and an annealed run
  for (const threads of [2, 3]) {
    const p = problem(rng, { n: 41, m: 19, kind: 'dense', method: 'log', tau: 0.9, shift: 2, zeros: true });
    const [js, wa] = await runBoth(p, [[0.01, 150]], 10, { threads });
    await compare(`${threads} threads tiny reg`, js, wa, 1e-9);
    const c = wa.counters();
    assert.ok(c.fallbacks > 0 && c.rebuilds > 1, `exercised the fallback and absorption (${JSON.stringify(c)})`);
    wa.dispose();
    const q = problem(rng, { n: 30, m: 26, kind: 'points', method: 'log', zeros: true });
    const [js2, wa2] = await runBoth(q, [[1, 10], [0.25, 10], [0.05, 10], [0.005, 40]], 7, { threads });
    await compare(`${threads} threads annealed`, js2, wa2, 1e-9);
    wa2.dispose();
    // no stored kernel: exact row LSEs by share, column LSEs merged from each share's (max, Σ exp)
    for (const kind of ['dense', 'points'] as const) {
      const e = problem(rng, { n: 27, m: 22, kind, method: 'log', tau: 0.9, shift: 1, zeros: true });
      const [js3, wa3] = await runBoth(e, [[0.3, 5], [0.02, 15]], 5, { threads, storeKernel: false });
      await compare(`${threads} threads, no kernel, ${kind}`, js3, wa3, 1e-9);
      assert.is(wa3.counters().rebuilds, 0, 'no kernel was built');
      wa3.dispose();
    }
  }
});

test("public API: threads 'auto' from 2^18 entries, 1, 2: the same result, and the count reported", async () => {
  const rng = new Rng(22);
  const n = 640;
  const m = 420; // 268 800 entries ≥ 2^18
  const X = { data: cloud(rng, n, 2), rows: n, cols: 2 };
  const Y = { data: cloud(rng, m, 2, 0.2), rows: m, cols: 2 };
  const opts = { reg: 0.02, method: 'log' as const, tol: 1e-10, backend: 'wasm' as const, worker: false };
  const one = await sinkhorn(weights(rng, n, [3]), weights(rng, m), costMatrix(X, Y), { ...opts, threads: 1 });
  assert.is(one.threads, 1);
  const why = wasmThreadsUnavailableReason();
  for (const threads of ['auto', 2] as const) {
    const rng2 = new Rng(22);
    const X2 = { data: cloud(rng2, n, 2), rows: n, cols: 2 };
    const Y2 = { data: cloud(rng2, m, 2, 0.2), rows: m, cols: 2 };
    const r = await sinkhorn(weights(rng2, n, [3]), weights(rng2, m), costMatrix(X2, Y2), { ...opts, threads });
    assert.is(r.threads, why ? 1 : threads === 'auto' ? wasmThreadCount() : 2, `threads ${threads}`);
    assert.is(r.iterations, one.iterations);
    assert.ok(Math.abs(r.cost - one.cost) <= 1e-12 * one.cost && relErr(r.potentials.f, one.potentials.f) < 1e-10 && relErr(r.potentials.g, one.potentials.g) < 1e-10, `threads ${threads}: cost ${r.cost} vs ${one.cost}`);
    // dispose() stops the helpers; the next threaded solve starts new ones
    await dispose();
  }
});

test('a threads binary that cannot load: solves run on one thread, the reason is reported, a good source restores threads', async () => {
  if (wasmThreadsUnavailableReason()) {
    console.log(`  skipped: wasm threads unavailable here (${wasmThreadsUnavailableReason()})`);
    return;
  }
  const rng = new Rng(23);
  const p = problem(rng, { n: 12, m: 9, kind: 'dense', method: 'log' });
  const M = { data: (p.cost as { C: Float64Array }).C, rows: 12, cols: 9 };
  const opts = { reg: 0.1, tol: 1e-10, backend: 'wasm' as const, worker: false, threads: 2 };
  await dispose();
  setWasmThreadsSource(async () => new Uint8Array([0, 97, 115, 109, 9, 9, 9, 9]));
  const one = await sinkhorn(p.a, p.b, M, opts);
  assert.is(one.threads, 1, 'fell back to one thread');
  assert.match(wasmThreadsUnavailableReason() ?? '', /could not start/);
  setWasmThreadsSource(() => readFile(new URL('../../build/kantorovich-mt.wasm', import.meta.url)));
  assert.is(wasmThreadsUnavailableReason(), undefined, 'a new source clears the failure');
  const two = await sinkhorn(p.a, p.b, M, opts);
  assert.is(two.threads, 2);
  assert.ok(Math.abs(two.cost - one.cost) <= 1e-12 * one.cost, `${two.cost} vs ${one.cost}`);
});

test('point clouds with power 1 and 3 (on-the-fly costs match ts/costs.ts)', async () => {
  const rng = new Rng(12);
  for (const power of [1, 3])
    for (const method of ['scaling', 'log'] as const) {
      const p = problem(rng, { n: 9, m: 12, kind: 'points', method, power });
      const [js, wa] = await runBoth(p, [[0.1, 20]]);
      await compare(`power ${power} ${method}`, js, wa);
      wa.dispose();
    }
});

test('log method at tiny reg (1e-3 of the cost scale, far-apart clouds): finite, equal to js, uses the exact fallback', async () => {
  const rng = new Rng(13);
  for (const kind of ['dense', 'points'] as const)
    for (const tau of [1, 0.9]) {
      // costs up to ~ 2·(1 + 2)² = 18; reg 0.01 ⇒ C/ε up to 1800: exp(−C/ε) underflows for whole rows
      const p = problem(rng, { n: 23, m: 19, kind, method: 'log', tau, shift: 2, zeros: true });
      const [js, wa] = await runBoth(p, [[0.01, 150]]);
      await compare(`tiny reg ${kind} τ=${tau}`, js, wa, 1e-9);
      const { f, g } = await wa.potentials();
      assert.ok([...f, ...g].every((x) => x === -Infinity || Number.isFinite(x)), 'finite or −∞');
      assert.ok([...(await wa.densePlan())].every(Number.isFinite), 'finite plan');
      const c = wa.counters();
      assert.ok(c.fallbacks > 0 && c.rebuilds > 1, `exercised the fallback and absorption (${JSON.stringify(c)})`);
      wa.dispose();
    }
});

test('log method without a stored kernel (exact log-sum-exps on the fly) = js', async () => {
  const rng = new Rng(18);
  for (const kind of ['dense', 'points'] as const)
    for (const tau of [1, 0.85]) {
      const p = problem(rng, { n: 14, m: 11, kind, method: 'log', tau, zeros: true, shift: 1 });
      const js = new JsEntropicEngine(p);
      const wa = await WasmEntropicEngine.create(p, { storeKernel: false });
      for (const e of [js, wa] as EntropicEngine[]) {
        await e.setEps(0.3);
        await e.iterate(5);
        await e.setEps(0.02);
        await e.iterate(7);
        await e.marginalError();
        await e.iterate(8);
      }
      await compare(`no kernel ${kind} τ=${tau}`, js, wa);
      assert.is(wa.counters().rebuilds, 0);
      wa.dispose();
    }
});

test('ε-scaling: setEps mid-run and setPotentials keep the two engines together', async () => {
  const rng = new Rng(14);
  for (const method of ['scaling', 'log'] as const)
    for (const kind of ['dense', 'points'] as const) {
      const p = problem(rng, { n: 15, m: 18, kind, method, zeros: true });
      const stages: [number, number][] = method === 'log' ? [[1, 10], [0.25, 10], [0.05, 10], [0.005, 40]] : [[1, 10], [0.3, 10], [0.1, 20]];
      const [js, wa] = await runBoth(p, stages, 7);
      await compare(`annealed ${method} ${kind}`, js, wa, 1e-9);
      // a shifted gauge (f + c, g − c) and a continued run
      const { f, g } = await js.potentials();
      const f2 = f.map((x) => x + 0.3);
      const g2 = g.map((x) => x - 0.3);
      for (const e of [js, wa] as EntropicEngine[]) {
        await e.setPotentials(f2, g2);
        await e.iterate(5);
      }
      await compare(`after setPotentials ${method} ${kind}`, js, wa, 1e-9);
      wa.dispose();
    }
});

test('iterate(0), marginal error before any iteration, and use after dispose', async () => {
  const rng = new Rng(15);
  const p = problem(rng, { n: 6, m: 5, kind: 'dense', method: 'log' });
  const js = new JsEntropicEngine(p);
  const wa = await WasmEntropicEngine.create(p);
  for (const e of [js, wa] as EntropicEngine[]) {
    await e.setEps(0.2);
    await e.iterate(0);
  }
  await compare('fresh', js, wa);
  wa.dispose();
  wa.dispose(); // idempotent
  try {
    await wa.iterate(1);
    assert.unreachable();
  } catch (e) {
    assert.match(String(e), /dispose/);
  }
});

test("public API: sinkhorn(…, { backend: 'wasm' }) = { backend: 'js' }", async () => {
  const rng = new Rng(16);
  const X = { data: cloud(rng, 30, 2), rows: 30, cols: 2 };
  const Y = { data: cloud(rng, 24, 2, 0.3), rows: 24, cols: 2 };
  const a = weights(rng, 30, [4]);
  const b = weights(rng, 24);
  for (const geom of [costMatrix(X, Y), pointCloud(X, Y)])
    for (const opts of [
      { reg: 0.05, method: 'scaling' as const, tol: 1e-9 },
      { reg: 0.05, method: 'log' as const, tol: 1e-9 },
      { reg: 2e-3, method: 'log' as const, tol: 1e-7, epsScaling: true, maxIter: 5000 },
    ]) {
      const rw = await sinkhorn(a, b, geom, { ...opts, backend: 'wasm' });
      const rj = await sinkhorn(a, b, geom, { ...opts, backend: 'js' });
      assert.is(rw.backend, 'wasm');
      assert.is(rw.iterations, rj.iterations);
      assert.is((rw.status === 'converged'), (rj.status === 'converged'));
      const label = `${geom.kind} ${opts.method} reg ${opts.reg}`;
      assert.ok(Math.abs(rw.cost - rj.cost) < 1e-10 * rj.cost, `${label}: cost ${rw.cost} vs ${rj.cost}`);
      assert.ok(Math.abs(rw.regValue - rj.regValue) < 1e-9 * Math.abs(rj.regValue), `${label}: regCost`);
      assert.ok(relErr(rw.potentials.f, rj.potentials.f) < 1e-9 && relErr(rw.potentials.g, rj.potentials.g) < 1e-9, `${label}: potentials`);
      assert.ok(relErr(rw.plan!.toDense(), rj.plan!.toDense()) < 1e-9, `${label}: plan`);
    }
  const ru = await sinkhornUnbalanced(a, b.map((x) => 1.5 * x), pointCloud(X, Y), { reg: 0.05, regM: 0.5, tol: 1e-9, backend: 'wasm' });
  const rk = await sinkhornUnbalanced(a, b.map((x) => 1.5 * x), pointCloud(X, Y), { reg: 0.05, regM: 0.5, tol: 1e-9, backend: 'js' });
  assert.ok(relErr(ru.potentials.f, rk.potentials.f) < 1e-9 && Math.abs(ru.regValue - rk.regValue) < 1e-9 * Math.abs(rk.regValue), 'unbalanced');
});

test('balanced scaling: iterate(k) (k − 1 lean iterations on u, v, then one full) = k calls of iterate(1), zero weights and the pending f-half included', async () => {
  const rng = new Rng(31);
  for (const [n, m, zeros] of [[9, 14, false], [33, 20, true], [64, 64, false]] as const) {
    const p = problem(rng, { n, m, kind: 'dense', method: 'scaling', zeros });
    const lean = await WasmEntropicEngine.create(p, { threads: 1 });
    const full = await WasmEntropicEngine.create(p, { threads: 1 });
    try {
      for (const e of [lean, full]) await e.setEps(0.05);
      await lean.iterate(25);
      for (let t = 0; t < 25; t++) await full.iterate(1);
      // a marginal error leaves a pending f-half that the next iterate commits
      const [el, ef] = [await lean.marginalError(), await full.marginalError()];
      assert.ok(Math.abs(el - ef) <= 1e-12 * Math.max(ef, 1e-300), `${n} × ${m}: error ${el} vs ${ef}`);
      await lean.iterate(7);
      for (let t = 0; t < 7; t++) await full.iterate(1);
      const [pl, pf] = [await lean.potentials(), await full.potentials()];
      assert.ok(relErr(pl.f, pf.f) < 1e-12 && relErr(pl.g, pf.g) < 1e-12, `${n} × ${m}${zeros ? ', zero weights' : ''}: f ${relErr(pl.f, pf.f)}, g ${relErr(pl.g, pf.g)}`);
      if (zeros) assert.is(pl.f[1], -Infinity, 'a zero weight keeps f = −∞');
    } finally {
      lean.dispose();
      full.dispose();
    }
  }
});

test('SIMD exp (assembly/expf64.ts) vs Math.exp over [−745, 709.7], and its special values', async () => {
  const k = await wasmKernels();
  const s = k.scope();
  try {
    const N = 200003;
    const xs = new Float64Array(N);
    const rng = new Rng(17);
    for (let i = 0; i < N; i++) xs[i] = i < 100000 ? -745 + (1454.7 * i) / 100000 : 40 * (rng.uniform() - 0.5);
    const specials = [0, -0, 1, -1, 1e-300, -1e-300, 709.78, 710, 1000, -745.2, -746, -1000, Infinity, -Infinity, NaN];
    const all = Float64Array.from([...xs, ...specials]);
    const px = s.put(all);
    const py = s.f64(all.length);
    k.fn('expArrayF64')(px, all.length, py);
    const y = k.f64(py, all.length);
    let worst = 0;
    for (let i = 0; i < N; i++) {
      const ref = Math.exp(all[i]);
      if (ref < 2.2250738585072014e-308) {
        // subnormal results: absolute error within one subnormal ulp (plus Math.exp's own rounding)
        assert.ok(Math.abs(y[i] - ref) <= 1e-323, `exp(${all[i]}) = ${y[i]}, Math.exp ${ref}`);
        continue;
      }
      worst = Math.max(worst, Math.abs(y[i] - ref) / ref);
    }
    assert.ok(worst < 4.5e-16, `max relative error ${worst} (≤ 2 ulp)`);
    const sp = y.subarray(N);
    const want = specials.map(Math.exp);
    for (let i = 0; i < specials.length; i++) {
      if (Number.isNaN(want[i])) assert.ok(Number.isNaN(sp[i]), 'exp(NaN) = NaN');
      else if (!Number.isFinite(want[i]) || want[i] === 0) assert.is(sp[i], want[i], `exp(${specials[i]})`);
      else assert.ok(Math.abs(sp[i] - want[i]) <= 4.5e-16 * want[i] || Math.abs(sp[i] - want[i]) <= 1e-323, `exp(${specials[i]}) = ${sp[i]} vs ${want[i]}`);
    }
  } finally {
    s.release();
  }
});

test.run();
