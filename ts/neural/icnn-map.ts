// The convex-network dual solver of Makkuva, Taghvaei, Oh & Lee 2020 ("Optimal transport mapping via input convex
// neural networks", ICML), issue 5 item 3, on the CPU tensor engine (the WebGPU engine plugs into the same loop).
//
// Two ICNNs f, g (ts/neural/models.ts) and the min–max form of the semi-dual of ½W2²:
//   min_f max_g  L(f, g) = E_P[⟨x, ∇g(x)⟩ − f(∇g(x))] + E_Q[f(y)].
// For a fixed convex f the inner max is attained at ∇g = ∇f* (so the bracket is f*(x)), and the outer min over f of
// E_P[f*] + E_Q[f] is the Kantorovich semi-dual: at the optimum ∇f* = ∇g pushes P onto Q, i.e. T = ∇g is the
// Brenier map P → Q (and ∇f the inverse map Q → P). ½W2²(P, Q) = ½E_P‖x‖² + ½E_Q‖y‖² − L(f, g) at the saddle, so
// every step reports w2sq = E‖x‖² + E‖y‖² − 2L on its batch (an estimate that converges to W2² as g and f do).
//
// Training loop (their Algorithm 1, with the projection our ICNN provides instead of their soft penalty on g):
//   for step = 1..iterations:
//     repeat innerSteps times:               (the "generator" g, maximising L for the current f)
//       X ~ P (batchSize rows);  T = ∇ₓg(X) as a graph in g's weights (double backward)
//       loss_g = mean f(T) − mean ⟨X, T⟩;  Adam step on g;  g.project()
//     X ~ P, Y ~ Q;  T = ∇ₓg(X) detached
//     loss_f = mean f(Y) − mean f(T);  Adam step on f;  f.project()
//     history / onProgress with L = mean⟨X, T⟩ − mean f(T) + mean f(Y) of that batch
// Both optimizers are Adam with β = (0.5, 0.99) as in the authors' code; learning rates default to 3e-2, 1e-2 above D = 16 or 1000 steps (the paper
// uses 1e-3 over far more steps; on the Wasserstein-2 benchmark below 3e-3 ended at 6.2 % where 3e-2 reached 2.8 %
// and 1e-1 3.6 %, D = 2, 300 steps, softplus), `lr` sets both, `lrF` / `lrG` each, and a cosine schedule takes them
// down to `lrDecay` (default 0.1) times that by the last step: with a constant rate the minibatch noise keeps the
// min–max oscillating (a 500-step D = 2 run at 3e-3 ended at L2-UVP 6.5 %, the same run with the decay at 1.0 %).
// Weights: g seeded with `seed`, f with `seed + 1`, the batch stream with `seed + 2` (one Rng for all batches,
// passed to the samplers).
//
// conjugate: 'amortized' (Amos 2023, "On amortizing convex conjugates for optimal transport") replaces the min–max by
// a plain minimisation of the semi-dual E_P g + E_Q g* over g, with f reduced to a predictor of the conjugate's argmax:
//   X ~ P, Y ~ Q;  x̂ = per-row L-BFGS on max_x ⟨x, y⟩ − g(x) from ∇f(Y)   (`conjugateSteps`, ts/neural/conjugate.ts)
//   loss_g = mean g(X) − mean g(x̂)  (x̂ fixed: the envelope theorem's gradient of E g*);  Adam step on g; project
//   loss_f = mean ‖∇f(Y) − x̂‖²  (regression onto the solved points);  Adam step on f; project
// No adversary, so no oscillation to damp; each step costs the L-BFGS evaluations (usually 2–6: it stops once every
// row's ‖∇g(x) − y‖ < 1e-6) instead of the inner double-backward steps. On the benchmark it matched the min–max at
// equal steps (D = 2/4/8, 300 steps: 1.3/3.4/7.3 % vs 1.1/3.7/7.2 %) for ~1.4× the CPU time, so 'minmax' stays the
// default; 'amortized' is the choice when the min–max oscillates. Unconditional maps only.
//
// Benchmark: the continuous Wasserstein-2 benchmark of Korotin et al. 2021 (Gaussian mixture → its image by a
// DenseICNN's gradient; the w2bench harness, tests/neural-w2bench.test.ts). With the old defaults (softplus,
// no quadratic skips, lr 3e-3) the trainer learned no more than the affine map (L2-UVP 7.8/15.1/26.9 % at D = 2/4/8
// against the linear baseline 14.1/14.9/27.3); the DenseICNN-style architecture and the larger rate are what moved it.
//
// Parameterisation: softplus ICNNs by default (∇g is then smooth; a leaky-relu ICNN is piecewise linear, so its ∇g is
// piecewise constant and needs many pieces to approximate even an affine map), plus an optional (c/2)‖x‖² term
// (`quadratic`, default 0 for g): with c > 0 the map is T(x) = c·x + ∇h(x) with h convex, a good start when the map
// is near c times the identity, but it cannot represent maps whose Jacobian has an eigenvalue below c. By default
// both networks also carry a learned quadratic ½‖x·A‖² (`quadraticForm`, A starting at the identity): T starts as
// the identity map, and the affine part of the Brenier map (all of it between Gaussians) is a quadratic the
// network can hold exactly instead of approximating it piece by piece with softplus units. Every hidden unit also
// sees a rank-1 convex quadratic of x (`layerQuadratic`, default 1) and the activation is CELU (`activation`, default
// 'celu'), as in Korotin et al.'s DenseICNN: the units then carve the potential with quadratic bumps rather than
// half-planes, and on the benchmark this took L2-UVP at D = 2 from 2.8 % to 1.1–1.3 % in 300 steps.
//
// Conditional maps (`conditionDim` = k > 0): both samplers return rows (x, c) with D + k columns, the last k the
// condition c, and both ICNNs take the concatenated (x, c) through their x-path (the unconstrained skip weights;
// the joint convexity this implies in (x, c) is stronger than needed but keeps the model an ordinary ICNN):
//   g(x, c), f(y, c);  L = E_{(x,c)~P}[⟨x, ∇ₓg(x, c)⟩ − f(∇ₓg(x, c), c)] + E_{(y,c)~Q}[f(y, c)].
// T(x | c) = ∇ₓg(x, c): the first D columns of ∇g at the row (x, c) (the last k columns, ∂g/∂c, are dropped);
// `map(X)` takes the (x, c) rows and returns the D columns of T(x | c). The condition marginals of P and Q must be
// the same (sample c from one law in both samplers); then the objective decouples into one OT problem per c.
import { OTError } from '../errors.js';
import { Rng } from '../rng.js';
import type { DenseMatrix, MatrixLike, VectorLike } from '../types.js';
import { abortPoint, toMatrix } from '../validate.js';
import type { SquareLike } from './gaussian.js';
import { ICNN, type ICNNActivation, disposeOffJs, onJsEngine } from './models.js';
import { Adam, cosineFactor } from './optim.js';
import { WeightAverage } from './ema.js';
import { type BatchSampler, type SamplerSpec, samplerOf } from './sampler-spec.js';
import type { TensorEngine } from './engine.js';
import { type NeuralBackendOptions, tensorEngine } from './engines.js';
import { conjugateLBFGS } from './conjugate.js';
import { Tensor, add, concat, grad as autograd, mean, mul, noGrad, reshape, sliceLast, square, sub, sum, tensor, tidy } from './tensor.js';

