// The wasm (f64, SIMD) barycenters against the plain-TS reference kernels (the js entropic engine, JsGridKernel of
// ts/barycenter/grid.ts) under the one IBP iteration (ts/barycenter/ibp.ts): barycenters agree to ~1e-12 of
// their largest entry, with the same iteration counts — IBP scaling and log (small reg where scaling overflows,
// zero bins, non-uniform weights, k = 1..4 histograms, non-square costs; the log path's stabilised kernels
// against its exact log-sum-exps), the convolutional barycenter on non-square grids and its grid step;
// the convolutional log form (its log-domain blur; wasm = js; = scaling where the scaling form is exact; = the
// dense log barycenter on the grid's cost; small reg where scaling fails; displacement interpolation; 'auto');
// plus backend selection: auto picks wasm, a forced unavailable backend rejects with 'backend-unavailable'
// (after the same validation as before), and auto falls back to js when the wasm cannot load.
import { readFile } from 'node:fs/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng, barycenter, convolutionalBarycenter, setWasmSource } from 'kantorovich';
import { WasmEntropicEngine } from '../ts/backends/wasm-entropic.js';
import { WasmGridKernel } from '../ts/backends/wasm-grid.js';
import { JsGridKernel } from '../ts/barycenter/grid.js';
import { engineKernel } from '../ts/barycenter/fixed.js';
import { ibp } from '../ts/barycenter/ibp.js';
import { closeArrays, expectOTError } from './helpers.js';

const REL = 1e-12;

/** k histograms of n bins: Gaussian bumps at random centres plus noise, with some bins exactly 0. */
function histograms(rng: Rng, k: number, n: number, zeros: boolean): number[][] {
  return Array.from({ length: k }, () => {
    const c = rng.uniform() * n;
    const s = 1 + rng.uniform() * n * 0.1;
    return Array.from({ length: n }, (_, i) => (zeros && rng.uniform() < 0.2 ? 0 : Math.exp(-(((i - c) / s) ** 2)) + 0.05 * rng.uniform()));
  });
}

/** Cost between n bins at x_i ∈ [0, 1] and nb bins at y_j ∈ [0, 1] (squared distance, max ≈ 1). */
function cost(n: number, nb: number): number[][] {
  const x = (i: number, len: number) => (len === 1 ? 0.5 : i / (len - 1));
  return Array.from({ length: n }, (_, i) => Array.from({ length: nb }, (_, j) => (x(i, n) - x(j, nb)) ** 2));
}

test('auto picks wasm for both entropic barycenters', async () => {
  const A = [
    [0.2, 0.5, 0.3],
    [0.6, 0.1, 0.3],
  ];
  const r = await barycenter(A, cost(3, 3), { reg: 0.1 });
  assert.is(r.backend, 'wasm');
  const c = await convolutionalBarycenter(A.map((x) => [...x, ...x]), { height: 2, width: 3, reg: 0.1 });
  assert.is(c.backend, 'wasm');
});

test('IBP: wasm = js (scaling and log, k = 1..4, weights, zero bins, non-square costs, odd sizes)', async () => {
  const rng = new Rng(31);
  const shapes: [number, number][] = [
    [1, 1],
    [5, 5],
    [23, 17],
    [40, 41],
    [64, 30],
  ];
  for (const [n, nb] of shapes) {
    for (let k = 1; k <= 4; k++) {
      const zeros = n > 5 && k % 2 === 0;
      const A = histograms(rng, k, n, zeros);
      const M = cost(n, nb);
      const weights = k > 1 && (k + n) % 2 === 0 ? Array.from({ length: k }, () => 0.1 + rng.uniform()) : undefined;
      for (const method of ['scaling', 'log'] as const) {
        for (const reg of [0.05, 0.01]) {
          for (const [tol, maxIter] of [
            [0, 60],
            [1e-9, 5000],
          ]) {
            const what = `n ${n} nb ${nb} k ${k}${zeros ? ' zeros' : ''}${weights ? ' weighted' : ''} ${method} reg ${reg} tol ${tol}`;
            const opts = { reg, method, weights, tol, maxIter };
            const j = await barycenter(A, M, { ...opts, backend: 'js' });
            const w = await barycenter(A, M, { ...opts, backend: 'wasm' });
            assert.is(j.backend, 'js');
            assert.is(w.backend, 'wasm');
            closeArrays(w.barycenter, j.barycenter, REL, what);
            assert.is(w.iterations, j.iterations, `${what}: iterations`);
            assert.is((w.status === 'converged'), (j.status === 'converged'), `${what}: converged`);
            assert.ok(Math.abs(w.error - j.error) <= 1e-10 * j.error + 1e-13, `${what}: error ${w.error} vs ${j.error}`);
            let mass = 0;
            for (const p of w.barycenter) mass += p;
            assert.ok(Math.abs(mass - 1) < 1e-12, `${what}: mass ${mass}`);
          }
        }
      }
    }
  }
});

