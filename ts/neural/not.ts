// Neural Optimal Transport (Korotin, Selikhanovych & Burnaev, "Neural Optimal Transport", ICLR 2023) on the CPU
// engine (issue 5, item 3: `trainNOT`). A WebGPU engine plugs in later with the same semantics.
//
// Problem. The γ-weak quadratic cost of a point x and a measure μ is
//   C(x, μ) = ∫ ½‖x − y‖² dμ(y) − γ/2 · Var(μ),     Var(μ) = ∫ ‖y − ∫y' dμ‖² dμ(y).
// A stochastic map T(x, z), z ~ S = N(0, I_zDim), defines the conditional plans μ_x = T(x, ·)#S. The weak-OT dual
// (the paper's eq. (9) / (13)) is the max–min
//   sup_f inf_T  L(f, T),   L(f, T) = ∫ f dQ + ∫ [ C(x, T(x, ·)#S) − ∫ f(T(x, z)) dS(z) ] dP(x),
// and at the optimum T(x, ·)#S are the optimal conditional plans (γ = 0: the ordinary W2 problem, ½‖·‖² cost).
//
// Algorithm (the paper's Algorithm 1, with its sign conventions: both networks take GRADIENT-DESCENT steps on
// their own loss), repeated `iterations` times:
//   1. f step: draw X ~ P, Y ~ Q (batchSize each) and zSamples z's per x;
//        L_f = 1/|X| Σ_x 1/|Z| Σ_z f(T(x, z)) − 1/|Y| Σ_y f(y),           ω ← Adam step on ∂L_f/∂ω  (T held fixed).
//      Descending L_f = ascending L(f, T) in f (L = ∫f dQ − ∫∫f(T) + terms free of f): the "sup over f".
//   2. T steps, innerSteps (K_T) times: draw a fresh X ~ P and Z's;
//        L_T = 1/|X| Σ_x [ Ĉ(x, T(x, Z[x])) − 1/|Z| Σ_z f(T(x, z)) ],        θ ← Adam step on ∂L_T/∂θ  (f fixed),
//      with the per-x estimator of the weak cost from the |Z| = zSamples images t_z = T(x, z):
//        Ĉ = 1/|Z| Σ_z ½‖x − t_z‖² − γ/2 · 1/(|Z| − 1) Σ_z ‖t_z − t̄‖²    (unbiased sample variance; needs |Z| ≥ 2
//        when γ > 0).  This is the "inf over T".
// (The wording "maximise E f(T) − E f(y) over f" has the sign flipped: Algorithm 1 descends that quantity,
// i.e. maximises E_y f(y) − E_x E_z f(T(x, z)); descending is what makes f a potential that T is pulled towards
// the high values of; with the opposite sign T would be pushed AWAY from Q.)
//
// Networks. T: an MLP [D + zDim, ...hiddenT, D] on the concatenation [x, z] (z omitted when zDim = 0), optionally
// residual (T(x, z) = x + MLP([x, z]); default on — the paper's toy code has it off — as it learns the W2
// benchmark's maps better); f: an MLP [D, ...hiddenF, 1] plus, by default when γ = 0, a learned quadratic ½·yᵀQy
// with Q = I − LLᵀ (`quadraticForm`; on its own Adam rate, `lrScaleQuadratic` × lrF), since a relu f's gradient is
// piecewise constant and the optimal f of a map with an affine part has a linear gradient part; Q ⪯ I keeps T's
// problem bounded below.
// zDim = 0 (then zSamples = 1) gives a deterministic map; with γ = 0 that is the NOT solver of the ½‖·‖² OT problem.
//
// Randomness: one Rng(seed) stream (ts/rng.ts). It first draws the init seeds of T and f (one u32 each), then every
// minibatch in order: per f step X (sampleP), Y (sampleQ), Z; per T step X, Z. `sampleP(n, rng)` / `sampleQ(n, rng)`
// must draw from the given Rng for the run to be reproducible (the library's samplers take it as `{ seed: rng }`).
//
// Progress: after every outer iteration, `onProgress({ step, loss, lossF, lossT })` and a `history` entry, with
// loss = the dual objective L(f, T) estimated on the f-step batch (mean Ĉ − L_f), lossF = L_f, lossT = the last
// inner L_T. With a `signal`, the loop yields to the event loop (at most every 20 ms) and rejects with
// OTError('aborted') between steps.
import { OTError } from '../errors.js';
import { Rng } from '../rng.js';
import type { DenseMatrix, MatrixLike } from '../types.js';
import { abortPoint, checkAbort, toMatrix } from '../validate.js';
import { type Activation, MLP, type MLPQuadraticForm, disposeOffJs, onJsEngine } from './models.js';
import { type BatchSampler, type SamplerSpec, samplerOf } from './sampler-spec.js';
import { Adam, cosineFactor } from './optim.js';
import { WeightAverage } from './ema.js';
import { type NeuralBackendOptions, tensorEngine } from './engines.js';
import type { TensorEngine } from './engine.js';
import { Tensor, add, concat, grad, mean, noGrad, reshape, scale, square, sub, sum, tensor, tidy } from './tensor.js';

