// Memory limits and budgets (issue #15 items 3, 5, 9): a dense cost over wasm's 1 GiB block is refused with
// 'too-large' before work (not 'wasm abort'); a budget that is not a positive number is an invalid option
// (NaN or a string used to disable it); the wasm engine decides what to store against the caller's budget;
// a kernel that cannot be stored runs on the fly in wasm (same iterates), never falls back to plain JS.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OTError, Rng, emd, pointCloud, sinkhorn } from 'kantorovich';
import { JsEntropicEngine } from '../ts/backends/js/entropic.js';
import { WasmEntropicEngine } from '../ts/backends/wasm-entropic.js';
import type { EngineProblem, EntropicEngine } from '../ts/entropic/engine.js';
import { expectOTError, uniforms } from './helpers.js';

test("emd on a dense cost over wasm's 1 GiB block is refused with 'too-large'", async () => {
  // 12000² f64 = 1.15 GB: inside the 2 GiB default budget, over one wasm block (calloc'd zeros: no RSS)
  const k = 12000;
  const M = { data: new Float64Array(k * k), rows: k, cols: k };
  await expectOTError('too-large', () => emd(undefined, undefined, M, { worker: false }), '12000² dense');
});

test("maxBytes that is not a positive number is 'invalid-option' (it used to disable the budget)", async () => {
  const rng = new Rng(3);
  const X = { data: uniforms(rng, 20), rows: 10, cols: 2 };
  for (const bad of [NaN, 'abc', -1, 0, null, '1e9'] as unknown[]) {
    const o = { maxBytes: bad as number, worker: false as const };
    await expectOTError('invalid-option', () => emd(undefined, undefined, [[0, 1], [1, 0]], o), `emd maxBytes ${String(bad)}`);
    await expectOTError('invalid-option', () => emd(undefined, undefined, pointCloud(X, X), o), `emd on points, maxBytes ${String(bad)}`);
    await expectOTError('invalid-option', () => sinkhorn(undefined, undefined, pointCloud(X, X), { ...o, reg: 0.1 }), `sinkhorn maxBytes ${String(bad)}`);
  }
  assert.is((await emd(undefined, undefined, [[0, 1], [1, 0]], { maxBytes: Infinity })).cost, 0, 'Infinity: no budget');
});

test('emd with costs near f64’s limit: finite duals, a tight certificate, or a numerical error — never NaN', async () => {
  const cases: number[][][] = [
    [[1e308, -1e308], [-1e308, 1e308]], // the issue's: u = [NaN, -Infinity] with status 'optimal'
    [[1e300, 3e300, -2e300], [2e300, -1e300, 1e300]],
    [[1.7e308, 0], [0, 1.7e308]],
  ];
  for (const M of cases) {
    const b = M[0].map(() => 1 / M[0].length);
    const a = M.map(() => 1 / M.length);
    const r = await emd(a, b, M, { worker: false }).catch((e: Error) => e);
    if (r instanceof Error) {
      assert.instance(r, OTError);
      assert.is((r as OTError).code, 'numerical', (r as Error).message);
      continue;
    }
    const what = JSON.stringify(M);
    assert.is(r.status, 'optimal', what);
    assert.ok([...r.potentials.u, ...r.potentials.v, r.cost, r.dualityGap].every(Number.isFinite), `${what}: u ${[...r.potentials.u]} v ${[...r.potentials.v]} gap ${r.dualityGap}`);
    const scale = Math.max(...M.flat().map(Math.abs));
    assert.ok(Math.abs(r.dualityGap) <= 1e-12 * scale, `${what}: gap ${r.dualityGap}`);
    for (let i = 0; i < M.length; i++)
      for (let j = 0; j < M[0].length; j++) assert.ok(r.potentials.u[i] + r.potentials.v[j] <= M[i][j] + 1e-12 * scale, `${what}: dual feasibility at (${i}, ${j})`);
    // the plan is the one of the rescaled problem
    const small = await emd(a, b, M.map((row) => row.map((x) => x / scale)), { worker: false });
    assert.equal(r.plan.toDense(), small.plan.toDense(), what);
  }
  // costs beyond f64 (squared distances of points at 1e200): a clear error, not NaN
  const X = { data: Float64Array.from([0, 1e200, 3e200, 2e200]), rows: 2, cols: 2 };
  await expectOTError('numerical', () => emd(undefined, undefined, pointCloud(X, X), { worker: false }), 'points at 1e200');
});

function points(rng: Rng, n: number, method: 'scaling' | 'log', maxBytes?: number): EngineProblem {
  const d = 2;
  const X = uniforms(rng, n * d);
  const Y = uniforms(rng, n * d, 0.2, 1.2);
  const w = new Float64Array(n).fill(1 / n);
  return { cost: { kind: 'points', X, Y, n, m: n, d, power: 2 }, a: w, b: w.slice(), method, tauA: 1, tauB: 1, maxBytes };
}

test("the wasm engine stores its kernel only within the caller's budget", async () => {
  const rng = new Rng(5);
  const n = 200; // kernel: 320 kB
  const roomy = await WasmEntropicEngine.create(points(rng, n, 'log'), { threads: 1 });
  assert.ok(roomy.kernelStored, 'default budget: stored');
  roomy.dispose();
  const tight = await WasmEntropicEngine.create(points(rng, n, 'log', 100_000), { threads: 1 });
  assert.not.ok(tight.kernelStored, 'maxBytes 1e5: on the fly');
  tight.dispose();
});

test('a scaling kernel that cannot be stored runs on the fly in wasm, with the iterates of the js engine', async () => {
  const rng = new Rng(7);
  const p = points(rng, 60, 'scaling', 10_000);
  const js = new JsEntropicEngine(p);
  const wa = await WasmEntropicEngine.create(p, { threads: 1 });
  assert.not.ok(wa.kernelStored);
  for (const e of [js, wa] as EntropicEngine[]) {
    await e.setEps(0.1);
    await e.iterate(40);
  }
  const [pj, pw] = [await js.potentials(), await wa.potentials()];
  for (let i = 0; i < 60; i++) {
    assert.ok(Math.abs(pj.f[i] - pw.f[i]) <= 1e-9 * (1 + Math.abs(pj.f[i])), `f[${i}]: js ${pj.f[i]} wasm ${pw.f[i]}`);
    assert.ok(Math.abs(pj.g[i] - pw.g[i]) <= 1e-9 * (1 + Math.abs(pj.g[i])), `g[${i}]: js ${pj.g[i]} wasm ${pw.g[i]}`);
  }
  wa.dispose();
});

test.run();
