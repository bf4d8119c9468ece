// sinkhornDivergence's multiscale strategy (ts/entropic/multiscale.ts over the f32 kernel of assembly/stream.ts):
// the kernel's sums against f64 brute force (d = 1, 3 and 5: both tile paths, both modes, rows and columns);
// the dropped-block bound against the true mass of the dropped blocks; the divergence, its linear part and
// OT_ε itself against the dense strategy in 1, 2, 3 and 5 dimensions (uniform, non-uniform and zero weights);
// the strategy switch and its errors.
//
// Agreement tolerance: a term's value is the dual ⟨a, f⟩ + ⟨b, g⟩ at potentials whose plan misses the marginals
// by at most e = error + droppedMass in L1; moving mass e changes the value by at most e times the range of the
// potentials and costs, ≤ diam² (the cost range, the potentials' oscillation being bounded by it). Three terms,
// two of them halved: |ΔS| ≤ 2·diam²·e; the dense reference is solved to 1e-9 and adds nothing visible. The
// value (each term's dual objective with its mass term) is held to a second-order bound far below that.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OTError, Rng, sinkhornDivergence } from 'kantorovich';
import { type BlockList, COLS_FLAG, type PaddedCloud, allBlocks, padCloud, passEngine } from '../ts/entropic/stream.js';
import { clusterScalings, exactFallbacks, keptBlocks } from '../ts/entropic/multiscale.js';
import { webgpuGate } from './helpers.js';
import { gpuOpenPromises } from '../ts/backends/webgpu.js';

const IN = { worker: false } as const;

const { it: gpuIt } = await webgpuGate('divergence-multiscale.test (webgpu cases)');

function cloud(rng: Rng, n: number, d: number, lo = 0, hi = 1): Float64Array {
  return Float64Array.from({ length: n * d }, () => lo + (hi - lo) * rng.uniform());
}

function weights(rng: Rng, n: number, zeros = false): Float64Array {
  const w = Float64Array.from({ length: n }, (_, i) => (zeros && i % 5 === 1 ? 0 : rng.uniform() + 0.1));
  const s = w.reduce((x, y) => x + y, 0);
  return w.map((x) => x / s);
}

function diam2(X: Float64Array, Y: Float64Array, d: number): number {
  let s = 0;
  for (let t = 0; t < d; t++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const P of [X, Y]) for (let i = t; i < P.length; i += d) (lo = Math.min(lo, P[i])), (hi = Math.max(hi, P[i]));
    s += (hi - lo) ** 2;
  }
  return s;
}

/** Random clusters (contiguous in point order) for a padded cloud. */
function clustered(rng: Rng, n: number, d: number, k: number) {
  const P = cloud(rng, n, d, -0.5, 0.5);
  const w = weights(rng, n);
  const cl = Int32Array.from({ length: n }, (_, i) => Math.floor((i * k) / n));
  return padCloud(P, w, d, cl, k);
}

/** Every real (target slot, source slot) pair of the listed blocks, with its list entry and 2x_i·y_j/ε. */
function eachEntry(T: PaddedCloud, S: PaddedCloud, blocks: BlockList, eps: number, visit: (i: number, j: number, q: number, dot: number) => void): void {
  for (let k = 0; k + 1 < blocks.rowptr.length; k++)
    for (let q = blocks.rowptr[k]; q < blocks.rowptr[k + 1]; q++) {
      const l = blocks.list[q] & (COLS_FLAG - 1);
      for (let i = T.off[k]; i < T.off[k + 1]; i++)
        for (let j = S.off[l]; j < S.off[l + 1]; j++) {
          if (T.orig[i] < 0 || S.orig[j] < 0) continue;
          let dot = 0;
          for (let t = 0; t < T.d; t++) dot += (2 * T.coords[t * T.np + i] * S.coords[t * S.np + j]) / eps;
          visit(i, j, q, dot);
        }
    }
}

