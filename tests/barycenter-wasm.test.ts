// The wasm (f64, SIMD) barycenters against the plain-TS reference (ts/solvers/barycenter.ts): the same
// iterations and stopping rule, so barycenters agree to ~1e-12 of their largest entry, with the same iteration
// counts — IBP scaling and log (small reg where scaling overflows, zero bins, non-uniform weights, k = 1..4
// histograms, non-square costs; the log path's stabilised kernels against its exact log-sum-exps), the convolutional barycenter on non-square grids and its separable blur;
// plus backend selection: auto picks wasm, a forced unavailable backend rejects with 'backend-unavailable'
// (after the same validation as before), and auto falls back to js when the wasm cannot load.
import { readFile } from 'node:fs/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng, barycenter, convolutionalBarycenter, setWasmSource } from 'kantorovich';
import { wasmKernels } from '../ts/backends/wasm.js';
import { wasmBlur, wasmIbpLog } from '../ts/backends/wasm-barycenter.js';
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
            assert.is(w.converged, j.converged, `${what}: converged`);
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
  const kern = await wasmKernels();
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
  // the barycenter's support sits at distance ≥ 1 from the histograms' (shift): with reg = 1e-2 and max M
  // ≈ 100·9, every entry of exp(−C/ε) underflows until the potentials are absorbed
  for (const [scale, shift, reg] of [
    [1, 0, 0.02],
    [100, 0, 0.01],
    [100, 2, 0.01],
  ]) {
    const M = Array.from({ length: n }, (_, i) => Array.from({ length: nb }, (_, j) => scale * (i / (n - 1) - (shift + j / (nb - 1))) ** 2));
    const C = Float64Array.from(M.flat());
    const what = `scale ${scale} shift ${shift} reg ${reg}`;
    const pr = { hist, lambda, C, n, nb, reg, maxIter: 120, tol: 0 };
    const stab = wasmIbpLog(kern, pr);
    const exact = wasmIbpLog(kern, { ...pr, storeKernels: false });
    assert.ok(stab.rebuilds >= k, `${what}: rebuilds ${stab.rebuilds}`);
    if (shift > 0) assert.ok(stab.fallbacks > 0, `${what}: exact fallbacks ${stab.fallbacks}`);
    assert.is(exact.rebuilds, 0);
    const norm = (lp: Float64Array) => {
      const p = lp.map(Math.exp);
      const s = p.reduce((x, y) => x + y, 0);
      return p.map((x) => x / s);
    };
    closeArrays(norm(stab.p), norm(exact.p), REL, `${what}: stabilised vs exact`);
    const j = await barycenter(A, M, { reg, method: 'log', weights: Array.from(lambda), tol: 0, maxIter: 120, backend: 'js' });
    closeArrays(norm(stab.p), j.barycenter, REL, `${what}: stabilised vs js`);
    closeArrays(norm(exact.p), j.barycenter, REL, `${what}: exact vs js`);
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

test('separable blur (wasm) = ξ_h · x · ξ_w for k images on non-square grids', async () => {
  const kern = await wasmKernels();
  const rng = new Rng(2);
  for (const [h, w] of [
    [1, 1],
    [1, 7],
    [6, 1],
    [7, 11],
    [16, 9],
    [13, 20],
  ]) {
    for (const k of [1, 3]) {
      const xiH = gauss(h, 0.02);
      const xiW = gauss(w, 0.02);
      const X = Float64Array.from({ length: k * h * w }, () => rng.uniform());
      const out = wasmBlur(kern, xiH, xiW, h, w, X);
      for (let t = 0; t < k; t++) {
        const ref = blurRef(xiH, xiW, h, w, X.subarray(t * h * w, (t + 1) * h * w));
        closeArrays(out.subarray(t * h * w, (t + 1) * h * w), ref, 1e-14, `${h}×${w} image ${t} of ${k}`);
      }
    }
  }
});

test('convolutional: wasm = js on non-square grids (k = 1..3, weights, zero pixels)', async () => {
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
          const opts = { height: h, width: w, reg, weights, tol, maxIter };
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
          assert.is(ww.converged, j.converged, `${what}: converged`);
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
  await expectOTError('backend-unavailable', () => barycenter(A, M, { reg: 0.1, backend: 'webgpu' as 'js' }), 'barycenter webgpu');
  await expectOTError('backend-unavailable', () => barycenter(A, M, { reg: 0.1, backend: 'gpu' as 'js' }), 'barycenter gpu');
  await expectOTError('backend-unavailable', () => convolutionalBarycenter(A, { height: 1, width: 3, reg: 0.1, backend: 'webgpu' as 'js' }), 'convolutional webgpu');
  // validation first, as before
  await expectOTError('shape', () => barycenter(A, cost(4, 3), { reg: 0.1, backend: 'webgpu' as 'js' }), 'shape before backend');
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

test('convolutional: a reg too small for the grid fails loudly (numerical) instead of returning a barycenter without its mass', async () => {
  const N = 64;
  const A = new Float64Array(2 * N * N);
  for (let y = 0; y < N; y++)
    for (let x = 0; x < N; x++) {
      if ((x - 16) ** 2 + (y - 16) ** 2 < 64) A[y * N + x] = 1;
      if (x >= 40 && x < 52 && y >= 40 && y < 52) A[N * N + y * N + x] = 1;
    }
  for (const backend of ['wasm', 'js'] as const) {
    const ok = await convolutionalBarycenter({ data: A, rows: 2, cols: N * N }, { width: N, height: N, reg: 0.004, backend });
    let mass = 0;
    for (const v of ok.barycenter) mass += v;
    assert.ok(ok.converged && Math.abs(mass - 1) < 1e-6, `${backend}: reg 0.004 converges with mass ${mass}`);
    await expectOTError('numerical', () => convolutionalBarycenter({ data: A, rows: 2, cols: N * N }, { width: N, height: N, reg: 0.002, backend }), 'reg');
  }
});

test.run();
