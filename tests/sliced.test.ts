// Sliced and max-sliced Wasserstein: wasm vs js, the definition through wasserstein1d, seeds, every error code.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng, maxSlicedWasserstein, randomDirections, slicedWasserstein, wasserstein1d, type Matrix, type SlicedOptions } from 'kantorovich';
import { assertClose, expectOTError, normals, randInt, randomWeights } from './helpers.js';

function cloud(rng: Rng, n: number, d: number, shift = 0): Matrix {
  return { data: normals(rng, n * d, shift), rows: n, cols: d };
}

/** The projections of a cloud on direction t, computed here independently of both backends. */
function projectRows(X: Matrix, dirs: Matrix, t: number): Float64Array {
  const out = new Float64Array(X.rows);
  for (let i = 0; i < X.rows; i++) {
    let s = 0;
    for (let c = 0; c < X.cols; c++) s += X.data[i * X.cols + c] * dirs.data[t * dirs.cols + c];
    out[i] = s;
  }
  return out;
}

test('wasm and js agree (weights, n ≠ m, radix-sized clouds)', async () => {
  const rng = new Rng(21);
  for (let t = 0; t < 60; t++) {
    const d = randInt(rng, 1, 5);
    const big = t % 10 === 0;
    const n = randInt(rng, 1, big ? 600 : 40);
    const m = randInt(rng, 1, big ? 600 : 40);
    const opts: SlicedOptions = { p: [1, 2, 3][t % 3], nProjections: randInt(rng, 1, 20), seed: t };
    if (t % 2 === 1) {
      opts.a = randomWeights(rng, n, t % 4 === 1);
      opts.b = randomWeights(rng, m);
      opts.normalize = true;
    }
    const X = cloud(rng, n, d);
    const Y = cloud(rng, m, d, 0.5);
    const w = await slicedWasserstein(X, Y, { ...opts, backend: 'wasm' });
    const j = await slicedWasserstein(X, Y, { ...opts, backend: 'js' });
    assert.is(w.backend, 'wasm');
    assert.is(j.backend, 'js');
    assert.is(w.projectionCosts.length, opts.nProjections);
    for (let k = 0; k < w.projectionCosts.length; k++) assertClose(w.projectionCosts[k], j.projectionCosts[k], 1e-12, `case ${t} dir ${k}`);
    assertClose(w.value, j.value, 1e-12, `case ${t} value`);
    const mw = await maxSlicedWasserstein(X, Y, { ...opts, backend: 'wasm' });
    const mj = await maxSlicedWasserstein(X, Y, { ...opts, backend: 'js' });
    assertClose(mw.value, mj.value, 1e-12, `case ${t} max`);
  }
});

test('SW_p^p is the mean over its projections of wasserstein1d^p on the projected points', async () => {
  const rng = new Rng(22);
  for (const p of [1, 2, 3]) {
    for (const weighted of [false, true]) {
      const X = cloud(rng, 30, 3);
      const Y = cloud(rng, 45, 3, 1);
      const a = weighted ? randomWeights(rng, 30, true) : undefined;
      const b = weighted ? randomWeights(rng, 45) : undefined;
      for (const backend of ['wasm', 'js'] as const) {
        const r = await slicedWasserstein(X, Y, { p, a, b, normalize: true, nProjections: 12, seed: 7, backend });
        let mean = 0;
        for (let t = 0; t < r.projections.rows; t++) {
          const w = await wasserstein1d(projectRows(X, r.projections, t), projectRows(Y, r.projections, t), { p, a, b, normalize: true });
          assertClose(r.projectionCosts[t], Math.pow(w, p), 1e-10, `${backend} p=${p} dir ${t}`);
          mean += Math.pow(w, p) / r.projections.rows;
        }
        assertClose(r.value, Math.pow(mean, 1 / p), 1e-10, `${backend} p=${p} value`);
      }
    }
  }
});

test('max-sliced ≥ sliced, and is the largest projected distance', async () => {
  const rng = new Rng(23);
  for (let t = 0; t < 20; t++) {
    const X = cloud(rng, 25, 4);
    const Y = cloud(rng, 20, 4, 0.3);
    const opts = { p: 1 + (t % 3), nProjections: 30, seed: t };
    const s = await slicedWasserstein(X, Y, opts);
    const mx = await maxSlicedWasserstein(X, Y, opts);
    assert.ok(mx.value >= s.value, `max ${mx.value} < sliced ${s.value}`);
    assert.ok(mx.value > s.value * (1 + 1e-9), 'random directions differ, so max is strictly larger');
    assertClose(mx.value, Math.pow(Math.max(...s.projectionCosts), 1 / opts.p), 1e-15, 'max of projections');
  }
});

test('seeds: same seed → same value and directions, another seed → another value', async () => {
  const rng = new Rng(24);
  const X = cloud(rng, 50, 3);
  const Y = cloud(rng, 50, 3, 1);
  for (const backend of ['wasm', 'js'] as const) {
    const r1 = await slicedWasserstein(X, Y, { seed: 42, backend });
    const r2 = await slicedWasserstein(X, Y, { seed: 42, backend });
    const r3 = await slicedWasserstein(X, Y, { seed: 43, backend });
    const r0 = await slicedWasserstein(X, Y, { backend });
    assert.is(r1.value, r2.value);
    assert.ok(r1.value !== r3.value, 'another seed, another value');
    assert.is(r1.projections.rows, 50, 'nProjections defaults to 50');
    assert.equal(r1.projections.data, randomDirections(50, 3, 42), 'randomDirections(k, d, seed)');
    assert.equal(r0.projections.data, randomDirections(50, 3, 0), 'seed defaults to 0');
  }
});

