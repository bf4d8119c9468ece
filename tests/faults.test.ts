// Fault injection (issue #15): workers that die idle or mid-solve, dispose() mid-flight, GPU work in a dying
// worker, Node flags. Every promise settles with a typed OTError, the process survives (checked in child
// processes, so a crash shows as an exit code instead of killing the runner), and the next call works.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { OTError, Rng, backends, dispose, emd, sinkhorn } from 'kantorovich';
import { poolInternals as pool } from '../ts/worker/pool.js';
import { runChild, uniforms } from './helpers.js';

const dist = fileURLToPath(new URL('../bindings/node.js', import.meta.url));
// the pool's internals (test hooks, the platform seam) are not in the package root: children import them directly
const poolModule = fileURLToPath(new URL('../ts/worker/pool.js', import.meta.url));

const rng = new Rng(15);
const M = [
  [0, 1],
  [1, 0],
];

test('an idle worker that died is replaced before the next call is dispatched (each crash mode)', async () => {
  for (const mode of ['exit', 'throw', 'terminate'] as const) {
    assert.is((await emd([0.5, 0.5], [0.5, 0.5], M, { worker: true })).cost, 0);
    pool.crash(mode);
    // dispatched at once, before the death is seen: the pool must not lose the call to the dying worker
    const r = await emd([0.5, 0.5], [0.5, 0.5], M, { worker: true }).catch((e: unknown) => e);
    assert.not.instance(r, Error, `${mode}: ${String(r)}`);
    assert.is((r as { cost: number }).cost, 0, mode);
  }
  await dispose();
});

test('the last progress report reaches the caller before the promise settles', async () => {
  const k = 64;
  const C = { data: uniforms(rng, k * k), rows: k, cols: k };
  for (let trial = 0; trial < 3; trial++) {
    let last = -1;
    let blocked = false;
    const r = await sinkhorn(undefined, undefined, C, {
      reg: 0.05,
      maxIter: 400,
      tol: 0,
      checkEvery: 10,
      worker: true,
      onProgress: (p: { iterations: number }) => {
        // Block this thread long enough for the worker to finish and for any bounded wait on its side to
        // expire, so the result and the last report are both queued here when it returns.
        if (!blocked) {
          blocked = true;
          const until = Date.now() + 2500;
          while (Date.now() < until);
        }
        last = p.iterations;
      },
    }).then((res) => ({ iterations: res.iterations, lastAtSettle: last }));
    assert.is(r.iterations, 400);
    assert.is(r.lastAtSettle, 400, 'the report of the last iteration arrived before the result');
  }
  await dispose();
});

test('the last progress report precedes settling even when reports are delivered after the result', async () => {
  // The pool holds every report back until the result has arrived (the interleaving that message ports on
  // different channels allow): the call must still settle only after the caller has seen the last report.
  const k = 64;
  const C = { data: uniforms(rng, k * k), rows: k, cols: k };
  pool.holdProgress(true);
  try {
    let last = -1;
    const r = await sinkhorn(undefined, undefined, C, { reg: 0.05, maxIter: 300, tol: 0, checkEvery: 10, worker: true, onProgress: (p: { iterations: number }) => (last = p.iterations) }).then(
      (res) => ({ iterations: res.iterations, lastAtSettle: last }),
    );
    assert.is(r.iterations, 300);
    assert.is(r.lastAtSettle, 300);
    const e = await emd(undefined, undefined, { data: uniforms(rng, 300 * 300), rows: 300, cols: 300 }, { worker: true, onProgress: (p: { iterations: number }) => (last = p.iterations) }).then((res) => ({ it: res.iterations, last }));
    assert.ok(e.last >= 0, 'emd reported progress before settling');
  } finally {
    pool.holdProgress(false);
  }
  await dispose();
});

test('Node flags that workers refuse (--max-old-space-size, --expose-gc, --stack-size) do not break worker calls', async () => {
  const code = `
    import * as K from ${JSON.stringify(dist)};
    import * as P from ${JSON.stringify(poolModule)};
    const w = await K.emd([0.5, 0.5], [0.5, 0.5], [[0, 1], [1, 0]], { worker: true }).then((r) => 'ok ' + r.cost, (e) => 'fail ' + e.code + ' ' + e.message);
    const k = 600;
    const C = { data: Float64Array.from({ length: k * k }, (_, i) => ((i * 7919) % 101) / 101), rows: k, cols: k };
    const before = P.poolInternals.stats().calls;
    const s = await K.sinkhorn(undefined, undefined, C, { reg: 0.1, maxIter: 20, backend: 'wasm' }).then((r) => 'ok', (e) => 'fail ' + e.code + ' ' + e.message);
    const inWorker = P.poolInternals.stats().calls === before + 1;
    const t = await K.sinkhorn(undefined, undefined, C, { reg: 0.1, maxIter: 20, backend: 'wasm', worker: false, threads: 2 });
    console.log('worker', w);
    console.log('auto', s, inWorker ? 'in a worker' : 'in-process');
    console.log('threads', t.threads, K.wasmThreadsUnavailableReason() ?? '');
    await K.dispose();`;
  const flags = [['--max-old-space-size=3000'], ['--expose-gc'], ['--stack-size=2000'], ['--expose-gc', '--enable-source-maps', '--max-old-space-size=2000']];
  for (const f of flags) {
    const r = await runChild(code, 60000, f);
    assert.is(r.code, 0, `${f.join(' ')}\n${r.out}`);
    assert.match(r.out, /^worker ok 0$/m, `${f.join(' ')}\n${r.out}`);
    assert.match(r.out, /^auto ok in a worker$/m, `${f.join(' ')}\n${r.out}`);
    assert.match(r.out, /^threads 2 $/m, `${f.join(' ')}: the wasm helper threads start\n${r.out}`);
  }
});