export type { BatchSampler } from './sampler-spec.js';

/** N(mean, cov) as a BatchSampler (ts/neural/samplers.ts `sampleGaussian` on the training loop's Rng). */
export function gaussianBatchSampler(meanVec: VectorLike, cov: SquareLike): BatchSampler {
  return samplerOf('gaussian', { kind: 'gaussian', mean: meanVec, cov });
}

/** One step of {@link trainICNNMap}'s training: the history entry and the onProgress report. */
export interface ICNNMapProgress {
  /** The outer iteration, 1-based (one f update after `innerSteps` g updates). */
  step: number;
  /** L(f, g) on the step's batch (the saddle objective). */
  loss: number;
  /** E‖x‖² + E‖y‖² − 2L on the batch: the dual estimate of W2². */
  w2sq: number;
}

export interface ICNNMapOptions extends NeuralBackendOptions {
  /** Hidden widths of both ICNNs (default [32, 32]). */
  hidden?: number[];
  /** Convex non-decreasing activation of both ICNNs (default 'celu', as Korotin et al.'s DenseICNN). */
  activation?: ICNNActivation;
  /** Rank of a convex quadratic skip into every hidden unit of both ICNNs (DenseICNN, models.ts; 0 = none; default 1). */
  layerQuadratic?: number;
  /** Leaky-relu slope (default 0.2). */
  alpha?: number;
  /** (c/2)‖x‖² added to g (true = 1; default 0). */
  quadratic?: boolean | number;
  /** (c/2)‖y‖² added to f (default 0). */
  quadraticF?: boolean | number;
  /**
   * A learned convex quadratic ½‖x·A‖² in both networks (models.ts ICNN `quadraticForm`): true (default) = full
   * rank, a number = that rank, false = none. With it the map starts at the identity and affine maps are exactly
   * representable, so Gaussian pairs reach L2-UVP ≈ 0.1–0.3 % at D = 2–64 in 300 steps (bench/neural.ts), where
   * plain softplus ICNNs stalled at 1–30 %.
   */
  quadraticForm?: boolean | number;
  /** Rows per batch (default 256). */
  batchSize?: number;
  /** Outer iterations = f updates (default 500). */
  iterations?: number;
  /** g updates per f update (default 4; 'minmax' only: the amortised trainer takes one step of each per batch). */
  innerSteps?: number;
  /**
   * Adam learning rate of both networks. Default 3e-2 for short runs (≤ 1000 iterations) up to D = 16, else 1e-2.
   * W2 benchmark L2-UVP: 300 steps, D = 16: 13.9 % at 3e-2 vs 19.7 % at 1e-2; 2000 steps, D = 2 / 4 / 8 / 16:
   * 0.92 / 2.15 / 5.06 / 10.8 % at 3e-2 vs 0.85 / 1.87 / 4.47 / 8.56 % at 1e-2; at 3e-2 the min–max diverged at
   * D = 64 in 300 steps (72.6 %; 46.0 % at 1e-2) and at D = 16 in 8000 (56.6 %).
   */
  lr?: number;
  /** Adam learning rate of f, the potential of Q (default `lr`). */
  lrF?: number;
  /** Adam learning rate of g, whose gradient is the map (default `lr`). */
  lrG?: number;
  /**
   * Final learning rate as a fraction of the initial one, reached by a cosine schedule over the iterations
   * (default 0.1; 1 = constant). Decaying it damps the minibatch oscillation of the min–max at the end of training.
   */
  lrDecay?: number;
  /** Adam (β₁, β₂) (default [0.5, 0.99]). */
  betas?: [number, number];
  /**
   * Decay β of an exponential moving average of g's weights, θ̄ ← β_t·θ̄ + (1 − β_t)·θ after the t-th g update with
   * β_t = min(β, (1 + t)/(10 + t)) (as trainNOT's emaDecay); the returned g (so the map ∇g) is θ̄, f is the last
   * iterate. Averages of non-negative weights stay non-negative: θ̄ is an ICNN. Default 0: the last weights.
   */
  emaDecay?: number;
  /** Default 0. */
  seed?: number;
  /** Number k of trailing condition columns in the samples (default 0: unconditional; 'minmax' only). */
  conditionDim?: number;
  /**
   * How the conjugate of g is handled. 'minmax' (Makkuva et al. 2020): f is trained as the adversary of g, the
   * saddle point of the header. 'amortized' (Amos 2023): f only predicts x̂(y) = ∇f(y) ≈ argmax_x ⟨x, y⟩ − g(x),
   * `conjugateSteps` per-row L-BFGS iterations solve that argmax from the prediction, g takes a plain gradient
   * step on the semi-dual E_P g + E_Q g* at the solved points, and f regresses onto them (unconditional maps
   * only). Default 'minmax'.
   */
  conjugate?: 'minmax' | 'amortized';
  /** L-BFGS iterations that fine-tune the amortised conjugate per batch ('amortized'; 0 = none; default 10). */
  conjugateSteps?: number;
  /** Aborts training after the current step: the call rejects with OTError code 'aborted'. */
  signal?: AbortSignal;
  /** Called every `progressEvery` steps and at the last with that step's {@link ICNNMapProgress}. */
  onProgress?: (p: ICNNMapProgress) => void;
  /** Call onProgress every this many steps (default 10; the last step always). */
  progressEvery?: number;
}

