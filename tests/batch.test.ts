// Many problems in one call (sinkhornBatch, emdBatch, wasserstein1dBatch, sinkhornDivergenceBatch) and the
// k × k pairwiseDistances: the oracle of every batched result is the per-problem call (same options), to
// 1e-10 on the f64 backends and to f32 tolerance on webgpu (where an adapter exists). Also: ragged and packed
// (padded) inputs, per-problem status, errors naming the problem, and the divergence's one loop against
// three independent Sinkhorn solves.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  OTError,
  Rng,
  emd,
  emdBatch,
  pairwiseDistances,
  pointCloud,
  sinkhorn,
  sinkhornBatch,
  sinkhornDivergence,
  sinkhornDivergenceBatch,
  slicedWasserstein,
  wasserstein1d,
  wasserstein1dBatch,
} from 'kantorovich';
import { randomWeights, uniforms, webgpuGate } from './helpers.js';
import { engineCounters } from '../ts/entropic/select.js';

const F64_TOL = 1e-10;

function costs(rng: Rng, n: number, m: number, scale = 1) {
  return { data: uniforms(rng, n * m, 0, scale), rows: n, cols: m };
}

function cloud(rng: Rng, n: number, d: number, shift = 0) {
  return { data: uniforms(rng, n * d, shift, shift + 1), rows: n, cols: d };
}

/** Ragged problems: sizes and weights differ, some weights are zero. */
function raggedProblems(rng: Rng, B: number) {
  return Array.from({ length: B }, (_, q) => {
    const n = 3 + ((q * 7) % 11);
    const m = 2 + ((q * 5) % 13);
    return { a: randomWeights(rng, n, q % 3 === 0), b: randomWeights(rng, m), M: costs(rng, n, m) };
  });
}

async function rejection(p: () => Promise<unknown>): Promise<OTError> {
  try {
    await p();
  } catch (e) {
    assert.instance(e, OTError, `an OTError (got ${String(e)})`);
    return e as OTError;
  }
  throw new Error('expected a rejection');
}

function near(got: number, want: number, tol: number, what: string): void {
  assert.ok(Math.abs(got - want) <= tol * Math.max(1, Math.abs(want)), `${what}: got ${got}, want ${want} (|diff| ${Math.abs(got - want).toExponential(2)})`);
}

test('sinkhornBatch equals sinkhorn per problem (ragged, wasm 1 and 2 threads, js; both methods)', async () => {
  const rng = new Rng(1);
  const problems = raggedProblems(rng, 12);
  for (const method of ['scaling', 'log'] as const) {
    const opts = { reg: 0.05, method, worker: false as const };
    const one = await Promise.all(problems.map((p) => sinkhorn(p.a, p.b, p.M, opts)));
    for (const variant of [{ backend: 'wasm' as const, threads: 1 }, { backend: 'wasm' as const, threads: 2 }, { backend: 'js' as const }]) {
      const r = await sinkhornBatch(problems, { ...opts, ...variant });
      assert.is(r.results.length, problems.length);
      assert.is(r.backend, variant.backend);
      problems.forEach((_, q) => {
        const what = `${method} ${JSON.stringify(variant)} problem ${q}`;
        near(r.values[q], one[q].value, F64_TOL, `${what} value`);
        near(r.results[q].regValue, one[q].regValue, F64_TOL, `${what} regValue`);
        assert.is(r.results[q].iterations, one[q].iterations, `${what} iterations`);
        assert.is(r.results[q].status, one[q].status, `${what} status`);
        const f = r.results[q].potentials.f;
        for (let i = 0; i < f.length; i++) if (Number.isFinite(one[q].potentials.f[i])) near(f[i], one[q].potentials.f[i], F64_TOL, `${what} f[${i}]`);
      });
      near(r.value, one.reduce((s, x) => s + x.value, 0), F64_TOL, 'value is the sum');
      assert.is(r.iterations, Math.max(...one.map((x) => x.iterations)));
    }
  }
});

