// Iterative Bregman projections (Benamou, Carlier, Cuturi, Nenna & Peyré 2015): the one iteration of every
// entropic barycenter here — fixed support (a cost matrix or point clouds) and convolutional (a grid, Solomon
// et al. 2015) — over the kernel operation of ts/barycenter/kernel.ts, on any backend. In potentials:
//   H_t = log Kᵀu_t after the f-update from g_t (the kernel's step),
//   log p = Σ_t λ_t (g_t/ε + H_t)      (the KL projection onto equal second marginals: p = Π_t (v_t ⊙ Kᵀu_t)^λ_t),
//   g_t ← ε (log p − H_t)               (v_t = p / Kᵀu_t).
// This loop owns the weights, the stopping measure, ε-scaling, progress and abort.
import { OTError } from '../errors.js';
import { abortPoint } from '../validate.js';
import type { BarycenterKernel } from './kernel.js';

export interface IbpOptions {
  /** Barycentric weights λ (k, summing to 1). */
  lambda: Float64Array;
  /** The ε of each stage (ε-scaling), the last one the target reg; potentials carry over between stages. */
  schedule: number[];
  maxIter: number;
  tol: number;
  /**
   * 'marginal': Σ_t λ_t ‖v_t ⊙ Kᵀu_t − p‖₁, the violation of the equal-second-marginals constraint (IBP);
   * 'change': Σ|p − p_previous| / Σp, relative because p may start out tiny (the convolutional barycenter, as POT).
   */
  measure: 'marginal' | 'change';
  /** Compute the measure (and report progress) every k iterations and at the last one. Default 10. */
  checkEvery?: number;
  signal?: AbortSignal;
  onProgress?: (p: { iterations: number; error: number; eps: number }) => void;
  /** The message of the 'numerical' error when the measure or the kernel's output is not finite. */
  onNonFinite: (eps: number) => string;
}

export interface IbpResult {
  /** log of the (unnormalized) barycenter of the last iteration. */
  logp: Float64Array;
  iterations: number;
  error: number;
  converged: boolean;
}

/** log 1e-30: POT's floor of the scaling form of the convolutional barycenter. */
const LOG_FLOOR = Math.log(1e-30);

export async function ibp(kernel: BarycenterKernel, o: IbpOptions): Promise<IbpResult> {
  const { k, m } = kernel;
  const lambda = o.lambda;
  const floored = kernel.floor === 'scaling';
  const every = o.checkEvery ?? 10;
  const G = new Float64Array(k * m); // v_t = 1
  const H = new Float64Array(k * m);
  let logp = new Float64Array(m);
  let prevLogp = new Float64Array(m).fill(-Infinity); // p = 0 before the first iteration
  let iterations = 0;
  let error = Infinity;
  let converged = false;
  for (let s = 0; s < o.schedule.length; s++) {
    const eps = o.schedule[s];
    const inv = 1 / eps;
    const last = s === o.schedule.length - 1;
    await kernel.setEps(eps);
    // intermediate ε only need a rough solution: the next stage refines it (as ts/entropic/problem.ts iterate)
    const stageTol = last ? o.tol : Math.max(o.tol, 1e-3);
    const stageCap = last ? o.maxIter - iterations : Math.min(o.maxIter - iterations, 100);
    converged = false;
    for (let done = 0; done < stageCap; ) {
      await abortPoint(o.signal, () => `after ${iterations} iterations at ε = ${eps}`);
      await kernel.step(G, H);
      iterations++;
      done++;
      [prevLogp, logp] = [logp, prevLogp];
      project(G, H, logp, lambda, inv, floored);
      // the measure, every `every` iterations and at the last one of a stage (before G moves on)
      const check = done % every === 0 || done === stageCap;
      if (check) {
        error = o.measure === 'marginal' ? marginalError(G, H, logp, lambda, inv, floored, k, m) : relativeChange(logp, prevLogp);
        if (!Number.isFinite(error)) throw new OTError('numerical', o.onNonFinite(eps));
      }
      update(G, H, logp, eps, floored);
      if (check) {
        o.onProgress?.({ iterations, error, eps });
        if (error < stageTol) {
          converged = true;
          break;
        }
      }
    }
  }
  return { logp, iterations, error, converged };
}

/** log p = Σ_t λ_t log (v_t ⊙ Kᵀu_t) = Σ_t λ_t (g_t/ε + H_t), the product floored at 1e-30 in the grid's scaling form. */
function project(G: Float64Array, H: Float64Array, logp: Float64Array, lambda: Float64Array, inv: number, floored: boolean): void {
  const m = logp.length;
  logp.fill(0);
  for (let t = 0; t < lambda.length; t++) {
    const lt = lambda[t];
    const off = t * m;
    for (let j = 0; j < m; j++) {
      const x = G[off + j] * inv + H[off + j];
      logp[j] += lt * (floored && x < LOG_FLOOR ? LOG_FLOOR : x);
    }
  }
}

/** g_t = ε (log p − H_t): v_t = p / Kᵀu_t (Kᵀu_t floored like the product in the grid's scaling form). */
function update(G: Float64Array, H: Float64Array, logp: Float64Array, eps: number, floored: boolean): void {
  const m = logp.length;
  for (let off = 0; off < G.length; off += m) {
    for (let j = 0; j < m; j++) {
      const h = H[off + j];
      G[off + j] = eps * (logp[j] - (floored && h < LOG_FLOOR ? LOG_FLOOR : h));
    }
  }
}

/** Σ_t λ_t Σ_j |v_tj (Kᵀu_t)_j − p_j|, from g_t/ε + H_t = log (v_t ⊙ Kᵀu_t). */
function marginalError(G: Float64Array, H: Float64Array, logp: Float64Array, lambda: Float64Array, inv: number, floored: boolean, k: number, m: number): number {
  let error = 0;
  for (let t = 0; t < k; t++) {
    const off = t * m;
    let e = 0;
    for (let j = 0; j < m; j++) {
      const x = G[off + j] * inv + H[off + j];
      e += Math.abs(Math.exp(floored && x < LOG_FLOOR ? LOG_FLOOR : x) - Math.exp(logp[j]));
    }
    error += lambda[t] * e;
  }
  return error;
}

/** Σ|p − p_previous| / Σp. */
function relativeChange(logp: Float64Array, prevLogp: Float64Array): number {
  let change = 0;
  let mass = 0;
  for (let j = 0; j < logp.length; j++) {
    const pj = Math.exp(logp[j]);
    change += Math.abs(pj - Math.exp(prevLogp[j]));
    mass += pj;
  }
  return change / Math.max(mass, 1e-300);
}
