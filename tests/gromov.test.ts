// Gromov–Wasserstein (ts/solvers/gromov.ts) against tests/fixtures/pot/families-gromov.json (POT 0.8.2
// gromov_wasserstein, fused_gromov_wasserstein, entropic_gromov_wasserstein; generate_families.py).
// Tolerances: conditional gradient from the same start: value 1e-9 relative and plan 1e-9 absolute (the same
// iterates up to rounding), or, where the iterates part (ties in the linear OT steps), objective ≤ POT's + 1e-9.
// kl loss: POT 0.8.2 line-searches it with the square-loss formula, so only ≤ POT's + 1e-9. Entropic: value
// 1e-6 relative and plan 1e-7 absolute (inner Sinkhorn solves stop at different points: 1e-9 marginal error).
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gromovWasserstein } from '../ts/solvers/gromov.js';
import { Rng } from '../ts/rng.js';
import { close, expectOTError, flat } from './helpers.js';

const FIX = JSON.parse(readFileSync(new URL('../../tests/fixtures/pot/families-gromov.json', import.meta.url), 'utf8'));

/** GW loss by the O(n²m²) definition, for the square loss. */
function bruteGW(C1: number[][], C2: number[][], P: Float64Array): number {
  const n = C1.length;
  const m = C2.length;
  let s = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      const pij = P[i * m + j];
      if (pij === 0) continue;
      for (let k = 0; k < n; k++) for (let l = 0; l < m; l++) s += (C1[i][k] - C2[j][l]) ** 2 * pij * P[k * m + l];
    }
  return s;
}

test('conditional gradient GW / FGW matches POT from the same start', async () => {
  for (const c of FIX.cg) {
    const r = await gromovWasserstein(c.C1, c.C2, { a: c.a, b: c.b, loss: c.loss, M: c.M, alpha: c.alpha, init: c.init });
    assert.is(r.algorithm, 'conditional-gradient');
    assert.is(r.start, c.init ? 'init' : 'product');
    const P = r.plan.toDense();
    if (c.loss === 'kl') {
      assert.ok(r.value <= c.value + 1e-9, `${c.name}: ${r.value} > POT ${c.value}`);
      continue;
    }
    const want = flat(c.plan).data;
    let maxDiff = 0;
    for (let t = 0; t < want.length; t++) maxDiff = Math.max(maxDiff, Math.abs(P[t] - want[t]));
    if (maxDiff <= 1e-9) {
      close(r.value, c.value, 1e-9, 1e-14, `${c.name} value`);
      assert.is(r.iterations, c.iterations, `${c.name} iterations`);
    } else assert.ok(r.value <= c.value + 1e-9, `${c.name}: plans differ by ${maxDiff} and ${r.value} > POT ${c.value}`);
    if (!c.M) close(r.value, bruteGW(c.C1, c.C2, P), 1e-10, 1e-14, `${c.name} value = the GW loss by definition`);
    else close(r.value, (1 - c.alpha) * r.cost! + c.alpha * r.gw, 1e-12, 1e-15, `${c.name} fused value`);
    // marginals
    const n = c.a.length;
    const m = c.b.length;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < m; j++) s += P[i * m + j];
      close(s, c.a[i], 1e-12, 1e-15, `${c.name} row ${i}`);
    }
  }
});

test('GW of a space with itself (permuted) is 0, and the plan finds the permutation', async () => {
  const X = [[0, 0], [1, 0], [0, 2], [3, 1], [2, 2]];
  const perm = [3, 0, 4, 1, 2];
  const D = (A: number[][]) => A.map((x) => A.map((y) => Math.hypot(x[0] - y[0], x[1] - y[1])));
  const C1 = D(X);
  const C2 = D(perm.map((k) => X[k]));
  // a start near the right permutation (GW is non-convex; the product start can stall at a saddle)
  const init = Array.from({ length: 5 }, (_, i) => Array.from({ length: 5 }, (_, j) => (perm[j] === i ? 0.8 / 5 : 0) + 0.2 / 25));
  const r = await gromovWasserstein(C1, C2, { init });
  close(r.value, 0, 0, 1e-12, 'GW(X, σX)');
  for (let j = 0; j < 5; j++) close(r.plan.at(perm[j], j), 0.2, 1e-9, 1e-12, `plan at (σ(${j}), ${j})`);
});

