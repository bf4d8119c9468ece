// Models for neural OT on the CPU engine: an MLP and an input-convex network (ICNN).
//
// Layers compute x·W + b with W of shape [in, out], one sample per row of x ([n, d]).
//
// ICNN (Amos, Xu & Kolter 2017, in the form Makkuva et al. 2020 use for T = ∇g), hidden widths h₁..h_L:
//   z₁      = σ(x·Wx₀ + b₀)
//   z_{k+1} = σ(z_k·Wz_{k−1} + x·Wx_k + b_k),      k = 1..L−1
//   g(x)    = z_L·Wz_{L−1} + x·Wx_L + b_L  (+ (c/2)‖x‖² with `quadratic`, + ½‖x·A‖² with `quadraticForm`)   → [n, 1]
// Every Wz is kept entrywise ≥ 0 (`project()` clamps; call it after every optimizer step) and σ is convex and
// non-decreasing (leaky relu with 0 ≤ α ≤ 1, or softplus), so g is convex in x: z₁ is convex; a non-negative
// combination of convex functions plus an affine one, passed through a convex non-decreasing σ, stays convex;
// the output is linear in z_L with non-negative weights. (The quadratic term makes g c-strongly convex; ½‖x·A‖² is
// convex for any A, so A needs no constraint.)
// `grad(x)` = ∇ₓ Σᵢ g(xᵢ), i.e. the map T(xᵢ) = ∇g(xᵢ) row by row, by autodiff; inside a recording context it is
// differentiable w.r.t. the weights (the Makkuva loss needs that), under `noGrad` it is a detached constant.
//
// Initialisation (seeded, ts/rng.ts, in this order): for k = 0..L: Wx_k, b_k ~ U(±1/√d) (PyTorch's nn.Linear
// default for fan-in d), then for k ≥ 1 Wz_{k−1} ~ U(0, 1/√h_k) (non-negative, so no clamping at step 0).
// MLP: per layer W, b ~ U(±1/√fan_in) (ts/neural/init.ts `linearInit`). With `quadraticForm` (one output) it adds
// ½·xᵀQx, Q free from 0 or I − LLᵀ with L from the identity: a relu network's gradient is piecewise constant, so the
// linear part of a potential's gradient (the affine part of a transport map) is what it fits worst (trainNOT's
// `quadraticForm`, bench/README).
//
// save() returns plain JSON ({ type, version, config, params: [{ name, shape, data }] }); numbers round-trip
// exactly through JSON.stringify/parse, so a loaded model gives bit-identical outputs.
//
// Engines: `engine` (option of the constructors and of load) puts the parameters on a tensor engine (default js;
// ts/neural/engine.ts). The weights are drawn in f64 either way, so a webgpu model starts from the js model of the
// same seed rounded to f32. save() reads values synchronously (js engine); saveAsync() works on every engine.
import { OTError } from '../errors.js';
import { Rng } from '../rng.js';
import type { TensorEngine } from './engine.js';
import { linearInit, uniformInit } from './init.js';
import { jsTensorEngine } from './js-engine.js';
import {
  Tensor,
  add,
  enableGrad,
  exp,
  grad as autograd,
  isGradEnabled,
  leakyRelu,
  linear,
  matmul,
  mul,
  neg,
  parameter,
  reshape,
  relu,
  scale,
  sigmoid,
  softplus,
  square,
  sub,
  sum,
  tanh,
  tensor,
} from './tensor.js';

/** The names of {@link Activation} (the trainers' option schemas check against them). */
export const ACTIVATIONS = ['relu', 'leakyRelu', 'softplus', 'tanh', 'sigmoid', 'celu'] as const;

/** An activation by name: 'relu', 'leakyRelu' (slope `alpha` below 0), 'softplus' log(1 + eˣ), 'tanh', 'sigmoid', 'celu' (α = 1). */
export type Activation = (typeof ACTIVATIONS)[number];