/** A batch of n points, drawn from the given generator: a matrix, rows, or an [n, D] tensor. */
export type NOTSampler = (
  n: number,
  rng: Rng,
) =>
  | MatrixLike
  | {
      /** The values, row-major (n·D). */
      data: ArrayLike<number>;
      /** [n, D]. */
      shape: readonly number[];
    };

/** One outer iteration of {@link trainNOT}'s training: the history entry and the onProgress report. */
export interface NOTProgress {
  /** Outer iteration (1-based). */
  step: number;
  /** Dual objective L(f, T) on the f-step batch: mean Ĉ + mean f(y) − mean f(T(x, z)). */
  loss: number;
  /** L_f of the f step. */
  lossF: number;
  /** L_T of the last inner T step. */
  lossT: number;
}

export interface NOTOptions extends NeuralBackendOptions {
  /** Weight γ ≥ 0 of the variance term of the weak cost (default 0: the strong ½‖x − y‖² cost). */
  gamma?: number;
  /** Dimension of the noise z ~ N(0, I) (default 0: a deterministic map). */
  zDim?: number;
  /** T steps per f step, K_T (default 10, as in the paper). */
  innerSteps?: number;
  /** Outer iterations = f steps (default 1000). */
  iterations?: number;
  /** Points per minibatch, for X ~ P and Y ~ Q (default 64). */
  batchSize?: number;
  /** Points of X ~ P and of Y ~ Q in the f step's minibatch (default: batchSize). */
  batchSizeF?: number;
  /** z draws per x (default 4 when zDim > 0, else 1; forced to 1 when zDim = 0; ≥ 2 when γ > 0 and zDim > 0). */
  zSamples?: number;
  /** Hidden widths of T (default [64, 64]). */
  hiddenT?: number[];
  /** Hidden widths of f (default [64, 64]). */
  hiddenF?: number[];
  /** Activation of both networks (default 'relu'). */
  activation?: Activation;
  /** Activation of f alone (default: `activation`). */
  activationF?: Activation;
  /**
   * f(y) = MLP(y) + ½·yᵀQy with a learned Q (MLP's `quadraticForm`): a relu f has a piecewise-constant gradient,
   * which fits the affine part of the map worst. 'belowIdentity' (the default when γ = 0): Q = I − LLᵀ with L
   * learned from the identity (MLP's {@link MLPQuadraticForm}), which keeps T's problem min_y ½‖x − y‖² − f(y)
   * bounded below. `true`: Q free — where its largest eigenvalue passes 1 that problem has no minimum, and on the W2
   * benchmark's D = 32 pair the run failed (50.6 %, against 1.94 % with 'belowIdentity'; bench/README, "A quadratic
   * term in f"). On a Gaussian pair (an affine map) L2-UVP ~0.1 % against ~1.1 % without at 600 iterations. Default
   * false when γ > 0: the weak cost's T problem needs Q ⪯ (1 − γ)·I, which neither form enforces.
   */
  quadraticForm?: boolean | MLPQuadraticForm;
  /**
   * Q's Adam learning rate as a multiple of lrF's (default 10): Adam moves each entry by about lr a step, and Q's
   * entries are O(1) where the network's weights are O(1/√width).
   */
  lrScaleQuadratic?: number;
  /**
   * T(x, z) = x + MLP([x, z]) (default true: on the W2 benchmark's D = 2 pair, 5000 steps, L2-UVP 0.14 % against
   * 0.30 % for the plain MLP; the paper's toy code uses the plain one).
   */
  residual?: boolean;
  /** Adam learning rate of T (default 1e-3). */
  lrT?: number;
  /** Adam learning rate of f (default 1e-3). */
  lrF?: number;
  /**
   * Final learning rate of both networks as a fraction of lrT / lrF, reached by a cosine schedule over the
   * iterations (as trainICNNMap's). Default 0.1: with constant rates (1, the paper's) the max–min wanders — on the
   * W2 benchmark's D = 4 pair L2-UVP was 1.35 % after 5000 steps and 5.66 % after 10000; with the decay 0.86 %.
   */
  lrDecay?: number;
  /**
   * Decay β of an exponential moving average of T's weights, θ̄ ← β_t·θ̄ + (1 − β_t)·θ after the t-th T step with
   * β_t = min(β, (1 + t)/(10 + t)) (Polyak averaging, as GAN trainers evaluate the averaged generator; the warm-up
   * keeps short runs off their initial weights); the returned T is θ̄. Training itself is unchanged. Default 0.999:
   * on the W2 benchmark's D = 16 pair ([256, 256], f32, 5000 steps) the same training run gives L2-UVP 3.12 % with
   * it and 5.53 % with the last weights. 0: the last weights.
   */
  emaDecay?: number;
  /** Adam β₁ of both optimizers (default 0.9). */
  beta1?: number;
  /** Adam β₂ of both optimizers (default 0.999). */
  beta2?: number;
  /** Seed of the one Rng stream: the initial weights of T and f, then every minibatch and noise draw. Default 0. */
  seed?: number;
  /** Aborts training between steps (the loop yields at most every 20 ms): the call rejects with OTError code 'aborted'. */
  signal?: AbortSignal;
  /** Called after every outer iteration with its {@link NOTProgress}. */
  onProgress?: (p: NOTProgress) => void;
}

