// minibatchOT (ts/solvers/minibatch.ts): full batches equal emd; the estimator is seeded; its gradient matches
// central differences; the averaged plan is a coupling of the batch marginals; unbalanced batches run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OTError, Rng, emd, minibatchOT, pointCloud, sinkhorn } from 'kantorovich';
import { uniforms } from './helpers.js';

const rng = new Rng(21);
const n = 12;
const X = { data: uniforms(rng, n * 2), rows: n, cols: 2 };
const Y = { data: uniforms(rng, n * 2, 0.5, 1.5), rows: n, cols: 2 };

test('one batch of everything is exact OT: same value and plan as emd', async () => {
  const r = await minibatchOT(X, Y, { batchSize: n, nBatches: 1, plan: true });
  const e = await emd(undefined, undefined, pointCloud(X, Y));
  assert.ok(Math.abs(r.value - e.value) < 1e-14, `${r.value} vs ${e.value}`);
  assert.is(r.status, 'optimal');
  const P = r.plan!.toDense();
  const Q = e.plan.toDense();
  for (let k = 0; k < P.length; k++) assert.ok(Math.abs(P[k] - Q[k]) < 1e-15, `plan entry ${k}`);
});

test('batched solves: every batch of everything gives the value of the full problem (emd and entropic, 6 batches in one call)', async () => {
  const e = await emd(undefined, undefined, pointCloud(X, Y));
  const re = await minibatchOT(X, Y, { batchSize: n, nBatches: 6 });
  assert.ok(Math.abs(re.value - e.value) < 1e-13, `${re.value} vs ${e.value}`);
  const s = await sinkhorn(undefined, undefined, pointCloud(X, Y), { reg: 0.1, tol: 1e-12 });
  const rs = await minibatchOT(X, Y, { batchSize: n, nBatches: 6, solver: 'sinkhorn', reg: 0.1, tol: 1e-12 });
  assert.ok(Math.abs(rs.value - s.value) < 1e-10, `${rs.value} vs ${s.value}`);
  assert.is(rs.status, 'converged');
  const reports: number[] = [];
  await minibatchOT(X, Y, { batchSize: 4, nBatches: 5, solver: 'sinkhorn', reg: 0.1, onProgress: (p) => reports.push(p.done) });
  assert.is(reports[reports.length - 1], 5, `progress ${reports}`);
});

test('seeded: the same seed gives the same estimate, another seed another; the plan has mass 1', async () => {
  const a = await minibatchOT(X, Y, { batchSize: 4, nBatches: 8, seed: 1, plan: true });
  const b = await minibatchOT(X, Y, { batchSize: 4, nBatches: 8, seed: 1 });
  const c = await minibatchOT(X, Y, { batchSize: 4, nBatches: 8, seed: 2 });
  assert.is(a.value, b.value);
  assert.is.not(a.value, c.value);
  let mass = 0;
  for (const [, , v] of a.plan!.entries()) mass += v;
  assert.ok(Math.abs(mass - 1) < 1e-12, `mass ${mass}`);
  // the averaged plan carries the loss: ⟨plan, C⟩ = (1/B) Σ_k ⟨P_k, C_k⟩
  const geom = pointCloud(X, Y);
  let cost = 0;
  for (const [i, j, v] of a.plan!.entries()) cost += v * geom.costAt(i, j);
  assert.ok(Math.abs(cost - a.value) < 1e-14, `⟨plan, C⟩ ${cost} vs value ${a.value}`);
});

test('gradient vs central differences (the batches are fixed by the seed)', async () => {
  const opts = { batchSize: 5, nBatches: 6, seed: 4, gradient: true } as const;
  const r = await minibatchOT(X, Y, opts);
  const h = 1e-7;
  const x = X.data;
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    x[i] = v + h;
    const fp = (await minibatchOT(X, Y, opts)).value;
    x[i] = v - h;
    const fm = (await minibatchOT(X, Y, opts)).value;
    x[i] = v;
    worst = Math.max(worst, Math.abs((fp - fm) / (2 * h) - r.gradX![i]));
  }
  assert.ok(worst < 1e-6, `worst |fd − grad| = ${worst}`);
});

test('entropic and unbalanced batches; bad combinations are invalid-option', async () => {
  const s = await minibatchOT(X, Y, { solver: 'sinkhorn', reg: 0.1, batchSize: 6, nBatches: 3 });
  const u = await minibatchOT(X, Y, { solver: 'sinkhorn', reg: 0.1, unbalanced: { regM: 0.5 }, batchSize: 6, nBatches: 3 });
  assert.ok(Number.isFinite(s.value) && s.value > 0);
  assert.ok(Number.isFinite(u.value) && u.value > 0 && u.value < s.value, 'relaxed marginals transport less');
  for (const bad of [{ solver: 'sinkhorn' as const }, { reg: 0.1 }, { unbalanced: { regM: 1 } }]) {
    let e: unknown;
    try {
      await minibatchOT(X, Y, bad);
    } catch (err) {
      e = err;
    }
    assert.instance(e, OTError);
    assert.is((e as OTError).code, 'invalid-option');
  }
});

test.run();
