// An exponential moving average of a network's weights (Polyak–Ruppert averaging, as GAN and max–min trainers
// evaluate the averaged generator instead of the last iterate): θ̄ ← β_t·θ̄ + (1 − β_t)·θ after the t-th update of θ,
// with β_t = min(β, (1 + t)/(10 + t)) (the warm-up of TensorFlow's ExponentialMovingAverage): early on the average
// follows θ closely, so a short run is not held back at its initial weights; after ~10/(1 − β) updates β_t = β.
// The averages live on the parameters' engine (no read-back per step); three small entrywise ops per parameter.
import type { SavedModel } from './models.js';
import { type Tensor, add, noGrad, scale, tidy } from './tensor.js';

/** The running average θ̄ of some parameter tensors; starts at their current values. */
export class WeightAverage {
  private avg: Tensor[];
  private t = 0;

  constructor(
    private readonly params: Tensor[],
    /** The decay β in [0, 1): the average spans about 1/(1 − β) updates. */
    readonly decay: number,
  ) {
    this.avg = params.map((p) => p.clone());
  }

  /** θ̄ ← β_t·θ̄ + (1 − β_t)·θ, β_t = min(β, (1 + t)/(10 + t)) at the t-th call (call after each optimizer step). */
  update(): void {
    this.t++;
    const b = Math.min(this.decay, (1 + this.t) / (10 + this.t));
    const next = tidy(() => noGrad(() => this.params.map((p, i) => add(scale(this.avg[i], b), scale(p, 1 - b)))));
    for (const t of this.avg) t.dispose();
    this.avg = next;
  }

  /** A saved model with the averages in place of its parameters' values (same order as `params`). */
  async into<C>(saved: SavedModel<C>): Promise<SavedModel<C>> {
    const values = await Promise.all(this.avg.map((t) => t.read()));
    return { ...saved, params: saved.params.map((p, i) => ({ ...p, data: Array.from(values[i]) })) };
  }

  /** Frees the averages' storages. */
  dispose(): void {
    for (const t of this.avg) t.dispose();
  }
}
