// Worker offloading (ts/worker/, bindings/worker-node.ts): same results as in-process, inputs never
// detached, OTErrors cross as OTErrors, the 'auto' size rule, progress, abort (prompt, pool still usable,
// a worker that does not stop is replaced), crashes (typed rejection, pool recovers), dispose() and exit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import {
  OTError,
  Rng,
  backends,
  dispose,
  emd,
  pointCloud,
  sinkhorn,
  slicedWasserstein,
  wasserstein1d,
  setWasmSource,
} from 'kantorovich';
import { poolInternals as pool } from '../ts/worker/pool.js';
import { AUTO_THRESHOLD as WORKER_AUTO_THRESHOLD } from '../ts/registry/define.js';
import { readFile } from 'node:fs/promises';
import { expectOTError, runChild, uniforms } from './helpers.js';

const rng = new Rng(11);
const n = 60;
const m = 45;
const M = { data: uniforms(rng, n * m), rows: n, cols: m };
const a = uniforms(rng, n, 0.1, 1);
const b = uniforms(rng, m, 0.1, 1);
{
  const sa = a.reduce((s, v) => s + v, 0);
  const sb = b.reduce((s, v) => s + v, 0);
  a.forEach((v, i) => (a[i] = v / sa));
  b.forEach((v, i) => (b[i] = v / sb));
}
const X = { data: uniforms(rng, 200 * 3), rows: 200, cols: 3 };
const Y = { data: uniforms(rng, 150 * 3), rows: 150, cols: 3 };

const calls = () => pool.stats().calls;

/** A Sinkhorn solve that would run for minutes: it only ends by abort or a crash. */
function endlessSinkhorn(opts: { signal?: AbortSignal } = {}) {
  const k = 200;
  const C = { data: uniforms(new Rng(3), k * k), rows: k, cols: k };
  return sinkhorn(undefined, undefined, C, { reg: 0.05, maxIter: 1e6, tol: 0, worker: true, ...opts });
}

