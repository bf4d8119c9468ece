// Discrete weak OT (ts/solvers/weak.ts) against tests/fixtures/pot/families-weak.json (POT 0.8.2
// ot.weak.weak_optimal_transport, 2000 Armijo conditional gradient steps; generate_families.py).
// The problem is convex: our value (exact line search) must be ≤ POT's + 1e-9 and within 1e-4 relative of it
// (POT's Armijo steps converge slowly; plans of the weak cost are not unique, so they are not compared).
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { weakOT } from '../ts/solvers/weak.js';
import { emd } from '../ts/solvers/emd.js';
import { close, expectOTError, flat } from './helpers.js';

const FIX = JSON.parse(readFileSync(new URL('../../tests/fixtures/pot/families-weak.json', import.meta.url), 'utf8'));

test('weakOT reaches POT weak_optimal_transport value (or better)', async () => {
  for (const c of FIX.cases) {
    const r = await weakOT(c.Xa, c.Xb, { a: c.a, b: c.b, maxIter: 2000, tol: 1e-12 });
    assert.ok(r.value <= c.value + 1e-9, `${c.name}: ${r.value} > POT ${c.value}`);
    close(r.value, c.value, 1e-4, 0, `${c.name} value`);
    const P = r.plan.toDense();
    const n = c.a.length;
    const m = c.b.length;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < m; j++) s += P[i * m + j];
      close(s, c.a[i], 1e-12, 1e-15, `${c.name} row ${i}`);
    }
    // value from the plan by definition
    const X = flat(c.Xa);
    const Y = flat(c.Xb);
    const d = X.cols;
    let v = 0;
    for (let i = 0; i < n; i++) {
      let r2 = 0;
      for (let t = 0; t < d; t++) {
        let y = 0;
        for (let j = 0; j < m; j++) y += P[i * m + j] * Y.data[j * d + t];
        r2 += (X.data[i * d + t] - y / c.a[i]) ** 2;
      }
      v += c.a[i] * r2;
    }
    close(r.value, v, 1e-10, 1e-14, `${c.name} value by definition`);
    // weak cost ≤ W2² (Jensen: the barycentre is closer than the average squared distance)
    const M = new Float64Array(n * m);
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) for (let t = 0; t < d; t++) M[i * m + j] += (X.data[i * d + t] - Y.data[j * d + t]) ** 2;
    const w2 = await emd(c.a, c.b, { data: M, rows: n, cols: m });
    assert.ok(r.value <= w2.cost + 1e-12, `${c.name}: weak ${r.value} > W2² ${w2.cost}`);
  }
});

test('weakOT: identical clouds cost 0; bad input fails first', async () => {
  const X = [[0, 0], [1, 0], [0, 2]];
  const r = await weakOT(X, X);
  close(r.value, 0, 0, 1e-12, 'weak(X, X)');
  await expectOTError('shape', () => weakOT([[0, 1]], [[0, 1, 2]]), 'dimension');
  await expectOTError('nan', () => weakOT([[0, NaN]], [[0, 1]]), 'NaN');
  await expectOTError('mass', () => weakOT(X, X, { a: [1, 1, 1] }), 'unequal masses');
  await expectOTError('negative', () => weakOT(X, X, { b: [1, 1, -1] }), 'negative');
  await expectOTError('mass', () => weakOT(X, X, { init: [[1, 0, 0], [0, 0, 0], [0, 0, 0]] }), 'init marginals');
  await expectOTError('invalid-option', () => weakOT(X, X, { numItermax: 3 } as never), 'POT name');
});

test.run();