// (the last case: target clusters of ~350 points, more than a webgpu workgroup's 256 threads, taken in slices)
for (const [backend, d, nT] of [['wasm', 1, 57], ['wasm', 3, 57], ['wasm', 5, 57], ['webgpu', 1, 57], ['webgpu', 3, 57], ['webgpu', 5, 57], ['webgpu', 2, 1400]] as const) {
  (backend === 'webgpu' ? gpuIt : test)(`${backend} kernel: row and column sums (modes 0, 1 and 2), block masses and first moments (mode 3) match f64 brute force, d = ${d}, ${nT} targets`, async () => {
    const rng = new Rng(7 + d);
    const T = clustered(rng, nT, d, 4);
    const S = clustered(rng, 41, d, 3);
    const eps = 0.05;
    const h = Float64Array.from({ length: T.np }, (_, s) => (T.orig[s] < 0 ? -Infinity : -3 + 2 * rng.uniform()));
    const w = Float64Array.from({ length: S.np }, (_, s) => (S.orig[s] < 0 ? -Infinity : -4 + 2 * rng.uniform()));
    const engine = await passEngine(backend, 1);
    try {
      const pair = await engine.pair(T, S);
      // every block, half of them with columns
      const blocks = allBlocks(4, 3, 0);
      blocks.list = blocks.list.map((l, k) => (k % 2 ? l | COLS_FLAG : l));
      for (const mode of [0, 1] as const) {
        const { rows, cols } = await pair.pass(eps, h, w, blocks, mode);
        const R = new Float64Array(T.np);
        const C = new Float64Array(S.np);
        const perBlock = new Float64Array(blocks.list.length);
        eachEntry(T, S, blocks, eps, (i, j, q, dot) => {
          const e = Math.exp(h[i] + w[j] + dot) * (mode === 1 ? dot : 1);
          R[i] += e;
          perBlock[q] += e;
          if (blocks.list[q] & COLS_FLAG) C[j] += e;
        });
        let scale = 0;
        R.forEach((x) => (scale = Math.max(scale, Math.abs(x))));
        const close = (got: Float64Array, want: Float64Array, what: string) => {
          for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 2e-5 * scale, `${what} ${i}: ${got[i]} vs ${want[i]}`);
        };
        close(rows, R, `mode ${mode} row`);
        close(cols, C, `mode ${mode} col`);
        // mode 2: both sums in one pass
        const both = await pair.pass(eps, h, w, blocks, 2);
        close(mode === 0 ? both.rows : both.rows2!, R, `mode 2 (${mode}) row`);
        close(mode === 0 ? both.cols : both.cols2!, C, `mode 2 (${mode}) col`);
        if (mode === 0) {
          // each kept block's mass, from a mode-0 and a mode-2 pass (the cluster correction reads them)
          close((await pair.pass(eps, h, w, blocks, 0, true)).blocks!, perBlock, 'block sum');
          close((await pair.pass(eps, h, w, blocks, 2, true)).blocks!, perBlock, 'mode 2 block sum');
          assert.is((await pair.pass(eps, h, w, blocks, 0)).blocks, undefined);
        }
      }
      // mode 3: the rows and the first moments Σ_j E_ij·y_jc (column flags ignored)
      const mom = await pair.moments(eps, h, w, blocks, true);
      const R = new Float64Array(T.np);
      const M = new Float64Array(d * T.np);
      const PB = new Float64Array(blocks.list.length);
      eachEntry(T, S, blocks, eps, (i, j, q, dot) => {
        const e = Math.exp(h[i] + w[j] + dot);
        R[i] += e;
        PB[q] += e;
        for (let t = 0; t < d; t++) M[t * T.np + i] += e * S.coords[t * S.np + j];
      });
      let big = 0;
      M.forEach((x) => (big = Math.max(big, Math.abs(x))));
      R.forEach((x) => (big = Math.max(big, Math.abs(x))));
      for (let k = 0; k < R.length; k++) assert.ok(Math.abs(mom.rows[k] - R[k]) <= 2e-5 * big, `moments pass row ${k}: ${mom.rows[k]} vs ${R[k]}`);
      for (let k = 0; k < M.length; k++) assert.ok(Math.abs(mom.moments[k] - M[k]) <= 2e-5 * big, `moment ${k}: ${mom.moments[k]} vs ${M[k]}`);
      for (let q = 0; q < PB.length; q++) assert.ok(Math.abs(mom.blocks![q] - PB[q]) <= 2e-5 * big, `moments pass block ${q}: ${mom.blocks![q]} vs ${PB[q]}`);
      // an exponent below f32's range is clamped to 2^−125 (the driver redoes sums below 1e-30 in f64)
      const low = h.map((x) => x - 200);
      const { rows } = await pair.pass(eps, low, w, blocks, 0);
      assert.ok(rows.every((x) => x < 1e-30));
    } finally {
      engine.release();
    }
  });
}

