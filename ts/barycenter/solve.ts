// The entropic barycenters as they run: a kernel (fixed support: ts/barycenter/fixed.ts; grid:
// ts/barycenter/grid.ts) under the one IBP iteration (ts/barycenter/ibp.ts). Inputs arrive validated from
// ts/solvers/barycenter.ts.
import { OTError } from '../errors.js';
import type { BackendOption } from '../backends/select.js';
import type { EntropicCost } from '../entropic/engine.js';
import { type IterationOptions, epsSchedule } from '../entropic/problem.js';
import type { BackendName } from '../types.js';
import { checkAbort, sum } from '../validate.js';
import { fixedSupportKernel } from './fixed.js';
import { gridKernel } from './grid.js';
import { ibp } from './ibp.js';
import type { BarycenterKernel } from './kernel.js';

export interface SolveOptions {
  reg: number;
  lambda: Float64Array;
  method: 'scaling' | 'log';
  maxIter: number;
  /** undefined: 1e-9, or 1e-5 on webgpu (f32). */
  tol?: number;
  backend: BackendOption;
  threads: number | 'auto';
  /** The cost scale (ε-scaling starts there). */
  scale: () => number;
  epsScaling?: IterationOptions['epsScaling'];
  signal?: AbortSignal;
  onProgress?: IterationOptions['onProgress'];
}

export interface Solved {
  /** The barycenter of the last iteration (not normalized). */
  p: Float64Array;
  iterations: number;
  error: number;
  converged: boolean;
  status: 'converged' | 'max-iterations';
  backend: BackendName;
  threads: number;
}

const DEFAULT_TOL = 1e-9;
const DEFAULT_TOL_F32 = 1e-5;

async function run(kernel: BarycenterKernel, o: SolveOptions, measure: 'marginal' | 'change', onNonFinite: (eps: number) => string): Promise<Solved> {
  try {
    const tol = o.tol ?? (kernel.backend === 'webgpu' ? DEFAULT_TOL_F32 : DEFAULT_TOL);
    const schedule = epsSchedule(o.reg, o.scale, o.epsScaling);
    const r = await ibp(kernel, { lambda: o.lambda, schedule, maxIter: o.maxIter, tol, measure, signal: o.signal, onProgress: o.onProgress, onNonFinite });
    return {
      p: r.logp.map(Math.exp),
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
export async function solveFixedSupport(cost: EntropicCost, hist: Float64Array[], o: SolveOptions): Promise<Solved> {
  checkAbort(o.signal);
  const kernel = await fixedSupportKernel(cost, hist, o.method, o.backend, o.threads);
  const r = await run(kernel, o, 'marginal', (eps) =>
    o.method === 'scaling'
      ? `barycenter: the scaling iteration overflowed at reg = ${eps}; use method: 'log'.`
      : `barycenter: the log iteration produced a non-finite value at reg = ${eps}.`,
  );
  const s = sum(r.p);
  return { ...r, p: r.p.map((x) => x / s) };
}

/** The convolutional barycenter (Solomon et al. 2015): IBP over the grid's separable kernel. */
export async function solveConvolutional(height: number, width: number, imgs: Float64Array[], o: SolveOptions): Promise<Solved> {
  checkAbort(o.signal);
  const kernel = await gridKernel({ height, width, imgs, method: o.method }, o.backend);
  const r = await run(kernel, o, 'change', (eps) => massMessage(o.method, eps, NaN));
  const mass = sum(r.p);
  // In the scaling form, when reg is small for the grid, the blurred scalings underflow to the 1e-30 floor and
  // the iteration "converges" to a barycenter that lost its mass (at the fixed point every plan, hence p, has
  // mass 1; f32 on webgpu: 1e-4). Fail loudly instead of returning it.
  const massTol = r.backend === 'webgpu' ? 1e-4 : 1e-6;
  if (!Number.isFinite(mass) || (r.converged && Math.abs(mass - 1) > massTol) || !(mass > 0)) {
    throw new OTError('numerical', massMessage(o.method, o.reg, mass));
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
