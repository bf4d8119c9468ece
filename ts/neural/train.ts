// The public neural trainers as registry solvers (ts/registry/define.ts): options checked against their schema
// before any work, then the in-process trainer (icnn-map.ts, not.ts, critic.ts) or the same trainer in a worker.
//
// A call can cross to a worker only when both samplers are specs (sampler-spec.ts: plain data; a function cannot
// cross). 'auto' (default) offloads such a call when its work estimate (iterations × batch × updates per iteration ×
// hidden units) reaches the pool's threshold; true always offloads (and rejects with 'invalid-option' when a
// sampler is a function); false never does. In a worker the trainer's result crosses as plain data (saved models,
// history, numbers) and is rebuilt around js-engine models on the calling side.
import { OTError } from '../errors.js';
import { defineSolver } from '../registry/define.js';
import { type Check, anyOf, bool, num, oneOf, opt } from '../registry/schema.js';
import { progressOption, signalOption, workerOption } from '../registry/common.js';
import { numberOr } from '../registry/estimate.js';
import { type CriticOptions, type CriticProgress, type CriticResult, criticResult, trainKantorovichRubinsteinCritic as criticInProcess } from './critic.js';
import { type ICNNMapOptions, type ICNNMapProgress, type ICNNMapResult, icnnMapResult, trainICNNMap as icnnInProcess } from './icnn-map.js';
import { ACTIVATIONS, ICNN, type ICNNConfig, MLP, type MLPConfig, type SavedModel } from './models.js';
import { type NOTOptions, type NOTProgress, type NOTResult, type NOTSampler, notResult, trainNOT as notInProcess } from './not.js';
import { type BatchSampler, type SamplerSpec, isSamplerSpec } from './sampler-spec.js';

interface ICNNMapPlain {
  g: SavedModel<ICNNConfig>;
  f: SavedModel<ICNNConfig>;
  history: ICNNMapProgress[];
  conditionDim: number;
}

interface NOTPlain {
  T: SavedModel<MLPConfig>;
  f: SavedModel<MLPConfig>;
  zDim: number;
  gamma: number;
  residual: boolean;
  history: NOTProgress[];
}

interface CriticPlain {
  critic: SavedModel<MLPConfig>;
  w1Estimate: number;
  meanGradNorm: number;
  history: CriticProgress[];
}

type WorkerOption = { worker?: 'auto' | boolean };

/** Hidden widths: a non-empty array of positive integers. */
const widths: Check = {
  type: 'an array of integers ≥ 1',
  check(v, path) {
    if (!Array.isArray(v) || v.length === 0 || !v.every((w) => Number.isInteger(w) && w >= 1)) {
      num({ integer: true, min: 1 }).check(Array.isArray(v) ? v.find((w) => !(Number.isInteger(w) && w >= 1)) ?? NaN : v, `${path}[]`);
    }
  },
};

const betasPair: Check = {
  type: 'a pair [β₁, β₂] in [0, 1)',
  check(v, path) {
    if (!Array.isArray(v) || v.length !== 2) throw new OTError('invalid-option', `${path} must be ${this.type} (got ${String(v)}).`);
    for (const b of v as unknown[]) num({ min: 0, lt: 1 }).check(b, `${path}[]`);
  },
};

const common = {
  backend: opt(oneOf('js', 'wasm', 'webgpu', 'auto'), "Tensor engine: 'wasm' (WASM SIMD, f64), 'js' (plain TypeScript f64, the reference), 'webgpu' (f32), 'auto' (webgpu on a hardware adapter, else wasm).", "'wasm' (js where the wasm binary cannot load)"),
  precision: opt(oneOf('f64', 'f32'), "Precision of the training tensors: 'f32' runs the wasm engine in float32 (1.4–2× faster steps; an error with backend 'js'); webgpu is always f32.", "'f64' ('f32' on webgpu)"),
  threads: opt(
    anyOf(oneOf('auto'), num({ integer: true, min: 1 })),
    "wasm: threads that share each large product of a step (≥ 2^17 multiply-adds; the same result bit for bit); 'auto' uses every core where threads can run (a hint, never an error).",
    "'auto'",
  ),
  seed: opt(num({ integer: true, min: 0 }), 'Seed of initialisations and batches.', '0'),
  signal: signalOption,
  worker: workerOption,
};
const positive = (doc: string, dflt: string) => opt(num({ gt: 0 }), doc, dflt);
const mlpActivation = oneOf(...ACTIVATIONS);
const count = (doc: string, dflt: string) => opt(num({ integer: true, min: 1 }), doc, dflt);
const quadratic = (doc: string, dflt: string) => opt(anyOf(bool, num({ min: 0 })), doc, dflt);

function specsReason(P: unknown, Q: unknown): string | undefined {
  return isSamplerSpec(P) && isSamplerSpec(Q) ? undefined : 'a sampler is a function, which cannot cross to a worker: pass both samplers as specs ({ kind: ... }).';
}

function units(w: unknown, fallback: number[]): number {
  return (Array.isArray(w) ? w : fallback).reduce((s: number, x) => s + (Number(x) || 0), 0);
}

