// The demo's module Web Worker: every solve runs here, off the page's main thread. It imports the built
// library by a relative path, so any static server rooted at the repository works (npm run demo:web uses
// examples/web/serve.ts). Messages: { id, op, args } → { id, ok, result } | { id, ok: false, error }, and, from
// long runs (neural), any number of { id, progress } before the answer.
import {
  Rng,
  backends,
  convolutionalBarycenter,
  costMatrix,
  emd,
  neural,
  pointCloud,
  sinkhorn,
  trainNOT,
} from '../../dist/bindings/browser.js';

const { pushForwardW2, sample8Gaussians, sampleMoons } = neural;

const ops = {
  async backends() {
    return backends();
  },

  /** Exact OT between two 2D clouds (uniform weights; n and m may differ). The plan as triplets. */
  async clouds({ X, Y }) {
    const t0 = performance.now();
    const r = await emd(undefined, undefined, pointCloud(X, Y));
    return {
      cost: r.cost,
      status: r.status,
      backend: r.backend,
      ms: performance.now() - t0,
      rows: r.plan.rowIndex,
      cols: r.plan.colIndex,
      vals: r.plan.values,
    };
  },

  /**
   * Colour transfer (the seed application of OT in imaging): OT between `samples` pixel colours of each
   * image in RGB [0,1]³, the barycentric map T(x_i) = Σ_j P_ij y_j / Σ_j P_ij on the source samples, and
   * every source pixel moved by the displacement T(x_k) − x_k of its nearest sample x_k.
   */
  async colour({ src, dst, samples, method, seed }) {
    const t0 = performance.now();
    const rng = new Rng(seed ?? 1);
    const pick = (img, k) => {
      const n = img.width * img.height;
      const out = new Float64Array(k * 3);
      for (let s = 0; s < k; s++) {
        const p = Math.min(n - 1, Math.floor(rng.uniform() * n)) * 4;
        out[s * 3] = img.data[p] / 255;
        out[s * 3 + 1] = img.data[p + 1] / 255;
        out[s * 3 + 2] = img.data[p + 2] / 255;
      }
      return out;
    };
    const k = samples;
    const Xs = pick(src, k);
    const Ys = pick(dst, k);
    const M = costMatrix({ data: Xs, rows: k, cols: 3 }, { data: Ys, rows: k, cols: 3 });
    // T = (P Y) / (P 1)
    const T = new Float64Array(k * 3);
    const mass = new Float64Array(k);
    let cost;
    let backend;
    if (method === 'sinkhorn') {
      const r = await sinkhorn(undefined, undefined, M, { reg: 2e-3, method: 'log', epsScaling: true, plan: true, maxIter: 5000, tol: 1e-6 });
      cost = r.cost;
      backend = `sinkhorn/${r.backend}`;
      const P = r.plan.toDense();
      for (let i = 0; i < k; i++)
        for (let j = 0; j < k; j++) {
          const w = P[i * k + j];
          if (w === 0) continue;
          mass[i] += w;
          for (let c = 0; c < 3; c++) T[i * 3 + c] += w * Ys[j * 3 + c];
        }
    } else {
      const r = await emd(undefined, undefined, M);
      cost = r.cost;
      backend = `emd/${r.backend}`;
      for (const [i, j, w] of r.plan.entries()) {
        mass[i] += w;
        for (let c = 0; c < 3; c++) T[i * 3 + c] += w * Ys[j * 3 + c];
      }
    }
    const solveMs = performance.now() - t0;
    const D = new Float64Array(k * 3);
    for (let i = 0; i < k; i++) for (let c = 0; c < 3; c++) D[i * 3 + c] = mass[i] > 0 ? T[i * 3 + c] / mass[i] - Xs[i * 3 + c] : 0;
    const out = new Uint8ClampedArray(src.data.length);
    let shift = 0;
    for (let p = 0; p < src.width * src.height; p++) {
      const r = src.data[p * 4] / 255;
      const g = src.data[p * 4 + 1] / 255;
      const b = src.data[p * 4 + 2] / 255;
      let best = 0;
      let bestD = Infinity;
      for (let s = 0; s < k; s++) {
        const dr = r - Xs[s * 3];
        const dg = g - Xs[s * 3 + 1];
        const db = b - Xs[s * 3 + 2];
        const d = dr * dr + dg * dg + db * db;
        if (d < bestD) {
          bestD = d;
          best = s;
        }
      }
      out[p * 4] = 255 * (r + D[best * 3]);
      out[p * 4 + 1] = 255 * (g + D[best * 3 + 1]);
      out[p * 4 + 2] = 255 * (b + D[best * 3 + 2]);
      out[p * 4 + 3] = 255;
      shift += Math.abs(D[best * 3]) + Math.abs(D[best * 3 + 1]) + Math.abs(D[best * 3 + 2]);
    }
    return { cost, backend, samples: k, solveMs, ms: performance.now() - t0, meanShift: shift / (3 * src.width * src.height), data: out };
  },

  /**
   * Neural OT (trainNOT, CPU engine): a stochastic map T(x, z) from 8 Gaussians to two moons, trained here with
   * progress messages, then the exact W2² (emd) between n fixed source samples pushed by T and n target samples,
   * before (identity) and after training.
   */
  async neural({ iterations, n, seed }, progress) {
    const t0 = performance.now();
    const eight = (k, rng) => sample8Gaussians(k, { seed: rng });
    const moons = (k, rng) => sampleMoons(k, { seed: rng, randomAngles: true });
    const X = sample8Gaussians(n, { seed: 101 });
    const Y = sampleMoons(n, { seed: 102, randomAngles: true });
    const before = await pushForwardW2((x) => x, X, Y);
    let last = 0;
    let loss = NaN;
    const res = await trainNOT(eight, moons, {
      hiddenT: [32, 32],
      hiddenF: [32, 32],
      batchSize: 64,
      innerSteps: 5,
      lrT: 2e-3,
      lrF: 2e-3,
      zDim: 2,
      zSamples: 2,
      gamma: 0,
      seed,
      iterations,
      onProgress(p) {
        loss = p.loss;
        const now = performance.now();
        if (p.step === iterations || now - last > 50) {
          last = now;
          progress({ step: p.step, iterations, loss: p.loss, ms: now - t0 });
        }
      },
    });
    const trainMs = performance.now() - t0;
    const zRng = new Rng(5);
    const T = res.sample(X, zRng);
    const after = await pushForwardW2(() => T, X, Y);
    return {
      X: Float64Array.from(X.data),
      Y: Float64Array.from(Y.data),
      T: Float64Array.from(T.data),
      n,
      iterations,
      loss,
      w2Before: before.w2sq,
      w2After: after.w2sq,
      status: after.certificate.status,
      trainMs,
      ms: performance.now() - t0,
    };
  },

  /** Entropic barycenter of two shapes on a size × size grid, weights (1 − t, t). */
  async barycenter({ size, t, reg, shapes }) {
    const t0 = performance.now();
    const A = { data: new Float64Array(2 * size * size), rows: 2, cols: size * size };
    A.data.set(shapes[0], 0);
    A.data.set(shapes[1], size * size);
    const r = await convolutionalBarycenter(A, { width: size, height: size, reg, weights: [1 - t, t], maxIter: 1000, tol: 1e-7 });
    return { barycenter: r.barycenter, iterations: r.iterations, converged: r.status === 'converged', backend: r.backend, ms: performance.now() - t0 };
  },
};

self.onmessage = async (e) => {
  const { id, op, args } = e.data;
  try {
    const result = await ops[op](args, (progress) => self.postMessage({ id, progress }));
    const transfer = new Set();
    for (const v of Object.values(result ?? {})) if (ArrayBuffer.isView(v)) transfer.add(v.buffer);
    try {
      self.postMessage({ id, ok: true, result }, [...transfer]);
    } catch {
      self.postMessage({ id, ok: true, result }); // a buffer that cannot move (e.g. shared): copy instead
    }
  } catch (err) {
    self.postMessage({ id, ok: false, error: `${err?.code ? `[${err.code}] ` : ''}${err?.message ?? err}` });
  }
};