test('IBP log at small reg: scaling overflows on both backends, log agrees and is finite', async () => {
  const rng = new Rng(5);
  const n = 48;
  const nb = 37;
  const A = histograms(rng, 3, n, true);
  const M = cost(n, nb).map((r) => r.map((c) => 100 * c)); // max M = 100, reg = 1e-4 of it
  const reg = 1e-2;
  for (const backend of ['js', 'wasm'] as const) {
    await expectOTError('numerical', () => barycenter(A, M, { reg, method: 'scaling', backend, maxIter: 500 }), `scaling on ${backend}`);
  }
  const opts = { reg, method: 'log' as const, weights: [0.5, 0.2, 0.3], tol: 0, maxIter: 150 };
  const j = await barycenter(A, M, { ...opts, backend: 'js' });
  const w = await barycenter(A, M, { ...opts, backend: 'wasm' });
  assert.ok(w.barycenter.every(Number.isFinite), 'finite');
  closeArrays(w.barycenter, j.barycenter, REL, 'log at reg 1e-4 max M');
  assert.is(w.iterations, j.iterations);
  // auto method at this reg is log, on wasm
  const a = await barycenter(A, M, { reg, weights: opts.weights, tol: 0, maxIter: 150 });
  assert.is(a.backend, 'wasm');
  closeArrays(a.barycenter, j.barycenter, REL, 'auto method');
});

test('IBP log: stabilised kernels = exact log-sum-exps = js (absorptions, exact fallbacks, zero bins)', async () => {
  const rng = new Rng(11);
  const n = 45;
  const nb = 31;
  const k = 3;
  const A = histograms(rng, k, n, true);
  const hist = A.map((a) => {
    const s = a.reduce((x, y) => x + y, 0);
    return Float64Array.from(a, (x) => x / s);
  });
  const lambda = new Float64Array([0.5, 0.2, 0.3]);
  const norm = (lp: Float64Array) => {
    const p = lp.map(Math.exp);
    const s = p.reduce((x, y) => x + y, 0);
    return p.map((x) => x / s);
  };
  // the barycenter's support sits at distance ≥ 1 from the histograms' (shift): with reg = 1e-2 and max M
  // ≈ 100·9, every entry of exp(−C/ε) underflows until the potentials are absorbed
  for (const [scale, shift, reg] of [
    [1, 0, 0.02],
    [100, 0, 0.01],
    [100, 2, 0.01],
  ]) {
    const M = Array.from({ length: n }, (_, i) => Array.from({ length: nb }, (_, j) => scale * (i / (n - 1) - (shift + j / (nb - 1))) ** 2));
    const C = Float64Array.from(M.flat());
    const what = `${'scale'} ${scale} shift ${shift} reg ${reg}`;
    const run = async (storeKernel: boolean) => {
      const engines = await Promise.all(
        hist.map((a) =>
          WasmEntropicEngine.create({ cost: { kind: 'dense', C, n, m: nb }, a, b: new Float64Array(nb).fill(1 / nb), method: 'log', tauA: 1, tauB: 1 }, { storeKernel, threads: 1 }),
        ),
      );
      const r = await ibp(engineKernel(engines, n, nb), { lambda, schedule: [reg], maxIter: 120, tol: 0, checkEvery: 1, measure: 'marginal', onNonFinite: () => 'non-finite' });
      const c = engines.map((e) => e.counters()).reduce((x, y) => ({ rebuilds: x.rebuilds + y.rebuilds, fallbacks: x.fallbacks + y.fallbacks }));
      engines.forEach((e) => e.dispose());
      return { ...r, ...c };
    };
    const stab = await run(true);
    const exact = await run(false);
    assert.ok(stab.rebuilds >= k, `${what}: rebuilds ${stab.rebuilds}`);
    if (shift > 0) assert.ok(stab.fallbacks > 0, `${what}: exact fallbacks ${stab.fallbacks}`);
    assert.is(exact.rebuilds, 0);
    closeArrays(norm(stab.logp), norm(exact.logp), REL, `${what}: stabilised vs exact`);
    const j = await barycenter(A, M, { reg, method: 'log', weights: Array.from(lambda), tol: 0, maxIter: 120, backend: 'js' });
    closeArrays(norm(stab.logp), j.barycenter, REL, `${what}: stabilised vs js`);
    closeArrays(norm(exact.logp), j.barycenter, REL, `${what}: exact vs js`);
    assert.ok(Math.abs(stab.error - j.error) <= 1e-9 * j.error + 1e-13, `${what}: error ${stab.error} vs ${j.error}`);
  }
});