test('dropped blocks: the reported bound is at least the mass the full plan puts there', () => {
  const rng = new Rng(3);
  const d = 2;
  const n = 300;
  const X = cloud(rng, n, d, -0.5, 0.5);
  const Y = cloud(rng, n, d, -0.3, 0.7);
  const a = weights(rng, n);
  const b = weights(rng, n);
  const clusters = (P: Float64Array) => Int32Array.from({ length: n }, (_, i) => Math.min(7, Math.floor((P[i * d] + 0.5) * 8)) * 8 + Math.min(7, Math.max(0, Math.floor((P[i * d + 1] + 0.5) * 8))));
  const T = padCloud(X, a, d, clusters(X), 64);
  const S = padCloud(Y, b, d, clusters(Y), 64);
  const eps = 0.01;
  // potentials: one exact softmin each way from zero (a plan with the right scale of mass)
  const C = (i: number, j: number) => {
    let s = 0;
    for (let t = 0; t < d; t++) s += (T.coords[t * T.np + i] - S.coords[t * S.np + j]) ** 2;
    return s;
  };
  const f = new Float64Array(T.np);
  const g = new Float64Array(S.np);
  for (let i = 0; i < T.np; i++) {
    if (T.orig[i] < 0) continue;
    let s = 0;
    for (let j = 0; j < S.np; j++) if (S.orig[j] >= 0) s += S.w[j] * Math.exp(-C(i, j) / eps);
    f[i] = -eps * Math.log(s);
  }
  for (let j = 0; j < S.np; j++) {
    if (S.orig[j] < 0) continue;
    let s = 0;
    for (let i = 0; i < T.np; i++) if (T.orig[i] >= 0) s += T.w[i] * Math.exp((f[i] - C(i, j)) / eps);
    g[j] = -eps * Math.log(s);
  }
  for (const budget of [1e-2, 1e-4]) {
    const { blocks, dropped, kept } = keptBlocks({ T, S, f, g, self: false }, eps, budget);
    assert.ok(kept < 1, 'some blocks are dropped');
    assert.ok(dropped <= budget);
    const keptSet = new Set<number>();
    for (let k = 0; k < 64; k++) for (let q = blocks.rowptr[k]; q < blocks.rowptr[k + 1]; q++) keptSet.add(k * 64 + (blocks.list[q] & (COLS_FLAG - 1)));
    let mass = 0;
    for (let k = 0; k < 64; k++)
      for (let l = 0; l < 64; l++) {
        if (keptSet.has(k * 64 + l)) continue;
        for (let i = T.off[k]; i < T.off[k + 1]; i++)
          for (let j = S.off[l]; j < S.off[l + 1]; j++)
            if (T.orig[i] >= 0 && S.orig[j] >= 0) mass += T.w[i] * S.w[j] * Math.exp((f[i] + g[j] - C(i, j)) / eps);
      }
    assert.ok(mass > 0, 'the dropped blocks carry some mass');
    assert.ok(mass <= dropped * (1 + 1e-12), `true dropped mass ${mass} ≤ bound ${dropped}`);
  }
});

