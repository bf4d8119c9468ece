// 1D OT: wasm vs the plain-TS reference, closed forms, brute force, plan marginals, every error code.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng, emd1d, wasserstein1d, type Emd1dOptions } from 'kantorovich';
import { assertClose, expectOTError, randInt, randomWeights, uniforms } from './helpers.js';

type Problem = { x: Float64Array; y: Float64Array; opts: Emd1dOptions };

/** Supports: continuous, tie-heavy, or with extreme values (±0, subnormals, ±1e300) that stress the radix keys. */
function support(rng: Rng, n: number, kind: number): Float64Array {
  if (kind === 0) return uniforms(rng, n, -3, 5);
  if (kind === 1) return Float64Array.from(uniforms(rng, n), (u) => Math.floor(u * 5) - 2);
  const specials = [0, -0, 5e-324, -5e-324, 1e300, -1e300, 1, -1, 2.5e-310, Number.MAX_VALUE, -Number.MAX_VALUE];
  return Float64Array.from(uniforms(rng, n), (u) => specials[Math.floor(u * specials.length)]);
}

function randomProblem(rng: Rng, maxN: number): Problem {
  const n = randInt(rng, 1, maxN);
  const m = rng.uniform() < 0.3 ? n : randInt(rng, 1, maxN);
  const kind = randInt(rng, 0, 2);
  const opts: Emd1dOptions = { p: [1, 2, 1.5, 3][randInt(rng, 0, 3)] };
  const wkind = randInt(rng, 0, 2); // 0 uniform, 1 weighted, 2 weighted with zeros
  if (wkind > 0) {
    opts.a = randomWeights(rng, n, wkind === 2);
    opts.b = randomWeights(rng, m, wkind === 2);
    opts.normalize = true; // sums are 1 up to roundoff
  }
  // p = 1.5 or 3 over ±1e300 overflows to Infinity; keep extremes for p ≤ 2... and avoid Inf − Inf
  if (kind === 2) opts.p = 1;
  return { x: support(rng, n, kind), y: support(rng, m, kind === 2 ? 0 : kind), opts };
}

async function agree(q: Problem, what: string): Promise<void> {
  const w = await emd1d(q.x, q.y, { ...q.opts, backend: 'wasm' });
  const j = await emd1d(q.x, q.y, { ...q.opts, backend: 'js' });
  assert.is(w.backend, 'wasm');
  assert.is(j.backend, 'js');
  assertClose(w.cost, j.cost, 1e-12, `${what} cost`);
  // same stable sort and the same float operations in the walk: the plans are identical
  assert.equal(Array.from(w.plan.rowIndex), Array.from(j.plan.rowIndex), `${what} rows`);
  assert.equal(Array.from(w.plan.colIndex), Array.from(j.plan.colIndex), `${what} cols`);
  assert.equal(Array.from(w.plan.values), Array.from(j.plan.values), `${what} masses`);
  const ww = await wasserstein1d(q.x, q.y, { ...q.opts, backend: 'wasm' });
  const wj = await wasserstein1d(q.x, q.y, { ...q.opts, backend: 'js' });
  assertClose(ww, wj, 1e-12, `${what} wasserstein1d`);
  assertClose(ww, Math.pow(j.cost, 1 / (q.opts.p ?? 1)), 1e-12, `${what} wasserstein1d vs emd1d`);
}

test('wasm and js agree on small random problems (n ≠ m, weights, zero weights, ties, extremes)', async () => {
  const rng = new Rng(11);
  for (let t = 0; t < 400; t++) await agree(randomProblem(rng, 12), `case ${t}`);
});

test('wasm and js agree on problems large enough for the radix sort', async () => {
  const rng = new Rng(12);
  for (let t = 0; t < 30; t++) await agree(randomProblem(rng, 3000), `case ${t}`);
});

test('equal-size uniform: the sorted matching', async () => {
  const rng = new Rng(3);
  for (const p of [1, 2, 1.5, 0.5]) {
    for (const n of [1, 7, 100, 1000]) {
      const x = uniforms(rng, n, -1, 1);
      const y = uniforms(rng, n, 0, 3);
      const xs = Float64Array.from(x).sort();
      const ys = Float64Array.from(y).sort();
      let want = 0;
      for (let k = 0; k < n; k++) want += Math.pow(Math.abs(xs[k] - ys[k]), p) / n;
      for (const backend of ['wasm', 'js'] as const) {
        const r = await emd1d(x, y, { p, backend });
        assertClose(r.cost, want, 1e-12, `${backend} p=${p} n=${n}`);
        assert.is(r.plan.nnz, n);
        for (const [i, j] of r.plan.entries()) assert.is(xs.indexOf(x[i]), ys.indexOf(y[j]), 'pairs ranks');
      }
    }
  }
});