/** ξ_h · x · ξ_w directly (h × w image x, row-major). */
function blurRef(xiH: Float64Array, xiW: Float64Array, h: number, w: number, x: Float64Array): Float64Array {
  const out = new Float64Array(h * w);
  for (let i = 0; i < h; i++)
    for (let j = 0; j < w; j++) {
      let s = 0;
      for (let r = 0; r < h; r++) for (let q = 0; q < w; q++) s += xiH[i * h + r] * x[r * w + q] * xiW[q * w + j];
      out[i * w + j] = s;
    }
  return out;
}

function gauss(len: number, reg: number): Float64Array {
  const xi = new Float64Array(len * len);
  for (let i = 0; i < len; i++)
    for (let j = 0; j < len; j++) {
      const d = len === 1 ? 0 : (i - j) / (len - 1);
      xi[i * len + j] = Math.exp(-(d * d) / reg);
    }
  return xi;
}

test('grid step, scaling (wasm and js) = log ξ(a / max(1e-30, ξ e^{g/ε})) with ξ = ξ_h ⊗ ξ_w, k images, non-square grids', async () => {
  const rng = new Rng(2);
  const reg = 0.02;
  for (const [h, w] of [
    [1, 1],
    [1, 7],
    [6, 1],
    [7, 11],
    [16, 9],
    [13, 20],
  ]) {
    for (const k of [1, 3]) {
      const hw = h * w;
      const imgs = Array.from({ length: k }, () => Float64Array.from({ length: hw }, () => rng.uniform()));
      const G = Float64Array.from({ length: k * hw }, () => reg * (rng.uniform() - 0.5));
      const p = { height: h, width: w, imgs, method: 'scaling' as const };
      const kernels = [new JsGridKernel(p), await WasmGridKernel.create(p)];
      for (const kern of kernels) {
        await kern.setEps(reg);
        const H = new Float64Array(k * hw);
        await kern.step(G, H);
        for (let t = 0; t < k; t++) {
          const KU = blurRef(gauss(h, reg), gauss(w, reg), h, w, G.subarray(t * hw, (t + 1) * hw).map((g) => Math.exp(g / reg)));
          const ref = blurRef(gauss(h, reg), gauss(w, reg), h, w, imgs[t].map((a, q) => a / Math.max(1e-30, KU[q]))).map(Math.log);
          closeArrays(H.subarray(t * hw, (t + 1) * hw), ref, 1e-13, `${kern.backend} ${h}×${w} image ${t} of ${k}`);
        }
        kern.dispose();
      }
    }
  }
});