/**
 * The result of {@link trainNOT} (Korotin et al.'s Neural Optimal Transport): the learned (stochastic) map T, the
 * potential f (both MLPs on the js engine) and the training history.
 */
export interface NOTResult {
  /** T(x, z) for the rows of X (n × D) and of Z (n × zDim; default zeros, the noise mean). n × D. */
  map: (X: MatrixLike, Z?: MatrixLike) => DenseMatrix;
  /** One draw of T(x, z) per row of X, with z ~ N(0, I) drawn from rng. n × D. */
  sample: (X: MatrixLike, rng: Rng) => DenseMatrix;
  /** The transport network ([x, z] → y; see `residual`). */
  T: MLP;
  /** The potential ([y] → f(y)). */
  f: MLP;
  /** The data dimension D. */
  dim: number;
  /** The noise dimension (0: a deterministic map). */
  zDim: number;
  /** The weight γ of the weak cost's variance term (0: the strong ½‖x − y‖² cost). */
  gamma: number;
  /** Whether T(x, z) = x + MLP([x, z]). */
  residual: boolean;
  /** One entry per outer iteration. */
  history: NOTProgress[];
}

function toBatch(name: string, v: ReturnType<NOTSampler>, n: number, d: number | undefined): DenseMatrix {
  let M: DenseMatrix;
  if (typeof v === 'object' && v !== null && 'shape' in v && !('rows' in v)) {
    const s = v.shape;
    if (s.length !== 2) throw new OTError('shape', `trainNOT: ${name} returned shape [${s.join(', ')}]; a batch is [n, D].`);
    M = toMatrix(name, { data: v.data, rows: s[0], cols: s[1] });
  } else {
    M = toMatrix(name, v as MatrixLike);
  }
  if (M.rows !== n) throw new OTError('shape', `trainNOT: ${name} returned ${M.rows} points, ${n} were asked for.`);
  if (d !== undefined && M.cols !== d) throw new OTError('shape', `trainNOT: ${name} returned points in dimension ${M.cols}, expected ${d}.`);
  for (let i = 0; i < M.data.length; i++) {
    if (!Number.isFinite(M.data[i])) throw new OTError('nan', `trainNOT: ${name} returned a non-finite coordinate.`);
  }
  return M;
}