/**
 * CELU with α = 1 (Barron 2017): x for x > 0, eᕽ − 1 below; convex, non-decreasing and C¹ — the activation of
 * Korotin et al.'s DenseICNN. Written as relu(x) + exp(−relu(−x)) − 1 with differentiable ops, so its second
 * derivative (eᕽ for x < 0, 0 above) is exact for double backward.
 */
export function celu(x: Tensor): Tensor {
  return sub(add(relu(x), exp(neg(relu(neg(x))))), 1);
}

/**
 * Applies the activation `act` entrywise (a differentiable op); `alpha` is the leaky-relu slope (default 0.2,
 * ignored by the others). OTError('invalid-option') for an unknown name.
 */
export function activate(x: Tensor, act: Activation, alpha = 0.2): Tensor {
  switch (act) {
    case 'relu':
      return relu(x);
    case 'leakyRelu':
      return leakyRelu(x, alpha);
    case 'softplus':
      return softplus(x);
    case 'tanh':
      return tanh(x);
    case 'sigmoid':
      return sigmoid(x);
    case 'celu':
      return celu(x);
    default:
      throw new OTError('invalid-option', `unknown activation '${act as string}' (relu, leakyRelu, softplus, tanh, sigmoid, celu)`);
  }
}

/** One parameter tensor in a {@link SavedModel}. */
export interface SavedParam {
  /** Its name in the model ('w0', 'b0', … for an MLP; 'wx0', 'b0', 'wz0', 'wq' for an ICNN), checked on load. */
  name: string;
  /** Its shape, checked on load. */
  shape: number[];
  /** Its values, row-major, as plain numbers (JSON round-trips them exactly). */
  data: number[];
}

/** A model as plain JSON (`save()` / `saveAsync()`; `MLP.load` / `ICNN.load` rebuild it bit for bit). */
export interface SavedModel<C> {
  /** Which model: 'mlp' or 'icnn'. */
  type: 'mlp' | 'icnn';
  /** The format version (1). */
  version: 1;
  /** The architecture ({@link MLPConfig} or {@link ICNNConfig}). */
  config: C;
  /** The parameters, in the model's order. */
  params: SavedParam[];
}

function checkWidths(widths: readonly number[], min: number, what: string): void {
  if (widths.length < min || widths.some((w) => !Number.isInteger(w) || w < 1)) {
    throw new OTError('invalid-option', `${what}: need at least ${min} positive integer widths, got [${widths.join(', ')}]`);
  }
}

function saveParams(named: [string, Tensor][], values: Float64Array[]): SavedParam[] {
  return named.map(([name, t], i) => ({ name, shape: [...t.shape], data: Array.from(values[i]) }));
}

function loadParams(named: [string, Tensor][], saved: SavedParam[]): void {
  if (!Array.isArray(saved) || saved.length !== named.length) {
    throw new OTError('invalid-option', `load: expected ${named.length} parameters, got ${Array.isArray(saved) ? saved.length : 'none'}`);
  }
  named.forEach(([name, t], i) => {
    const s = saved[i];
    if (s.name !== name || s.shape.length !== t.shape.length || s.shape.some((d, j) => d !== t.shape[j]) || s.data.length !== t.size) {
      throw new OTError('invalid-option', `load: parameter ${i} should be ${name} [${t.shape.join(', ')}], got ${s.name} [${s.shape.join(', ')}]`);
    }
    for (let j = 0; j < t.size; j++) {
      const v = s.data[j];
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new OTError('nan', `load: ${name}[${j}] is not a finite number`);
    }
    t.assign(s.data);
  });
}

/** What MLP and ICNN share: named parameters, save / load, disposal. */
export abstract class Model<C> {
  /** The parameters with their names, in the saved order. */
  protected abstract named(): [string, Tensor][];
  /** The `type` of the saved JSON. */
  protected abstract readonly kind: 'mlp' | 'icnn';
  /** The architecture, as saved (C is {@link MLPConfig} or {@link ICNNConfig}). */
  abstract readonly config: C;