test('convolutional scaling: wasm = js on non-square grids (k = 1..3, weights, zero pixels)', async () => {
  const rng = new Rng(17);
  const numericalCases: string[] = [];
  for (const [h, w] of [
    [1, 5],
    [7, 11],
    [16, 9],
    [20, 13],
  ]) {
    for (let k = 1; k <= 3; k++) {
      const A = Array.from({ length: k }, () => {
        const ci = rng.uniform() * h;
        const cj = rng.uniform() * w;
        return Array.from({ length: h * w }, (_, q) => {
          const v = Math.exp(-((Math.floor(q / w) - ci) ** 2 + ((q % w) - cj) ** 2) / 3);
          return k > 1 && rng.uniform() < 0.15 ? 0 : v;
        });
      });
      const weights = k > 1 ? Array.from({ length: k }, () => 0.1 + rng.uniform()) : undefined;
      for (const reg of [0.02, 0.004]) {
        for (const [tol, maxIter] of [
          [0, 40],
          [1e-9, 3000],
        ]) {
          const what = `${h}×${w} k ${k} reg ${reg} tol ${tol}`;
          const opts = { height: h, width: w, reg, weights, tol, maxIter, method: 'scaling' as const };
          // Both backends run the same iteration, so they fail the same way too: where the scaling form loses
          // mass to its underflow floor (see checkedConvolutional), both reject with 'numerical'.
          const outcome = (backend: 'js' | 'wasm') =>
            convolutionalBarycenter(A, { ...opts, backend }).catch((e) => {
              if ((e as { code?: string }).code === 'numerical') return 'numerical' as const;
              throw e;
            });
          const j = await outcome('js');
          const ww = await outcome('wasm');
          if (j === 'numerical' || ww === 'numerical') {
            assert.is(ww, j, `${what}: both backends reject`);
            numericalCases.push(what);
            continue;
          }
          assert.is(j.backend, 'js');
          assert.is(ww.backend, 'wasm');
          closeArrays(ww.barycenter, j.barycenter, REL, what);
          assert.is(ww.iterations, j.iterations, `${what}: iterations`);
          assert.is((ww.status === 'converged'), (j.status === 'converged'), `${what}: converged`);
          assert.ok(Math.abs(ww.error - j.error) <= 1e-9 * j.error + 1e-13, `${what}: error ${ww.error} vs ${j.error}`);
        }
      }
    }
  }
  // the comparison must mostly compare numbers: rejections are the exception (zero pixels at the smaller reg)
  if (process.env.KANTOROVICH_TEST_VERBOSE) console.log('convolutional cases rejected as numerical:', numericalCases);
  assert.ok(numericalCases.length <= 8, `${numericalCases.length} of 48 cases rejected: ${numericalCases.join('; ')}`);
});

test('backend option: forced unavailable backends reject, validation comes first, abort on both', async () => {
  const A = [
    [0.2, 0.5, 0.3],
    [0.6, 0.1, 0.3],
  ];
  const M = cost(3, 3);
  await expectOTError('invalid-option', () => barycenter(A, M, { reg: 0.1, backend: 'gpu' as 'js' }), 'barycenter gpu: not a backend name');
  await expectOTError('invalid-option', () => convolutionalBarycenter(A, { height: 1, width: 3, reg: 0.1, backend: 'gpu' as 'js' }), 'convolutional gpu: not a backend name');
  // webgpu exists now: a bad shape on any backend the solver has is 'shape'
  await expectOTError('shape', () => barycenter(A, cost(4, 3), { reg: 0.1, backend: 'webgpu' }), 'shape before backend');
  await expectOTError('invalid-option', () => barycenter(A, M, { reg: 0, backend: 'wasm' }), 'reg before backend');
  await expectOTError('shape', () => convolutionalBarycenter(A, { height: 2, width: 2, reg: 0.1, backend: 'wasm' }), 'conv shape');
  await expectOTError('negative', () => barycenter([[1, -1, 1]], cost(3, 3), { reg: 0.1, backend: 'wasm' }), 'negative histogram');
  const ctl = new AbortController();
  ctl.abort();
  for (const backend of ['js', 'wasm'] as const) {
    await expectOTError('aborted', () => barycenter(A, M, { reg: 0.1, backend, signal: ctl.signal }), `abort ${backend}`);
    await expectOTError('aborted', () => convolutionalBarycenter(A, { height: 1, width: 3, reg: 0.1, backend, signal: ctl.signal }), `abort conv ${backend}`);
  }
});