test("workers that cannot start: 'auto' runs in-process and says why, { worker: true } rejects typed", async () => {
  const code = `
    import * as K from ${JSON.stringify(dist)};
    import * as P from ${JSON.stringify(poolModule)};
    import { Worker } from 'node:worker_threads';
    import nodeAdapter from 'comlink/dist/esm/node-adapter.mjs';
    const mode = process.argv[1];
    P.setWorkerPlatform({
      size: 1,
      spawn() {
        if (mode === 'throw') throw new Error('threads are off in this sandbox');
        // a worker that dies before it serves (its entry point fails to load)
        const w = new Worker('throw new Error("entry failed to load")', { eval: true });
        return { endpoint: nodeAdapter(w), ref: () => w.ref(), unref: () => w.unref(), terminate: () => w.terminate(),
          onExit(cb) { let done = false; const once = (r) => { if (!done) { done = true; cb(r); } }; w.on('error', (e) => once('raised ' + e.message)); w.on('exit', (c) => once('exited ' + c)); } };
      },
    });
    const k = 600;
    const C = { data: Float64Array.from({ length: k * k }, (_, i) => ((i * 7919) % 101) / 101), rows: k, cols: k };
    const s = await K.sinkhorn(undefined, undefined, C, { reg: 0.1, maxIter: 20, backend: 'wasm' }).then((r) => 'ok ' + r.iterations, (e) => 'fail ' + e.code + ' ' + e.message);
    console.log('auto', s);
    console.log('reason', K.workersUnavailableReason());
    const t = await K.emd([0.5, 0.5], [0.5, 0.5], [[0, 1], [1, 0]], { worker: true }).then(() => 'resolved', (e) => (e instanceof K.OTError ? e.code : 'untyped') + ' ' + e.message);
    console.log('forced', t);`;
  for (const mode of ['throw', 'die']) {
    const r = await runChild(code.replace('process.argv[1]', JSON.stringify(mode)), 60000);
    assert.is(r.code, 0, `${mode}\n${r.out}`);
    assert.match(r.out, /^auto ok 20$/m, `${mode}\n${r.out}`);
    assert.match(r.out, mode === 'throw' ? /^reason .*threads are off in this sandbox/m : /^reason .*before it started/m, `${mode}\n${r.out}`);
    assert.match(r.out, /^forced backend-unavailable .*no worker can start here/m, `${mode}\n${r.out}`);
  }
});

test('a worker killed mid-solve on each CPU backend: worker-crashed, then the next call works', async () => {
  const k = 300;
  const C = { data: uniforms(rng, k * k), rows: k, cols: k };
  for (const backend of ['wasm', 'js'] as const)
    for (const mode of ['exit', 'throw', 'terminate'] as const) {
      let fired = false;
      const e = await sinkhorn(undefined, undefined, C, {
        reg: 0.01,
        maxIter: 1e6,
        tol: 0,
        backend,
        worker: true,
        onProgress: () => {
          if (!fired) {
            fired = true;
            pool.crash(mode);
          }
        },
      }).catch((x: unknown) => x);
      assert.instance(e, OTError, `${backend} ${mode}`);
      assert.is((e as OTError).code, 'worker-crashed', `${backend} ${mode}: ${(e as Error).message}`);
      const r = await sinkhorn(undefined, undefined, { data: C.data.subarray(0, 100), rows: 10, cols: 10 }, { reg: 0.1, backend, worker: true });
      assert.ok((r.status === 'converged'), `${backend} ${mode}: the next call works`);
    }
  await dispose();
});