/** Min–max training of two ICNNs for the Brenier map (Makkuva et al. 2020); see icnn-map.ts. */
export const trainICNNMap = defineSolver({
  name: 'trainICNNMap',
  summary: 'Neural OT: the Brenier map as the gradient of an input-convex network (min–max dual).',
  params: ['P', 'Q'],
  options: {
    hidden: opt(widths, 'Hidden widths of both ICNNs.', '[32, 32]'),
    activation: opt(oneOf('leakyRelu', 'softplus', 'celu'), 'Convex non-decreasing activation.', "'celu'"),
    layerQuadratic: opt(num({ integer: true, min: 0 }), 'Rank of a convex quadratic skip into every hidden unit (DenseICNN); 0 = none.', '1'),
    alpha: opt(num({ min: 0 }), 'Leaky-relu slope.', '0.2'),
    quadratic: quadratic('(c/2)‖x‖² added to g (true = 1).', '0'),
    quadraticF: quadratic('(c/2)‖y‖² added to f.', '0'),
    quadraticForm: opt(anyOf(bool, num({ integer: true, min: 1 })), 'A learned convex quadratic ½‖x·A‖²: true = full rank, a number = that rank.', 'true'),
    batchSize: count('Rows per batch.', '256'),
    iterations: opt(num({ integer: true, min: 0 }), 'Outer iterations (f updates); 0 returns the initial networks.', '500'),
    innerSteps: count("g updates per f update ('minmax').", '4'),
    lr: positive('Adam learning rate of both networks.', '3e-2 (D ≤ 16 and ≤ 1000 iterations), else 1e-2'),
    lrF: positive('Learning rate of f.', 'lr'),
    lrG: positive('Learning rate of g.', 'lr'),
    lrDecay: opt(num({ gt: 0, max: 1 }), 'Final learning rate as a fraction of the initial one (cosine schedule).', '0.1'),
    betas: opt(betasPair, 'Adam (β₁, β₂).', '[0.5, 0.99]'),
    emaDecay: opt(num({ min: 0, lt: 1 }), "Decay β of an exponential moving average of g's weights (as trainNOT's), returned as g; 0: the last weights.", '0'),
    conditionDim: opt(num({ integer: true, min: 0 }), "Trailing condition columns in the samples ('minmax' only).", '0'),
    conjugate: opt(oneOf('minmax', 'amortized'), "'minmax': f is g's adversary (Makkuva et al. 2020); 'amortized': f predicts g's conjugate, fine-tuned by L-BFGS (Amos 2023).", "'minmax'"),
    conjugateSteps: opt(num({ integer: true, min: 0 }), "L-BFGS iterations fine-tuning the amortised conjugate per batch ('amortized').", '10'),
    onProgress: progressOption('{ step, loss, w2sq } every progressEvery steps'),
    progressEvery: count('Report every this many steps (the last always).', '10'),
    ...common,
  },
  backends: ['js', 'wasm', 'webgpu'],
  workEstimate: ([, , o]) => {
    const opts = (o ?? {}) as ICNNMapOptions;
    return numberOr(opts.iterations, 500) * numberOr(opts.batchSize, 256) * (numberOr(opts.innerSteps, 4) + 1) * units(opts.hidden, [32, 32]);
  },
  run: (P: BatchSampler | SamplerSpec, Q: BatchSampler | SamplerSpec, opts: ICNNMapOptions & WorkerOption = {}): Promise<ICNNMapResult> => icnnInProcess(P, Q, opts),
  crossing: {
    reason: ([P, Q]) => specsReason(P, Q),
    toPlain: (r): ICNNMapPlain => ({ g: r.g.save(), f: r.f.save(), history: r.history, conditionDim: r.conditionDim }),
    fromPlain: (p) => {
      const r = p as ICNNMapPlain;
      return icnnMapResult(ICNN.load(r.g), ICNN.load(r.f), r.history, r.conditionDim);
    },
  },
});

