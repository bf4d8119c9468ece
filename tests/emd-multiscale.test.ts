// emd's multiscale strategy (ts/solvers/emd-multiscale.ts): the same certified optimum as the dense solve on
// random clouds (sizes, costs, unequal n and m, non-uniform and zero weights, duplicate points), checked against
// the dense solver and by brute force over all n × m pairs; the strategy option and its 'auto' switch.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OTError, Rng, emd, pointCloud, type EmdResult } from 'kantorovich';
import { coarsen } from '../ts/solvers/emd-multiscale.js';
import { buildKdTree, kdTreeInWasm } from '../ts/solvers/kdtree.js';
import { wasmKernels } from '../ts/backends/wasm.js';
import { NS } from '../ts/backends/wasm-abi.js';

const IN = { worker: false } as const;

function cloud(rng: Rng, n: number, d: number, shift = 0): Float64Array {
  return Float64Array.from({ length: n * d }, () => rng.uniform() + shift);
}

function weights(rng: Rng, n: number, zeros = false): Float64Array {
  const w = Float64Array.from({ length: n }, () => (zeros && rng.uniform() < 0.2 ? 0 : rng.uniform() + 0.05));
  const s = w.reduce((x, y) => x + y, 0);
  return w.map((x) => x / s);
}

interface Case {
  X: Float64Array;
  Y: Float64Array;
  d: number;
  a?: Float64Array;
  b?: Float64Array;
  cost: 'sqeuclidean' | 'euclidean' | { p: number };
}

/** The certificate over all n × m pairs, by brute force: feasibility, slackness, marginals, gap. */
function checkCertificate(c: Case, r: EmdResult, label: string): void {
  const n = c.X.length / c.d;
  const m = c.Y.length / c.d;
  const g = pointCloud({ data: c.X, rows: n, cols: c.d }, { data: c.Y, rows: m, cols: c.d }, { cost: c.cost });
  const a = c.a ?? new Float64Array(n).fill(1 / n);
  const b = c.b ?? new Float64Array(m).fill(1 / m);
  assert.is(r.status, 'optimal', label);
  let scale = 0;
  let worst = -Infinity;
  const { u, v } = r.potentials;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      const cij = g.costAt(i, j);
      scale = Math.max(scale, cij);
      worst = Math.max(worst, u[i] + v[j] - cij);
    }
  const tol = 1e-12 * scale;
  assert.ok(worst <= tol, `${label}: dual infeasibility ${worst} over all pairs`);
  assert.ok(r.error <= tol && Math.abs(r.error - Math.max(0, worst)) <= tol, `${label}: reported error ${r.error} vs brute force ${worst}`);
  let cost = 0;
  const rs = new Float64Array(n);
  const cs = new Float64Array(m);
  for (const [i, j, x] of r.plan.entries()) {
    assert.ok(Math.abs(u[i] + v[j] - g.costAt(i, j)) <= tol, `${label}: complementary slackness at (${i}, ${j})`);
    cost += x * g.costAt(i, j);
    rs[i] += x;
    cs[j] += x;
  }
  for (let i = 0; i < n; i++) assert.ok(Math.abs(rs[i] - a[i]) <= 1e-12, `${label}: row marginal ${i}`);
  for (let j = 0; j < m; j++) assert.ok(Math.abs(cs[j] - b[j]) <= 1e-12, `${label}: column marginal ${j}`);
  assert.ok(r.plan.nnz <= n + m - 1, `${label}: a basic plan`);
  assert.ok(Math.abs(cost - r.cost) <= 1e-12 * cost, `${label}: reported cost`);
  assert.ok(Math.abs(r.dualityGap) <= 1e-12 * scale, `${label}: duality gap ${r.dualityGap}`);
}