test('multi-start: random vertices as extra starts, the best kept, seeded and reported', async () => {
  const rng = new Rng(7);
  const X = Array.from({ length: 7 }, () => [rng.uniform() * 3, rng.uniform()]);
  const Y = Array.from({ length: 7 }, () => [rng.uniform(), rng.uniform() * 2]);
  const D = (A: number[][]) => A.map((x) => A.map((y) => Math.hypot(x[0] - y[0], x[1] - y[1])));
  const C1 = D(X);
  const C2 = D(Y);
  const one = await gromovWasserstein(C1, C2);
  const many = await gromovWasserstein(C1, C2, { starts: 12, seed: 3 });
  assert.is(many.startValues.length, 12);
  close(many.startValues[0], one.value, 1e-12, 1e-15, 'start 0 is the single-start solve');
  assert.is(many.value, Math.min(...many.startValues));
  assert.is(many.start, many.startIndex === 0 ? 'product' : 'random');
  // on this pair the product start stalls at a poorer stationary point than some random vertex
  assert.ok(many.value < 0.8 * one.value, `best of 12 ${many.value} vs single start ${one.value}`);
  close(many.value, bruteGW(C1, C2, many.plan.toDense()), 1e-10, 1e-14, 'value = the GW loss of the returned plan');
  const again = await gromovWasserstein(C1, C2, { starts: 12, seed: 3 });
  assert.equal(again.startValues, many.startValues, 'seeded');
  await expectOTError('invalid-option', () => gromovWasserstein(C1, C2, { starts: 0 }));
});

test('entropic GW matches POT entropic_gromov_wasserstein', async () => {
  for (const c of FIX.entropic) {
    const r = await gromovWasserstein(c.C1, c.C2, { a: c.a, b: c.b, reg: c.reg });
    assert.is(r.algorithm, 'entropic');
    close(r.value, c.value, 1e-6, 1e-12, `${c.name} value`);
    const want = flat(c.plan).data;
    const P = r.plan.toDense();
    for (let t = 0; t < want.length; t++) close(P[t], want[t], 0, 1e-7, `${c.name} plan[${t}]`);
  }
});

