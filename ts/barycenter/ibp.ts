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
  const lo = kernel.floor === 'scaling' ? LOG_FLOOR : -Infinity;
  const G = new Float64Array(k * m); // v_t = 1
  const logp = new Float64Array(m);
  const X = new Float64Array(k * m); // max(lo, g/ε + H): log (v_t ⊙ Kᵀu_t)
  let prev = new Float64Array(m);
  let next = new Float64Array(m);
  let iterations = 0;
  let error = Infinity;
  let converged = false;
  for (let s = 0; s < o.schedule.length; s++) {
    const eps = o.schedule[s];
    const last = s === o.schedule.length - 1;
    await kernel.setEps(eps);
    // intermediate ε only need a rough solution: the next stage refines it (as ts/entropic/problem.ts iterate)
    const stageTol = last ? o.tol : Math.max(o.tol, 1e-3);
    const stageCap = last ? o.maxIter - iterations : Math.min(o.maxIter - iterations, 100);
    converged = false;
    for (let done = 0; done < stageCap; done++) {
      await abortPoint(o.signal, () => `after ${iterations} iterations at ε = ${eps}`);
      const H = await kernel.step(G);
      iterations++;
      logp.fill(0);
      for (let t = 0; t < k; t++) {
        const lt = lambda[t];
        const off = t * m;
        for (let j = 0; j < m; j++) {
          const x = Math.max(lo, G[off + j] / eps + H[off + j]);
          X[off + j] = x;
          logp[j] += lt * x;
        }
      }
      error = 0;
      if (o.measure === 'marginal') {
        for (let j = 0; j < m; j++) next[j] = Math.exp(logp[j]);
        for (let t = 0; t < k; t++) {
          const lt = lambda[t];
          const off = t * m;
          let e = 0;
          for (let j = 0; j < m; j++) e += Math.abs(Math.exp(X[off + j]) - next[j]);
          error += lt * e;
        }
      } else {
        let mass = 0;
        for (let j = 0; j < m; j++) {
          const pj = (next[j] = Math.exp(logp[j]));
          error += Math.abs(pj - prev[j]);
          mass += pj;
        }
        error /= Math.max(mass, 1e-300);
        [prev, next] = [next, prev];
      }
      if (!Number.isFinite(error)) throw new OTError('numerical', o.onNonFinite(eps));
      for (let t = 0; t < k; t++) {
        const off = t * m;
        for (let j = 0; j < m; j++) G[off + j] = eps * (logp[j] - Math.max(lo, H[off + j]));
      }
      o.onProgress?.({ iterations, error, eps });
      if (error < stageTol) {
        converged = true;
        break;
      }
    }
  }
  return { logp, iterations, error, converged };
}