test('wasm that cannot load: forced wasm rejects, auto runs on js', async () => {
  setWasmSource(() => Promise.reject(new Error('test: no binary')));
  try {
    const A = [
      [0.2, 0.5, 0.3],
      [0.6, 0.1, 0.3],
    ];
    await expectOTError('backend-unavailable', () => barycenter(A, cost(3, 3), { reg: 0.1, backend: 'wasm' }), 'forced wasm');
    await expectOTError('backend-unavailable', () => convolutionalBarycenter(A, { height: 1, width: 3, reg: 0.1, backend: 'wasm' }), 'forced wasm conv');
    assert.is((await barycenter(A, cost(3, 3), { reg: 0.1 })).backend, 'js');
    assert.is((await convolutionalBarycenter(A, { height: 1, width: 3, reg: 0.1 })).backend, 'js');
  } finally {
    setWasmSource(() => readFile(new URL('../../build/kantorovich.wasm', import.meta.url)));
  }
  assert.is((await barycenter([[1, 2]], cost(2, 2), { reg: 0.1 })).backend, 'wasm');
});

/** A disk (centre (16, 16), radius 8) and a 12 × 12 square (centre (45.5, 45.5)) on a 64 × 64 grid. */
function diskAndSquare(N: number): { data: Float64Array; rows: number; cols: number } {
  const A = new Float64Array(2 * N * N);
  for (let y = 0; y < N; y++)
    for (let x = 0; x < N; x++) {
      if ((x - 16) ** 2 + (y - 16) ** 2 < 64) A[y * N + x] = 1;
      if (x >= 40 && x < 52 && y >= 40 && y < 52) A[N * N + y * N + x] = 1;
    }
  return { data: A, rows: 2, cols: N * N };
}

test('convolutional scaling: a reg too small for the grid fails loudly (numerical) instead of returning a barycenter without its mass', async () => {
  const N = 64;
  const A = diskAndSquare(N);
  for (const backend of ['wasm', 'js'] as const) {
    const ok = await convolutionalBarycenter(A, { width: N, height: N, reg: 0.004, method: 'scaling', backend });
    let mass = 0;
    for (const v of ok.barycenter) mass += v;
    assert.ok((ok.status === 'converged') && Math.abs(mass - 1) < 1e-6, `${backend}: reg 0.004 converges with mass ${mass}`);
    await expectOTError('numerical', () => convolutionalBarycenter(A, { width: N, height: N, reg: 0.002, method: 'scaling', backend }), 'reg');
  }
});

test('convolutional log: converges where scaling fails (64×64, reg 0.002), mass 1, between the shapes; auto picks it', async () => {
  const N = 64;
  const A = diskAndSquare(N);
  const r = await convolutionalBarycenter(A, { width: N, height: N, reg: 0.002, method: 'log' });
  assert.is(r.backend, 'wasm');
  assert.ok((r.status === 'converged'), `converged: error ${r.error} after ${r.iterations}`);
  let mass = 0;
  let cx = 0;
  let cy = 0;
  r.barycenter.forEach((v, q) => {
    assert.ok(Number.isFinite(v) && v >= 0, `pixel ${q}: ${v}`);
    mass += v;
    cx += v * (q % N);
    cy += v * Math.floor(q / N);
  });
  assert.ok(Math.abs(mass - 1) < 1e-9, `mass ${mass}`);
  // the shapes' centres are (16, 16) and (45.5, 45.5): the barycenter's is their midpoint, and it lies between
  // them, not on them (a mixture would keep its mass on the shapes)
  assert.ok(Math.abs(cx / mass - 30.75) < 0.05 && Math.abs(cy / mass - 30.75) < 0.05, `centre (${cx / mass}, ${cy / mass})`);
  let onShapes = 0;
  for (let q = 0; q < N * N; q++) if (A.data[q] > 0 || A.data[N * N + q] > 0) onShapes += r.barycenter[q];
  assert.ok(onShapes < 0.01, `mass left on the input shapes: ${onShapes}`);
  // 'auto' (the default) at this reg is the log method
  const auto = await convolutionalBarycenter(A, { width: N, height: N, reg: 0.002, maxIter: 3, tol: 0 });
  const log3 = await convolutionalBarycenter(A, { width: N, height: N, reg: 0.002, maxIter: 3, tol: 0, method: 'log' });
  closeArrays(auto.barycenter, log3.barycenter, 0, 'auto = log');
});