function normals(rng: Rng, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < out.length; i++) out[i] = rng.normal();
  return out;
}

/** Each row of X repeated k times (row-major [n·k, D], x-major). */
function repeatRows(X: Float64Array, n: number, d: number, k: number): Float64Array {
  if (k === 1) return X;
  const out = new Float64Array(n * k * d);
  for (let i = 0; i < n; i++) for (let r = 0; r < k; r++) out.set(X.subarray(i * d, i * d + d), (i * k + r) * d);
  return out;
}

/** The networks, optimizers and batch maps of one NOT run. */
interface NOTState {
  /** Replaced by the weight average at the end when emaDecay > 0. */
  T: MLP;
  f: MLP;
  optT: Adam;
  optF: Adam;
  D: number;
  engine: TensorEngine;
  /** x's repeated zSamples times, their images, and the mean weak-cost estimate Ĉ over the batch. */
  pushBatch(X: DenseMatrix): { t: Tensor; cost: Tensor };
}

/** Trains a NOT stochastic map from P to Q (samplers) for the γ-weak quadratic cost; see the header. */
export async function trainNOT(P: NOTSampler | SamplerSpec, Q: NOTSampler | SamplerSpec, opts: NOTOptions = {}): Promise<NOTResult> {
  // option ranges were checked by the registry schema (ts/neural/train.ts); what remains is their combination
  const sampleP: NOTSampler = samplerOf('sampleP', P as BatchSampler | SamplerSpec);
  const sampleQ: NOTSampler = samplerOf('sampleQ', Q as BatchSampler | SamplerSpec);
  checkAbort(opts.signal);
  const gamma = opts.gamma ?? 0;
  const zDim = opts.zDim ?? 0;
  const innerSteps = opts.innerSteps ?? 10;
  const iterations = opts.iterations ?? 1000;
  const batch = opts.batchSize ?? 64;
  const batchF = opts.batchSizeF ?? batch;
  const zSamples = zDim === 0 ? 1 : opts.zSamples ?? 4;
  if (gamma > 0 && zDim > 0 && zSamples < 2) {
    throw new OTError('invalid-option', 'trainNOT: the variance term of the weak cost (gamma > 0) needs zSamples ≥ 2 draws of z per x.');
  }
  const quadraticForm = opts.quadraticForm ?? (gamma > 0 ? false : 'belowIdentity');
  const residual = opts.residual ?? true;
  const rng = new Rng(opts.seed ?? 0);
  // the dimension comes from a first batch of P (drawn after the network seeds, so it is part of the seeded sequence)
  const seeds = [rng.nextU32(), rng.nextU32()] as const;
  const engine = await tensorEngine(opts.backend, opts.precision, opts.threads ?? 'auto');
  const X0 = toBatch('sampleP', sampleP(batchF, rng), batchF, undefined);
  const st = notState(opts, X0.cols, seeds, engine, { gamma, quadraticForm, zDim, zSamples, residual, rng });

  const history: NOTProgress[] = [];
  let firstX: DenseMatrix | null = X0;
  const emaDecay = opts.emaDecay ?? 0.999;
  const average = emaDecay > 0 ? new WeightAverage(st.T.parameters(), emaDecay) : null;
  try {
    const [lrT, lrF, lrDecay] = [st.optT.lr, st.optF.lr, opts.lrDecay ?? 0.1];
    for (let step = 1; step <= iterations; step++) {
      const factor = cosineFactor(step, iterations, lrDecay);
      st.optT.lr = lrT * factor;
      st.optF.lr = lrF * factor;
      const Xf = firstX ?? toBatch('sampleP', sampleP(batchF, rng), batchF, st.D);
      firstX = null;
      const Yf = toBatch('sampleQ', sampleQ(batchF, rng), batchF, st.D);
      const { lossF, loss } = await potentialStep(st, Xf, Yf, step);
      let lossT = NaN;
      for (let k = 0; k < innerSteps; k++) {
        await abortPoint(opts.signal, () => `step ${step} of ${iterations}`);
        lossT = await mapStep(st, toBatch('sampleP', sampleP(batch, rng), batch, st.D), step);
        average?.update();
      }
      const p: NOTProgress = { step, loss, lossF, lossT };
      history.push(p);
      opts.onProgress?.(p);
      await abortPoint(opts.signal, () => `step ${step} of ${iterations}`);
    }
    if (average) {
      const Tavg = MLP.load(await average.into(await st.T.saveAsync())); // on the js engine, as results are
      st.T.dispose();
      st.T = Tavg;
    }
  } catch (e) {
    disposeOffJs([st.T, st.f]);
    throw e;
  } finally {
    st.optT.dispose();
    st.optF.dispose();
    average?.dispose();
  }

  const [Tout, fOut] = await onJsEngine([st.T, st.f]);
  return notResult(Tout, fOut, { zDim, gamma, residual, history });
}

