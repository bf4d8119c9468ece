// Neural trainers through the worker pool (ts/neural/train.ts): with sampler specs (plain data) a training call runs
// in a worker and returns the same result as in-process (same seed: identical f64 histories and maps), with
// progress and abort; functions cannot cross (OTError before any work); the sampler specs themselves.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OTError, Rng, dispose, trainICNNMap, trainKantorovichRubinsteinCritic, trainNOT } from 'kantorovich';
import { poolInternals as pool } from '../ts/worker/pool.js';
import { type SamplerSpec, gaussianBatchSampler, samplerOf } from '../ts/neural/index.js';
import { expectOTError, webgpuGate } from './helpers.js';

const P: SamplerSpec = { kind: 'gaussian', mean: [0, 0], cov: [1, 0, 0, 1] };
const Q: SamplerSpec = { kind: 'gaussian', mean: [1, -0.5], cov: [2, 0.6, 0.6, 0.8] };
const calls = () => pool.stats().calls;

test.after(async () => {
  await dispose();
});

test('trainICNNMap in a worker (specs, worker: true) equals the in-process run, with progress', async () => {
  const opts = { hidden: [8, 8], batchSize: 32, iterations: 6, innerSteps: 2, seed: 5, progressEvery: 2 };
  const before = calls();
  const seen: number[] = [];
  const w = await trainICNNMap(P, Q, { ...opts, worker: true, onProgress: (p) => seen.push(p.step) });
  assert.is(calls(), before + 1, 'the call went to the pool');
  const local = await trainICNNMap(P, Q, { ...opts, worker: false });
  assert.equal(w.history, local.history, 'identical f64 histories');
  const X = [[0.3, -0.2], [1, 2]];
  assert.equal(Array.from(w.map(X).data), Array.from(local.map(X).data), 'identical maps');
  assert.equal(Array.from(w.potentials.f(X)), Array.from(local.potentials.f(X)));
  assert.ok(seen.length >= 1 && seen[seen.length - 1] === 6, `progress reached the caller (steps ${seen.join(', ')})`);
  // a spec sampler and the equivalent function give the same run in-process
  const fn = await trainICNNMap(gaussianBatchSampler([0, 0], [1, 0, 0, 1]), gaussianBatchSampler([1, -0.5], [2, 0.6, 0.6, 0.8]), opts);
  assert.equal(fn.history, local.history);
});

test('trainNOT and the critic in a worker equal their in-process runs', async () => {
  const notOpts = { iterations: 3, innerSteps: 2, batchSize: 16, hiddenT: [8], hiddenF: [8], zDim: 1, zSamples: 2, gamma: 0.3, seed: 2 };
  const [nw, nl] = [await trainNOT(P, Q, { ...notOpts, worker: true }), await trainNOT(P, Q, { ...notOpts, worker: false })];
  assert.equal(nw.history, nl.history);
  assert.equal(Array.from(nw.map([[0.5, 0.5]], [[0.1]]).data), Array.from(nl.map([[0.5, 0.5]], [[0.1]]).data));
  assert.equal(Array.from(nw.sample([[0.5, 0.5]], new Rng(1)).data), Array.from(nl.sample([[0.5, 0.5]], new Rng(1)).data));
  const cOpts = { iterations: 3, batchSize: 32, hidden: [8], evalSamples: 64, seed: 3 };
  const [cw, cl] = [await trainKantorovichRubinsteinCritic(P, Q, { ...cOpts, worker: true }), await trainKantorovichRubinsteinCritic(P, Q, { ...cOpts, worker: false })];
  assert.equal(cw.history, cl.history);
  assert.is(cw.w1Estimate, cl.w1Estimate);
  assert.is(cw.w1Normalized, cl.w1Normalized);
  assert.equal(Array.from(cw.gradNorm([[0, 1]])), Array.from(cl.gradNorm([[0, 1]])));
});