test('clusterScalings: the scaled block masses have the clusters\' masses as marginals', () => {
  const rng = new Rng(31);
  for (const [kT, kS, density, spread] of [
    [7, 5, 1, 1],
    [40, 33, 0.4, 6],
    [120, 90, 0.15, 12],
  ]) {
    // a sparse CSR of block masses spread over `spread` orders of magnitude, every row and column non-empty
    const rowptr = new Int32Array(kT + 1);
    const list: number[] = [];
    const sums: number[] = [];
    for (let k = 0; k < kT; k++) {
      for (let l = 0; l < kS; l++) {
        if (l !== k % kS && l !== (k * 7) % kS && rng.uniform() > density) continue;
        list.push(rng.uniform() < 0.5 ? l : l | COLS_FLAG); // the flag must not matter
        sums.push(Math.exp(-spread * rng.uniform()) * 1e-3);
      }
      rowptr[k + 1] = list.length;
    }
    const blocks = { rowptr, list: Int32Array.from(list) };
    for (let l = 0; l < kS; l++) assert.ok(list.some((e) => (e & (COLS_FLAG - 1)) === l), `column ${l} is non-empty`);
    const A = weights(rng, kT);
    const B = weights(rng, kS);
    const tol = 1e-9;
    const { u, v, iterations, error } = clusterScalings(blocks, Float64Array.from(sums), A, B, tol);
    assert.ok(error <= tol, `error ${error} after ${iterations} iterations`);
    const rows = new Float64Array(kT);
    const cols = new Float64Array(kS);
    for (let k = 0; k < kT; k++)
      for (let q = rowptr[k]; q < rowptr[k + 1]; q++) {
        const l = list[q] & (COLS_FLAG - 1);
        const m = sums[q] * u[k] * v[l];
        rows[k] += m;
        cols[l] += m;
      }
    let er = 0;
    let ec = 0;
    for (let k = 0; k < kT; k++) er += Math.abs(rows[k] - A[k]);
    for (let l = 0; l < kS; l++) ec += Math.abs(cols[l] - B[l]);
    assert.ok(er <= tol * 1.01 && ec <= tol * 1.01, `rows ${er}, columns ${ec} (${kT} × ${kS})`);
  }
});

interface Case {
  name: string;
  n: number;
  m: number;
  d: number;
  seed: number;
  weighted?: boolean;
  zeros?: boolean;
  debias?: boolean;
  /** Give X's first point weight 1e-40: its plan entries fall below f32's range, its sums go to the f64 fallback. */
  tiny?: boolean;
  /** Default 1e-4. */
  tol?: number;
}

const cases: Case[] = [
  { name: '3-D, uniform weights', n: 1500, m: 1200, d: 3, seed: 1 },
  { name: '2-D, non-uniform weights with zeros', n: 2000, m: 1800, d: 2, seed: 2, weighted: true, zeros: true },
  { name: '1-D', n: 800, m: 900, d: 1, seed: 3 },
  { name: '5-D', n: 700, m: 600, d: 5, seed: 4, weighted: true },
  { name: '3-D, OT_ε itself (debias: false)', n: 1000, m: 1000, d: 3, seed: 5, debias: false },
  { name: '3-D at tol 1e-6 (the f32 kernel still converges: its rounding is below)', n: 1000, m: 900, d: 3, seed: 7, tol: 1e-6 },
  { name: '2-D, a point of weight 1e-40 (exact f64 fallback for its sums)', n: 600, m: 500, d: 2, seed: 6, weighted: true, tiny: true },
];

for (const c of cases) {
  test(`multiscale vs dense: ${c.name}`, async () => {
    const rng = new Rng(c.seed);
    const X = cloud(rng, c.n, c.d);
    const Y = cloud(rng, c.m, c.d, 0.2, 1.1);
    const a = c.weighted ? weights(rng, c.n, c.zeros) : undefined;
    if (c.tiny && a) {
      a[0] = 0;
      const rest = a.reduce((x, y) => x + y, 0);
      a.forEach((x, i) => (a[i] = x / rest));
      a[0] = 1e-40;
    }
    const b = c.weighted ? weights(rng, c.m) : undefined;
    const D2 = diam2(X, Y, c.d);
    const reg = 0.01 * D2;
    const tol = c.tol ?? 1e-4;
    const common = { ...IN, reg, a, b, debias: c.debias };
    const Xm = { data: X, rows: c.n, cols: c.d };
    const Ym = { data: Y, rows: c.m, cols: c.d };
    const before = exactFallbacks();
    const ms = await sinkhornDivergence(Xm, Ym, { ...common, tol, strategy: 'multiscale' });
    if (c.tiny) assert.ok(exactFallbacks() > before, 'the tiny point went through the exact fallback');
    const dense = await sinkhornDivergence(Xm, Ym, { ...common, tol: 1e-9, strategy: 'dense', backend: 'wasm' });
    assert.is(ms.strategy, 'multiscale');
    assert.is(dense.strategy, 'dense');
    assert.is(ms.status, 'converged');
    assert.ok(ms.error + ms.droppedMass! <= tol, `error ${ms.error} + dropped ${ms.droppedMass} ≤ tol`);
    const bound = 2 * D2 * tol;
    // the value is the dual objective with its mass term, off by the square of the potentials' error: measured
    // |ΔS| ≤ 1.4e-4·diam²·tol over these cases, where ⟨a, f⟩ + ⟨b, g⟩ alone was off by 1e-3–7e-3·diam²·tol
    const second = 5e-4 * D2 * tol;
    assert.ok(Math.abs(ms.value - dense.value) <= second, `value ${ms.value} vs dense ${dense.value} (bound ${second})`);
    assert.ok(Math.abs(ms.linearValue - dense.linearValue) <= bound, `linearValue ${ms.linearValue} vs dense ${dense.linearValue}`);
    assert.ok(ms.coarseIterations! > 0 && ms.iterations > 0);
  });
}

