// Partial OT (ts/solvers/partial.ts) against tests/fixtures/pot/families-partial.json (POT 0.8.2
// ot.partial.partial_wasserstein / entropic_partial_wasserstein, made by generate_families.py).
// Tolerances: exact value 1e-10 relative; exact plan entry by entry 1e-12 absolute where the fixture shows
// it unique (planUnique); entropic plan 1e-10 absolute and value 1e-10 relative (the same iteration, the same
// number of iterations as POT: stopThr 1e-100, tol 0 here, unless the plan stops changing exactly).
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { partialWasserstein } from '../ts/solvers/partial.js';
import { costMatrix, grid, pointCloud } from '../ts/geometry.js';
import { Rng } from '../ts/rng.js';
import { close, expectOTError, flat } from './helpers.js';
import type { SparseCoupling } from '../ts/coupling.js';

const FIX = JSON.parse(readFileSync(new URL('../../tests/fixtures/pot/families-partial.json', import.meta.url), 'utf8'));

function marginals(P: Float64Array, n: number, m: number): [Float64Array, Float64Array] {
  const r = new Float64Array(n);
  const c = new Float64Array(m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) (r[i] += P[i * m + j]), (c[j] += P[i * m + j]);
  return [r, c];
}

test('exact partial OT matches POT partial_wasserstein', async () => {
  for (const c of FIX.exact) {
    const M = flat(c.M);
    const r = await partialWasserstein(c.a, c.b, M, { mass: c.mass });
    assert.is(r.status, 'optimal');
    assert.is(r.plan.kind, 'sparse');
    close(r.value, c.value, 1e-10, 1e-15, `${c.name} value`);
    close(r.cost, r.value, 0, 0, `${c.name} cost`);
    close(r.mass, c.mass, 1e-12, 1e-15, `${c.name} mass`);
    const P = r.plan.toDense();
    const [rows, cols] = marginals(P, M.rows, M.cols);
    rows.forEach((x, i) => assert.ok(x <= c.a[i] + 1e-14, `${c.name} row ${i} over a`));
    cols.forEach((x, j) => assert.ok(x <= c.b[j] + 1e-14, `${c.name} col ${j} over b`));
    if (c.planUnique) {
      const want = flat(c.plan).data;
      for (let t = 0; t < want.length; t++) close(P[t], want[t], 0, 1e-12, `${c.name} plan[${t}]`);
    }
  }
});

test('entropic partial OT matches POT entropic_partial_wasserstein (scaling and log domains)', async () => {
  for (const c of FIX.entropic) {
    const M = flat(c.M);
    for (const method of ['scaling', 'log'] as const) {
      const r = await partialWasserstein(c.a, c.b, M, { mass: c.mass, reg: c.reg, maxIter: c.maxIter, tol: 0, method });
      assert.ok(r.iterations <= c.maxIter, `${c.name} iterations`);
      assert.is(r.method, method);
      close(r.value, c.value, 1e-10, 1e-15, `${c.name} ${method} value`);
      const want = flat(c.plan).data;
      const P = r.plan.toDense();
      for (let t = 0; t < want.length; t++) close(P[t], want[t], 0, 1e-10, `${c.name} ${method} plan[${t}]`);
      close(r.mass, c.mass, 1e-9, 0, `${c.name} mass`);
    }
  }
});

test('entropic partial OT at a tiny reg stays finite (log domain) and approaches the exact value', async () => {
  const c = FIX.exact[1];
  const M = flat(c.M);
  const exact = await partialWasserstein(c.a, c.b, M, { mass: c.mass });
  const r = await partialWasserstein(c.a, c.b, M, { mass: c.mass, reg: 1e-3, maxIter: 20000, tol: 1e-12 });
  assert.is(r.method, 'log');
  assert.is(r.status, 'converged');
  close(r.value, exact.value, 1e-3, 0, 'near the exact value');
  // max M / reg ≈ 3e6: every kernel entry underflows in the scaling domain; the log domain stays finite
  const t = await partialWasserstein(c.a, c.b, M, { mass: c.mass, reg: 1e-5, maxIter: 500 });
  const P = t.plan.toDense();
  assert.ok(P.every((x) => Number.isFinite(x) && x >= 0), 'finite plan');
  assert.ok(Number.isFinite(t.value) && Number.isFinite(t.error));
  close(t.mass, c.mass, 1e-12, 0, 'mass at reg 1e-5');
  await expectOTError('numerical', () => partialWasserstein(c.a, c.b, M, { mass: c.mass, reg: 1e-5, method: 'scaling', maxIter: 50 }), 'scaling at tiny reg');
});