/** Neural optimal transport with a (weak) quadratic cost (Korotin et al. 2023); see not.ts. */
export const trainNOT = defineSolver({
  name: 'trainNOT',
  summary: 'Neural OT: a (stochastic) transport map for the γ-weak quadratic cost, by a max–min dual.',
  params: ['P', 'Q'],
  options: {
    gamma: opt(num({ min: 0 }), 'Weight γ of the variance term of the weak cost (0: strong ½‖x − y‖²).', '0'),
    zDim: opt(num({ integer: true, min: 0 }), 'Dimension of the noise z (0: a deterministic map).', '0'),
    innerSteps: count('T steps per f step.', '10'),
    iterations: opt(num({ integer: true, min: 0 }), 'Outer iterations (f steps); 0 returns the initial networks.', '1000'),
    batchSize: count('Points per minibatch.', '64'),
    batchSizeF: count("Points of X and of Y in the f step's minibatch.", 'batchSize'),
    zSamples: count('z draws per x.', '4 when zDim > 0, else 1'),
    hiddenT: opt(widths, 'Hidden widths of T.', '[64, 64]'),
    hiddenF: opt(widths, 'Hidden widths of f.', '[64, 64]'),
    activation: opt(mlpActivation, 'Activation of both networks.', "'relu'"),
    activationF: opt(mlpActivation, 'Activation of f alone.', '`activation`'),
    quadraticForm: opt(anyOf(bool, oneOf('belowIdentity')), "f(y) = MLP(y) + ½·yᵀQy with a learned Q (true: free; 'belowIdentity': Q = I − LLᵀ).", "'belowIdentity' when gamma = 0, else false"),
    lrScaleQuadratic: positive("Q's learning rate as a multiple of lrF.", '10'),
    residual: opt(bool, 'T(x, z) = x + MLP([x, z]).', 'true'),
    lrT: positive('Adam learning rate of T.', '1e-3'),
    lrF: positive('Adam learning rate of f.', '1e-3'),
    lrDecay: opt(num({ gt: 0, max: 1 }), 'Final learning rate as a fraction of lrT / lrF (cosine schedule; 1: constant, as in the paper).', '0.1'),
    emaDecay: opt(num({ min: 0, lt: 1 }), "Decay β of an exponential moving average of T's weights (θ̄ ← β_tθ̄ + (1 − β_t)θ per T step, β_t = min(β, (1 + t)/(10 + t))), returned as T; 0: the last weights.", '0.999'),
    beta1: opt(num({ min: 0, lt: 1 }), 'Adam β₁.', '0.9'),
    beta2: opt(num({ min: 0, lt: 1 }), 'Adam β₂.', '0.999'),
    onProgress: progressOption('{ step, lossF, lossT } at every step'),
    ...common,
  },
  backends: ['js', 'wasm', 'webgpu'],
  workEstimate: ([, , o]) => {
    const opts = (o ?? {}) as NOTOptions;
    return numberOr(opts.iterations, 1000) * numberOr(opts.batchSize, 64) * (numberOr(opts.innerSteps, 10) + 1) * (units(opts.hiddenT, [64, 64]) + units(opts.hiddenF, [64, 64]));
  },
  run: (P: NOTSampler | SamplerSpec, Q: NOTSampler | SamplerSpec, opts: NOTOptions & WorkerOption = {}): Promise<NOTResult> => notInProcess(P, Q, opts),
  crossing: {
    reason: ([P, Q]) => specsReason(P, Q),
    toPlain: (r): NOTPlain => ({ T: r.T.save(), f: r.f.save(), zDim: r.zDim, gamma: r.gamma, residual: r.residual, history: r.history }),
    fromPlain: (p) => {
      const r = p as NOTPlain;
      return notResult(MLP.load(r.T), MLP.load(r.f), { zDim: r.zDim, gamma: r.gamma, residual: r.residual, history: r.history });
    },
  },
});

/** A 1-Lipschitz critic (Kantorovich–Rubinstein dual of W1) with a gradient penalty; see critic.ts. */
export const trainKantorovichRubinsteinCritic = defineSolver({
  name: 'trainKantorovichRubinsteinCritic',
  summary: 'Neural OT: a gradient-penalised critic for the Kantorovich–Rubinstein dual of W1.',
  params: ['P', 'Q'],
  options: {
    hidden: opt(widths, 'Hidden widths of the MLP.', '[32, 32]'),
    activation: opt(oneOf('relu', 'leakyRelu', 'softplus', 'tanh', 'sigmoid'), 'Activation.', "'relu'"),
    lambda: opt(num({ min: 0 }), 'Gradient-penalty weight λ.', '10'),
    batchSize: count('Rows per batch.', '256'),
    iterations: opt(num({ integer: true, min: 0 }), 'Critic updates; 0 returns the initial critic.', '300'),
    lr: positive('Adam learning rate.', '5e-3'),
    betas: opt(betasPair, 'Adam (β₁, β₂).', '[0.5, 0.9]'),
    evalSamples: count('Samples of each law for the final estimate.', '4096'),
    onProgress: progressOption('{ step, ... } every progressEvery steps'),
    progressEvery: count('Report every this many steps (the last always).', '10'),
    ...common,
  },
  backends: ['js', 'wasm', 'webgpu'],
  workEstimate: ([, , o]) => {
    const opts = (o ?? {}) as CriticOptions;
    return numberOr(opts.iterations, 300) * numberOr(opts.batchSize, 256) * units(opts.hidden, [32, 32]);
  },
  run: (P: BatchSampler | SamplerSpec, Q: BatchSampler | SamplerSpec, opts: CriticOptions & WorkerOption = {}): Promise<CriticResult> => criticInProcess(P, Q, opts),
  crossing: {
    reason: ([P, Q]) => specsReason(P, Q),
    toPlain: (r): CriticPlain => ({ critic: r.critic.save(), w1Estimate: r.w1Estimate, meanGradNorm: r.meanGradNorm, history: r.history }),
    fromPlain: (p) => {
      const r = p as CriticPlain;
      return criticResult(MLP.load(r.critic), { w1Estimate: r.w1Estimate, meanGradNorm: r.meanGradNorm, history: r.history });
    },
  },
});