/** The gradient tests' problem: weighted 3-D clouds of 900 and 700 points, reg = 0.01·diam². */
function gradientProblem() {
  const rng = new Rng(41);
  const [n, m, d] = [900, 700, 3];
  const X = { data: cloud(rng, n, d), rows: n, cols: d };
  const Y = { data: cloud(rng, m, d, 0.2, 1.1), rows: m, cols: d };
  return { X, Y, a: weights(rng, n), b: weights(rng, m), reg: 0.01 * diam2(X.data, Y.data, d) };
}

for (const debias of [true, false]) {
  test(`multiscale gradients vs dense (debias ${debias})`, async () => {
    const { X, Y, a, b, reg } = gradientProblem();
    const common = { ...IN, reg, a, b, debias, gradient: true as const };
    const ms = await sinkhornDivergence(X, Y, { ...common, tol: 1e-7, strategy: 'multiscale' });
    const dense = await sinkhornDivergence(X, Y, { ...common, tol: 1e-10, strategy: 'dense', backend: 'wasm' });
    assert.is(ms.strategy, 'multiscale');
    const worst = (got: Float64Array, want: Float64Array, centre: boolean, w?: Float64Array) => {
      // ∂/∂a is defined up to a constant (the directions that keep the mass): compare weighted-centred copies
      const mean = (v: Float64Array) => (centre ? v.reduce((s, x, i) => s + x * w![i], 0) : 0);
      const [cg, cw] = [mean(got), mean(want)];
      let diff = 0;
      let scale = 0;
      for (let k = 0; k < want.length; k++) {
        diff = Math.max(diff, Math.abs(got[k] - cg - (want[k] - cw)));
        scale = Math.max(scale, Math.abs(want[k] - cw));
      }
      return diff / scale;
    };
    // f32 sums (~1e-6 relative) and a plan within tol 1e-7 of the marginals; measured 1.5e-6 and 1.9e-7
    assert.ok(worst(ms.gradX, dense.gradX, false) < 1e-5, `gradX ${worst(ms.gradX, dense.gradX, false)}`);
    assert.ok(worst(ms.gradY, dense.gradY, false) < 1e-5, `gradY ${worst(ms.gradY, dense.gradY, false)}`);
    assert.ok(worst(ms.gradA, dense.gradA, true, a) < 2e-6, `gradA ${worst(ms.gradA, dense.gradA, true, a)}`);
    assert.ok(worst(ms.gradB, dense.gradB, true, b) < 2e-6, `gradB ${worst(ms.gradB, dense.gradB, true, b)}`);
    // with gradients the final passes are moments passes, ⟨P, C⟩ comes from the moments (measured 4e-8, 1.4e-9)
    const rel = (x: number, y: number) => Math.abs(x - y) / Math.abs(y);
    assert.ok(rel(ms.linearValue, dense.linearValue) < 1e-6, `linearValue ${ms.linearValue} vs ${dense.linearValue}`);
    assert.ok(rel(ms.value, dense.value) < 1e-7, `value ${ms.value} vs ${dense.value}`);
  });
}

