// An adapter that lets ../shared/w2bench/w2bench.mjs (which calls a project's trainICNNMap) train other solvers
// and options of this library on the Wasserstein-2 benchmark pairs:
//
//   npm run build
//   node ../shared/w2bench/w2bench.mjs bench/w2bench-adapter --dims 2 --iterations 5000 --batch 256
//
// W2_SOLVER=icnn (default: trainICNNMap) or not (trainNOT with γ = 0 and no noise: a deterministic map; the
// harness's --lr sets both of its learning rates, --hidden is ignored); W2_OPTIONS='{"conjugate":"amortized"}'
// (JSON) adds options to the call. Training sees the harness's samplers only, as with the plain harness.
// The best NOT runs of bench/README ("NOT: 20 T steps per f step and lr 2e-3"), D = 4 to 64:
//   W2_SOLVER=not W2_OPTIONS='{"hiddenT":[256,256],"hiddenF":[256,256],"precision":"f32","emaDecay":0.999,"innerSteps":20}' \
//     node ../shared/w2bench/w2bench.mjs bench/w2bench-adapter --dims 16 --iterations 3300 --batch 256 --lr 2e-3
// W2_SOLVER=entropic: no network — the entropic map estimator of Pooladian & Niles-Weed (2021), a non-parametric
// baseline: Sinkhorn between `samples` draws of P and of Q (W2_OPTIONS '{"samples":8192,"regScale":0.003}': reg =
// regScale × the mean squared distance between the two samples), then T(x) = Σ_j softmax_j((g_j − |x − y_j|²)/ε)·y_j.
//   W2_SOLVER=entropic W2_OPTIONS='{"samples":8192,"regScale":0.003}' node ../shared/w2bench/w2bench.mjs bench/w2bench-adapter --dims 4 --iterations 1
// W2_OPTIONS '{"qPool": 131072}' (any solver): Q's minibatches come from one sample of Q drawn at the start of
// training (see `pooled`); the D = 4 to 32 runs of bench/README "NOT on both cores":
//   W2_SOLVER=not W2_OPTIONS='{"hiddenT":[256,256],"hiddenF":[256,256],"precision":"f32","emaDecay":0.999,"innerSteps":20,"qPool":131072}' \
//     node ../shared/w2bench/w2bench.mjs bench/w2bench-adapter --dims 16 --iterations 4700 --batch 256 --lr 2e-3
// bench/README's "A quadratic term in f": the commands above with "quadraticForm" as its rows say (a learned ½·yᵀQy
// in f; trainNOT's default since then is "belowIdentity", Q = I − LLᵀ, so the earlier rows without Q need
// "quadraticForm":false) and the iterations its table gives.
import { pointCloud, sinkhorn, trainICNNMap as icnn, trainNOT } from '../../dist/bindings/node.js';

const solver = process.env.W2_SOLVER ?? 'icnn';
const extra = JSON.parse(process.env.W2_OPTIONS ?? '{}');
if (!['icnn', 'not', 'entropic'].includes(solver)) throw new Error(`W2_SOLVER must be icnn, not or entropic (got ${solver})`);

/** The entropic map estimator (see the header): Sinkhorn on samples, then a softmax-weighted mean of Q's sample. */
async function entropicMap(sampleP, sampleQ) {
  const n = extra.samples ?? 8192;
  const X = sampleP(n);
  const Y = sampleQ(n);
  const D = X.cols;
  let scale = 0;
  for (let i = 0; i < n; i++) for (let t = 0; t < D; t++) scale += (X.data[i * D + t] - Y.data[((i * 7919) % n) * D + t]) ** 2;
  const reg = (extra.regScale ?? 0.003) * (scale / n);
  const w = new Float64Array(n).fill(1 / n);
  const r = await sinkhorn(w, w, pointCloud(X, Y), { reg, tol: extra.tol ?? 1e-4, maxIter: extra.maxIter ?? 5000, plan: false, worker: false, epsScaling: true });
  console.log(`entropic map: Sinkhorn on ${n} + ${n} samples, reg ${reg.toExponential(2)}, ${r.iterations} iterations, ${r.status}`);
  const g = r.potentials.g;
  const map = (Z) => {
    const out = new Float64Array(Z.rows * D);
    const e = new Float64Array(n);
    for (let i = 0; i < Z.rows; i++) {
      let top = -Infinity;
      for (let j = 0; j < n; j++) {
        let c = 0;
        for (let t = 0; t < D; t++) c += (Z.data[i * D + t] - Y.data[j * D + t]) ** 2;
        e[j] = (g[j] - c) / reg;
        if (e[j] > top) top = e[j];
      }
      let sum = 0;
      for (let j = 0; j < n; j++) sum += e[j] = Math.exp(e[j] - top);
      for (let j = 0; j < n; j++) for (let t = 0; t < D; t++) out[i * D + t] += (e[j] / sum) * Y.data[j * D + t];
    }
    return { data: out, rows: Z.rows, cols: D };
  };
  return { map, history: [] };
}

/**
 * W2_OPTIONS '{"qPool": N}': draw N points of Q once (through the harness's sampler, inside the timed training)
 * and serve Q's minibatches from that fixed sample, uniformly with replacement — training on an empirical Q, as
 * with a dataset. The harness's target sampler (the benchmark's ∇ψ in JS) is 10–20 % of a NOT run's wall time
 * when it is called for every f step.
 */
function pooled(sampleQ, size, seed) {
  let pool;
  let state = (0x9e3779b9 ^ seed) >>> 0;
  const next = () => {
    // mulberry32: bench/README's qPool figures were drawn with this index stream (ts/rng.ts's Rng would do as
    // well; switching would change the runs the table reports)
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (m) => {
    if (!pool) {
      const parts = [];
      for (let done = 0; done < size; done += 4096) parts.push(sampleQ(Math.min(4096, size - done)));
      const D = parts[0].cols;
      const data = new Float64Array(size * D);
      let off = 0;
      for (const p of parts) data.set(p.data.subarray(0, p.rows * D), off), (off += p.rows * D);
      pool = { data, rows: size, cols: D };
    }
    const D = pool.cols;
    const out = new Float64Array(m * D);
    for (let i = 0; i < m; i++) {
      const r = Math.floor(next() * pool.rows);
      out.set(pool.data.subarray(r * D, r * D + D), i * D);
    }
    return { data: out, rows: m, cols: D };
  };
}

export async function trainICNNMap(sampleP, sampleQ, opts) {
  const { qPool, ...options } = extra;
  if (qPool) sampleQ = pooled(sampleQ, qPool, opts.seed ?? 0);
  if (solver === 'icnn') return icnn(sampleP, sampleQ, { ...opts, ...options });
  if (solver === 'entropic') return entropicMap(sampleP, sampleQ);
  const { hidden: _hidden, lr, lrDecay: _decay, onProgress, ...rest } = opts;
  const result = await trainNOT((n) => sampleP(n), (n) => sampleQ(n), {
    ...rest,
    ...(lr ? { lrT: lr, lrF: lr } : {}),
    ...options,
    // the harness prints loss and its W2² estimate; NOT has no W2² estimate of its own
    onProgress: (p) => onProgress?.({ step: p.step, loss: p.loss, w2sq: NaN }),
  });
  return { map: (X) => result.map(X), history: result.history };
}