test('sinkhornBatch: per-problem convergence and status; ε-scaling schedules per problem', async () => {
  const rng = new Rng(2);
  // the second problem's costs are 20× larger: far more iterations at the same reg
  const problems = [{ M: costs(rng, 8, 9) }, { M: costs(rng, 8, 9, 20) }, { M: costs(rng, 5, 4) }];
  const opts = { reg: 0.5, method: 'log' as const, maxIter: 60, worker: false as const };
  const seen: number[] = [];
  const r = await sinkhornBatch(problems, { ...opts, onProgress: (p) => seen.push(p.solved) });
  assert.ok(seen.every((x, i) => i === 0 || x >= seen[i - 1]), 'solved never decreases');
  assert.is(seen.at(-1), problems.length, 'the last report counts every problem');
  assert.ok(seen[0] < problems.length, 'problems finish at different rounds');
  const one = await Promise.all(problems.map((p) => sinkhorn(undefined, undefined, p.M, opts)));
  assert.equal(r.results.map((x) => x.status), one.map((x) => x.status));
  assert.ok(one.some((x) => x.status === 'converged') && one.some((x) => x.status === 'max-iterations'), 'a mixed batch');
  assert.is(r.status, 'max-iterations');
  assert.ok(r.results[0].iterations < r.results[1].iterations, 'the easy problem stopped first');
  const scaled = { reg: 0.01, epsScaling: true, worker: false as const };
  const rs = await sinkhornBatch(problems, scaled);
  for (let q = 0; q < problems.length; q++) {
    const s = await sinkhorn(undefined, undefined, problems[q].M, scaled);
    near(rs.values[q], s.value, F64_TOL, `ε-scaling problem ${q}`);
    assert.is(rs.results[q].iterations, s.iterations);
  }
});

test('sinkhornBatch: a packed B × n × m tensor with per-problem valid sizes equals the unpadded problems', async () => {
  const rng = new Rng(3);
  const B = 5;
  const n = 7;
  const m = 6;
  const rows = [7, 3, 5, 1, 7];
  const cols = [6, 6, 2, 4, 1];
  const data = uniforms(rng, B * n * m);
  const a = uniforms(rng, B * n, 0.1, 1);
  const b = new Float64Array(B * m);
  // each problem's valid b with the mass of its valid a (padding entries are junk and must be ignored)
  for (let q = 0; q < B; q++) {
    let sa = 0;
    for (let i = 0; i < rows[q]; i++) sa += a[q * n + i];
    for (let j = 0; j < m; j++) b[q * m + j] = j < cols[q] ? sa / cols[q] : 99;
  }
  const r = await sinkhornBatch({ costs: data, shape: [B, n, m], a, b, rows, cols }, { reg: 0.1, worker: false });
  for (let q = 0; q < B; q++) {
    const M = { data: new Float64Array(rows[q] * cols[q]), rows: rows[q], cols: cols[q] };
    for (let i = 0; i < rows[q]; i++) for (let j = 0; j < cols[q]; j++) M.data[i * cols[q] + j] = data[q * n * m + i * m + j];
    const s = await sinkhorn(a.slice(q * n, q * n + rows[q]), b.slice(q * m, q * m + cols[q]), M, { reg: 0.1, worker: false });
    near(r.values[q], s.value, F64_TOL, `packed problem ${q}`);
    assert.is(r.results[q].plan.rows, rows[q]);
    assert.is(r.results[q].plan.cols, cols[q]);
  }
});

test('batched calls: bad input is an OTError naming the problem, before any work', async () => {
  const rng = new Rng(4);
  const good = { M: costs(rng, 3, 3) };
  const nan = { M: { data: Float64Array.from([0, 1, NaN, 1]), rows: 2, cols: 2 } };
  let e = await rejection(() => sinkhornBatch([good, good, nan], { reg: 0.1 }));
  assert.match(e.message, 'problem 2');
  e = await rejection(() => emdBatch([good, nan], {}));
  assert.match(e.message, 'problem 1');
  e = await rejection(() => sinkhornBatch({ costs: new Float64Array(17), shape: [2, 3, 3] }, { reg: 0.1 }));
  assert.is(e.code, 'shape');
  e = await rejection(() => sinkhornBatch({ costs: new Float64Array(18), shape: [2, 3, 3], rows: [3, 4] }, { reg: 0.1 }));
  assert.is(e.code, 'shape');
  assert.match(e.message, 'problem 1');
  e = await rejection(() => sinkhornBatch({ costs: new Float64Array(18), shape: [2, 3, 3], a: new Float64Array(5) }, { reg: 0.1 }));
  assert.is(e.code, 'shape');
  e = await rejection(() => sinkhornBatch([good, { a: [0.5, 0.5], M: costs(rng, 3, 3) }], { reg: 0.1 }));
  assert.match(e.message, 'problem 1');
  e = await rejection(() => sinkhornBatch([], { reg: 0.1 }));
  assert.is(e.code, 'shape');
  e = await rejection(() => wasserstein1dBatch([{ x: [0, 1], y: [1] }, { x: [0, NaN], y: [1] }], {}));
  assert.match(e.message, 'problem 1');
  e = await rejection(() => sinkhornDivergenceBatch([{ X: [[0, 0]], Y: [[1, 1]] }, { X: [[0, 0]], Y: [[1, 1, 1]] }], { reg: 0.1 }));
  assert.match(e.message, 'problem 1');
  // a problem whose iteration overflows is named too
  const big = { M: costs(rng, 4, 4, 1e4) };
  e = await rejection(() => sinkhornBatch([good, big], { reg: 1, method: 'scaling' }));
  assert.is(e.code, 'numerical');
  assert.match(e.message, 'problem 1');
});

