// Adam (Kingma & Ba 2015) over parameter tensors, with the standard bias correction:
//   m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  p ← p − lr · m̂ / (√v̂ + ε),  m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ).
// Updates parameter data in place (no graph is recorded). Optional decoupled weight decay (AdamW) is off by default.
import { OTError } from '../errors.js';
import type { Tensor } from './tensor.js';

export interface AdamOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay (AdamW): p ← p − lr·wd·p before the Adam step. Default 0. */
  weightDecay?: number;
}

export class Adam {
  readonly params: Tensor[];
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private t = 0;
  private readonly m: Float64Array[];
  private readonly v: Float64Array[];

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
    this.m = params.map((p) => new Float64Array(p.size));
    this.v = params.map((p) => new Float64Array(p.size));
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
    this.t++;
    const { beta1: b1, beta2: b2, eps, lr, weightDecay: wd } = this;
    const c1 = 1 - Math.pow(b1, this.t);
    const c2 = 1 - Math.pow(b2, this.t);
    for (let i = 0; i < this.params.length; i++) {
      const p = this.params[i].data;
      const g = grads[i].data;
      if (g.length !== p.length) {
        throw new OTError('shape', `Adam.step: gradient ${i} has ${g.length} entries, its parameter ${p.length}`);
      }
      const m = this.m[i];
      const v = this.v[i];
      for (let j = 0; j < p.length; j++) {
        const gj = g[j];
        m[j] = b1 * m[j] + (1 - b1) * gj;
        v[j] = b2 * v[j] + (1 - b2) * gj * gj;
        if (wd !== 0) p[j] -= lr * wd * p[j];
        p[j] -= (lr * (m[j] / c1)) / (Math.sqrt(v[j] / c2) + eps);
      }
    }
  }
}