// The webgpu kernel (gpu/stream.ts) under the same driver, against the dense f64 solve. Its sums are f32 with
// Kahan-compensated rows (the wasm kernel adds blocks in f64) and WGSL's exp2: a systematic relative error δ in the
// entries moves a term's fixed point by ≤ εδ per potential, the value by ≤ 2εδ per term, S_ε by ≤ 4εδ. Measured at
// tol 1e-6 on lavapipe: |ΔS| = 5e-9 = 4ε·3.5e-8; GPU_DELTA leaves a 3× margin. (At tol 1e-4 the tol term dominates.)
const GPU_DELTA = 1e-7;
for (const c of [cases[0], cases[1], cases[5]]) {
  gpuIt(`multiscale on webgpu vs dense: ${c.name}`, async () => {
    const rng = new Rng(c.seed);
    const X = { data: cloud(rng, c.n, c.d), rows: c.n, cols: c.d };
    const Y = { data: cloud(rng, c.m, c.d, 0.2, 1.1), rows: c.m, cols: c.d };
    const a = c.weighted ? weights(rng, c.n, c.zeros) : undefined;
    const b = c.weighted ? weights(rng, c.m) : undefined;
    const D2 = diam2(X.data, Y.data, c.d);
    const tol = c.tol ?? 1e-4;
    const common = { ...IN, reg: 0.01 * D2, a, b };
    const gpu = await sinkhornDivergence(X, Y, { ...common, tol, strategy: 'multiscale', backend: 'webgpu' });
    const dense = await sinkhornDivergence(X, Y, { ...common, tol: 1e-9, strategy: 'dense', backend: 'wasm' });
    assert.is(gpu.backend, 'webgpu');
    assert.is(gpu.strategy, 'multiscale');
    assert.is(gpu.status, 'converged');
    assert.ok(gpu.error + gpu.droppedMass! <= tol, `error ${gpu.error} + dropped ${gpu.droppedMass} ≤ tol`);
    const second = 5e-4 * D2 * tol + 4 * common.reg * GPU_DELTA;
    assert.ok(Math.abs(gpu.value - dense.value) <= second, `value ${gpu.value} vs dense ${dense.value} (bound ${second})`);
    assert.ok(Math.abs(gpu.linearValue - dense.linearValue) <= 2 * D2 * tol, `linearValue ${gpu.linearValue} vs dense ${dense.linearValue}`);
  });
}

gpuIt('multiscale on webgpu: gradients vs dense', async () => {
  const { X, Y, a, b, reg } = gradientProblem();
  const common = { ...IN, reg, a, b, gradient: true as const };
  const gpu = await sinkhornDivergence(X, Y, { ...common, tol: 1e-6, strategy: 'multiscale', backend: 'webgpu' });
  const dense = await sinkhornDivergence(X, Y, { ...common, tol: 1e-10, strategy: 'dense', backend: 'wasm' });
  assert.is(gpu.backend, 'webgpu');
  const rel = (got: Float64Array, want: Float64Array) => {
    let diff = 0;
    let scale = 0;
    for (let k = 0; k < want.length; k++) (diff = Math.max(diff, Math.abs(got[k] - want[k]))), (scale = Math.max(scale, Math.abs(want[k])));
    return diff / scale;
  };
  assert.ok(rel(gpu.gradX, dense.gradX) < 1e-4, `gradX ${rel(gpu.gradX, dense.gradX)}`);
  assert.ok(rel(gpu.gradY, dense.gradY) < 1e-4, `gradY ${rel(gpu.gradY, dense.gradY)}`);
  assert.ok(Math.abs(gpu.value - dense.value) / dense.value < 1e-5, `value ${gpu.value} vs ${dense.value}`);
});