test('partial OT edge cases: zero weights, mass 0, full mass equals balanced OT', async () => {
  const M = [[0, 1, 2], [1, 0, 1], [2, 1, 0]];
  const z = await partialWasserstein([0.5, 0, 0.5], [0.2, 0.3, 0.5], M, { mass: 0.6 });
  assert.is(z.plan.toDense()[3] + z.plan.toDense()[4] + z.plan.toDense()[5], 0);
  close(z.value, 0, 0, 1e-15, 'mass 0.6 at zero cost (0.2 + 0.5 on the diagonal ... )');
  const zero = await partialWasserstein([0.5, 0.5], [0.5, 0.5], [[0, 1], [1, 0]], { mass: 0 });
  assert.is(zero.mass, 0);
  const e = await partialWasserstein([0.5, 0, 0.5], [0.2, 0.3, 0.5], M, { mass: 0.6, reg: 0.05 });
  assert.ok(e.plan.toDense().slice(3, 6).every((x) => x === 0), 'zero row stays zero');
  const full = await partialWasserstein([0.3, 0.7], [0.6, 0.4], [[0, 1], [1, 0]], { mass: 1 });
  close(full.value, 0.3, 1e-14, 1e-15, 'balanced');
});

test('entropic partial OT on point clouds and grids (online, lazy plan) = on their cost matrices', async () => {
  const rng = new Rng(5);
  const n = 40;
  const m = 30;
  const X = Array.from({ length: n }, () => [rng.uniform(), rng.uniform()]);
  const Y = Array.from({ length: m }, () => [rng.uniform() + 0.4, rng.uniform()]);
  const a = Float64Array.from({ length: n }, (_, i) => (i % 7 === 0 ? 0 : 0.5 + rng.uniform()));
  const b = Float64Array.from({ length: m }, () => 0.5 + rng.uniform());
  const mass = 0.6 * Math.min(a.reduce((s, x) => s + x, 0), b.reduce((s, x) => s + x, 0));
  const check = async (geom: Parameters<typeof partialWasserstein>[2], dense: Parameters<typeof partialWasserstein>[2], wa: Float64Array, wb: Float64Array, reg: number, what: string) => {
    const opts = { mass, reg, tol: 1e-11, maxIter: 20000 };
    const on = await partialWasserstein(wa, wb, geom, opts);
    const de = await partialWasserstein(wa, wb, dense, { ...opts, method: 'log' as const });
    assert.is(on.plan.kind, 'lazy', what);
    assert.is(on.status, 'converged', `${what}: ${on.error}`);
    close(on.value, de.value, 1e-8, 1e-12, `${what} value`);
    close(on.mass, mass, 1e-9, 1e-12, `${what} mass`);
    const P = on.plan.toDense();
    const Q = de.plan.toDense();
    for (let t = 0; t < P.length; t++) close(P[t], Q[t], 1e-6, 1e-10, `${what} plan[${t}]`);
  };
  await check(pointCloud(X, Y), costMatrix(X, Y), a, b, 0.05, 'point clouds');
  await check(pointCloud(X, Y, { cost: 'euclidean' }), costMatrix(X, Y, { cost: 'euclidean' }), a, b, 0.02, 'euclidean clouds');
  const g = grid({ height: 5, width: 6 });
  const ga = Float64Array.from({ length: 30 }, () => rng.uniform());
  const gb = Float64Array.from({ length: 30 }, () => rng.uniform());
  const gm = 0.5 * Math.min(ga.reduce((s, x) => s + x, 0), gb.reduce((s, x) => s + x, 0));
  const on = await partialWasserstein(ga, gb, g, { mass: gm, reg: 0.05, tol: 1e-11, maxIter: 20000 });
  const de = await partialWasserstein(ga, gb, g.dense(), { mass: gm, reg: 0.05, tol: 1e-11, maxIter: 20000, method: 'log' });
  close(on.value, de.value, 1e-8, 1e-12, 'grid value');
  // exact partial OT on clouds computes the costs once: the same as on the matrix
  const ex = await partialWasserstein(a, b, pointCloud(X, Y), { mass });
  const ed = await partialWasserstein(a, b, costMatrix(X, Y), { mass });
  close(ex.value, ed.value, 1e-12, 1e-15, 'exact on clouds');
  await expectOTError('invalid-option', () => partialWasserstein(a, b, pointCloud(X, Y), { mass, reg: 0.05, method: 'scaling' }));
});