/** k Gaussian bumps at random centres on an h × w grid, with about `zeros` of the pixels exactly 0. */
function images(rng: Rng, k: number, h: number, w: number, zeros: number): number[][] {
  return Array.from({ length: k }, () => {
    const ci = rng.uniform() * h;
    const cj = rng.uniform() * w;
    return Array.from({ length: h * w }, (_, q) => (rng.uniform() < zeros ? 0 : Math.exp(-((Math.floor(q / w) - ci) ** 2 + ((q % w) - cj) ** 2) / 3)));
  });
}

test('grid step, log (wasm and js) = log ξ(e^{log a − log ξ e^{g/ε}}), zero pixels (whole rows and columns too) skipped', async () => {
  const rng = new Rng(4);
  for (const [h, w] of [
    [1, 1],
    [1, 7],
    [6, 1],
    [7, 11],
    [16, 9],
  ]) {
    for (const reg of [0.05, 0.002]) {
      const k = 2;
      const hw = h * w;
      const imgs = Array.from({ length: k }, () => Float64Array.from({ length: hw }, () => (rng.uniform() < 0.3 ? 0 : Math.exp(20 * (rng.uniform() - 0.5)))));
      if (h > 2 && w > 2) for (let j = 0; j < w; j++) imgs[0][w + j] = 0; // a whole row of image 0
      if (h > 2 && w > 2) for (let i = 0; i < h; i++) imgs[1][i * w + 1] = 0; // a whole column of image 1
      imgs[0][0] = 1; // never an all-zero image
      imgs[1][0] = 1;
      const G = Float64Array.from({ length: k * hw }, () => reg * 20 * (rng.uniform() - 0.5));
      const p = { height: h, width: w, imgs, method: 'log' as const };
      // the reference: plain blurs, shifted by the max so that exp(x) does not underflow
      const logBlurRef = (x: Float64Array) => {
        let mx = -Infinity;
        for (const v of x) mx = Math.max(mx, v);
        const ref = blurRef(gauss(h, reg), gauss(w, reg), h, w, x.map((v) => Math.exp(v - mx)));
        return ref.map((v) => (v < 1e-250 ? NaN : Math.log(v) + mx)); // NaN: the plain blur underflowed
      };
      for (const kern of [new JsGridKernel(p), await WasmGridKernel.create(p)]) {
        await kern.setEps(reg);
        const H = new Float64Array(k * hw);
        await kern.step(G, H);
        assert.ok(H.every(Number.isFinite), `${kern.backend} ${h}×${w}: finite`);
        for (let t = 0; t < k; t++) {
          const lku = logBlurRef(G.subarray(t * hw, (t + 1) * hw).map((g) => g / reg));
          if (lku.some(Number.isNaN)) continue;
          const want = logBlurRef(imgs[t].map((a, q) => Math.log(a) - lku[q]));
          const got = H.subarray(t * hw, (t + 1) * hw);
          for (let q = 0; q < hw; q++) {
            if (Number.isNaN(want[q])) continue;
            assert.ok(Math.abs(got[q] - want[q]) <= 1e-11 * Math.max(1, Math.abs(want[q])), `${kern.backend} ${h}×${w} reg ${reg} image ${t} pixel ${q}: ${got[q]} vs ${want[q]}`);
          }
        }
        kern.dispose();
      }
    }
  }
});

