// Agreement with POT 0.8.2 on committed fixtures (tests/fixtures/pot/*.json, made by generate.py there).
// What is compared, and why:
//  * emd: the optimal cost (1e-9 relative). Optimal plans and duals are not unique in general, so our plan is
//    checked by its own certificate (marginals, non-negativity, ⟨P, M⟩ = cost, at most n + m − 1 non-zeros,
//    complementary slackness with our duals, dual feasibility, strong duality). The plan is compared with
//    POT's entry by entry only where the fixture proves it unique (`planUnique`, see generate.py).
//  * emd1d: cost to 1e-10 relative, plan marginals, plan equality where unique (p > 1, distinct positions).
//  * wasserstein1d: the distance W_p (POT returns W_p^p; the fixture stores both) to 1e-10 relative.
//  * sliced / max-sliced: the same projections as POT (k × d in our layout), value to 1e-10 relative.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  emd,
  emd1d,
  wasserstein1d,
  slicedWasserstein,
  maxSlicedWasserstein,
  pointCloud,
  costMatrix,
  type CostSpec,
} from 'kantorovich';
import { close, flat, maxAbs, within } from './helpers.js';

const FIXTURES = new URL('../../tests/fixtures/pot/', import.meta.url);

function load<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as T;
}

type Triplet = [number, number, number];

interface EmdCase {
  name: string;
  n: number;
  m: number;
  a: number[];
  b: number[];
  M: number[][];
  cost: number;
  plan: Triplet[];
  planUnique: boolean;
  u: number[];
  v: number[];
  X?: number[][];
  Y?: number[][];
  pointCost?: CostSpec;
}
interface Emd1dCase {
  name: string;
  x: number[];
  y: number[];
  a: number[] | null;
  b: number[] | null;
  results: { metric: string; p: number; cost: number; plan: Triplet[]; planUnique: boolean }[];
}
interface W1dCase {
  name: string;
  x: number[];
  y: number[];
  a: number[] | null;
  b: number[] | null;
  results: { p: number; potValue: number; distance: number }[];
}
interface SlicedCase {
  name: string;
  d: number;
  k: number;
  X: number[][];
  Y: number[][];
  a: number[] | null;
  b: number[] | null;
  projections: number[][];
  results: { p: number; sliced: number; maxSliced: number; projectedWpp: number[] }[];
}

const emdCases = load<{ cases: EmdCase[] }>('emd.json').cases;
const emd1dCases = load<{ cases: Emd1dCase[] }>('emd1d.json').cases;
const w1dCases = load<{ cases: W1dCase[] }>('wasserstein1d.json').cases;
const slicedCases = load<{ cases: SlicedCase[] }>('sliced.json').cases;

// ------------------------------------------------------------------ helpers

function denseFromTriplets(t: Triplet[], n: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (const [i, j, x] of t) out[i * m + j] += x;
  return out;
}

interface PlanLike {
  rows: number;
  cols: number;
  nnz: number;
  toDense(): Float64Array;
  marginals(): { a: Float64Array; b: Float64Array };
}

/** Marginals, non-negativity, size and ⟨P, C⟩ of one of our plans. */
function checkPlan(what: string, plan: PlanLike, a: ArrayLike<number>, b: ArrayLike<number>, C: Float64Array, cost: number): Float64Array {
  const n = a.length;
  const m = b.length;
  assert.is(plan.rows, n, `${what}: plan rows`);
  assert.is(plan.cols, m, `${what}: plan cols`);
  assert.ok(plan.nnz <= n + m - 1, `${what}: ${plan.nnz} non-zeros > n + m − 1 = ${n + m - 1} (not a basic solution)`);
  const P = plan.toDense();
  let inner = 0;
  for (let k = 0; k < P.length; k++) {
    assert.ok(P[k] >= 0, `${what}: negative plan entry ${P[k]} at ${k}`);
    inner += P[k] * C[k];
  }
  const rs = plan.marginals().a;
  const cs = plan.marginals().b;
  for (let i = 0; i < n; i++) close(rs[i], a[i], 1e-12, 1e-15, `${what}: row marginal ${i}`);
  for (let j = 0; j < m; j++) close(cs[j], b[j], 1e-12, 1e-15, `${what}: column marginal ${j}`);
  close(inner, cost, 1e-12, 1e-14 * maxAbs(C), `${what}: ⟨P, C⟩ vs reported cost`);
  return P;
}