test('translation: W_p(x, x + t) = |t|', async () => {
  const rng = new Rng(4);
  const x = uniforms(rng, 500, -2, 2);
  for (const t of [0.75, -3]) {
    const y = x.map((v) => v + t);
    for (const p of [1, 2, 3]) {
      for (const backend of ['wasm', 'js'] as const) {
        assertClose(await wasserstein1d(x, y, { p, backend }), Math.abs(t), 1e-9, `${backend} t=${t} p=${p}`);
        // also against a shuffled, differently sized copy: y twice over is the same measure
        const yy = Float64Array.from([...y, ...y].reverse());
        assertClose(await wasserstein1d(x, yy, { p, backend }), Math.abs(t), 1e-9, `${backend} doubled`);
      }
    }
  }
});

test('Diracs and two-atom closed forms', async () => {
  for (const backend of ['wasm', 'js'] as const) {
    assertClose(await wasserstein1d([2.5], [-1], { backend }), 3.5, 1e-15, 'two Diracs');
    assertClose(await wasserstein1d([2.5], [-1], { p: 2, backend }), 3.5, 1e-15, 'two Diracs p=2');
    // 0.25 at 0 and 0.75 at 1, all to 2: W1 = 0.25·2 + 0.75·1
    assertClose(await wasserstein1d([1, 0], [2], { a: [0.75, 0.25], backend }), 1.25, 1e-15, 'two atoms');
    // W2² = 0.25·4 + 0.75·1
    assertClose(await wasserstein1d([1, 0], [2], { a: [0.75, 0.25], p: 2, backend }), Math.sqrt(1.75), 1e-15, 'p=2');
    const r = await emd1d([1, 0], [2, 2], { a: [0.75, 0.25], b: [0.5, 0.5], backend });
    assert.equal(r.plan.toDense(), Float64Array.from([0.25, 0.5, 0.25, 0]), 'plan');
  }
});

function permutations(n: number): number[][] {
  if (n === 1) return [[0]];
  const out: number[][] = [];
  for (const p of permutations(n - 1)) for (let k = 0; k < n; k++) out.push([...p.slice(0, k), n - 1, ...p.slice(k)]);
  return out;
}

test('brute force: the plan cost equals the best permutation (n ≤ 6, uniform)', async () => {
  const rng = new Rng(5);
  for (let n = 1; n <= 6; n++) {
    const perms = permutations(n);
    for (let t = 0; t < 8; t++) {
      const x = Float64Array.from(uniforms(rng, n, -2, 2), (v) => (t % 2 ? Math.round(v) : v));
      const y = uniforms(rng, n, -1, 3);
      for (const p of [1, 1.5, 2, 3]) {
        let best = Infinity;
        for (const s of perms) {
          let c = 0;
          for (let i = 0; i < n; i++) c += Math.pow(Math.abs(x[i] - y[s[i]]), p) / n;
          best = Math.min(best, c);
        }
        for (const backend of ['wasm', 'js'] as const) {
          const r = await emd1d(x, y, { p, backend });
          assertClose(r.cost, best, 1e-12, `${backend} n=${n} p=${p}`);
        }
      }
    }
  }
});

test('the plan: marginals, sparsity, original indices, cost = Σ P_ij |x_i − y_j|^p', async () => {
  const rng = new Rng(6);
  for (let t = 0; t < 200; t++) {
    const n = randInt(rng, 1, t < 180 ? 20 : 400);
    const m = randInt(rng, 1, t < 180 ? 20 : 400);
    const x = uniforms(rng, n, -1, 1);
    const y = Float64Array.from(uniforms(rng, m, 0, 2), (v) => (t % 3 === 0 ? Math.round(v * 3) : v));
    const a = randomWeights(rng, n, t % 2 === 0);
    const b = randomWeights(rng, m, t % 4 === 0);
    const p = [1, 2, 0.5, 2.5][t % 4];
    for (const backend of ['wasm', 'js'] as const) {
      const r = await emd1d(x, y, { a, b, p, backend, normalize: true });
      const P = r.plan;
      assert.is(P.rows, n);
      assert.is(P.cols, m);
      assert.ok(P.nnz <= n + m - 1, `nnz ${P.nnz} > n + m − 1`);
      const rs = P.marginals().a;
      const cs = P.marginals().b;
      for (let i = 0; i < n; i++) assert.ok(Math.abs(rs[i] - a[i]) <= 1e-12, `${backend} row ${i}: ${rs[i]} vs ${a[i]}`);
      for (let j = 0; j < m; j++) assert.ok(Math.abs(cs[j] - b[j]) <= 1e-12, `${backend} col ${j}: ${cs[j]} vs ${b[j]}`);
      let c = 0;
      let prevI = -Infinity;
      let prevJ = -Infinity;
      for (const [i, j, v] of P.entries()) {
        assert.ok(v > 0 && Number.isInteger(i) && Number.isInteger(j) && i >= 0 && i < n && j >= 0 && j < m);
        c += v * Math.pow(Math.abs(x[i] - y[j]), p);
        // monotone: both supports are visited in non-decreasing order
        assert.ok(x[i] >= prevI && y[j] >= prevJ, 'monotone');
        prevI = x[i];
        prevJ = y[j];
      }
      assertClose(r.cost, c, 1e-12, `${backend} cost vs plan`);
    }
  }
});