test('caller projections (k × d, one per row) are used as given', async () => {
  const rng = new Rng(25);
  const X = cloud(rng, 40, 2);
  const Y = cloud(rng, 30, 2, 2);
  const x0 = projectRows(X, { data: [1, 0], rows: 1, cols: 2 }, 0);
  const y0 = projectRows(Y, { data: [1, 0], rows: 1, cols: 2 }, 0);
  const x1 = projectRows(X, { data: [0, 1], rows: 1, cols: 2 }, 0);
  const y1 = projectRows(Y, { data: [0, 1], rows: 1, cols: 2 }, 0);
  for (const backend of ['wasm', 'js'] as const) {
    const r = await slicedWasserstein(X, Y, { projections: [[1, 0], [0, 1], [1, 0]], p: 2, backend });
    assert.is(r.projectionCosts.length, 3);
    assertClose(r.projectionCosts[0], (await wasserstein1d(x0, y0, { p: 2 })) ** 2, 1e-12, 'axis 0');
    assertClose(r.projectionCosts[1], (await wasserstein1d(x1, y1, { p: 2 })) ** 2, 1e-12, 'axis 1');
    assert.is(r.projectionCosts[2], r.projectionCosts[0]);
    // d = 1 with the direction [1]: sliced is plain 1D OT
    const s1 = await slicedWasserstein([[0], [1], [5]], [[2], [3]], { projections: [[1]], p: 1, backend });
    assertClose(s1.value, await wasserstein1d([0, 1, 5], [2, 3]), 1e-15, 'd = 1');
    // a translated cloud: every unit direction sees the shift's projection, so SW_2 ≤ |shift| and max-sliced on
    // the shift's own direction is exactly |shift|
    const T = { data: Float64Array.from(X.data, (v, i) => v + (i % 2 ? 4 : 3)), rows: X.rows, cols: 2 };
    const m = await maxSlicedWasserstein(X, T, { projections: [[0.6, 0.8], [1, 0]], p: 2, backend });
    assertClose(m.value, 5, 1e-12, 'shift along (0.6, 0.8)');
  }
});

test('every error code, before any work', async () => {
  const X = [[0, 1], [1, 2]];
  const Y = [[2, 0]];
  await expectOTError('nan', () => slicedWasserstein([[0, NaN]], Y), 'NaN in X');
  await expectOTError('nan', () => slicedWasserstein(X, { data: [Infinity, 0], rows: 1, cols: 2 }), 'Inf in Y');
  await expectOTError('nan', () => slicedWasserstein(X, Y, { projections: [[NaN, 1]] }), 'NaN in projections');
  await expectOTError('nan', () => slicedWasserstein(X, Y, { a: [NaN, 1] }), 'NaN in a');
  await expectOTError('negative', () => slicedWasserstein(X, Y, { a: [2, -1] }), 'negative a');
  await expectOTError('shape', () => slicedWasserstein(X, [[1, 2, 3]]), 'd differs');
  await expectOTError('shape', () => slicedWasserstein(X, Y, { projections: [[1, 0, 0]] }), 'projections cols');
  await expectOTError('shape', () => slicedWasserstein(X, Y, { a: [1] }), 'a length');
  await expectOTError('shape', () => maxSlicedWasserstein(X, Y, { b: [0.5, 0.5] }), 'b length');
  await expectOTError('shape', () => slicedWasserstein([[0, 1], [2]], Y), 'ragged rows');
  await expectOTError('shape', () => slicedWasserstein({ data: [1, 2, 3], rows: 2, cols: 2 }, Y), 'data length');
  await expectOTError('empty', () => slicedWasserstein([], Y), 'empty X');
  await expectOTError('empty', () => slicedWasserstein(X, Y, { projections: [] }), 'empty projections');
  await expectOTError('mass', () => slicedWasserstein(X, Y, { a: [1, 1] }), 'unequal masses');
  await expectOTError('too-large', () => slicedWasserstein(X, Y, { nProjections: 1e9 }), 'too many directions');
  await expectOTError('too-large', () => slicedWasserstein(X, Y, { maxBytes: 100 }), 'budget');
  await expectOTError('invalid-option', () => slicedWasserstein(X, Y, { p: 0.5 }), 'p < 1');
  await expectOTError('invalid-option', () => maxSlicedWasserstein(X, Y, { p: Infinity }), 'p = ∞');
  await expectOTError('invalid-option', () => slicedWasserstein(X, Y, { nProjections: 0 }), 'no directions');
  await expectOTError('invalid-option', () => slicedWasserstein(X, Y, { nProjections: 2.5 }), 'fractional');
  await expectOTError('invalid-option', () => slicedWasserstein(X, Y, { seed: 0.5 }), 'seed');
  await expectOTError('backend-unavailable', () => slicedWasserstein(X, Y, { backend: 'webgpu' }), 'webgpu');
  const ac = new AbortController();
  ac.abort();
  await expectOTError('aborted', () => slicedWasserstein(X, Y, { signal: ac.signal }), 'aborted');
  // normalize rescales b: now it works
  const r = await slicedWasserstein(X, Y, { a: [1, 1], normalize: true, projections: [[1, 0]], p: 1 });
  assertClose(r.value, 2 * 1.5, 1e-15, 'normalized: mass 2 moved an average of 1.5');
});

test.run();