// ------------------------------------------------------------------ self-checks (the comparisons can fail)

test('fixtures are present and non-trivial', () => {
  assert.ok(emdCases.length >= 12, `emd fixtures: ${emdCases.length}`);
  assert.ok(emd1dCases.length >= 4 && w1dCases.length >= 4 && slicedCases.length >= 3);
  assert.ok(emdCases.some((c) => c.planUnique) && emdCases.some((c) => !c.planUnique));
  assert.ok(emdCases.some((c) => c.n !== c.m) && emdCases.some((c) => c.a.includes(0)));
});

test('tolerance helper rejects a 1e-8 relative error', () => {
  assert.not.ok(within(1 + 1e-8, 1, 1e-9, 0));
  assert.not.ok(within(NaN, 1, 1e-9, 0));
  assert.ok(within(1 + 1e-10, 1, 1e-9, 0));
});

// ------------------------------------------------------------------ emd

for (const c of emdCases) {
  test(`emd matches POT: ${c.name} (${c.n}×${c.m})`, async () => {
    const M = flat(c.M);
    const scale = Math.max(1, maxAbs(M.data));
    const r = await emd(c.a, c.b, M);
    assert.is(r.status, 'optimal', `${c.name}: status`);
    close(r.cost, c.cost, 1e-9, 1e-14 * scale, `${c.name}: cost vs ot.emd2`);
    const P = checkPlan(c.name, r.plan, c.a, c.b, M.data, r.cost);

    // Our duals certify our plan: feasible, tight on the support, no duality gap.
    const { u, v } = r.potentials;
    assert.is(u.length, c.n);
    assert.is(v.length, c.m);
    let dual = 0;
    for (let i = 0; i < c.n; i++) dual += c.a[i] * u[i];
    for (let j = 0; j < c.m; j++) dual += c.b[j] * v[j];
    close(dual, c.cost, 1e-9, 1e-12 * scale, `${c.name}: a·u + b·v vs POT cost`);
    for (let i = 0; i < c.n; i++) {
      for (let j = 0; j < c.m; j++) {
        const red = M.data[i * c.m + j] - u[i] - v[j];
        if (red < -1e-9 * scale) assert.unreachable(`${c.name}: dual infeasible at (${i}, ${j}): M − u − v = ${red}`);
        if (P[i * c.m + j] > 0 && Math.abs(red) > 1e-9 * scale) {
          assert.unreachable(`${c.name}: plan uses (${i}, ${j}) with reduced cost ${red} ≠ 0`);
        }
      }
    }
    assert.ok(Math.abs(r.dualityGap) <= 1e-9 * Math.max(1, Math.abs(c.cost)), `${c.name}: dualityGap ${r.dualityGap}`);

    if (c.planUnique) {
      const ref = denseFromTriplets(c.plan, c.n, c.m);
      for (let k = 0; k < ref.length; k++) {
        close(P[k], ref[k], 0, 1e-12, `${c.name}: plan entry (${Math.floor(k / c.m)}, ${k % c.m}) vs POT (unique optimum)`);
      }
    }
  });
}

test('emd accepts number[][] and costMatrix(M) like the flat matrix', async () => {
  const c = emdCases.find((x) => x.name === 'rect-25x35-nonuniform-sqeuclidean-2d')!;
  const r1 = await emd(c.a, c.b, c.M);
  close(r1.cost, c.cost, 1e-9, 0, 'number[][] cost');
  const r2 = await emd(Float64Array.from(c.a), Float64Array.from(c.b), costMatrix(c.M));
  close(r2.cost, c.cost, 1e-9, 0, 'costMatrix(M) cost');
});

for (const c of emdCases.filter((x) => x.X !== undefined)) {
  test(`emd on point clouds matches POT: ${c.name} (pointCloud and costMatrix(X, Y), cost ${JSON.stringify(c.pointCost)})`, async () => {
    const scale = Math.max(1, maxAbs(flat(c.M).data));
    const r1 = await emd(c.a, c.b, pointCloud(c.X!, c.Y!, { cost: c.pointCost }));
    assert.is(r1.status, 'optimal');
    // POT builds M with ‖x‖² + ‖y‖² − 2⟨x, y⟩ (ot.dist), we difference coordinates: agree to roundoff.
    close(r1.cost, c.cost, 1e-9, 1e-13 * scale, `${c.name}: pointCloud cost`);
    const r2 = await emd(c.a, c.b, costMatrix(c.X!, c.Y!, { cost: c.pointCost }));
    close(r2.cost, c.cost, 1e-9, 1e-13 * scale, `${c.name}: costMatrix(X, Y) cost`);
    close(r1.cost, r2.cost, 1e-12, 1e-15 * scale, `${c.name}: pointCloud vs costMatrix(X, Y)`);
  });
}