/** The rejection of `p`; fails (instead of hanging the suite) when it resolves or does not settle within `ms`. */
async function rejection(p: Promise<unknown>, ms = 10000): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), ms)));
  try {
    const v = await Promise.race([p.then(() => 'resolved' as const), late]);
    assert.unreachable(v === 'late' ? `the call did not settle within ${ms} ms` : 'the call should have rejected');
  } catch (e) {
    if (e instanceof assert.Assertion) throw e;
    return e;
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('emd in a worker = in-process, bit for bit; inputs are not detached', async () => {
  const before = calls();
  const aCopy = a.slice();
  const w = await emd(a, b, M, { worker: true });
  assert.is(calls(), before + 1, 'the call went to a worker');
  const p = await emd(a, b, M, { worker: false });
  assert.is(calls(), before + 1, 'worker: false stays in-process');
  assert.is(w.cost, p.cost);
  assert.is(w.backend, p.backend);
  assert.is(w.status, p.status);
  assert.is(w.iterations, p.iterations);
  assert.equal(w.potentials.u, p.potentials.u);
  assert.equal(w.potentials.v, p.potentials.v);
  assert.equal([...w.plan.entries()], [...p.plan.entries()]);
  assert.equal(w.plan.toDense(), p.plan.toDense(), 'the plan arrives as a Coupling');
  assert.is(a.length, n, 'a still usable');
  assert.is((M.data as Float64Array).length, n * m, 'M still usable');
  assert.equal(a, aCopy);
});

test('sinkhorn and slicedWasserstein in a worker = in-process', async () => {
  const opts = { reg: 0.05, maxIter: 300 };
  const w = await sinkhorn(a, b, M, { ...opts, worker: true });
  const p = await sinkhorn(a, b, M, { ...opts, worker: false });
  for (const k of ['cost', 'regValue', 'iterations', 'error', 'status', 'method', 'backend'] as const) assert.is(w[k], p[k], k);
  assert.equal(w.potentials.f, p.potentials.f);
  assert.equal(w.potentials.g, p.potentials.g);
  assert.equal(w.plan!.toDense(), p.plan!.toDense());
  const geo = pointCloud(X, Y);
  const wg = await sinkhorn(undefined, undefined, geo, { reg: 0.1, maxIter: 100, worker: true });
  const pg = await sinkhorn(undefined, undefined, geo, { reg: 0.1, maxIter: 100, worker: false });
  assert.is(wg.cost, pg.cost, 'a pointCloud geometry crosses too');
  assert.equal(wg.potentials.f, pg.potentials.f);
  const sw = await slicedWasserstein(X, Y, { nProjections: 20, seed: 5, worker: true });
  const sp = await slicedWasserstein(X, Y, { nProjections: 20, seed: 5, worker: false });
  assert.is(sw.value, sp.value);
  assert.equal(sw.projectionCosts, sp.projectionCosts);
  assert.equal(sw.projections, sp.projections);
  assert.is(await wasserstein1d(a, b, { worker: true }), await wasserstein1d(a, b, { worker: false }));
});

test('an OTError thrown in the worker arrives as an OTError with the same code and message', async () => {
  const bad = { data: M.data, rows: n, cols: m + 1 };
  const inProcess = (await rejection(emd(a, b, bad, { worker: false }))) as OTError;
  const inWorker = await rejection(emd(a, b, bad, { worker: true }));
  assert.instance(inWorker, OTError);
  assert.is((inWorker as OTError).code, inProcess.code);
  assert.is((inWorker as OTError).message, inProcess.message);
  await expectOTError('invalid-option', () => sinkhorn(a, b, M, { reg: -1, worker: true }), 'bad reg in a worker');
  await expectOTError('invalid-option', () => emd(a, b, M, { worker: 'yes' as never }), 'bad worker option');
});

test("worker: 'auto' offloads large problems only", async () => {
  let before = calls();
  await emd(a, b, M); // 60 × 45 = 2700 entries
  assert.is(calls(), before, 'small: in-process');
  const k = Math.ceil(Math.sqrt(WORKER_AUTO_THRESHOLD));
  const big = { data: uniforms(rng, k * k), rows: k, cols: k };
  before = calls();
  const r = await emd(undefined, undefined, big);
  assert.is(calls(), before + 1, `${k} × ${k}: in a worker`);
  assert.is(r.status, 'optimal');
});

test('workers run the wasm that setWasmSource chose on the calling thread (custom hosting)', async () => {
  await dispose();
  let fetched = 0;
  const bytes = await readFile(new URL('../../build/kantorovich.wasm', import.meta.url));
  setWasmSource(async () => {
    fetched++;
    return bytes;
  });
  try {
    const inWorker = await emd(a, b, M, { worker: true });
    const here = await emd(a, b, M, { worker: false });
    assert.is(inWorker.cost, here.cost);
    assert.is(fetched, 1, 'the custom source was read once, on this thread');
    assert.equal(pool.wasmSources(), ['pool'], 'the worker got the compiled module from the pool');
  } finally {
    await dispose();
    setWasmSource(() => readFile(new URL('../../build/kantorovich.wasm', import.meta.url)));
  }
});

test('onProgress is called through the worker', async () => {
  const seen: number[] = [];
  const r = await sinkhorn(a, b, M, { reg: 0.01, method: 'log', maxIter: 400, tol: 0, worker: true, onProgress: (p) => seen.push(p.iterations) });
  assert.is(r.iterations, 400);
  assert.ok(seen.length >= 1, 'at least one report');
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i] > seen[i - 1], 'increasing');
  assert.is(seen[seen.length - 1], 400, 'the last report arrives before the result');
});

test('abort mid-solve rejects with aborted (the solve would never end by itself); the pool still works', async () => {
  const ctrl = new AbortController();
  const call = endlessSinkhorn({ signal: ctrl.signal });
  await sleep(100);
  ctrl.abort();
  const err = await rejection(call);
  assert.instance(err, OTError);
  assert.is((err as OTError).code, 'aborted');
  const before = pool.stats();
  const r = await emd(a, b, M, { worker: true });
  assert.is(r.status, 'optimal', 'the pool still works');
  assert.is(pool.stats().spawned, before.spawned, 'the same worker stopped by itself');
  // already aborted: rejects at once, nothing sent
  await expectOTError('aborted', () => emd(a, b, M, { worker: true, signal: AbortSignal.abort() }), 'pre-aborted');
});

test('a worker that does not stop within the grace period is replaced; the call rejects with aborted', async () => {
  // wasserstein1d checks its signal only before it starts: 4e6 points take a few hundred ms
  const N = 4_000_000;
  const x = uniforms(rng, N);
  const y = uniforms(rng, N);
  const old = pool.setAbortGrace(20);
  try {
    const before = pool.stats();
    const ctrl = new AbortController();
    const call = wasserstein1d(x, y, { worker: true, signal: ctrl.signal });
    // the payload goes after a liveness round trip (a worker spawned now is still starting): an abort before
    // that rejects at once, with no worker to replace
    while (pool.stats().calls === before.calls) await sleep(5);
    await sleep(150);
    ctrl.abort();
    const err = await rejection(call);
    assert.instance(err, OTError);
    assert.is((err as OTError).code, 'aborted');
    assert.is(pool.stats().replaced, before.replaced + 1, 'replaced');
    assert.is(x.length, N, 'inputs intact');
  } finally {
    pool.setAbortGrace(old);
  }
  assert.is((await emd(a, b, M, { worker: true })).status, 'optimal', 'a fresh worker serves the next call');
});

