// Adam (Kingma & Ba 2015) over parameter tensors, with the standard bias correction:
//   m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  p ← p − lr · m̂ / (√v̂ + ε),  m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ).
// Updates parameter values in place (no graph is recorded) on the parameters' engine: the moments live next to the
// parameters and the update is one kernel per parameter (engine.adam: a loop on js, a WGSL kernel on webgpu).
// Optional decoupled weight decay (AdamW) is off by default.
import { OTError } from '../errors.js';
import type { Tensor } from './tensor.js';

/** Options of {@link Adam} (torch.optim.Adam's lr, betas, eps, weight_decay as in AdamW). */
export interface AdamOptions {
  /** The step size, > 0. Default 1e-3. */
  lr?: number;
  /** The decay of the first-moment average, in [0, 1). Default 0.9. */
  beta1?: number;
  /** The decay of the second-moment average, in [0, 1). Default 0.999. */
  beta2?: number;
  /** Added to √v̂ in the denominator, ≥ 0. Default 1e-8. */
  eps?: number;
  /** Decoupled weight decay (AdamW): p ← p − lr·wd·p before the Adam step. Default 0. */
  weightDecay?: number;
  /** Per parameter, a factor on lr (one positive number per parameter; default all 1): PyTorch's parameter groups. */
  lrScale?: readonly number[];
}

/**
 * Adam (Kingma & Ba 2015) with bias correction over parameter tensors, updated in place on their engine (one
 * kernel per parameter; the moments m, v live next to the parameters):
 * m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², p ← p − lr·m̂/(√v̂ + ε) with m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ).
 * With `weightDecay`, AdamW's decoupled decay p ← p − lr·wd·p comes first. Call `dispose()` to free the moments.
 */
export class Adam {
  /** The parameters it updates, in the order `step(grads)` expects their gradients. */
  readonly params: Tensor[];
  /** The step size (mutable: set it between steps for a schedule). */
  lr: number;
  /** The first-moment decay β₁. */
  readonly beta1: number;
  /** The second-moment decay β₂. */
  readonly beta2: number;
  /** The denominator's ε. */
  readonly eps: number;
  /** The decoupled weight decay (0: plain Adam). */
  readonly weightDecay: number;
  /** The factor on lr of each parameter. */
  readonly lrScale: readonly number[];
  private t = 0;
  private disposed = false;
  private readonly m: unknown[];
  private readonly v: unknown[];

  constructor(params: Tensor[], opts: AdamOptions = {}) {
    this.params = params;
    this.lr = opts.lr ?? 1e-3;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    if (!(this.lr > 0) || !(this.beta1 >= 0 && this.beta1 < 1) || !(this.beta2 >= 0 && this.beta2 < 1) || !(this.eps >= 0)) {
      throw new OTError('invalid-option', 'Adam: need lr > 0, 0 <= beta1, beta2 < 1 and eps >= 0');
    }
    this.lrScale = opts.lrScale ? [...opts.lrScale] : params.map(() => 1);
    if (this.lrScale.length !== params.length || !this.lrScale.every((f) => f > 0 && Number.isFinite(f))) {
      throw new OTError('invalid-option', `Adam: lrScale needs one positive factor per parameter (${params.length})`);
    }
    this.m = params.map((p) => p.engine.full(p.size, 0));
    this.v = params.map((p) => p.engine.full(p.size, 0));
  }

  /** Number of steps taken. */
  get steps(): number {
    return this.t;
  }

  /** One update with `grads[i]` the gradient of the loss w.r.t. `params[i]` (same shape). */
  step(grads: Tensor[]): void {
    if (grads.length !== this.params.length) {
      throw new OTError('shape', `Adam.step: ${grads.length} gradients for ${this.params.length} parameters`);
    }
    grads.forEach((g, i) => {
      const p = this.params[i];
      if (g.size !== p.size) throw new OTError('shape', `Adam.step: gradient ${i} has ${g.size} entries, its parameter ${p.size}`);
      if (g.engine !== p.engine) throw new OTError('invalid-option', `Adam.step: gradient ${i} is on the '${g.engine.name}' engine, its parameter on '${p.engine.name}'`);
    });
    if (this.disposed) throw new OTError('disposed', 'Adam.step: this optimizer was disposed');
    this.t++;
    const { beta1, beta2, eps, lr, weightDecay } = this;
    const hyper = { beta1, beta2, eps, lr, weightDecay, c1: 1 - Math.pow(beta1, this.t), c2: 1 - Math.pow(beta2, this.t) };
    this.params.forEach((p, i) => {
      const h = this.lrScale[i] === 1 ? hyper : { ...hyper, lr: lr * this.lrScale[i] };
      p.engine.adam(p.live(), grads[i].live(), this.m[i], this.v[i], h);
    });
  }

  /** Frees the moment storages (GPU memory); the optimizer cannot step afterwards. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.params.forEach((p, i) => {
      p.engine.release(this.m[i]);
      p.engine.release(this.v[i]);
    });
  }
}

/**
 * The cosine learning-rate schedule's factor at `step` (1-based) of `iterations`: 1 at the first step, `final` at
 * the last, (1 + cos(π·t))/2 in between (t = (step − 1)/(iterations − 1)); 1 throughout for a single step.
 */
export function cosineFactor(step: number, iterations: number, final: number): number {
  return iterations <= 1 ? 1 : final + ((1 - final) * (1 + Math.cos((Math.PI * (step - 1)) / (iterations - 1)))) / 2;
}