/**
 * The result of {@link trainICNNMap}: the learned Brenier map T = ∇g, the two ICNNs (on the js engine) and the
 * training history.
 */
export interface ICNNMapResult {
  /** T(X) = ∇ₓg (conditional: rows (x, c) in, T(x | c) out, D columns). */
  map: (X: MatrixLike) => DenseMatrix;
  /** The ICNN f, the convex potential on Q's side (∇f ≈ the inverse map Q → P). */
  f: ICNN;
  /** The ICNN g, the convex potential on P's side: T = ∇g. */
  g: ICNN;
  /** The dual potentials at the rows of X (with the condition columns when conditional), one value per row. */
  potentials: {
    /** f at each row of Y (n × (D + k)): a Float64Array of length n. */
    f: (Y: MatrixLike) => Float64Array;
    /** g at each row of X (n × (D + k)): a Float64Array of length n. */
    g: (X: MatrixLike) => Float64Array;
  };
  /** One entry per outer iteration. */
  history: ICNNMapProgress[];
  /** Data dimension D (without the condition). */
  dim: number;
  /** The number k of trailing condition columns (0: unconditional). */
  conditionDim: number;
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new OTError('invalid-option', `${name} must be a positive integer (got ${v}).`);
  return v;
}

function positive(name: string, v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) throw new OTError('invalid-option', `${name} must be a finite number > 0 (got ${v}).`);
  return v;
}