test('abort: a worker training run stops with OTError(aborted) after the step it was aborted in, and the pool still works', async () => {
  const ctrl = new AbortController();
  let last = 0;
  await expectOTError(
    'aborted',
    () =>
      trainICNNMap(P, Q, {
        hidden: [8],
        batchSize: 16,
        iterations: 100000,
        progressEvery: 1,
        worker: true,
        signal: ctrl.signal,
        onProgress: (p) => {
          last = p.step;
          if (p.step >= 3) ctrl.abort();
        },
      }),
    'aborted training',
  );
  assert.ok(last >= 3 && last < 100000, `stopped at step ${last} of 100000`);
  const r = await trainICNNMap(P, Q, { hidden: [4], batchSize: 8, iterations: 1, worker: true });
  assert.is(r.history.length, 1, 'the pool runs the next call');
});

test("'auto' keeps function samplers and tiny runs in-process; worker: true with functions fails before any work", async () => {
  const before = calls();
  await trainICNNMap(gaussianBatchSampler([0], [1]), gaussianBatchSampler([1], [1]), { hidden: [4], batchSize: 8, iterations: 2 });
  await trainICNNMap({ kind: 'gaussian', mean: [0], cov: [1] }, { kind: 'gaussian', mean: [1], cov: [1] }, { hidden: [4], batchSize: 8, iterations: 2 });
  assert.is(calls(), before, 'neither call used the pool (functions; a work estimate far below the threshold)');
  let draws = 0;
  const fn = (n: number, rng: Rng) => {
    draws++;
    return gaussianBatchSampler([0], [1])(n, rng);
  };
  await expectOTError('invalid-option', () => trainNOT(fn, Q, { worker: true }), 'functions cannot cross');
  await expectOTError('invalid-option', () => trainICNNMap(P, Q, { worker: 'yes' as unknown as boolean }), 'bad worker option');
  assert.is(draws, 0);
});

test('sampler specs: every kind draws from the loop Rng; bad specs are OTErrors', () => {
  const kinds: SamplerSpec[] = [
    P,
    { kind: 'mixture', centres: [[0, 0], [5, 5]], std: 0.1 },
    { kind: '8gaussians' },
    { kind: 'moons', noise: 0.05 },
    { kind: 'swissroll' },
    { kind: 'points', X: [[1, 2], [3, 4], [5, 6]] },
  ];
  for (const spec of kinds) {
    const s = samplerOf('P', spec);
    const a = s(10, new Rng(4));
    const b = s(10, new Rng(4));
    assert.is(a.rows, 10, spec.kind);
    assert.equal(Array.from(a.data), Array.from(b.data), `${spec.kind}: same Rng, same batch`);
    assert.ok(a.data.every(Number.isFinite));
  }
  const pts = samplerOf('P', { kind: 'points', X: [[1, 2], [3, 4], [5, 6]] })(300, new Rng(1));
  for (let i = 0; i < pts.rows; i++) assert.ok([1, 3, 5].includes(pts.data[2 * i]) && pts.data[2 * i + 1] === pts.data[2 * i] + 1, 'rows of X');
  assert.throws(() => samplerOf('P', { kind: 'cube' } as unknown as SamplerSpec), (e: unknown) => e instanceof OTError && e.code === 'invalid-option');
  assert.throws(() => samplerOf('P', { kind: 'points', X: { data: new Float64Array(0), rows: 0, cols: 2 } }), (e: unknown) => e instanceof OTError);
});

const { it } = await webgpuGate('neural-worker.test');

it("a worker trains on its own GPU device (backend 'webgpu') and follows the js run", async () => {
  const notOpts = { iterations: 3, innerSteps: 2, batchSize: 16, hiddenT: [8], hiddenF: [8], seed: 6, activation: 'softplus' as const };
  const [g, j] = [await trainNOT(P, Q, { ...notOpts, backend: 'webgpu', worker: true }), await trainNOT(P, Q, { ...notOpts, worker: false })];
  g.history.forEach((h, i) => assert.ok(Math.abs(h.loss - j.history[i].loss) <= 1e-3 * Math.abs(j.history[i].loss) + 1e-5, `step ${h.step}: ${h.loss} vs ${j.history[i].loss}`));
});

test.run();