function notState(
  opts: NOTOptions,
  D: number,
  [seedT, seedF]: readonly [number, number],
  engine: TensorEngine,
  c: { gamma: number; quadraticForm: boolean | MLPQuadraticForm; zDim: number; zSamples: number; residual: boolean; rng: Rng },
): NOTState {
  const activation = opts.activation ?? 'relu';
  const T = new MLP([D + c.zDim, ...(opts.hiddenT ?? [64, 64]), D], { activation, seed: seedT, engine });
  const f = new MLP([D, ...(opts.hiddenF ?? [64, 64]), 1], { activation: opts.activationF ?? activation, quadraticForm: c.quadraticForm, seed: seedF, engine });
  const adam = { beta1: opts.beta1 ?? 0.9, beta2: opts.beta2 ?? 0.999 };
  const optT = new Adam(T.parameters(), { lr: opts.lrT ?? 1e-3, ...adam });
  const lrScale = f.parameters().map((p) => (p === f.wq ? opts.lrScaleQuadratic ?? 10 : 1));
  const optF = new Adam(f.parameters(), { lr: opts.lrF ?? 1e-3, ...adam, lrScale });
  const pushBatch = (X: DenseMatrix): { t: Tensor; cost: Tensor } => {
    const n = X.rows;
    const k = c.zSamples;
    const xr = repeatRows(X.data, n, D, k);
    const z = c.zDim > 0 ? normals(c.rng, n * k, c.zDim) : null;
    const { x, t } = applyNet(T, xr, z, n * k, c.zDim, c.residual);
    // 1/|X| Σ_x 1/|Z| Σ_z ½‖x − t_z‖²
    let cost = scale(sum(square(sub(x, t))), 0.5 / (n * k));
    if (c.gamma > 0 && k >= 2) {
      // 1/|X| Σ_x 1/(|Z| − 1) Σ_z ‖t_z − t̄_x‖²
      const t3 = reshape(t, [n, k, D]);
      const v = scale(sum(square(sub(t3, mean(t3, 1, true)))), 1 / (n * (k - 1)));
      cost = sub(cost, scale(v, c.gamma / 2));
    }
    return { t, cost };
  };
  return { T, f, optT, optF, D, engine, pushBatch };
}