  /** The trainable parameter tensors (requiresGrad), in the saved order: what an optimizer such as {@link Adam} takes. */
  parameters(): Tensor[] {
    return this.named().map(([, t]) => t);
  }

  /** The engine the parameters live on. */
  get engine(): TensorEngine {
    return this.named()[0][1].engine;
  }

  private saved(values: Float64Array[]): SavedModel<C> {
    return { type: this.kind, version: 1, config: JSON.parse(JSON.stringify(this.config)) as C, params: saveParams(this.named(), values) };
  }

  /** Plain JSON of the model (js engine; use saveAsync on webgpu). */
  save(): SavedModel<C> {
    return this.saved(this.parameters().map((t) => t.data));
  }

  /** Plain JSON of the model, on any engine (reads the weights back from the GPU). */
  async saveAsync(): Promise<SavedModel<C>> {
    return this.saved(await Promise.all(this.parameters().map((t) => t.read())));
  }

  /** A copy of the model on `engine` (async: leaving the GPU reads the weights back). */
  async toEngine(engine: TensorEngine): Promise<this> {
    const saved = await this.saveAsync();
    const cls = this.constructor as unknown as { load(s: SavedModel<C>, o: { engine: TensorEngine }): Model<C> };
    return cls.load(saved, { engine }) as this;
  }

  /** Frees the parameters' storage (GPU memory); the model is unusable afterwards. */
  dispose(): void {
    for (const t of this.parameters()) t.dispose();
  }
}

// ---- MLP --------------------------------------------------------------------------------------------------------

/** The architecture of an {@link MLP} (saved with it). */
export interface MLPConfig {
  /** Layer widths [d₀, …, d_K]: input d₀, output d_K. */
  widths: number[];
  /** The activation between layers. */
  activation: Activation;
  /** The leaky-relu slope. */
  alpha: number;
  /** The learned quadratic term added to the scalar output, if any (absent in saves before it existed). */
  quadraticForm?: MLPQuadraticForm;
}

/**
 * A learned quadratic added to an MLP's scalar output, with its d₀ × d₀ parameter `wq`: `true` ½·xᵀQx with Q = wq
 * free, starting at 0; `'belowIdentity'` ½‖x‖² − ½‖x·L‖² with L = wq starting at the identity (0 at the start too),
 * i.e. Q = I − LLᵀ ⪯ I — for a potential f whose ½‖x − y‖² − f(y) must stay bounded below in y.
 */
export type MLPQuadraticForm = true | 'belowIdentity';

/** Options of the {@link MLP} constructor. */
export interface MLPOptions {
  /** The activation between layers (none after the last). Default 'relu'. */
  activation?: Activation;
  /** Leaky-relu slope (default 0.2). */
  alpha?: number;
  /** Seed of the initial weights (PyTorch's nn.Linear default, U(±1/√fan_in)). Default 0. */
  seed?: number;
  /** Where the parameters live (default the js engine). */
  engine?: TensorEngine;
  /**
   * Add a learned quadratic to the output ({@link MLPQuadraticForm}; needs d_K = 1): a potential whose gradient has
   * a linear part, which a relu network's piecewise-constant gradient only approximates. Default false (none).
   */
  quadraticForm?: boolean | MLPQuadraticForm;
}

/** widths [d₀, …, d_K]: K dense layers, `activation` between them, none after the last. */
export class MLP extends Model<MLPConfig> {
  /** 'mlp'. */
  protected readonly kind = 'mlp' as const;
  /** The widths, activation and slope. */
  readonly config: MLPConfig;
  /** W_k, shape [d_k, d_{k+1}] (layers compute x·W + b); K of them. */
  readonly weights: Tensor[] = [];
  /** b_k, shape [d_{k+1}]; K of them. */
  readonly biases: Tensor[] = [];
  /** Q or L, [d₀, d₀], with `quadraticForm` (else undefined). */
  readonly wq?: Tensor;