const CLOUDS = JSON.parse(readFileSync(new URL('../../tests/fixtures/pot/families-partial-cloud.json', import.meta.url), 'utf8'));

/** The plan as a map (i·m + j → mass), for comparing sparse plans entry by entry. */
function entries(P: { rowIndex: Int32Array; colIndex: Int32Array; values: Float64Array }, m: number): Map<number, number> {
  const out = new Map<number, number>();
  for (let t = 0; t < P.values.length; t++) out.set(P.rowIndex[t] * m + P.colIndex[t], (out.get(P.rowIndex[t] * m + P.colIndex[t]) ?? 0) + P.values[t]);
  return out;
}

/** Multiscale and dense exact partial OT agree on value, mass and (generic data: a unique optimum) every plan entry. */
async function sameAsDense(a: Float64Array | undefined, b: Float64Array | undefined, geom: Parameters<typeof partialWasserstein>[2], mass: number, what: string, unique = true) {
  const ms = await partialWasserstein(a, b, geom, { mass, strategy: 'multiscale' });
  const de = await partialWasserstein(a, b, geom, { mass, strategy: 'dense' });
  assert.is(ms.strategy, 'multiscale', what);
  assert.is(de.strategy, 'dense', what);
  assert.is(ms.status, 'optimal', what);
  close(ms.value, de.value, 1e-12, 1e-15, `${what} value`);
  close(ms.mass, mass, 1e-12, 1e-15, `${what} mass`);
  const scale = Math.max(...(de.plan as SparseCoupling).values);
  assert.ok(ms.error <= 1e-12 * Math.max(1, ms.value), `${what}: certificate ${ms.error}`);
  if (!unique) return ms;
  const P = entries(ms.plan as SparseCoupling, ms.plan.cols);
  const Q = entries(de.plan as SparseCoupling, de.plan.cols);
  for (const [k, x] of P) close(x, Q.get(k) ?? 0, 0, 1e-12 * scale, `${what} plan[${k}]`);
  for (const [k, x] of Q) close(P.get(k) ?? 0, x, 0, 1e-12 * scale, `${what} plan[${k}]`);
  return ms;
}

test('exact partial OT on point clouds, multiscale (no n × m memory): POT value, the dense plan', async () => {
  for (const c of CLOUDS.cases) {
    const geom = pointCloud(c.X, c.Y, { cost: c.cost });
    const r = await sameAsDense(Float64Array.from(c.a), Float64Array.from(c.b), geom, c.mass, c.name);
    close(r.value, c.value, 1e-10, 1e-15, `${c.name} POT value`);
    close(r.mass, c.moved, 1e-10, 1e-15, `${c.name} POT mass`);
  }
});

test('exact partial OT on point clouds: multiscale = dense with zero weights, tiny and full masses, a grid; auto picks multiscale above 2^16 pairs', async () => {
  const rng = new Rng(17);
  const n = 300;
  const m = 250;
  const X = Array.from({ length: n }, () => [rng.normal(), rng.normal(), rng.normal()]);
  const Y = Array.from({ length: m }, () => [rng.normal() + 0.5, rng.normal(), rng.normal()]);
  const a = Float64Array.from({ length: n }, (_, i) => (i % 9 === 0 ? 0 : rng.uniform() + 0.1));
  const b = Float64Array.from({ length: m }, (_, j) => (j % 13 === 5 ? 0 : rng.uniform() + 0.1));
  const sa = a.reduce((s, x) => s + x, 0);
  const sb = b.reduce((s, x) => s + x, 0);
  for (const frac of [0.01, 0.5, 1]) await sameAsDense(a, b, pointCloud(X, Y), frac * Math.min(sa, sb), `3-D, mass ${frac}·min`);
  await sameAsDense(a, b, pointCloud(X, Y, { cost: 'euclidean' }), 0.7 * Math.min(sa, sb), 'euclidean');
  const zero = await partialWasserstein(a, b, pointCloud(X, Y), { mass: 0, strategy: 'multiscale' });
  assert.is((zero.plan as SparseCoupling).values.length, 0);
  assert.is(zero.value, 0);
  const g = grid({ height: 12, width: 10 });
  const ga = Float64Array.from({ length: 120 }, () => rng.uniform());
  const gb = Float64Array.from({ length: 120 }, () => rng.uniform());
  await sameAsDense(ga, gb, g, 0.4 * Math.min(ga.reduce((s, x) => s + x, 0), gb.reduce((s, x) => s + x, 0)), 'grid', false); // integer costs: ties, several optimal plans
  // 300² > 2^16: 'auto' goes multiscale (and the dense plan is the same); 250² < 2^16 stays dense
  const small = await partialWasserstein(a.subarray(0, 250), b, pointCloud(X.slice(0, 250), Y), { mass: 0.5 * Math.min(a.subarray(0, 250).reduce((s, x) => s + x, 0), sb) });
  assert.is(small.strategy, 'dense');
  const N = 300;
  const U = Array.from({ length: N }, () => [rng.normal(), rng.normal()]);
  const V = Array.from({ length: N }, () => [rng.normal() + 1, rng.normal()]);
  const auto = await partialWasserstein(undefined, undefined, pointCloud(U, V), { mass: 0.3 });
  assert.is(auto.strategy, 'multiscale');
  const forced = await sameAsDense(undefined, undefined, pointCloud(U, V), 0.3, 'n = 1100');
  close(auto.value, forced.value, 0, 0, 'auto = multiscale');
});