test('point clouds as structure: sqeuclidean in low rank = the dense matrices (CG, entropic, fused, mixed), euclidean and kl built dense', async () => {
  const rng = new Rng(23);
  const cloud = (n: number, d: number) => ({ data: Float64Array.from({ length: n * d }, () => rng.normal()), rows: n, cols: d });
  const dist = (P: { data: Float64Array; rows: number; cols: number }, root = false) => {
    const { rows: n, cols: d } = P;
    const C = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let k = 0; k < n; k++) {
        let acc = 0;
        for (let t = 0; t < d; t++) acc += (P.data[i * d + t] - P.data[k * d + t]) ** 2;
        C[i * n + k] = root ? Math.sqrt(acc) : acc;
      }
    return { data: C, rows: n, cols: n };
  };
  const X = cloud(45, 2);
  const Y = cloud(38, 3);
  const a = Float64Array.from({ length: 45 }, () => rng.uniform() + 0.1);
  const sa = a.reduce((x, y) => x + y, 0);
  const wa = a.map((x) => x / sa);
  const M = { data: Float64Array.from({ length: 45 * 38 }, () => rng.uniform()), rows: 45, cols: 38 };
  const cases = [
    { name: 'CG', opts: { a: wa } },
    { name: 'entropic', opts: { a: wa, reg: 0.3 } },
    { name: 'fused CG', opts: { M, alpha: 0.3 } },
  ];
  for (const c of cases) {
    const dense = await gromovWasserstein(dist(X), dist(Y), { ...c.opts, worker: false });
    for (const [label, C1, C2] of [
      ['both clouds', { points: X }, { points: Y }],
      ['cloud and matrix', { points: X, metric: 'sqeuclidean' as const }, dist(Y)],
    ] as const) {
      const r = await gromovWasserstein(C1, C2, { ...c.opts, worker: false });
      close(r.value, dense.value, 1e-10, 1e-12, `${c.name}, ${label}: value`);
      close(r.gw, dense.gw, 1e-10, 1e-12, `${c.name}, ${label}: gw`);
      assert.is(r.iterations, dense.iterations, `${c.name}, ${label}: the same iterates`);
      const P = r.plan.toDense();
      const Q = dense.plan.toDense();
      for (let t = 0; t < P.length; t++) close(P[t], Q[t], 1e-10, 1e-12, `${c.name}, ${label}: plan[${t}]`);
    }
  }
  // metrics without a low-rank form are built dense: the same as passing the matrix
  const eu = await gromovWasserstein({ points: X, metric: 'euclidean' }, { points: Y, metric: 'euclidean' }, { worker: false });
  const euDense = await gromovWasserstein(dist(X, true), dist(Y, true), { worker: false });
  assert.is(eu.value, euDense.value, 'euclidean clouds');
  const kl = await gromovWasserstein({ points: X }, { points: Y }, { loss: 'kl', reg: 1, worker: false });
  const klDense = await gromovWasserstein(dist(X), dist(Y), { loss: 'kl', reg: 1, worker: false });
  assert.is(kl.value, klDense.value, 'kl loss on clouds');
  await expectOTError('invalid-option', () => gromovWasserstein({ points: X, metric: 'cosine' as never }, { points: Y }), 'unknown metric');
  await expectOTError('nan', () => gromovWasserstein({ points: [[0, 1], [NaN, 0]] }, { points: Y }), 'NaN in a cloud');
  await expectOTError('too-large', () => gromovWasserstein({ points: X, metric: 'euclidean' }, { points: Y }, { maxBytes: 1000 }), 'a dense matrix past maxBytes');
});

test('gromovWasserstein: bad input fails before any work', async () => {
  const C = [[0, 1], [1, 0]];
  await expectOTError('shape', () => gromovWasserstein([[0, 1, 2], [1, 0, 1]], C), 'non-square C1');
  await expectOTError('shape', () => gromovWasserstein(C, [[0, 1], [2, 0]]), 'non-symmetric C2 (CG)');
  await expectOTError('nan', () => gromovWasserstein(C, [[0, NaN], [NaN, 0]]), 'NaN');
  await expectOTError('shape', () => gromovWasserstein(C, C, { a: [1, 0, 0] }), 'a length');
  await expectOTError('negative', () => gromovWasserstein(C, C, { a: [1.5, -0.5] }), 'negative weight');
  await expectOTError('mass', () => gromovWasserstein(C, C, { a: [0.5, 0.5], b: [1, 1] }), 'unequal masses');
  await expectOTError('invalid-option', () => gromovWasserstein(C, C, { alpha: 0.5 }), 'alpha without M');
  await expectOTError('invalid-option', () => gromovWasserstein(C, C, { M: [[0, 1], [1, 0]], alpha: 2 }), 'alpha out of range');
  await expectOTError('shape', () => gromovWasserstein(C, C, { M: [[0, 1, 1], [1, 0, 1]] }), 'M shape');
  await expectOTError('mass', () => gromovWasserstein(C, C, { init: [[0.5, 0.5], [0, 0]] }), 'init marginals');
  await expectOTError('negative', () => gromovWasserstein([[0, -1], [-1, 0]], C, { loss: 'kl' }), 'kl with negative entries');
  await expectOTError('invalid-option', () => gromovWasserstein(C, C, { loss: 'square_loss' } as never), 'POT loss name');
  await expectOTError('invalid-option', () => gromovWasserstein(C, C, { numItermax: 5 } as never), 'POT option name');
});

test.run();