test("a worker killed mid-call rejects with 'worker-crashed'; the next call succeeds", async () => {
  for (const mode of ['terminate', 'exit', 'throw'] as const) {
    const before = pool.stats();
    // emd yields to the worker's event loop between chunks, so the crash message is handled mid-solve; the dense
    // strategy (~1 s at this size): the multiscale one finishes 4000 points in well under the 150 ms below
    const k = 4000;
    const geo = pointCloud({ data: uniforms(rng, 2 * k), rows: k, cols: 2 }, { data: uniforms(rng, 2 * k), rows: k, cols: 2 });
    const call = mode === 'terminate' ? endlessSinkhorn() : emd(undefined, undefined, geo, { worker: true, strategy: 'dense', signal: new AbortController().signal });
    // a worker that dies before the payload went is replaced and the call retried: crash it once dispatched
    while (pool.stats().calls === before.calls) await sleep(5);
    await sleep(150);
    pool.crash(mode);
    const err = await rejection(call);
    assert.instance(err, OTError, mode);
    assert.is((err as OTError).code, 'worker-crashed', `${mode}: ${(err as Error).message}`);
    assert.is(pool.stats().crashed, before.crashed + 1, mode);
    const r = await emd(a, b, M, { worker: true });
    assert.is(r.status, 'optimal', `${mode}: the next call succeeds`);
  }
});

const dist = fileURLToPath(new URL('../bindings/node.js', import.meta.url));

test('the Node process exits by itself after dispose() (and when the pool is just idle)', async () => {
  const body = `
    import { emd, dispose } from ${JSON.stringify(dist)};
    const r = await emd([0.5, 0.5], [0.5, 0.5], [[0, 1], [1, 0]], { worker: true, onProgress: () => {} });
    console.log('cost', r.cost);`;
  const [withDispose, idle] = await Promise.all([
    runChild(`${body}\n    await dispose();\n    console.log('disposed');`, 10000),
    runChild(body, 10000),
  ]);
  assert.not.ok(withDispose.killed, `dispose: still running after 10 s\n${withDispose.out}`);
  assert.is(withDispose.code, 0, withDispose.out);
  assert.match(withDispose.out, /cost 0\b/);
  assert.match(withDispose.out, /disposed/);
  assert.not.ok(idle.killed, `idle pool: still running after 10 s\n${idle.out}`);
  assert.is(idle.code, 0, idle.out);
  assert.match(idle.out, /cost 0\b/);
});

test('a worker that used the GPU (Dawn) is shut down by message and the process exits cleanly', async () => {
  const gpu = (await backends()).find((r) => r.name === 'webgpu')!;
  if (!gpu.available) {
    console.log(`  (skipped: webgpu unavailable here: ${gpu.reason})`);
    return;
  }
  const code = `
    import { sinkhorn, dispose } from ${JSON.stringify(dist)};
    const k = 32;
    const C = { data: Float64Array.from({ length: k * k }, (_, i) => ((i * 7919) % 101) / 101), rows: k, cols: k };
    const r = await sinkhorn(undefined, undefined, C, { reg: 0.1, backend: 'webgpu', worker: true, maxIter: 50 });
    const ctrl = new AbortController();
    const p = sinkhorn(undefined, undefined, C, { reg: 0.1, backend: 'webgpu', worker: true, maxIter: 1e6, tol: 0, signal: ctrl.signal });
    setTimeout(() => ctrl.abort(), 200);
    const e = await p.catch((e) => e);
    console.log('backend', r.backend, 'abort', e.code);
    await dispose();
    console.log('disposed');`;
  const r = await runChild(code, 15000);
  assert.not.ok(r.killed, `still running after 15 s\n${r.out}`);
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /backend webgpu abort aborted/);
  assert.match(r.out, /disposed/);
});

test('dispose() rejects a running call with aborted; the pool starts again afterwards', async () => {
  const call = endlessSinkhorn();
  const settled = rejection(call);
  await sleep(100);
  await dispose();
  const err = await settled;
  assert.instance(err, OTError);
  assert.is((err as OTError).code, 'aborted');
  assert.is(pool.stats().live, 0);
  assert.is((await emd(a, b, M, { worker: true })).status, 'optimal');
  await dispose();
});

test.run();
