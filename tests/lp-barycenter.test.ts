// LP barycenter (ts/solvers/lp-barycenter.ts) against tests/fixtures/pot/families-lpbary.json (POT 0.8.2
// ot.lp.barycenter, scipy interior point; generate_families.py). LP barycenters need not be unique and the
// interior point stops at ~1e-8, so objectives are compared: ours ≤ POT's + 1e-9 and within 1e-6 relative.
// Our value is certified by recomputing Σ_k w_k emd(q, a_k) with the network simplex (1e-9 relative).
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lpBarycenter } from '../ts/solvers/lp-barycenter.js';
import { emd } from '../ts/solvers/emd.js';
import { close, expectOTError, flat } from './helpers.js';

const FIX = JSON.parse(readFileSync(new URL('../../tests/fixtures/pot/families-lpbary.json', import.meta.url), 'utf8'));

test('lpBarycenter reaches POT ot.lp.barycenter objective, certified by emd', async () => {
  for (const c of FIX.cases) {
    const r = await lpBarycenter(c.A, c.M, { weights: c.weights });
    assert.is(r.status, 'optimal');
    assert.ok(r.error < 1e-12, `${c.name} residual ${r.error}`);
    assert.ok(r.value <= c.value + 1e-9, `${c.name}: ${r.value} > POT ${c.value}`);
    close(r.value, c.value, 1e-6, 1e-12, `${c.name} value`);
    let total = 0;
    for (let k = 0; k < c.A.length; k++) total += c.weights[k] * (await emd(r.barycenter, c.A[k], flat(c.M), { normalize: true })).cost;
    close(total, r.value, 1e-9, 1e-14, `${c.name} Σ w_k emd(q, a_k)`);
    close(r.barycenter.reduce((s, x) => s + x, 0), 1, 1e-12, 0, `${c.name} mass`);
  }
});

test('lpBarycenter: a single histogram is its own barycenter; bad input fails first', async () => {
  const M = [[0, 1, 4], [1, 0, 1], [4, 1, 0]];
  const r = await lpBarycenter([[0.2, 0.3, 0.5]], M);
  close(r.value, 0, 0, 1e-15, 'value');
  r.barycenter.forEach((x, i) => close(x, [0.2, 0.3, 0.5][i], 0, 1e-15, `q[${i}]`));
  await expectOTError('shape', () => lpBarycenter([[0.5, 0.5]], M), 'M size');
  await expectOTError('negative', () => lpBarycenter([[1.5, -0.5, 0]], M), 'negative');
  await expectOTError('mass', () => lpBarycenter([[0.5, 0.5, 0], [1, 1, 0]], M), 'unequal masses');
  await expectOTError('nan', () => lpBarycenter([[0.5, NaN, 0]], M), 'NaN');
  await expectOTError('shape', () => lpBarycenter([[0.5, 0.5, 0]], M, { weights: [1, 2] }), 'weights length');
});

test.run();