/** Draws one batch, checks its shape, and puts it on `engine` (default js). */
export function drawBatch(sampler: BatchSampler, name: string, n: number, rng: Rng, cols?: number, engine?: TensorEngine): Tensor {
  const m = toMatrix(name, sampler(n, rng));
  if (m.rows !== n) throw new OTError('shape', `${name} returned ${m.rows} rows for a batch of ${n}.`);
  if (cols !== undefined && m.cols !== cols) throw new OTError('shape', `${name} returned ${m.cols} columns, expected ${cols}.`);
  return tensor(m.data, [m.rows, m.cols], engine);
}

function rowsOf(name: string, X: MatrixLike, cols: number): Tensor {
  const m = toMatrix(name, X);
  if (m.cols !== cols) throw new OTError('shape', `${name} has ${m.cols} columns, expected ${cols}.`);
  return new Tensor(Float64Array.from(m.data), [m.rows, m.cols]);
}

/**
 * Trains T = ∇g from P (sampleP) to Q (sampleQ) by the ICNN min–max of Makkuva et al. 2020 (see the header).
 * Rejects with OTError('aborted') when `signal` fires (checked between steps).
 */
/** The default learning rate (see ICNNMapOptions.lr): long runs and large D want smaller steps (3e-2 diverges there). */
function defaultLr(D: number, iterations: number): number {
  return D <= 16 && iterations <= 1000 ? 3e-2 : 1e-2;
}