  constructor(widths: number[], opts: MLPOptions = {}) {
    super();
    checkWidths(widths, 2, 'MLP');
    this.config = { widths: [...widths], activation: opts.activation ?? 'relu', alpha: opts.alpha ?? 0.2 };
    activate(tensor([0]), this.config.activation); // validates the name
    const rng = new Rng(opts.seed ?? 0);
    for (let k = 0; k + 1 < widths.length; k++) {
      const { w, b } = linearInit(rng, widths[k], widths[k + 1], opts.engine);
      this.weights.push(w);
      this.biases.push(b);
    }
    const qf: unknown = opts.quadraticForm;
    if (qf !== undefined && qf !== false && qf !== true && qf !== 'belowIdentity') {
      throw new OTError('invalid-option', `MLP: quadraticForm is true, false or 'belowIdentity', got ${String(qf)}`);
    }
    if (opts.quadraticForm) {
      if (widths[widths.length - 1] !== 1) throw new OTError('invalid-option', `MLP: the quadratic form needs one output, the widths end in ${widths[widths.length - 1]}`);
      const d = widths[0];
      const below = opts.quadraticForm === 'belowIdentity';
      this.config.quadraticForm = below ? 'belowIdentity' : true;
      this.wq = parameter(Float64Array.from({ length: d * d }, (_, k) => (below && k % (d + 1) === 0 ? 1 : 0)), [d, d], opts.engine);
    }
  }

  /** The network on x, [n, d₀] (one sample per row) → [n, d_K]. Cost O(n·Σ d_k·d_{k+1}). */
  forward(x: Tensor): Tensor {
    if (x.rank !== 2 || x.shape[1] !== this.config.widths[0]) {
      throw new OTError('shape', `MLP: input must be [n, ${this.config.widths[0]}], got [${x.shape.join(', ')}]`);
    }
    let h = x;
    const K = this.weights.length;
    for (let k = 0; k < K; k++) {
      h = linear(h, this.weights[k], this.biases[k]);
      if (k + 1 < K) h = activate(h, this.config.activation, this.config.alpha);
    }
    if (!this.wq) return h;
    // per row: ½·Σ_j x_j (xQ)_j (only the symmetric part of Q counts), or ½‖x‖² − ½‖xL‖²
    const form = this.config.quadraticForm === 'belowIdentity' ? sub(square(x), square(matmul(x, this.wq))) : mul(x, matmul(x, this.wq));
    return add(h, scale(sum(form, 1, true), 0.5));
  }

  /** [['w0', W₀], ['b0', b₀], ['w1', W₁], …, ['wq', Q] with quadraticForm]. */
  protected named(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    this.weights.forEach((w, k) => out.push([`w${k}`, w], [`b${k}`, this.biases[k]]));
    if (this.wq) out.push(['wq', this.wq]);
    return out;
  }

  /** Rebuilds a saved MLP on `opts.engine` (default js); OTError('invalid-option') / ('nan') for a malformed save. */
  static load(saved: SavedModel<MLPConfig>, opts: { engine?: TensorEngine } = {}): MLP {
    if (!saved || saved.type !== 'mlp' || saved.version !== 1) throw new OTError('invalid-option', 'MLP.load: not a saved MLP (type "mlp", version 1)');
    const m = new MLP(saved.config.widths, { activation: saved.config.activation, alpha: saved.config.alpha, quadraticForm: saved.config.quadraticForm, engine: opts.engine });
    loadParams(m.named(), saved.params);
    return m;
  }
}

// ---- ICNN -------------------------------------------------------------------------------------------------------