test('sinkhornBatch crosses to a worker (same values, plans rebuilt) and stops on abort', async () => {
  const rng = new Rng(11);
  const problems = raggedProblems(rng, 4);
  const here = await sinkhornBatch(problems, { reg: 0.1, worker: false });
  const there = await sinkhornBatch(problems, { reg: 0.1, worker: true });
  problems.forEach((_, q) => near(there.values[q], here.values[q], F64_TOL, `worker problem ${q}`));
  assert.is(there.results[1].plan.at(0, 0), here.results[1].plan.at(0, 0));
  const ctl = new AbortController();
  ctl.abort();
  const e = await rejection(() => sinkhornBatch(problems, { reg: 0.1, worker: false, signal: ctl.signal }));
  assert.is(e.code, 'aborted');
});

test('emdBatch and wasserstein1dBatch equal the per-problem calls', async () => {
  const rng = new Rng(5);
  const problems = raggedProblems(rng, 8);
  const r = await emdBatch(problems, { worker: false });
  for (let q = 0; q < problems.length; q++) {
    const s = await emd(problems[q].a, problems[q].b, problems[q].M, { worker: false });
    near(r.values[q], s.value, F64_TOL, `emd problem ${q}`);
    assert.is(r.results[q].status, 'optimal');
  }
  assert.is(r.status, 'optimal');
  const pairs = Array.from({ length: 6 }, (_, q) => ({ x: uniforms(rng, 5 + q), y: uniforms(rng, 9 - q, -1, 2), b: q % 2 ? randomWeights(rng, 9 - q) : undefined }));
  for (const p of [1, 2]) {
    const w = await wasserstein1dBatch(pairs, { p, worker: false });
    for (let q = 0; q < pairs.length; q++) near(w.values[q], await wasserstein1d(pairs[q].x, pairs[q].y, { p, b: pairs[q].b }), F64_TOL, `w1d p=${p} pair ${q}`);
    assert.is(w.status, 'optimal');
  }
});

test('emdBatch shares a large batch with the worker pool: same values, errors named in the whole batch', async () => {
  const rng = new Rng(10);
  const problems = Array.from({ length: 8 }, () => ({ M: pointCloud(cloud(rng, 200, 2), cloud(rng, 200, 2)) }));
  const r = await emdBatch(problems, {});
  for (const q of [0, 7]) near(r.values[q], (await emd(undefined, undefined, problems[q].M, { worker: false })).value, F64_TOL, `problem ${q}`);
  const pool = (await import('../ts/worker/pool.js')).poolSize();
  if (pool > 0) assert.is(r.threads, 2, 'this thread and a worker shared it');
  else console.log(`batch.test: no worker pool here (${pool}); the batch ran on this thread`);
  const bad = problems.map((p, q) => (q === 6 ? { ...p, a: new Float64Array(200).fill(1 / 100) } : p));
  const e = await rejection(() => emdBatch(bad, {}));
  assert.match(e.message, 'problem 6');
});

test('sinkhornDivergenceBatch equals sinkhornDivergence per pair (values and gradients), progress reaches the total', async () => {
  const rng = new Rng(6);
  const pairs = [
    { X: cloud(rng, 7, 2), Y: cloud(rng, 9, 2, 0.3) },
    { X: cloud(rng, 4, 3), Y: cloud(rng, 5, 3), a: randomWeights(rng, 4, true) },
    { X: cloud(rng, 6, 1), Y: cloud(rng, 6, 1, 2) },
  ];
  const reports: { solved: number; total: number }[] = [];
  const r = await sinkhornDivergenceBatch(pairs, { reg: 0.1, gradient: true, worker: false, onProgress: (p) => reports.push(p) });
  for (let q = 0; q < pairs.length; q++) {
    const s = await sinkhornDivergence(pairs[q].X, pairs[q].Y, { reg: 0.1, a: pairs[q].a, gradient: true, worker: false });
    near(r.values[q], s.value, F64_TOL, `pair ${q}`);
    near(r.results[q].linearValue, s.linearValue, F64_TOL, `pair ${q} linear`);
    s.gradX.forEach((g, k) => near(r.results[q].gradX![k], g, F64_TOL, `pair ${q} gradX[${k}]`));
  }
  assert.is(reports.at(-1)!.solved, 9, 'all 3 × 3 terms solved');
  assert.is(reports.at(-1)!.total, 9);
});