gpuIt('multiscale on webgpu: the memory budget refuses before any GPU work; abort stops it with no GPU promise left open', async () => {
  const rng = new Rng(12);
  const X = { data: cloud(rng, 3000, 2), rows: 3000, cols: 2 };
  const Y = { data: cloud(rng, 2500, 2, 0.3, 1.3), rows: 2500, cols: 2 };
  const opts = { ...IN, reg: 0.02, tol: 1e-5, strategy: 'multiscale' as const, backend: 'webgpu' as const };
  try {
    await sinkhornDivergence(X, Y, { ...opts, maxBytes: 100_000 });
    assert.unreachable('accepted a budget below its clouds');
  } catch (e) {
    assert.is((e as OTError).code, 'too-large');
  }
  const ctl = new AbortController();
  let reports = 0;
  try {
    await sinkhornDivergence(X, Y, { ...opts, signal: ctl.signal, onProgress: () => (reports++, ctl.abort()) });
    assert.unreachable('not aborted');
  } catch (e) {
    assert.is((e as OTError).code, 'aborted', String(e));
  }
  assert.is(reports, 1, 'stopped at the first pass boundary after the abort');
  assert.is(gpuOpenPromises(), 0, 'no GPU promise left open (Dawn aborts a process that exits with one)');
  // the solve after an abort runs on fresh buffers and converges
  const r = await sinkhornDivergence(X, Y, opts);
  assert.is(r.status, 'converged');
  assert.is(r.backend, 'webgpu');
});

test("strategy 'auto' goes multiscale above 2^26 pairs; abort stops it", async () => {
  const rng = new Rng(11);
  const n = 8200; // n² > 2^26
  const X = { data: cloud(rng, n, 1), rows: n, cols: 1 };
  const Y = { data: cloud(rng, n, 1, 0.5, 1.5), rows: n, cols: 1 };
  const r = await sinkhornDivergence(X, Y, { ...IN, reg: 0.05, tol: 1e-3 });
  assert.is(r.strategy, 'multiscale');
  assert.is(r.status, 'converged');
  const ctl = new AbortController();
  try {
    await sinkhornDivergence(X, Y, { ...IN, reg: 0.05, tol: 1e-3, signal: ctl.signal, onProgress: () => ctl.abort() });
    assert.unreachable('not aborted');
  } catch (e) {
    assert.is((e as OTError).code, 'aborted');
  }
});

test('strategy: auto stays dense for small problems; forced multiscale refuses what it cannot do', async () => {
  const rng = new Rng(9);
  const X = { data: cloud(rng, 60, 2), rows: 60, cols: 2 };
  const Y = { data: cloud(rng, 50, 2), rows: 50, cols: 2 };
  const auto = await sinkhornDivergence(X, Y, { ...IN, reg: 0.05 });
  assert.is(auto.strategy, 'dense');
  assert.is(auto.droppedMass, undefined);
  const refuse = async (opts: Record<string, unknown>, what: RegExp) => {
    try {
      await sinkhornDivergence(X, Y, { ...IN, reg: 0.05, strategy: 'multiscale', ...opts } as never);
      assert.unreachable(`accepted ${JSON.stringify(opts)}`);
    } catch (e) {
      assert.instance(e, OTError);
      assert.is((e as OTError).code, 'invalid-option');
      assert.match((e as OTError).message, what);
    }
  };
  await refuse({ cost: 'euclidean' }, /squared Euclidean/);
  const zero = new Float64Array(60).fill(1 / 59);
  zero[3] = 0;
  await refuse({ gradient: true, a: zero }, /gradients for weights that are 0/);
  await refuse({ backend: 'js' }, /wasm or webgpu/);
  await refuse({ reg: 1e-5 }, /diameter²\/reg/);
  await refuse({ strategy: 'sparse' }, /strategy/);
  // the clouds and block lists count against maxBytes
  try {
    await sinkhornDivergence(X, Y, { ...IN, reg: 0.05, strategy: 'multiscale', maxBytes: 4000 });
    assert.unreachable('accepted a budget below its clouds');
  } catch (e) {
    assert.is((e as OTError).code, 'too-large');
  }
  // bad data fails as in the dense path, before any work
  try {
    await sinkhornDivergence(X, Y, { ...IN, reg: 0.05, strategy: 'multiscale', a: new Float64Array(59) });
    assert.unreachable('accepted a of the wrong length');
  } catch (e) {
    assert.is((e as OTError).code, 'shape');
  }
});

test.run();