/** The architecture of an {@link ICNN} (saved with it). */
export interface ICNNConfig {
  /** The input dimension d. */
  dim: number;
  /** The hidden widths h₁..h_L. */
  hidden: number[];
  /** The convex non-decreasing activation. */
  activation: ICNNActivation;
  /** The leaky-relu slope, in [0, 1]. */
  alpha: number;
  /** Coefficient c of the (c/2)‖x‖² term (0 = none). */
  quadratic: number;
  /** Rank r of the learned convex quadratic ½‖x·A‖², A ∈ R^{dim×r} (0 = none; absent in older saves = 0). */
  quadraticRank?: number;
  /** Rank of the convex quadratic skip of every hidden layer (DenseICNN; 0 = none; absent in older saves = 0). */
  layerQuadraticRank?: number;
}

/** The convex non-decreasing activations an ICNN accepts. */
export type ICNNActivation = 'leakyRelu' | 'softplus' | 'celu';

/** Options of the {@link ICNN} constructor. */
export interface ICNNOptions {
  /** Convex non-decreasing activation (default 'leakyRelu'). */
  activation?: ICNNActivation;
  /** Leaky-relu slope in [0, 1] (default 0.2). */
  alpha?: number;
  /** Add ½‖x‖² (true) or (c/2)‖x‖² (a number c ≥ 0). Default none. */
  quadratic?: boolean | number;
  /**
   * Add a learned convex quadratic ½‖x·A‖² (A: dim × r, any real matrix, so AAᵀ is any PSD form of rank ≤ r):
   * true = full rank r = dim, a number = that rank. A starts as the first r columns of the identity, so with
   * r = dim the network starts near ½‖x‖² (∇g ≈ identity). Makes affine maps (Gaussian → Gaussian) exactly
   * representable — the role of the quadratic layers in Korotin et al.'s DenseICNN. Default none.
   */
  quadraticForm?: boolean | number;
  /**
   * Rank r of a convex quadratic skip Σⱼ (x·q_{k,u,j})² added to the input of every hidden unit u of every hidden
   * layer k, next to the affine x·Wx_k + b_k: Korotin et al.'s DenseICNN (their `ConvexQuadratic` layers, rank 1 in
   * the Wasserstein-2 benchmark). The units then see convex quadratic features of x, not only half-planes, so a
   * bumpy convex potential needs far fewer of them. Default 0 (none).
   */
  layerQuadratic?: number;
  /** Seed of the initial weights (Wx, b ~ U(±1/√dim); Wz ~ U(0, 1/√h_k), non-negative). Default 0. */
  seed?: number;
  /** Where the parameters live (default the js engine). */
  engine?: TensorEngine;
}

/**
 * An input-convex neural network g: R^dim → R (Amos, Xu & Kolter 2017, in Makkuva et al. 2020's form), convex in x
 * as long as `project()` keeps the hidden-to-hidden weights ≥ 0; `grad(x)` is the transport map T = ∇g:
 * z₁ = σ(x·Wx₀ + b₀), z_{k+1} = σ(z_k·Wz_{k−1} + x·Wx_k + b_k), g(x) = z_L·Wz_{L−1} + x·Wx_L + b_L (+ quadratic terms).
 */
export class ICNN extends Model<ICNNConfig> {
  /** 'icnn'. */
  protected readonly kind = 'icnn' as const;
  /** The dimension, hidden widths, activation and quadratic terms. */
  readonly config: ICNNConfig;
  /** x → layer k, shape [dim, out_k]; L + 1 of them. */
  readonly wx: Tensor[] = [];
  /** biases, shape [out_k]; L + 1 of them. */
  readonly b: Tensor[] = [];
  /** z_k → layer k (k = 1..L) stored at index k − 1, shape [h_k, out_k]; kept ≥ 0. */
  readonly wz: Tensor[] = [];
  /** A of the learned quadratic ½‖x·A‖², shape [dim, r] (when quadraticForm is on); unconstrained. */
  readonly wq: Tensor | undefined;
  /** Per hidden layer k, the quadratic skip weights [dim, h_k · r] (unit u's rank-r block at columns u·r..u·r+r−1). */
  readonly wqk: Tensor[] = [];