async function both(c: Case, label: string): Promise<EmdResult> {
  const n = c.X.length / c.d;
  const m = c.Y.length / c.d;
  const g = pointCloud({ data: c.X, rows: n, cols: c.d }, { data: c.Y, rows: m, cols: c.d }, { cost: c.cost });
  const ms = await emd(c.a, c.b, g, { ...IN, strategy: 'multiscale' });
  const dense = await emd(c.a, c.b, g, { ...IN, strategy: 'dense' });
  assert.is(ms.strategy, 'multiscale');
  assert.is(dense.strategy, 'dense');
  checkCertificate(c, ms, label);
  checkCertificate(c, dense, label + ' dense');
  assert.ok(Math.abs(ms.cost - dense.cost) <= 1e-12 * dense.cost, `${label}: multiscale ${ms.cost} vs dense ${dense.cost}`);
  const s = ms.multiscale!;
  assert.ok(s.levels >= 1 && s.rounds >= 1, `${label}: stats ${JSON.stringify(s)}`);
  return ms;
}

test('multiscale = dense on random 2-D clouds, sqeuclidean, n = 200 … 2000 (several levels)', async () => {
  const rng = new Rng(11);
  for (const n of [200, 700, 2000]) {
    const r = await both({ X: cloud(rng, n, 2), Y: cloud(rng, n, 2, 0.3), d: 2, cost: 'sqeuclidean' }, `n = ${n}`);
    if (n === 2000) {
      assert.ok(r.multiscale!.levels >= 3, `n = 2000 coarsens (${r.multiscale!.levels} levels)`);
      // O((n + m)·k) arcs, never n·m
      assert.ok(r.multiscale!.arcs <= 2000 * 40, `arcs ${r.multiscale!.arcs}`);
    }
  }
});

test('multiscale = dense: euclidean cost, unequal n and m, 3-D', async () => {
  const rng = new Rng(12);
  await both({ X: cloud(rng, 900, 2), Y: cloud(rng, 600, 2, 0.2), d: 2, cost: 'euclidean' }, 'euclidean 900 × 600');
  await both({ X: cloud(rng, 400, 3), Y: cloud(rng, 1100, 3), d: 3, cost: 'sqeuclidean' }, '3-D 400 × 1100');
});

test('multiscale = dense: non-uniform weights, zero weights', async () => {
  const rng = new Rng(13);
  const n = 800;
  const m = 650;
  await both({ X: cloud(rng, n, 2), Y: cloud(rng, m, 2), d: 2, a: weights(rng, n), b: weights(rng, m), cost: 'sqeuclidean' }, 'non-uniform');
  await both({ X: cloud(rng, n, 2), Y: cloud(rng, m, 2), d: 2, a: weights(rng, n, true), b: weights(rng, m, true), cost: 'euclidean' }, 'zero weights');
});

test('multiscale = dense: duplicate points (degenerate), identical clouds', async () => {
  const rng = new Rng(14);
  // 300 distinct points, each 3 times: ties everywhere, and k-d leaves of identical points
  const base = cloud(rng, 300, 2);
  const X = new Float64Array(900 * 2);
  for (let t = 0; t < 900; t++) X.set(base.subarray((t % 300) * 2, (t % 300) * 2 + 2), t * 2);
  const Y = cloud(rng, 500, 2);
  await both({ X, Y, d: 2, cost: 'sqeuclidean' }, 'duplicates');
  const r = await both({ X, Y: X.slice(), d: 2, cost: 'sqeuclidean' }, 'identical clouds');
  assert.ok(Math.abs(r.cost) <= 1e-15, `identical clouds cost ${r.cost}`);
});

test('multiscale = dense: ‖x − y‖^1.5 in 3-D (no SIMD cost path), 1-D, coordinates near 1e152 (costs scaled by 2^-e)', async () => {
  const rng = new Rng(17);
  await both({ X: cloud(rng, 600, 3), Y: cloud(rng, 500, 3), d: 3, cost: { p: 1.5 } }, 'p = 1.5, 3-D');
  await both({ X: cloud(rng, 800, 1), Y: cloud(rng, 700, 1, 0.5), d: 1, cost: 'sqeuclidean' }, '1-D');
  const huge = (n: number) => cloud(rng, n, 2).map((x) => x * 1e152);
  await both({ X: huge(1200), Y: huge(1100), d: 2, cost: 'sqeuclidean' }, 'coordinates ~1e152');
});