test('abort at seeded points (after the k-th progress report) on each backend, in a worker and in-process', async () => {
  const gpu = (await backends()).find((r) => r.name === 'webgpu')!.available;
  const k = 120;
  const C = { data: uniforms(rng, k * k), rows: k, cols: k };
  const pick = new Rng(99);
  for (const backend of gpu ? (['wasm', 'js', 'webgpu'] as const) : (['wasm', 'js'] as const))
    for (const worker of [true, false])
      for (let trial = 0; trial < 3; trial++) {
        const after = 1 + Math.floor(pick.uniform() * 5);
        const ctrl = new AbortController();
        let reports = 0;
        const e = await sinkhorn(undefined, undefined, C, {
          reg: 0.01,
          maxIter: 1e6,
          tol: 0,
          backend,
          worker,
          signal: ctrl.signal,
          onProgress: () => {
            if (++reports === after) ctrl.abort();
          },
        }).catch((x: unknown) => x);
        const what = `${backend} ${worker ? 'worker' : 'in-process'} abort after report ${after}`;
        assert.instance(e, OTError, what);
        assert.is((e as OTError).code, 'aborted', `${what}: ${(e as Error).message}`);
        assert.ok(reports >= after, what);
      }
  const r = await sinkhorn(undefined, undefined, C, { reg: 0.1, worker: true });
  assert.ok((r.status === 'converged'), 'the pool still serves');
  await dispose();
});

test('dispose() mid-flight on each CPU backend: aborted, and the pool starts again', async () => {
  const k = 200;
  const C = { data: uniforms(rng, k * k), rows: k, cols: k };
  for (const backend of ['wasm', 'js'] as const) {
    let fired = false;
    const tracked = sinkhorn(undefined, undefined, C, {
      reg: 0.01,
      maxIter: 1e6,
      tol: 0,
      backend,
      worker: true,
      onProgress: () => {
        if (!fired) {
          fired = true;
          void dispose();
        }
      },
    }).catch((x: unknown) => x);
    // queued behind it (the pool may have a single worker): rejected by dispose() too
    const calls = [0, 1, 2].map(() => sinkhorn(undefined, undefined, C, { reg: 0.01, maxIter: 1e6, tol: 0, backend, worker: true }).catch((x: unknown) => x));
    for (const e of await Promise.all([tracked, ...calls])) {
      assert.instance(e, OTError, backend);
      assert.is((e as OTError).code, 'aborted', `${backend}: ${(e as Error).message}`);
    }
    assert.ok((await emd([0.5, 0.5], [0.5, 0.5], M, { worker: true })).status === 'optimal', `${backend}: the next call works`);
  }
  await dispose();
});

test('dispose() and every crash mode during a WebGPU solve in a worker: typed rejection, the process survives', async () => {
  const gpu = (await backends()).find((r) => r.name === 'webgpu')!;
  if (!gpu.available) {
    if (process.env.KANTOROVICH_REQUIRE_WEBGPU === '1') assert.unreachable(`webgpu required but unavailable: ${gpu.reason}`);
    console.log(`  (skipped: webgpu unavailable here: ${gpu.reason})`);
    return;
  }
  // The repro (n = 500 point clouds, log domain, ε = 1e-3), with the fault fired from the first
  // progress report, when GPU work is certainly in flight.
  const code = `
    import * as K from ${JSON.stringify(dist)};
    import * as P from ${JSON.stringify(poolModule)};
    const cloud = (n, s) => { const d = new Float64Array(2 * n); for (let i = 0; i < d.length; i++) d[i] = ((i * 7919 + s) % 1009) / 1009; return { data: d, rows: n, cols: 2 }; };
    for (const mode of ['dispose', 'exit', 'throw', 'terminate']) {
      let fired = false;
      const e = await K.sinkhorn(undefined, undefined, K.pointCloud(cloud(500, 1), cloud(500, 2)), {
        reg: 1e-3, method: 'log', backend: 'webgpu', maxIter: 1e6, tol: 0, worker: true,
        onProgress: () => {
          if (fired) return;
          fired = true;
          if (mode === 'dispose') void K.dispose();
          else P.poolInternals.crash(mode);
        },
      }).then(() => 'resolved', (e) => e);
      console.log(mode, e instanceof K.OTError ? e.code : 'untyped ' + String(e));
      const r = await K.sinkhorn(undefined, undefined, K.pointCloud(cloud(40, 3), cloud(40, 4)), { reg: 0.1, backend: 'webgpu', worker: true });
      console.log(mode, 'next', r.backend, r.status === 'converged');
    }
    await K.dispose();
    console.log('done');`;
  const r = await runChild(code, 120000);
  assert.not.ok(r.killed, `still running after 120 s\n${r.out}`);
  assert.is(r.signal, null, r.out);
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /^dispose aborted$/m);
  assert.match(r.out, /^exit worker-crashed$/m);
  assert.match(r.out, /^throw worker-crashed$/m);
  assert.match(r.out, /^terminate worker-crashed$/m);
  for (const mode of ['dispose', 'exit', 'throw', 'terminate']) assert.match(r.out, new RegExp(`^${mode} next webgpu true$`, 'm'));
  assert.match(r.out, /^done$/m);
});

test.run();