test('convolutional log: wasm = js on non-square grids (k = 1..3, weights, zero pixels)', async () => {
  const rng = new Rng(23);
  for (const [h, w] of [
    [1, 5],
    [7, 11],
    [16, 9],
  ]) {
    for (let k = 1; k <= 3; k++) {
      const A = images(rng, k, h, w, k > 1 ? 0.15 : 0);
      const weights = k > 1 ? Array.from({ length: k }, () => 0.1 + rng.uniform()) : undefined;
      for (const reg of [0.02, 0.004]) {
        for (const [tol, maxIter] of [
          [0, 15],
          [1e-9, 3000],
        ]) {
          const what = `${h}×${w} k ${k} reg ${reg} tol ${tol}`;
          const opts = { height: h, width: w, reg, weights, tol, maxIter, method: 'log' as const };
          const j = await convolutionalBarycenter(A, { ...opts, backend: 'js' });
          const ww = await convolutionalBarycenter(A, { ...opts, backend: 'wasm' });
          assert.is(j.backend, 'js');
          assert.is(ww.backend, 'wasm');
          assert.ok(ww.barycenter.every(Number.isFinite), `${what}: finite`);
          closeArrays(ww.barycenter, j.barycenter, REL, what);
          assert.is(ww.iterations, j.iterations, `${what}: iterations`);
          assert.is((ww.status === 'converged'), (j.status === 'converged'), `${what}: converged`);
          assert.ok(Math.abs(ww.error - j.error) <= 1e-9 * j.error + 1e-13, `${what}: error ${ww.error} vs ${j.error}`);
          if (tol > 0) {
            assert.ok((ww.status === 'converged'), `${what}: converged`);
            let mass = 0;
            for (const v of ww.barycenter) mass += v;
            assert.ok(Math.abs(mass - 1) < 1e-9, `${what}: mass ${mass}`);
          }
        }
      }
    }
  }
});

test('convolutional log = scaling where the scaling form works (reg 0.02, 0.004; full-support images)', async () => {
  // Full support (a background of 1e-2) keeps every blur far above the scaling form's 1e-30 floor, so both
  // forms run the same iteration in exact arithmetic: same iterates to rounding, same iteration counts. (With
  // images that vanish far from their bumps, the floor already biases the scaling form by ~0.5% at reg 0.004
  // on a 32 × 28 grid: that is where 'auto' picks the log form.)
  const cases: [number, number, number, ('wasm' | 'js')[]][] = [
    [20, 16, 0.02, ['wasm', 'js']],
    [28, 24, 0.004, ['wasm']], // on 20 × 16, reg 0.004 is too small for the scaling form already
  ];
  for (const [h, w, reg, backends] of cases) {
    const bump = (ci: number, cj: number, s: number) => Array.from({ length: h * w }, (_, q) => Math.exp(-((Math.floor(q / w) - ci) ** 2 + ((q % w) - cj) ** 2) / s) + 1e-2);
    const A = [bump(h / 3, w / 3, 6), bump((2 * h) / 3, (2 * w) / 3, 10)];
    for (const backend of backends) {
      const what = `${h}×${w} reg ${reg} ${backend}`;
      const opts = { height: h, width: w, reg, weights: [0.3, 0.7], tol: 1e-10, maxIter: 5000, backend };
      const sc = await convolutionalBarycenter(A, { ...opts, method: 'scaling' });
      const lg = await convolutionalBarycenter(A, { ...opts, method: 'log' });
      assert.ok((sc.status === 'converged') && (lg.status === 'converged'), `${what}: converged`);
      assert.is(lg.iterations, sc.iterations, `${what}: iterations`);
      closeArrays(lg.barycenter, sc.barycenter, 1e-12, `${what}: log vs scaling`);
    }
  }
});