export async function trainICNNMap(P: BatchSampler | SamplerSpec, Q: BatchSampler | SamplerSpec, opts: ICNNMapOptions = {}): Promise<ICNNMapResult> {
  const sampleP = samplerOf('sampleP', P);
  const sampleQ = samplerOf('sampleQ', Q);
  const hidden = opts.hidden ?? [32, 32];
  const batchSize = positiveInt('batchSize', opts.batchSize ?? 256);
  const iterations = positiveInt('iterations', opts.iterations ?? 500);
  const innerSteps = positiveInt('innerSteps', opts.innerSteps ?? 4);
  const k = opts.conditionDim ?? 0;
  if (!Number.isInteger(k) || k < 0) throw new OTError('invalid-option', `conditionDim must be an integer >= 0 (got ${k}).`);
  const conjugate = opts.conjugate ?? 'minmax';
  if (conjugate !== 'minmax' && conjugate !== 'amortized') throw new OTError('invalid-option', `conjugate must be 'minmax' or 'amortized' (got ${String(conjugate)}).`);
  if (conjugate === 'amortized' && k > 0) throw new OTError('invalid-option', "conditionDim > 0 needs conjugate: 'minmax'.");
  const amortized = conjugate === 'amortized';
  const conjugateSteps = opts.conjugateSteps ?? 10;
  if (!Number.isInteger(conjugateSteps) || conjugateSteps < 0) throw new OTError('invalid-option', `conjugateSteps must be an integer >= 0 (got ${conjugateSteps}).`);
  if (opts.lr !== undefined) positive('lr', opts.lr);
  if (opts.lrF !== undefined) positive('lrF', opts.lrF);
  if (opts.lrG !== undefined) positive('lrG', opts.lrG);
  const lrDecay = opts.lrDecay ?? 0.1;
  if (!(lrDecay > 0 && lrDecay <= 1)) throw new OTError('invalid-option', `lrDecay must be in (0, 1] (got ${lrDecay}).`);
  const [beta1, beta2] = opts.betas ?? [0.5, 0.99];
  const seed = opts.seed ?? 0;
  const progressEvery = positiveInt('progressEvery', opts.progressEvery ?? 10);
  if (opts.signal?.aborted) throw new OTError('aborted', 'trainICNNMap was aborted before it started.');

  const engine = await tensorEngine(opts.backend, opts.precision, opts.threads ?? 'auto');
  const rng = new Rng(seed + 2);
  // the first batch fixes the dimension
  const X0 = drawBatch(sampleP, 'sampleP', batchSize, rng, undefined, engine);
  const cols = X0.shape[1];
  const D = cols - k;
  if (D < 1) throw new OTError('shape', `sampleP gives ${cols} columns, fewer than conditionDim + 1 = ${k + 1}.`);
  const lr = opts.lr ?? defaultLr(D, iterations);
  const lrF = opts.lrF ?? lr;
  const lrG = opts.lrG ?? lr;
  const icnnOpts = {
    activation: opts.activation ?? 'celu',
    alpha: opts.alpha,
    layerQuadratic: opts.layerQuadratic ?? 1,
    engine,
  } as const;
  const quadraticForm = opts.quadraticForm ?? true;
  let g = new ICNN(cols, hidden, { ...icnnOpts, quadratic: opts.quadratic ?? 0, quadraticForm, seed });
  const f = new ICNN(cols, hidden, { ...icnnOpts, quadratic: opts.quadraticF ?? 0, quadraticForm, seed: seed + 1 });
  const optG = new Adam(g.parameters(), { lr: lrG, beta1, beta2 });
  const optF = new Adam(f.parameters(), { lr: lrF, beta1, beta2 });
  const gParams = g.parameters();
  const fParams = f.parameters();
  const emaDecay = opts.emaDecay ?? 0;
  if (!(emaDecay >= 0 && emaDecay < 1)) throw new OTError('invalid-option', `emaDecay must be in [0, 1) (got ${emaDecay}).`);
  const average = emaDecay > 0 ? new WeightAverage(gParams, emaDecay) : null;

  const xPart = (Z: Tensor) => (k === 0 ? Z : sliceLast(Z, 0, D));
  const cPart = (Z: Tensor) => sliceLast(Z, D, cols);
  const transport = (Z: Tensor, createGraph: boolean) => transportOf(g, Z, k, createGraph);
  const withCond = (T: Tensor, Z: Tensor) => (k === 0 ? T : concat([T, cPart(Z)]));
  const rowDot = (a: Tensor, b: Tensor) => sum(mul(a, b), 1);

  const history: ICNNMapProgress[] = [];
  let first: Tensor | null = X0;
  const report = async (step: number, L: number, ex2: number, ey2: number) => {
    const entry = { step, loss: L, w2sq: ex2 + ey2 - 2 * L };
    if (!Number.isFinite(L)) throw new OTError('nan', `trainICNNMap: the objective is not finite at step ${step}; lower the learning rate.`);
    history.push(entry);
    if (opts.onProgress && (step % progressEvery === 0 || step === iterations)) opts.onProgress({ ...entry });
    await abortPoint(opts.signal, () => `trainICNNMap at step ${step} of ${iterations}`);
  };
  try {
    for (let step = 1; step <= iterations && amortized; step++) {
      const factor = cosineFactor(step, iterations, lrDecay);
      optG.lr = lrG * factor;
      optF.lr = lrF * factor;
      const [L, ex2, ey2] = await amortizedStep(g, f, optG, optF, engine, conjugateSteps, () => {
        const Z = first ?? drawBatch(sampleP, 'sampleP', batchSize, rng, cols, engine);
        first = null;
        return [Z, drawBatch(sampleQ, 'sampleQ', batchSize, rng, cols, engine)];
      });
      average?.update();
      await report(step, L, ex2, ey2);
    }
    for (let step = 1; step <= iterations && !amortized; step++) {
      const factor = cosineFactor(step, iterations, lrDecay);
      optG.lr = lrG * factor;
      optF.lr = lrF * factor;
      // Each step inside tidy(): its graph and batches are freed when it ends (GPU memory stays flat).
      for (let i = 0; i < innerSteps; i++) {
        tidy(() => {
          const Z = first ?? drawBatch(sampleP, 'sampleP', batchSize, rng, cols, engine);
          first = null;
          const T = transport(Z, true);
          const lossG = sub(mean(f.forward(withCond(T, Z))), mean(rowDot(xPart(Z), T)));
          optG.step(autograd(lossG, gParams, { allowUnused: true }));
          g.project();
        });
        average?.update();
      }
      // L, E‖x‖², E‖y‖² of the f step's batch, as one [3] tensor: a single read-back per step
      const stats = tidy(() => {
        const Z = drawBatch(sampleP, 'sampleP', batchSize, rng, cols, engine);
        const Y = drawBatch(sampleQ, 'sampleQ', batchSize, rng, cols, engine);
        const T = noGrad(() => transport(Z, false));
        const fT = mean(f.forward(withCond(T, Z)));
        const fY = mean(f.forward(Y));
        optF.step(autograd(sub(fY, fT), fParams, { allowUnused: true }));
        f.project();
        return noGrad(() => {
          const L = add(sub(mean(rowDot(xPart(Z), T)), fT), fY);
          const ex2 = mean(sum(square(xPart(Z)), 1));
          const ey2 = mean(sum(square(xPart(Y)), 1));
          return concat([reshape(L, [1]), reshape(ex2, [1]), reshape(ey2, [1])]);
        });
      });
      const [L, ex2, ey2] = await stats.read();
      stats.dispose();
      await report(step, L, ex2, ey2);
    }
    if (average) {
      const gAvg = ICNN.load(await average.into(await g.saveAsync())); // on the js engine, as results are
      g.dispose();
      g = gAvg;
    }
  } catch (e) {
    disposeOffJs([g, f]);
    throw e;
  } finally {
    X0.dispose();
    optG.dispose();
    optF.dispose();
    average?.dispose();
  }

  const [gOut, fOut] = await onJsEngine([g, f]);
  return icnnMapResult(gOut, fOut, history, k);
}