  constructor(dim: number, hidden: number[], opts: ICNNOptions = {}) {
    super();
    if (!Number.isInteger(dim) || dim < 1) throw new OTError('invalid-option', `ICNN: dim must be a positive integer, got ${dim}`);
    checkWidths(hidden, 1, 'ICNN hidden');
    const activation = opts.activation ?? 'leakyRelu';
    if (activation !== 'leakyRelu' && activation !== 'softplus' && activation !== 'celu') {
      throw new OTError('invalid-option', `ICNN: activation must be convex and non-decreasing ('leakyRelu', 'softplus' or 'celu'), got '${activation as string}'`);
    }
    const lq = opts.layerQuadratic ?? 0;
    if (!Number.isInteger(lq) || lq < 0) throw new OTError('invalid-option', `ICNN: layerQuadratic must be an integer rank ≥ 0, got ${String(lq)}`);
    const alpha = opts.alpha ?? 0.2;
    if (!(alpha >= 0 && alpha <= 1)) throw new OTError('invalid-option', `ICNN: leaky-relu slope must be in [0, 1] for convexity, got ${alpha}`);
    const q = opts.quadratic === true ? 1 : opts.quadratic === false || opts.quadratic === undefined ? 0 : opts.quadratic;
    if (!(q >= 0) || !Number.isFinite(q)) throw new OTError('invalid-option', `ICNN: quadratic coefficient must be >= 0, got ${q}`);
    const qf = opts.quadraticForm;
    const rank = qf === true ? dim : qf === false || qf === undefined ? 0 : qf;
    if (!Number.isInteger(rank) || rank < 0) throw new OTError('invalid-option', `ICNN: quadraticForm must be a boolean or a rank ≥ 0, got ${String(qf)}`);
    this.config = { dim, hidden: [...hidden], activation, alpha, quadratic: q, quadraticRank: rank, layerQuadraticRank: lq };
    const rng = new Rng(opts.seed ?? 0);
    const outs = [...hidden, 1];
    const bx = 1 / Math.sqrt(dim);
    for (let k = 0; k < outs.length; k++) {
      const e = opts.engine;
      this.wx.push(uniformInit(rng, [dim, outs[k]], -bx, bx, e));
      this.b.push(uniformInit(rng, [outs[k]], -bx, bx, e));
      if (k >= 1) this.wz.push(uniformInit(rng, [hidden[k - 1], outs[k]], 0, 1 / Math.sqrt(hidden[k - 1]), e));
    }
    // drawn after every other weight, so networks without them keep their seeded initialisation; at the affine
    // weights' scale (on the W2 benchmark, D = 8, 300 steps: 7.2 % L2-UVP; at 0.3× that scale 11.2 %, at 0.1× 17.8 %)
    if (lq > 0) for (const h of hidden) this.wqk.push(uniformInit(rng, [dim, h * lq], -bx, bx, opts.engine));
    if (rank > 0) {
      const A = new Float64Array(dim * rank);
      for (let i = 0; i < Math.min(dim, rank); i++) A[i * rank + i] = 1;
      this.wq = parameter(A, [dim, rank], opts.engine);
    }
  }

  /** g(x), shape [n, 1]. */
  forward(x: Tensor): Tensor {
    const { dim, activation, alpha, quadratic } = this.config;
    if (x.rank !== 2 || x.shape[1] !== dim) throw new OTError('shape', `ICNN: input must be [n, ${dim}], got [${x.shape.join(', ')}]`);
    const L = this.config.hidden.length;
    const skip = (k: number) => {
      const aff = linear(x, this.wx[k], this.b[k]);
      if (k >= this.wqk.length) return aff;
      const r = this.config.layerQuadraticRank ?? 0;
      const sq = square(matmul(x, this.wqk[k]));
      const n = x.shape[0];
      const h = this.config.hidden[k];
      return add(aff, r === 1 ? sq : reshape(sum(reshape(sq, [n * h, r]), 1), [n, h]));
    };
    let z = activate(skip(0), activation, alpha);
    for (let k = 1; k <= L; k++) {
      const pre = add(matmul(z, this.wz[k - 1]), skip(k));
      z = k < L ? activate(pre, activation, alpha) : pre;
    }
    if (quadratic > 0) z = add(z, scale(sum(square(x), 1, true), quadratic / 2));
    if (this.wq) z = add(z, scale(sum(square(matmul(x, this.wq)), 1, true), 0.5));
    return z;
  }