test('unequal masses: rejected, or rescaled with normalize', async () => {
  for (const backend of ['wasm', 'js'] as const) {
    await expectOTError('mass', () => emd1d([0, 1], [2], { a: [1, 1], b: [1], backend }), 'mass');
    const r = await emd1d([0, 1], [2], { a: [1, 1], b: [1], normalize: true, backend });
    assertClose(r.cost, 3, 1e-15, 'normalized cost');
    assert.equal(Array.from(r.plan.marginals().b), [2]);
    // within massTolerance the call goes through
    const w = await wasserstein1d([0, 1], [2], { a: [0.5, 0.5], b: [1 + 1e-7], massTolerance: 1e-6, backend });
    assertClose(w, 1.5, 1e-12, 'tolerated');
  }
});

test('every error code, before any work', async () => {
  await expectOTError('nan', () => emd1d([0, NaN], [1]), 'NaN in x');
  await expectOTError('nan', () => wasserstein1d([0], [Infinity]), 'Inf in y');
  await expectOTError('nan', () => emd1d([0, 1], [1], { a: [0.5, NaN] }), 'NaN in a');
  await expectOTError('negative', () => emd1d([0, 1], [1], { a: [1.5, -0.5] }), 'negative a');
  await expectOTError('negative', () => wasserstein1d([0], [1, 2], { b: [-1, 2] }), 'negative b');
  await expectOTError('shape', () => emd1d([0, 1], [1], { a: [1] }), 'a length');
  await expectOTError('shape', () => wasserstein1d([0, 1], [1], { b: [0.5, 0.5] }), 'b length');
  await expectOTError('shape', () => emd1d(null as unknown as number[], [1]), 'not an array');
  await expectOTError('empty', () => emd1d([], [1]), 'empty x');
  await expectOTError('empty', () => wasserstein1d([1], new Float64Array(0)), 'empty y');
  await expectOTError('mass', () => emd1d([0, 1], [1], { a: [0.5, 0.5], b: [2] }), 'unequal mass');
  await expectOTError('mass', () => emd1d([0, 1], [1], { a: [0, 0] }), 'zero mass');
  await expectOTError('too-large', () => emd1d(new Float64Array(1000), new Float64Array(1000), { maxBytes: 10000 }), 'budget');
  await expectOTError('too-large', () => wasserstein1d(new Float64Array(1000), new Float64Array(1000), { maxBytes: 10000 }), 'budget');
  await expectOTError('invalid-option', () => emd1d([0], [1], { p: 0 }), 'p = 0');
  await expectOTError('invalid-option', () => emd1d([0], [1], { p: NaN }), 'p NaN');
  await expectOTError('invalid-option', () => wasserstein1d([0], [1], { p: 0.5 }), 'W_p needs p ≥ 1');
  await expectOTError('backend-unavailable', () => emd1d([0], [1], { backend: 'webgpu' }), 'no webgpu kernel');
  const ac = new AbortController();
  ac.abort();
  await expectOTError('aborted', () => wasserstein1d([0], [1], { signal: ac.signal }), 'aborted');
});

test('inputs are not modified; Float32Array and number[] accepted', async () => {
  const x = Float32Array.from([3, 1, 2]);
  const y = [0.5, -1];
  const r = await emd1d(x, y, { p: 2 });
  assert.equal(Array.from(x), [3, 1, 2]);
  assert.equal(y, [0.5, -1]);
  const j = await emd1d(Array.from(x), y, { p: 2, backend: 'js' });
  assertClose(r.cost, j.cost, 1e-15, 'f32 input');
});

test.run();