test('coarsen: masses add up, every point has a cluster, duplicates split', () => {
  const P = new Float64Array(50 * 2).fill(0.5); // 50 identical points
  const w = new Float64Array(50).fill(1 / 50);
  const c = coarsen(P, w, 2);
  assert.ok(c.w.length >= 50 / 4 && c.w.length < 50, `${c.w.length} clusters`);
  assert.ok(Math.abs(c.w.reduce((x, y) => x + y, 0) - 1) < 1e-15);
  const seen = new Float64Array(c.w.length);
  for (let i = 0; i < 50; i++) seen[c.parent[i]] += w[i];
  for (let k = 0; k < c.w.length; k++) assert.ok(Math.abs(seen[k] - c.w[k]) < 1e-15 && c.P[2 * k] === 0.5);
});

test('strategy: auto picks multiscale above 2^20 pairs for clouds, dense below; warm start; errors', async () => {
  const rng = new Rng(15);
  const small = pointCloud({ data: cloud(rng, 300, 2), rows: 300, cols: 2 }, { data: cloud(rng, 300, 2), rows: 300, cols: 2 });
  assert.is((await emd(undefined, undefined, small, IN)).strategy, 'dense');
  const n = 1100; // 1100² > 2^20
  const big = pointCloud({ data: cloud(rng, n, 2), rows: n, cols: 2 }, { data: cloud(rng, n, 2), rows: n, cols: 2 });
  const auto = await emd(undefined, undefined, big, IN);
  assert.is(auto.strategy, 'multiscale');
  assert.is(auto.status, 'optimal');
  // the optimal duals as a warm start: one scan certifies the first sparse solve
  const warm = await emd(undefined, undefined, big, { ...IN, strategy: 'multiscale', warmStart: auto.potentials });
  assert.is(warm.multiscale!.levels, 1);
  assert.ok(Math.abs(warm.cost - auto.cost) <= 1e-12 * auto.cost);
  // maxIter stops it honestly
  const capped = await emd(undefined, undefined, big, { ...IN, strategy: 'multiscale', maxIter: 50 });
  assert.is(capped.status, 'max-iterations');
  assert.ok(capped.error > 0, `a stopped solve reports its dual infeasibility (${capped.error}), measured over all pairs`);
  try {
    await emd(undefined, undefined, [[0, 1], [1, 0]], { ...IN, strategy: 'multiscale' });
    assert.unreachable('a cost matrix cannot be coarsened');
  } catch (e) {
    assert.instance(e, OTError);
    assert.is((e as OTError).code, 'invalid-option');
  }
  try {
    await emd(undefined, undefined, big, { ...IN, strategy: 'multiscale', maxBytes: 1e5 });
    assert.unreachable('the budget covers the sparse arcs');
  } catch (e) {
    assert.is((e as OTError).code, 'too-large');
  }
});

test('strategy through a worker: the result crosses with its stats', async () => {
  const rng = new Rng(16);
  const g = pointCloud({ data: cloud(rng, 600, 2), rows: 600, cols: 2 }, { data: cloud(rng, 500, 2), rows: 500, cols: 2 });
  const here = await emd(undefined, undefined, g, { ...IN, strategy: 'multiscale' });
  const there = await emd(undefined, undefined, g, { strategy: 'multiscale', worker: true });
  assert.is(there.strategy, 'multiscale');
  assert.is(there.cost, here.cost);
  assert.equal(there.multiscale, here.multiscale);
});

test.run();

