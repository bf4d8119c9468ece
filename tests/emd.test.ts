// Exact OT: certificates on many random problems, brute force, closed forms, warm start, abort.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OTError, Rng, costMatrix, emd, emd1d, pointCloud, type EmdResult } from 'kantorovich';

type Problem = { M: Float64Array; n: number; m: number; a: Float64Array; b: Float64Array };

function randomWeights(rng: Rng, n: number, kind: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = kind === 0 ? 1 : kind === 1 ? rng.uniform() + 0.01 : rng.uniform() < 0.3 ? 0 : rng.uniform();
  if (w.every((x) => x === 0)) w[0] = 1;
  const s = w.reduce((x, y) => x + y, 0);
  return w.map((x) => x / s);
}

/** Checks the optimality certificate of `r` on the dense problem, returns nothing, fails loudly. */
function checkCertificate(p: Problem, r: EmdResult, label: string): void {
  const { M, n, m, a, b } = p;
  assert.is(r.status, 'optimal', label);
  assert.ok(r.plan.nnz <= n + m - 1, `${label}: ${r.plan.nnz} non-zeros > n + m − 1`);
  const rs = r.plan.marginals().a;
  const cs = r.plan.marginals().b;
  for (let i = 0; i < n; i++) assert.ok(Math.abs(rs[i] - a[i]) <= 1e-12, `${label}: row marginal ${i}`);
  for (let j = 0; j < m; j++) assert.ok(Math.abs(cs[j] - b[j]) <= 1e-12, `${label}: column marginal ${j}`);
  let scale = 0;
  for (const x of M) scale = Math.max(scale, Math.abs(x));
  const tol = 1e-10 * Math.max(scale, 1e-300);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) assert.ok(r.potentials.u[i] + r.potentials.v[j] <= M[i * m + j] + tol, `${label}: dual infeasible at (${i}, ${j})`);
  let cost = 0;
  for (const [i, j, x] of r.plan.entries()) {
    assert.ok(x > 0, `${label}: plan entries are positive`);
    assert.ok(Math.abs(r.potentials.u[i] + r.potentials.v[j] - M[i * m + j]) <= tol, `${label}: complementary slackness at (${i}, ${j})`);
    cost += x * M[i * m + j];
  }
  assert.ok(Math.abs(cost - r.cost) <= 1e-12 * Math.max(1, Math.abs(cost)), `${label}: reported cost`);
  let dual = 0;
  for (let i = 0; i < n; i++) dual += a[i] * r.potentials.u[i];
  for (let j = 0; j < m; j++) dual += b[j] * r.potentials.v[j];
  assert.ok(Math.abs(cost - dual) <= 1e-9 * Math.max(scale, 1e-300), `${label}: duality gap ${cost - dual}`);
  assert.ok(Math.abs(r.dualityGap) <= 1e-9 * Math.max(scale, 1e-300), `${label}: reported gap ${r.dualityGap}`);
}

test('certificates on 300 random problems (n, m in 1..300, dims 1–5, weights uniform / random / with zeros, tied integer costs)', async () => {
  const rng = new Rng(7);
  for (let t = 0; t < 300; t++) {
    const small = t < 200;
    const n = 1 + Math.floor(rng.uniform() * (small ? 40 : 300));
    const m = 1 + Math.floor(rng.uniform() * (small ? 40 : 300));
    const a = randomWeights(rng, n, t % 3);
    const b = randomWeights(rng, m, (t >> 1) % 3);
    let M: Float64Array;
    if (t % 4 === 3) {
      M = Float64Array.from({ length: n * m }, () => Math.floor(rng.uniform() * 4)); // many ties
    } else {
      const d = 1 + (t % 5);
      const X = { data: Float64Array.from({ length: n * d }, () => rng.uniform()), rows: n, cols: d };
      const Y = { data: Float64Array.from({ length: m * d }, () => rng.uniform()), rows: m, cols: d };
      M = costMatrix(X, Y, { cost: t % 2 ? 'euclidean' : 'sqeuclidean' }).M.data;
    }
    const r = await emd(a, b, { data: M, rows: n, cols: m });
    checkCertificate({ M, n, m, a, b }, r, `problem ${t} (${n} × ${m})`);
  }
});