/**
 * One step of the amortised-conjugate trainer (conjugate: 'amortized'): X ~ P, Y ~ Q; x̂ = L-BFGS fine-tuning of
 * ∇f(Y) towards argmax_x ⟨x, y⟩ − g(x); g steps on E_P g(X) − E_Q g(x̂) (the gradient of E_P g + E_Q g* in g's
 * weights, by the envelope theorem, x̂ held fixed); f steps on the regression E‖∇f(Y) − x̂‖². Returns
 * [L, E‖x‖², E‖y‖²] of the batch with L = E_P g + E_Q g* before the steps.
 */
async function amortizedStep(g: ICNN, f: ICNN, optG: Adam, optF: Adam, engine: TensorEngine, steps: number, draw: () => [Tensor, Tensor]): Promise<number[]> {
  const [X, Y] = draw();
  let Xhat: Tensor | undefined;
  try {
    const n = Y.shape[0];
    const D = Y.shape[1];
    const pred = tidy(() => noGrad(() => f.grad(Y, { createGraph: false }))); // tidy: frees the graph's pieces now
    const [Yv, X0] = await Promise.all([Y.read(), pred.read()]);
    pred.dispose();
    const sol = await conjugateLBFGS(g, engine, Yv, X0, n, D, { steps });
    const xh = tensor(sol.X, [n, D], engine);
    Xhat = xh;
    const gX = tidy(() => {
      const gx = mean(g.forward(X));
      optG.step(autograd(sub(gx, mean(g.forward(xh))), g.parameters(), { allowUnused: true }));
      g.project();
      return noGrad(() => concat([reshape(gx, [1]), reshape(mean(sum(square(X), 1)), [1])]));
    });
    tidy(() => {
      const miss = sub(f.grad(Y, { createGraph: true }), xh);
      optF.step(autograd(mean(sum(square(miss), 1)), f.parameters(), { allowUnused: true }));
      f.project();
    });
    const [gx, ex2] = await gX.read();
    gX.dispose();
    let conj = 0;
    let ey2 = 0;
    for (let i = 0; i < n; i++) conj += sol.value[i];
    for (let j = 0; j < Yv.length; j++) ey2 += Yv[j] * Yv[j];
    return [gx + conj / n, ex2, ey2 / n];
  } finally {
    X.dispose();
    Y.dispose();
    Xhat?.dispose();
  }
}

/** T(x | c) = ∇ₓg(x, c): the first D = cols − k columns of ∇g at the rows (x, c); a graph in g's weights when recording. */
function transportOf(g: ICNN, Z: Tensor, k: number, createGraph: boolean): Tensor {
  const G = g.grad(Z, { createGraph });
  return k === 0 ? G : sliceLast(G, 0, g.config.dim - k);
}

/** The result around trained networks on the js engine (also how a result that crossed from a worker is rebuilt). */
export function icnnMapResult(g: ICNN, f: ICNN, history: ICNNMapProgress[], conditionDim: number): ICNNMapResult {
  const cols = g.config.dim;
  const D = cols - conditionDim;
  const map = (Xin: MatrixLike): DenseMatrix => {
    const T = noGrad(() => transportOf(g, rowsOf('X', Xin, cols), conditionDim, false));
    return { data: T.data, rows: T.shape[0], cols: D };
  };
  const potential = (net: ICNN, name: string) => (Xin: MatrixLike) => noGrad(() => net.forward(rowsOf(name, Xin, cols))).data;
  return { map, f, g, potentials: { f: potential(f, 'Y'), g: potential(g, 'X') }, history, dim: D, conditionDim };
}