// ------------------------------------------------------------------ 1D

for (const c of emd1dCases) {
  test(`emd1d matches ot.emd2_1d / ot.emd_1d: ${c.name}`, async () => {
    const n = c.x.length;
    const m = c.y.length;
    const a = c.a ?? new Array(n).fill(1 / n);
    const b = c.b ?? new Array(m).fill(1 / m);
    for (const res of c.results) {
      const what = `${c.name} metric=${res.metric} p=${res.p}`;
      const r = await emd1d(c.x, c.y, { a: c.a ?? undefined, b: c.b ?? undefined, p: res.p });
      close(r.cost, res.cost, 1e-10, 1e-15, `${what}: cost`);
      const C = new Float64Array(n * m);
      for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) C[i * m + j] = Math.abs(c.x[i] - c.y[j]) ** res.p;
      const P = checkPlan(what, r.plan, a, b, C, r.cost);
      if (res.planUnique) {
        const ref = denseFromTriplets(res.plan, n, m);
        for (let k = 0; k < ref.length; k++) close(P[k], ref[k], 0, 1e-12, `${what}: plan entry ${k} vs POT`);
      }
    }
  });
}

for (const c of w1dCases) {
  test(`wasserstein1d matches ot.wasserstein_1d: ${c.name}`, async () => {
    for (const res of c.results) {
      const d = await wasserstein1d(c.x, c.y, { a: c.a ?? undefined, b: c.b ?? undefined, p: res.p });
      // POT 0.8.2 returns W_p^p; we return W_p. Compare both ways.
      close(d, res.distance, 1e-10, 1e-15, `${c.name} p=${res.p}: W_p`);
      close(d ** res.p, res.potValue, 1e-10, 1e-15, `${c.name} p=${res.p}: W_p^p vs POT's value`);
    }
  });
}

test('emd1d and wasserstein1d agree with each other', async () => {
  const c = w1dCases.find((x) => x.name === 'weighted-64x48')!;
  for (const p of [1, 2, 3]) {
    const r = await emd1d(c.x, c.y, { a: c.a!, b: c.b!, p });
    const d = await wasserstein1d(c.x, c.y, { a: c.a!, b: c.b!, p });
    close(r.cost, d ** p, 1e-10, 1e-15, `p=${p}`);
  }
});

// ------------------------------------------------------------------ sliced

for (const c of slicedCases) {
  test(`slicedWasserstein / maxSlicedWasserstein match POT with the same projections: ${c.name}`, async () => {
    const projections = flat(c.projections);
    assert.is(projections.rows, c.k);
    assert.is(projections.cols, c.d);
    const X = flat(c.X);
    const Y = flat(c.Y);
    for (const res of c.results) {
      const what = `${c.name} p=${res.p}`;
      const opts = { a: c.a ?? undefined, b: c.b ?? undefined, p: res.p, projections };
      const r = await slicedWasserstein(X, Y, opts);
      close(r.value, res.sliced, 1e-10, 1e-15, `${what}: SW_p vs ot.sliced_wasserstein_distance`);
      assert.is(r.projectionCosts.length, c.k, `${what}: one cost per projection`);
      // projectionCosts[k] is W_p^p along direction k, as POT's log['projected_emds'].
      for (let k = 0; k < c.k; k++) {
        close(r.projectionCosts[k], res.projectedWpp[k], 1e-10, 1e-15, `${what}: projectionCosts[${k}] vs projected_emds`);
      }
      const m = await maxSlicedWasserstein(X, Y, opts);
      close(m.value, res.maxSliced, 1e-10, 1e-15, `${what}: max-SW_p vs ot.max_sliced_wasserstein_distance`);
    }
  });
}

test('sliced accepts projections as number[][] (k × d rows)', async () => {
  const c = slicedCases[0];
  const res = c.results.find((x) => x.p === 2)!;
  const r = await slicedWasserstein(c.X, c.Y, { a: c.a ?? undefined, b: c.b ?? undefined, p: 2, projections: c.projections });
  close(r.value, res.sliced, 1e-10, 1e-15, 'number[][] projections');
});

test.run();