function permutations(n: number): number[][] {
  if (n === 1) return [[0]];
  const out: number[][] = [];
  for (const p of permutations(n - 1))
    for (let k = 0; k <= p.length; k++) {
      const q = p.slice();
      q.splice(k, 0, n - 1);
      out.push(q);
    }
  return out;
}

test('uniform weights, n ≤ 7: cost equals the best permutation (Birkhoff) by brute force', async () => {
  const rng = new Rng(11);
  for (let t = 0; t < 120; t++) {
    const n = 1 + (t % 7);
    const M = Array.from({ length: n }, () => Array.from({ length: n }, () => (t % 2 ? Math.floor(rng.uniform() * 5) : rng.uniform())));
    let best = Infinity;
    for (const p of permutations(n)) best = Math.min(best, p.reduce((s, j, i) => s + M[i][j] / n, 0));
    const r = await emd(undefined, undefined, M);
    assert.ok(Math.abs(r.cost - best) <= 1e-12, `n=${n}: ${r.cost} vs brute force ${best}`);
  }
});

test('translation of a cloud: W2² = ‖shift‖² (sqeuclidean), in dense and point-cloud modes', async () => {
  const rng = new Rng(3);
  const n = 150;
  const d = 3;
  const shift = [0.3, -0.2, 0.05];
  const X = Float64Array.from({ length: n * d }, () => rng.uniform());
  const Y = X.map((x, k) => x + shift[k % d]);
  const want = shift.reduce((s, x) => s + x * x, 0);
  const g = pointCloud({ data: X, rows: n, cols: d }, { data: Y, rows: n, cols: d });
  for (const geometry of [g, costMatrix({ data: X, rows: n, cols: d }, { data: Y, rows: n, cols: d })]) {
    const r = await emd(undefined, undefined, geometry);
    assert.ok(Math.abs(r.cost - want) <= 1e-12, `${geometry.kind}: ${r.cost} vs ${want}`);
  }
});

test('1D problems: emd equals emd1d (the sorted matching), weighted, n ≠ m, p = 1 and 2', async () => {
  const rng = new Rng(5);
  for (let t = 0; t < 40; t++) {
    const n = 1 + Math.floor(rng.uniform() * 50);
    const m = 1 + Math.floor(rng.uniform() * 50);
    const p = t % 2 ? 1 : 2;
    const x = Float64Array.from({ length: n }, () => rng.normal());
    const y = Float64Array.from({ length: m }, () => rng.normal() + 1);
    const a = randomWeights(rng, n, 1);
    const b = randomWeights(rng, m, 1);
    const g = pointCloud({ data: x, rows: n, cols: 1 }, { data: y, rows: m, cols: 1 }, { cost: { p } });
    const r = await emd(a, b, g);
    const r1 = await emd1d(x, y, { a, b, p });
    assert.ok(Math.abs(r.cost - r1.cost) <= 1e-12 * Math.max(1, r1.cost), `${n} × ${m}, p=${p}: ${r.cost} vs ${r1.cost}`);
  }
});

test('point-cloud mode (costs on the fly, or built in wasm) equals dense mode, for sqeuclidean, euclidean and { p: 1.5 }', async () => {
  const rng = new Rng(9);
  for (const cost of ['sqeuclidean', 'euclidean', { p: 1.5 }] as const) {
    const n = 80;
    const m = 65;
    const X = { data: Float64Array.from({ length: n * 2 }, () => rng.uniform()), rows: n, cols: 2 };
    const Y = { data: Float64Array.from({ length: m * 2 }, () => rng.uniform()), rows: m, cols: 2 };
    const a = randomWeights(rng, n, 2);
    const b = randomWeights(rng, m, 1);
    const dense = await emd(a, b, costMatrix(X, Y, { cost }));
    // storeCosts: false keeps the on-the-fly path (small clouds are otherwise built into a matrix in wasm)
    for (const storeCosts of [false, true, 'auto'] as const) {
      const online = await emd(a, b, pointCloud(X, Y, { cost }), { storeCosts });
      checkCertificate({ M: costMatrix(X, Y, { cost }).M.data, n, m, a, b }, online, `online ${JSON.stringify(cost)} storeCosts ${storeCosts}`);
      assert.ok(Math.abs(dense.cost - online.cost) <= 1e-12 * dense.cost, JSON.stringify(cost));
    }
  }
});