test('k-d tree passes list the same arcs as the passes over all pairs (candidates, column-best, scans)', async () => {
  const k = await wasmKernels();
  const rng = new Rng(41);
  for (const [n, m, d, power] of [[300, 257, 3, 2], [200, 311, 2, 1], [150, 160, 2, 2], [97, 120, 1, 1.5]] as const) {
    const mem = k.scope();
    try {
      const X = cloud(rng, n, d);
      const Y = cloud(rng, m, d, 0.3);
      // duals of the shape a solve lifts: u_i ≈ −‖x_i‖², v_j ≈ ‖y_j‖² (large differences between boxes), plus noise
      const u = Float64Array.from({ length: n }, (_, i) => -0.5 * (X[i * d] ** 2) + 0.05 * rng.uniform());
      const v = Float64Array.from({ length: m }, (_, j) => 0.5 * (Y[j * d] ** 2) + 0.05 * rng.uniform());
      const a = new Float64Array(n).fill(1 / n);
      const b = new Float64Array(m).fill(1 / m);
      const ptrs = [X, Y, a, b, u, v].map((z) => mem.put(z));
      const make = () => k.abi.nsCreateSparse(n, m, ptrs[0], ptrs[1], d, power, ptrs[2], ptrs[3], ptrs[4], ptrs[5], 8, 0, 0, 0, 0, 0);
      const sinks = kdTreeInWasm(k, mem, buildKdTree(Y, d), d);
      const sources = kdTreeInWasm(k, mem, buildKdTree(X, d), d);
      const full = make();
      const tree = make();
      const arcs = (ctx: number) => {
        const len = k.abi.nsArcs(ctx);
        const I = mem.alloc(len * 4);
        const J = mem.alloc(len * 4);
        k.abi.nsArcList(ctx, I, J);
        const ri = k.i32(I, len);
        const cj = k.i32(J, len);
        return Array.from({ length: len }, (_, t) => `${ri[t]},${cj[t]}`);
      };
      const label = `n ${n}, m ${m}, d ${d}, power ${power}`;
      try {
        k.abi.nsCandidates(full, 0, n);
        k.abi.nsCandidatesEnd(full);
        // in two slices, as the driver calls it
        k.abi.nsTreeCandidates(tree, sinks, 0, n >> 1);
        k.abi.nsTreeCandidates(tree, sinks, n >> 1, n);
        k.abi.nsTreeColumns(tree, sources, 0, m);
        k.abi.nsCandidatesEnd(tree);
        // each source's shortlist in the same order (best first), then each sink's best source
        assert.equal(arcs(tree), arcs(full), `${label}: candidate arcs`);
        // the same start and pivots, then one scan each: the same violated arcs appended
        const order = (len: number) => {
          const p = mem.alloc(len * 4);
          k.i32(p, len).set(Int32Array.from({ length: len }, (_, i) => i));
          return p;
        };
        const ro = order(n);
        const co = order(m);
        for (const ctx of [full, tree]) {
          k.abi.nsInitTree(ctx, ro, co);
          k.abi.nsPrepare(ctx, 0, 0, 0, 1e9);
          assert.is(k.abi.nsRun(ctx, 1e9), NS.optimal, `${label}: sparse solve`);
        }
        const addedFull = k.abi.nsScan(full, 4, 0, n);
        const addedTree = k.abi.nsTreeScan(tree, sinks, 4, 0, n >> 1) + k.abi.nsTreeScan(tree, sinks, 4, n >> 1, n);
        assert.ok(addedFull > 0, `${label}: the candidate arcs alone should leave violations (${addedFull})`);
        assert.is(addedTree, addedFull, `${label}: arcs appended by the scans`);
        assert.equal(new Set(arcs(tree)), new Set(arcs(full)), `${label}: the same violated arcs`);
        assert.is(k.abi.nsScanViolation(tree), k.abi.nsScanViolation(full), `${label}: the largest violation`);
      } finally {
        k.abi.nsFree(full);
        k.abi.nsFree(tree);
        k.abi.kdFree(sinks);
        k.abi.kdFree(sources);
      }
    } finally {
      mem.release();
    }
  }
});