test('convolutional log = the dense log barycenter on the grid\'s cost matrix (12×9, weights, zero pixels)', async () => {
  const rng = new Rng(13);
  const h = 12;
  const w = 9;
  const n = h * w;
  // squared distance between pixels at (i/(h−1), j/(w−1)) ∈ [0,1]²
  const M = Array.from({ length: n }, (_, a) =>
    Array.from({ length: n }, (_, b) => ((Math.floor(a / w) - Math.floor(b / w)) / (h - 1)) ** 2 + (((a % w) - (b % w)) / (w - 1)) ** 2),
  );
  for (const [k, reg, zeros, weights] of [
    [2, 0.01, 0, undefined],
    [3, 0.005, 0.2, [0.6, 0.1, 0.3]],
  ] as [number, number, number, number[] | undefined][]) {
    const A = images(rng, k, h, w, zeros);
    const what = `k ${k} reg ${reg}${zeros ? ' zeros' : ''}${weights ? ' weighted' : ''}`;
    const dense = await barycenter(A, M, { reg, weights, method: 'log', tol: 1e-14, maxIter: 20000 });
    for (const backend of ['wasm', 'js'] as const) {
      const conv = await convolutionalBarycenter(A, { height: h, width: w, reg, weights, method: 'log', tol: 1e-14, maxIter: 20000, backend });
      assert.ok((conv.status === 'converged'), `${what} ${backend}: converged (error ${conv.error})`);
      closeArrays(conv.barycenter, dense.barycenter, 1e-9, `${what} ${backend}: convolutional vs dense`);
    }
  }
});

test('convolutional log: displacement interpolation at small reg (two translated bumps, reg 0.001, 48×48)', async () => {
  const N = 48;
  const bump = (ci: number, cj: number) => Float64Array.from({ length: N * N }, (_, q) => Math.exp(-((Math.floor(q / N) - ci) ** 2 + ((q % N) - cj) ** 2) / 4));
  for (const [t, mid] of [
    [0.5, 24],
    [0.75, 30],
  ]) {
    // columns 12 and 36 (weights 1 − t, t): the barycenter sits at column 12(1 − t) + 36t
    const A = { data: new Float64Array([...bump(24, 12), ...bump(24, 36)]), rows: 2, cols: N * N };
    const r = await convolutionalBarycenter(A, { width: N, height: N, reg: 0.001, weights: [1 - t, t], method: 'log' });
    assert.ok((r.status === 'converged'), `t ${t}: converged`);
    let best = 0;
    for (let q = 1; q < N * N; q++) if (r.barycenter[q] > r.barycenter[best]) best = q;
    assert.is(Math.floor(best / N), 24, `t ${t}: peak row`);
    assert.is(best % N, mid, `t ${t}: peak column`);
    // a translated bump, not a mixture: nothing left at the inputs' centres 12 or more pixels away
    const left = r.barycenter[24 * N + 12] + (t === 0.5 ? r.barycenter[24 * N + 36] : 0);
    assert.ok(left < 1e-6 * r.barycenter[best], `t ${t}: mass left at the inputs: ${left}`);
  }
});

test('convolutional method option: auto = log below reg 0.04 on 2D grids (scale 2), else scaling; invalid rejected', async () => {
  const rng = new Rng(3);
  const A = images(rng, 2, 6, 5, 0);
  const run = (reg: number, method: 'scaling' | 'log' | 'auto' | undefined, h = 6, w = 5) =>
    convolutionalBarycenter(h === 6 && w === 5 ? A : A.map((x) => x.slice(0, h * w)), { height: h, width: w, reg, method, maxIter: 4, tol: 0 });
  const same = async (reg: number, want: 'scaling' | 'log', h?: number, w?: number) => {
    const a = await run(reg, undefined, h, w);
    const b = await run(reg, want, h, w);
    const other = await run(reg, want === 'log' ? 'scaling' : 'log', h, w);
    closeArrays(a.barycenter, b.barycenter, 0, `reg ${reg} ${h ?? 6}×${w ?? 5}: auto = ${want}`);
    assert.ok(a.barycenter.some((v, q) => v !== other.barycenter[q]), `reg ${reg}: the methods' iterates differ in rounding`);
  };
  await same(0.05, 'scaling');
  await same(0.03, 'log');
  await same(0.03, 'scaling', 1, 5); // one row: largest squared distance 1, log below reg 0.02
  await same(0.015, 'log', 1, 5);
  await expectOTError('invalid-option', () => convolutionalBarycenter(A, { height: 6, width: 5, reg: 0.1, method: 'sinkhorn' as 'log' }), 'method');
});

test.run();