test('sinkhornDivergence (xy, xx, yy in one loop) equals three independent Sinkhorn solves', async () => {
  const rng = new Rng(7);
  const X = cloud(rng, 20, 2);
  const Y = cloud(rng, 15, 2, 0.5);
  const a = randomWeights(rng, 20);
  const b = randomWeights(rng, 15);
  const reg = 0.2;
  const opts = { reg, tol: 1e-12, maxIter: 5000, worker: false as const };
  // OT_ε(a, b) = ⟨P, C⟩ + ε KL(P | a ⊗ b) = regValue + ε − ε(Σ a log a + Σ b log b) at a balanced solution (ΣP = 1)
  const ent = (w: Float64Array) => w.reduce((s, x) => s + (x > 0 ? x * Math.log(x) : 0), 0);
  const otEps = async (P: typeof X, Q: typeof X, wp: Float64Array, wq: Float64Array) => {
    const s = await sinkhorn(wp, wq, pointCloud(P, Q), opts);
    return s.regValue + reg - reg * (ent(wp) + ent(wq));
  };
  const want = (await otEps(X, Y, a, b)) - 0.5 * (await otEps(X, X, a, a)) - 0.5 * (await otEps(Y, Y, b, b));
  for (const backend of ['wasm', 'js'] as const) {
    const d = await sinkhornDivergence(X, Y, { ...opts, a, b, backend });
    near(d.value, want, 1e-9, `S_ε on ${backend}`);
  }
});

test('pairwiseDistances: symmetric, zero diagonal, equal to the individual calls (every method)', async () => {
  const rng = new Rng(8);
  const clouds = Array.from({ length: 4 }, (_, i) => cloud(rng, 5 + i, 2, i * 0.2));
  const k = clouds.length;
  const check = async (method: string, D: Float64Array, pair: (i: number, j: number) => Promise<number>, diagonal: (i: number) => Promise<number> = async () => 0) => {
    for (let i = 0; i < k; i++) {
      near(D[i * k + i], await diagonal(i), F64_TOL, `${method} D[${i}, ${i}]`);
      for (let j = i + 1; j < k; j++) {
        assert.is(D[i * k + j], D[j * k + i], `${method} symmetric (${i}, ${j})`);
        near(D[i * k + j], await pair(i, j), F64_TOL, `${method} D[${i}, ${j}]`);
      }
    }
  };
  const reports: { done: number; total: number }[] = [];
  const div = await pairwiseDistances(clouds, { method: 'divergence', reg: 0.1, worker: false, onProgress: (p) => reports.push(p) });
  await check('divergence', div.D, async (i, j) => (await sinkhornDivergence(clouds[i], clouds[j], { reg: 0.1, worker: false })).value);
  assert.is(reports.at(-1)!.done, reports.at(-1)!.total, 'progress reaches the total');
  assert.is(reports.at(-1)!.total, k + (k * (k - 1)) / 2, 'k self terms and the pairs, each solved once');
  const emdD = await pairwiseDistances(clouds, { method: 'emd', worker: false });
  await check('emd', emdD.D, async (i, j) => (await emd(undefined, undefined, pointCloud(clouds[i], clouds[j]), { worker: false })).value);
  const sk = await pairwiseDistances(clouds, { method: 'sinkhorn', reg: 0.1, worker: false });
  const skPair = async (i: number, j: number) => (await sinkhorn(undefined, undefined, pointCloud(clouds[i], clouds[j]), { reg: 0.1, worker: false })).value;
  await check('sinkhorn', sk.D, skPair, (i) => skPair(i, i));
  const sl = await pairwiseDistances(clouds, { method: 'sliced', nProjections: 16, worker: false });
  await check('sliced', sl.D, async (i, j) => (await slicedWasserstein(clouds[i], clouds[j], { nProjections: 16, worker: false })).value);
  // histograms on one support with M
  const support = cloud(rng, 6, 2);
  const hist = Array.from({ length: 5 }, () => randomWeights(rng, 6));
  const M = pointCloud(support, support);
  const H = await pairwiseDistances(hist, { method: 'emd', M: { data: M.dense().data, rows: 6, cols: 6 }, worker: false });
  for (let i = 0; i < 5; i++)
    for (let j = 0; j < 5; j++) {
      const want = i === j ? 0 : (await emd(hist[i], hist[j], M, { worker: false })).value;
      near(H.D[i * 5 + j], want, F64_TOL, `histograms D[${i}, ${j}]`);
    }
  const samples = Array.from({ length: 4 }, (_, i) => uniforms(rng, 6 + i, i, i + 2));
  const w = await pairwiseDistances(samples, { method: 'w1d', p: 2, worker: false });
  for (let i = 0; i < 4; i++) for (let j = i + 1; j < 4; j++) near(w.D[i * 4 + j], await wasserstein1d(samples[i], samples[j], { p: 2 }), F64_TOL, `w1d (${i}, ${j})`);
  const e = await rejection(() => pairwiseDistances([clouds[0], { X: [[0, NaN]] }], { method: 'divergence', reg: 0.1 }));
  assert.match(e.message, 'measure 1');
  const noReg = await rejection(() => pairwiseDistances(clouds, { method: 'sinkhorn' }));
  assert.is(noReg.code, 'invalid-option');
});

