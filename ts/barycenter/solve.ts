// The entropic barycenters as they run: a kernel (fixed support: ts/barycenter/fixed.ts; grid:
// ts/barycenter/grid.ts) under the one IBP iteration (ts/barycenter/ibp.ts). Inputs arrive validated from
// ts/solvers/barycenter.ts.
import { OTError } from '../errors.js';
import type { BackendOption } from '../types.js';
import type { PairCost } from '../entropic/engine.js';
import { type IterationOptions, checkThreads, defaultTol, epsSchedule } from '../entropic/problem.js';
import type { BackendName } from '../types.js';
import { checkAbort, sum } from '../validate.js';
import { fixedSupportKernel } from './fixed.js';
import { gridKernel } from './grid.js';
import { ibp } from './ibp.js';
import type { BarycenterKernel } from './kernel.js';

/** The caller's options that the iteration reads (BarycenterOptions, ConvolutionalOptions). */
export interface UserOptions {
  maxIter?: number;
  /** undefined: 1e-9, or 1e-5 on webgpu (f32). */
  tol?: number;
  backend?: BackendOption;
  threads?: number | 'auto';
  epsScaling?: IterationOptions['epsScaling'];
  signal?: AbortSignal;
  onProgress?: IterationOptions['onProgress'];
}

/** What the caller has validated. */
export interface Problem {
  reg: number;
  /** Barycentric weights λ (summing to 1). */
  lambda: Float64Array;
  method: 'scaling' | 'log';
  /** The cost scale (ε-scaling starts there). */
  scale: () => number;
}

/** The result fields of BarycenterResult. */
export interface Solved {
  barycenter: Float64Array;
  /** Σ_t λ_t OT_ε(a_t, p) (POT's convention for the entropic term), from the dual potentials. */
  value: number;
  iterations: number;
  error: number;
  converged: boolean;
  status: 'converged' | 'max-iterations';
  backend: BackendName;
  threads: number;
}

/** As sinkhorn: ε-scaling exists to reach a reg where the scaling form overflows. */
function checkAnnealing(o: UserOptions, pr: Problem): void {
  if (o.epsScaling && pr.method === 'scaling') {
    throw new OTError('invalid-option', "epsScaling needs method 'log' (or 'auto'): annealing exists to reach a reg where scaling overflows.");
  }
}

async function run(kernel: BarycenterKernel, o: UserOptions, pr: Problem, measure: 'marginal' | 'change', onNonFinite: (eps: number) => string): Promise<Solved> {
  try {
    const tol = o.tol ?? defaultTol(kernel.backend);
    const schedule = epsSchedule(pr.reg, pr.scale, o.epsScaling);
    const maxIter = o.maxIter ?? 1000;
    const r = await ibp(kernel, { lambda: pr.lambda, schedule, maxIter, tol, measure, signal: o.signal, onProgress: o.onProgress, onNonFinite });
    const barycenter = r.logp.map(Math.exp);
    // the objective Σ_t λ_t OT_ε(a_t, p) in POT's convention from the dual: Σ_t λ_t (⟨f_t, a_t⟩ + ⟨g_t, p⟩) − ε
    // (each plan has mass 1), with p normalized as returned; exact at convergence
    const mass = barycenter.reduce((x, y) => x + y, 0);
    let gp = 0;
    for (let t = 0; t < kernel.k; t++) for (let j = 0; j < kernel.m; j++) gp += (pr.lambda[t] * r.G[t * kernel.m + j] * barycenter[j]) / mass;
    const value = (await kernel.histogramsDual(r.G, pr.lambda)) + gp - pr.reg;
    return {
      barycenter,
      value,
      iterations: r.iterations,
      error: r.error,
      converged: r.converged,
      status: r.converged ? 'converged' : 'max-iterations',
      backend: kernel.backend,
      threads: kernel.threads,
    };
  } finally {
    kernel.dispose();
  }
}

/** Fixed-support IBP (Benamou et al. 2015) over one engine per histogram. */
export async function solveFixedSupport(cost: PairCost, hist: Float64Array[], o: UserOptions, pr: Problem): Promise<Solved> {
  const threads = checkThreads(o.threads);
  checkAnnealing(o, pr);
  checkAbort(o.signal);
  const kernel = await fixedSupportKernel(cost, hist, pr.method, o.backend ?? 'auto', threads);
  const r = await run(kernel, o, pr, 'marginal', (eps) =>
    pr.method === 'scaling'
      ? `barycenter: the scaling iteration overflowed at reg = ${eps}; use method: 'log'.`
      : `barycenter: the log iteration produced a non-finite value at reg = ${eps}.`,
  );
  const s = sum(r.barycenter);
  return { ...r, barycenter: r.barycenter.map((x) => x / s) };
}

/** The convolutional barycenter (Solomon et al. 2015): IBP over the grid's separable kernel. */
export async function solveConvolutional(height: number, width: number, imgs: Float64Array[], o: UserOptions, pr: Problem, spacing?: [number, number]): Promise<Solved> {
  checkThreads(o.threads); // the grid kernels run on one thread
  checkAnnealing(o, pr);
  checkAbort(o.signal);
  const kernel = await gridKernel({ height, width, imgs, method: pr.method, spacing }, o.backend ?? 'auto');
  const r = await run(kernel, o, pr, 'change', (eps) => massMessage(pr.method, eps, NaN));
  const mass = sum(r.barycenter);
  // In the scaling form, when reg is small for the grid, the blurred scalings underflow to the 1e-30 floor and
  // the iteration "converges" to a barycenter that lost its mass (at the fixed point every plan, hence p, has
  // mass 1; f32 on webgpu: 1e-4). Fail loudly instead of returning it.
  const massTol = r.backend === 'webgpu' ? 1e-4 : 1e-6;
  if (!Number.isFinite(mass) || (r.converged && Math.abs(mass - 1) > massTol) || !(mass > 0)) {
    throw new OTError('numerical', massMessage(pr.method, pr.reg, mass));
  }
  return r;
}

function massMessage(method: 'scaling' | 'log', reg: number, mass: number): string {
  return (
    `convolutionalBarycenter: the ${method} iteration under/overflowed at reg = ${reg} (barycenter mass ${mass} instead of 1); ` +
    (method === 'scaling' ? `use method: 'log' or a larger reg for this grid` : `use a larger reg for this grid`) +
    ` (reg is in units of the squared grid extent [0,1]²).`
  );
}