test('warm start from the optimal duals of a nearby problem gives the same optimum', async () => {
  const rng = new Rng(13);
  const n = 300;
  const X = { data: Float64Array.from({ length: n * 2 }, () => rng.uniform()), rows: n, cols: 2 };
  const Y = { data: Float64Array.from({ length: n * 2 }, () => rng.uniform()), rows: n, cols: 2 };
  const first = await emd(undefined, undefined, pointCloud(X, Y));
  const Y2 = { ...Y, data: Y.data.map((y) => y + 1e-3 * rng.normal()) };
  const cold = await emd(undefined, undefined, pointCloud(X, Y2));
  const warm = await emd(undefined, undefined, pointCloud(X, Y2), { warmStart: { u: first.potentials.u, v: first.potentials.v } });
  assert.ok(Math.abs(cold.cost - warm.cost) <= 1e-12 * cold.cost);
  checkCertificate({ M: costMatrix(X, Y2).M.data, n, m: n, a: new Float64Array(n).fill(1 / n), b: new Float64Array(n).fill(1 / n) }, warm, 'warm');
});

test('maxIter stops early with status max-iterations and a feasible plan', async () => {
  const rng = new Rng(17);
  const n = 200;
  const X = { data: Float64Array.from({ length: n * 2 }, () => rng.uniform()), rows: n, cols: 2 };
  const Y = { data: Float64Array.from({ length: n * 2 }, () => rng.uniform()), rows: n, cols: 2 };
  const r = await emd(undefined, undefined, pointCloud(X, Y), { maxIter: 5 });
  assert.is(r.status, 'max-iterations');
  assert.is(r.iterations, 5);
  const full = await emd(undefined, undefined, pointCloud(X, Y));
  assert.ok(r.cost >= full.cost);
  const rs = r.plan.marginals().a;
  for (let i = 0; i < n; i++) assert.ok(Math.abs(rs[i] - 1 / n) <= 1e-12);
});

test('an aborted signal rejects with OTError aborted', async () => {
  const ctrl = new AbortController();
  ctrl.abort();
  try {
    await emd(undefined, undefined, [[0, 1], [1, 0]], { signal: ctrl.signal });
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.instance(e, OTError);
    assert.is((e as OTError).code, 'aborted');
  }
});

test('toDense and marginals of the coupling agree', async () => {
  const r = await emd([0.5, 0.5], [0.25, 0.75], [[0, 1], [1, 0]]);
  const P = r.plan.toDense();
  assert.equal(Array.from(P), [0.25, 0.25, 0, 0.5]);
  assert.ok(Math.abs(r.cost - 0.25) < 1e-15);
});

test.run();

test('a NaN or ±∞ in a Float64Array cost matrix is OTError nan naming the entry (checked where the costs enter wasm)', async () => {
  for (const [bad, a] of [
    [NaN, undefined],
    [Infinity, undefined],
    [-Infinity, [0.5, 0, 0.5]], // zero mass: the compact copy skips row 1, the check must not
  ] as const) {
    const data = Float64Array.from({ length: 9 }, (_, k) => k % 4);
    data[5] = bad;
    let e: unknown;
    try {
      await emd(a, undefined, { data, rows: 3, cols: 3 });
    } catch (err) {
      e = err;
    }
    assert.instance(e, OTError, String(bad));
    assert.is((e as OTError).code, 'nan');
    assert.match((e as OTError).message, 'M.data[5]');
  }
});