/**
 * The f step: descend L_f = E_x E_z f(T(x, z)) − E_y f(y) with T fixed. Inside tidy(): the step's graph and
 * batches are freed when it ends (GPU memory stays flat); the losses come back in one small tensor (one read-back).
 */
async function potentialStep(st: NOTState, X: DenseMatrix, Y: DenseMatrix, step: number): Promise<{ lossF: number; loss: number }> {
  const out = tidy(() => {
    const { t, cost } = noGrad(() => st.pushBatch(X));
    const lossFT = sub(mean(st.f.forward(t)), mean(st.f.forward(tensor(Y.data, [Y.rows, st.D], st.engine))));
    return { stats: concat([reshape(lossFT, [1]), reshape(cost, [1])]), g: grad(lossFT, st.f.parameters()) };
  });
  const [lossF, cost] = await out.stats.read();
  out.stats.dispose();
  if (!Number.isFinite(lossF)) throw new OTError('nan', `trainNOT: the potential's loss is not finite at step ${step} (lower the learning rates).`);
  st.optF.step(out.g);
  for (const t of out.g) t.dispose();
  return { lossF, loss: cost - lossF };
}

/** One T step: descend L_T = E_x [ Ĉ(x, T(x, Z[x])) − E_z f(T(x, z)) ] with f fixed. */
async function mapStep(st: NOTState, X: DenseMatrix, step: number): Promise<number> {
  const out = tidy(() => {
    const { t, cost } = st.pushBatch(X);
    const lt = sub(cost, mean(st.f.forward(t)));
    return { lt, g: grad(lt, st.T.parameters()) };
  });
  const lossT = await out.lt.itemAsync();
  out.lt.dispose();
  if (!Number.isFinite(lossT)) throw new OTError('nan', `trainNOT: the map's loss is not finite at step ${step} (lower the learning rates).`);
  st.optT.step(out.g);
  for (const t of out.g) t.dispose();
  return lossT;
}

/** A network T on rows of X (data n × D) and Z (n × zDim), as a graph node (or a constant under noGrad). */
function applyNet(net: MLP, xRows: Float64Array, zRows: Float64Array | null, n: number, zDim: number, residual: boolean): { x: Tensor; t: Tensor } {
  const D = net.config.widths[0] - zDim;
  const x = tensor(xRows, [n, D], net.engine);
  const inp = zDim > 0 ? concat([x, tensor(zRows ?? new Float64Array(n * zDim), [n, zDim], net.engine)]) : x;
  const out = net.forward(inp);
  return { x, t: residual ? add(out, x) : out };
}

/** The result around trained networks on the js engine (also how a result that crossed from a worker is rebuilt). */
export function notResult(T: MLP, f: MLP, info: { zDim: number; gamma: number; residual: boolean; history: NOTProgress[] }): NOTResult {
  const { zDim, residual } = info;
  const D = T.config.widths[0] - zDim;
  const map = (Xin: MatrixLike, Zin?: MatrixLike): DenseMatrix => {
    const X = toMatrix('X', Xin);
    if (X.cols !== D) throw new OTError('shape', `NOT map: X has ${X.cols} columns, the map was trained in dimension ${D}.`);
    let z: Float64Array | null = null;
    if (Zin !== undefined) {
      const Z = toMatrix('Z', Zin);
      if (Z.rows !== X.rows || Z.cols !== zDim) {
        throw new OTError('shape', `NOT map: Z must be ${X.rows} × ${zDim}, got ${Z.rows} × ${Z.cols}.`);
      }
      z = Z.data;
    }
    const t = noGrad(() => applyNet(T, X.data, z, X.rows, zDim, residual).t);
    return { data: t.data, rows: X.rows, cols: D };
  };
  const sample = (Xin: MatrixLike, r: Rng): DenseMatrix => {
    const X = toMatrix('X', Xin);
    return map(X, zDim > 0 ? { data: normals(r, X.rows, zDim), rows: X.rows, cols: zDim } : undefined);
  };
  return { map, sample, T, f, dim: D, ...info };
}