test('exact partial OT strategies: multiscale needs a geometry, strategy is exact-only, maxBytes refuses before work', async () => {
  const M = [[0, 1], [1, 0]];
  await expectOTError('invalid-option', () => partialWasserstein([0.5, 0.5], [0.5, 0.5], M, { mass: 0.5, strategy: 'multiscale' }), 'matrix');
  await expectOTError('invalid-option', () => partialWasserstein([0.5, 0.5], [0.5, 0.5], M, { mass: 0.5, reg: 0.1, strategy: 'dense' }), 'entropic');
  const X = Array.from({ length: 3000 }, (_, i) => [i, 0]);
  await expectOTError('too-large', () => partialWasserstein(undefined, undefined, pointCloud(X, X), { mass: 0.5, strategy: 'dense', maxBytes: 2 ** 26 }), 'dense over budget');
  await expectOTError('too-large', () => partialWasserstein(undefined, undefined, pointCloud(X, X), { mass: 0.5, strategy: 'multiscale', maxBytes: 2 ** 16 }), 'multiscale over budget');
  const ctl = new AbortController();
  ctl.abort();
  await expectOTError('aborted', () => partialWasserstein(undefined, undefined, pointCloud(X, X), { mass: 0.5, strategy: 'multiscale', signal: ctl.signal }), 'aborted');
});

test('partial OT: bad input fails before any work', async () => {
  const M = [[0, 1], [1, 0]];
  await expectOTError('mass', () => partialWasserstein([0.5, 0.5], [0.3, 0.3], M, { mass: 0.7 }), 'mass above min');
  await expectOTError('invalid-option', () => partialWasserstein([0.5, 0.5], [0.5, 0.5], M, { mass: -0.1 }), 'negative mass');
  await expectOTError('invalid-option', () => partialWasserstein([0.5, 0.5], [0.5, 0.5], M, {} as never), 'missing mass');
  await expectOTError('invalid-option', () => partialWasserstein([0.5, 0.5], [0.5, 0.5], M, { mass: 0.5, m: 0.5 } as never), 'POT name m');
  await expectOTError('invalid-option', () => partialWasserstein([0.5, 0.5], [0.5, 0.5], M, { mass: 0.5, reg: 0 }), 'reg 0');
  await expectOTError('invalid-option', () => partialWasserstein([0.5, 0.5], [0.5, 0.5], M, { mass: 0.5, maxIter: 10 }), 'maxIter without reg');
  await expectOTError('shape', () => partialWasserstein([0.5, 0.5], [0.5, 0.5], [[0, 1, 2], [1, 0, 2]], { mass: 0.5 }), 'M shape');
  await expectOTError('nan', () => partialWasserstein([0.5, 0.5], [0.5, 0.5], [[0, NaN], [1, 0]], { mass: 0.5 }), 'NaN cost');
  await expectOTError('negative', () => partialWasserstein([1.5, -0.5], [0.5, 0.5], M, { mass: 0.5 }), 'negative weight');
});

test.run();