  /**
   * T(x) = ∇ₓg(x) row by row, shape [n, dim]. Differentiable w.r.t. the weights (and x) when `createGraph`
   * (default: whether recording is on, so `noGrad(() => icnn.grad(x))` gives a detached map).
   */
  grad(x: Tensor, opts: { createGraph?: boolean } = {}): Tensor {
    const createGraph = opts.createGraph ?? isGradEnabled();
    return enableGrad(() => {
      const xin = x.requiresGrad ? x : x.detach().requireGrad();
      return autograd(sum(this.forward(xin)), [xin], { createGraph })[0];
    });
  }

  /** Clamps every hidden-to-hidden weight at 0 (call after each optimizer step). */
  project(): void {
    for (const w of this.wz) w.engine.clampMin(w.live(), 0);
  }

  /** [['wx0', Wx₀], ['b0', b₀], …, ['wz0', Wz₀], …, ['wq', A] when quadraticForm is on]. */
  protected named(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    this.wx.forEach((w, k) => out.push([`wx${k}`, w], [`b${k}`, this.b[k]]));
    this.wz.forEach((w, k) => out.push([`wz${k}`, w]));
    if (this.wq) out.push(['wq', this.wq]);
    this.wqk.forEach((w, k) => out.push([`wqk${k}`, w]));
    return out;
  }

  /**
   * Rebuilds a saved ICNN on `opts.engine` (default js); OTError('invalid-option') / ('nan') for a malformed save,
   * ('negative') when a hidden-to-hidden weight is negative (the network would not be convex).
   */
  static load(saved: SavedModel<ICNNConfig>, opts: { engine?: TensorEngine } = {}): ICNN {
    if (!saved || saved.type !== 'icnn' || saved.version !== 1) throw new OTError('invalid-option', 'ICNN.load: not a saved ICNN (type "icnn", version 1)');
    const c = saved.config;
    const m = new ICNN(c.dim, c.hidden, { activation: c.activation, alpha: c.alpha, quadratic: c.quadratic, quadraticForm: c.quadraticRank ?? 0, layerQuadratic: c.layerQuadraticRank ?? 0, engine: opts.engine });
    loadParams(m.named(), saved.params);
    // the saved values (checked by loadParams), not the engine's: those may need a read-back
    if (saved.params.some((p) => p.name.startsWith('wz') && p.data.some((v) => v < 0))) {
      m.dispose();
      throw new OTError('negative', 'ICNN.load: a hidden-to-hidden weight is negative (the network would not be convex)');
    }
    return m;
  }
}


/**
 * Trained models as the trainers return them, on the js engine: the models themselves, or f64 copies of models
 * trained on another engine (whose storage is then freed). Keeps results synchronous and exact to evaluate.
 */
export async function onJsEngine<M extends Model<unknown>>(models: M[]): Promise<M[]> {
  const js = jsTensorEngine;
  const out = await Promise.all(models.map((m) => (m.engine === js ? m : m.toEngine(js))));
  models.forEach((m, i) => {
    if (out[i] !== m) m.dispose();
  });
  return out;
}

/** Frees models that live off the js engine (a trainer's cleanup when training fails). */
export function disposeOffJs(models: Model<unknown>[]): void {
  for (const m of models) if (m.engine.name !== 'js') m.dispose();
}