const { it } = await webgpuGate('batch.test');

it('sinkhornBatch on webgpu equals the per-problem webgpu calls (f32) and the wasm batch to f32 tolerance', async () => {
  const rng = new Rng(9);
  const problems = raggedProblems(rng, 5);
  const opts = { reg: 0.1, method: 'log' as const, worker: false as const };
  const r = await sinkhornBatch(problems, { ...opts, backend: 'webgpu' });
  const w = await sinkhornBatch(problems, { ...opts, backend: 'wasm' });
  assert.is(r.backend, 'webgpu');
  for (let q = 0; q < problems.length; q++) {
    const s = await sinkhorn(problems[q].a, problems[q].b, problems[q].M, { ...opts, backend: 'webgpu' });
    near(r.values[q], s.value, 1e-5, `webgpu problem ${q} vs its own call`);
    near(r.values[q], w.values[q], 1e-4, `webgpu problem ${q} vs wasm`);
    assert.is(r.results[q].status, 'converged');
  }
  // a packed batch of 60 with padding, 100 iterations each, against the wasm batch
  const B = 60;
  const rows = Array.from({ length: B }, (_, q) => 4 + (q % 9));
  const packed = { costs: uniforms(rng, B * 12 * 12), shape: [B, 12, 12] as [number, number, number], rows, cols: rows };
  const fixed = { reg: 0.1, maxIter: 100, tol: 0, worker: false as const };
  const g = await sinkhornBatch(packed, { ...fixed, backend: 'webgpu' });
  const c = await sinkhornBatch(packed, { ...fixed, backend: 'wasm' });
  for (let q = 0; q < B; q++) near(g.values[q], c.values[q], 1e-4, `packed problem ${q}`);
  assert.is(g.iterations, 100);
  // point clouds on webgpu: one batch too (their costs materialized), no engine per problem
  const pairs = [{ X: cloud(rng, 6, 2), Y: cloud(rng, 7, 2) }, { X: cloud(rng, 5, 2), Y: cloud(rng, 4, 2, 1) }];
  const engines = engineCounters.created;
  const dg = await sinkhornDivergenceBatch(pairs, { reg: 0.2, backend: 'webgpu', worker: false, gradient: true });
  assert.is(engineCounters.created, engines, 'the divergence batch made no per-problem engine');
  const dw = await sinkhornDivergenceBatch(pairs, { reg: 0.2, backend: 'wasm', worker: false, gradient: true });
  assert.is(dg.backend, 'webgpu');
  for (let q = 0; q < 2; q++) {
    near(dg.values[q], dw.values[q], 1e-4, `divergence pair ${q} webgpu vs wasm`);
    const [gx, wx] = [dg.results[q].gradX!, dw.results[q].gradX!];
    for (let k = 0; k < wx.length; k++) near(gx[k], wx[k], 1e-3, `divergence pair ${q} gradX[${k}] webgpu vs wasm`);
  }
  // a sinkhornBatch of clouds (sqeuclidean and euclidean) against its wasm batch
  const cloudProblems = [
    { M: pointCloud(cloud(rng, 9, 3), cloud(rng, 8, 3)) },
    { M: pointCloud(cloud(rng, 5, 3), cloud(rng, 6, 3), { cost: 'euclidean' }) },
  ];
  const before = engineCounters.created;
  const cg = await sinkhornBatch(cloudProblems, { reg: 0.2, backend: 'webgpu', worker: false });
  assert.is(engineCounters.created, before, 'the cloud batch made no per-problem engine');
  const cw = await sinkhornBatch(cloudProblems, { reg: 0.2, backend: 'wasm', worker: false });
  for (let q = 0; q < 2; q++) near(cg.values[q], cw.values[q], 1e-4, `cloud problem ${q} webgpu vs wasm`);
});

test.run();
