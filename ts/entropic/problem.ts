// Turning a caller's (a, b, cost) into an engine problem, and the iteration loop every Sinkhorn-type
// solver shares: ε-scaling schedule, periodic convergence checks, abort and progress.
import { OTError } from '../errors.js';
import { powerOfSquaredDistance } from '../costs.js';
import { type CostInput, type Geometry, toGeometry } from '../geometry.js';
import type { VectorLike } from '../types.js';
import { abortPoint, toWeights } from '../validate.js';
import type { EntropicCost, EntropicEngine } from './engine.js';

export interface IterationOptions {
  /** Iteration cap (an iteration = one f-update and one g-update). Default 1000. */
  maxIter?: number;
  /**
   * Stop when the convergence measure falls below tol. Default 1e-9 on the f64 engines (wasm, js) and 1e-5
   * on webgpu, whose f32 marginals bottom out near 1e-6.
   */
  tol?: number;
  /**
   * Check convergence every k iterations (a GPU read-back each time). Default 10; with tol 0 (nothing to detect),
   * no onProgress and no signal, only at the end.
   */
  checkEvery?: number;
  /**
   * ε-scaling (annealing): solve a sequence ε₀ > ε₁ > … > reg, each warm-starting the next, which reaches
   * small reg in far fewer iterations. `true` uses ε₀ = cost scale and factor ½.
   */
  epsScaling?:
    | boolean
    | {
        /** ε₀, the first ε (default: the cost scale). */
        start?: number;
        /** ε_{k+1}/ε_k, in (0, 1) (default ½). */
        factor?: number;
      };
  /** Aborts the solve at the next convergence check (every `checkEvery` iterations): the call rejects with OTError code 'aborted'. */
  signal?: AbortSignal;
  /**
   * Called at every convergence check with the iterations done so far, the convergence measure (`error` of
   * the result) and the ε of the current ε-scaling stage (= reg without ε-scaling).
   */
  onProgress?: (p: { iterations: number; error: number; eps: number }) => void;
  /**
   * wasm engine: threads that share each pass over the stored kernel. 'auto' (default): every core, from
   * 2^18 kernel entries, where threads are available (Node; see wasmThreadsUnavailableReason); 1: this
   * thread only. Results do not depend on it beyond rounding of the column sums.
   */
  threads?: number | 'auto';
}

/** The `threads` option, checked (a positive integer or 'auto'). */
export function checkThreads(x: unknown): number | 'auto' {
  if (x === undefined || x === 'auto') return 'auto';
  if (typeof x === 'number' && Number.isInteger(x) && x >= 1) return x;
  throw new OTError('invalid-option', `threads must be 'auto' or an integer ≥ 1 (got ${String(x)}).`);
}

export function checkReg(name: string, x: unknown): number {
  if (typeof x !== 'number' || !Number.isFinite(x) || x <= 0) {
    throw new OTError('invalid-option', `${name} must be a finite number > 0 (got ${String(x)}).`);
  }
  return x;
}

/**
 * The geometry as an engine cost, and the largest cost (exact for matrices, a bound for point clouds). The
 * scale is computed on demand: for a matrix it is a pass over all n·m entries, which only 'auto' method
 * choice and ε-scaling need.
 */
export function entropicCost(geom: Geometry): { cost: EntropicCost; scale: () => number } {
  if (geom.kind === 'costMatrix') {
    const C = geom.M.data;
    const scale = () => {
      let s = 0;
      // compare-and-assign, not Math.max (NaN-aware, ~2× slower); validation has refused NaN already
      for (let k = 0; k < C.length; k++) {
        const c = C[k] < 0 ? -C[k] : C[k];
        if (c > s) s = c;
      }
      return s;
    };
    return { cost: { kind: 'dense', C, n: geom.rows, m: geom.cols }, scale };
  }
  if (geom.kind === 'grid') {
    const { height, width, dy, dx } = geom;
    const scale = geom.diameterSquared;
    return { cost: { kind: 'grid', n: geom.rows, m: geom.cols, height, width, dy, dx }, scale: () => scale };
  }
  const d = geom.dim;
  const X = geom.X.data as Float64Array;
  const Y = geom.Y.data as Float64Array;
  // diameter of the joint bounding box bounds every ‖x − y‖
  let sq = 0;
  for (let t = 0; t < d; t++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = t; i < X.length; i += d) (lo = Math.min(lo, X[i])), (hi = Math.max(hi, X[i]));
    for (let i = t; i < Y.length; i += d) (lo = Math.min(lo, Y[i])), (hi = Math.max(hi, Y[i]));
    sq += (hi - lo) ** 2;
  }
  const scale = powerOfSquaredDistance(sq, geom.cost.power);
  return { cost: { kind: 'points', X, Y, n: geom.rows, m: geom.cols, d, power: geom.cost.power }, scale: () => scale };
}

export interface Prepared {
  geom: Geometry;
  cost: EntropicCost;
  /** The cost scale (max |C|, or a bound), computed once on first use. */
  readonly scale: number;
  a: Float64Array;
  b: Float64Array;
}

export function prepare(a: VectorLike | undefined, b: VectorLike | undefined, M: CostInput, maxBytes?: number): Prepared {
  const geom = toGeometry(M, maxBytes);
  const wa = toWeights('a', a, geom.rows);
  const wb = toWeights('b', b, geom.cols);
  const { cost, scale } = entropicCost(geom);
  let s: number | undefined;
  return {
    geom,
    cost,
    get scale() {
      return (s ??= scale());
    },
    a: wa,
    b: wb,
  };
}

/**
 * Scaling overflows once C/ε exceeds ~700 (exp underflows to 0); with a margin, 'auto' uses the log
 * domain when scale/reg > 50, and always with ε-scaling (whose point is to reach such reg).
 */
export function chooseMethod(method: 'scaling' | 'log' | 'auto' | undefined, scale: () => number, reg: number, annealing = false): 'scaling' | 'log' {
  if (method === 'scaling' || method === 'log') return method;
  if (method !== undefined && method !== 'auto') throw new OTError('invalid-option', `method must be 'scaling', 'log' or 'auto' (got ${String(method)}).`);
  return annealing || scale() / reg > 50 ? 'log' : 'scaling';
}

export function epsSchedule(reg: number, scale: () => number, opt: IterationOptions['epsScaling']): number[] {
  if (!opt) return [reg];
  const start = (typeof opt === 'object' && opt.start) || Math.max(scale(), reg);
  const factor = (typeof opt === 'object' && opt.factor) || 0.5;
  const out: number[] = [];
  for (let e = start; e > reg; e *= factor) out.push(e);
  out.push(reg);
  return out;
}

export interface LoopResult {
  iterations: number;
  error: number;
  converged: boolean;
}

const DEFAULT_TOL = 1e-9;
const DEFAULT_TOL_F32 = 1e-5;

/** The default tol of a backend (f32 marginals bottom out near 1e-6). */
export function defaultTol(backend: string): number {
  return backend === 'webgpu' ? DEFAULT_TOL_F32 : DEFAULT_TOL;
}

/** What a Stepper asks for next: set ε (when given), run `count` iterations, then measure. */
export interface Step {
  eps?: number;
  count: number;
  /** false for the measure-only step of maxIter: 0 (no finiteness check, no progress). */
  check: boolean;
}

/**
 * The iteration schedule of one problem as a state machine (ε stages, stage caps and tolerances, checks
 * every `checkEvery`), so that a single solve (`iterate`) and a batch of problems (ts/entropic/batch.ts)
 * drive their engines through exactly the same sequence of setEps / iterate / measure.
 */
export class Stepper {
  iterations = 0;
  error = Infinity;
  converged = false;
  finished = false;
  private stage = -1;
  private done = 0;
  private cap = 0;
  private stageTol = 0;
  private stageDone = true;
  private pending: Step | undefined;
  private readonly maxIter: number;
  private readonly tol: number;
  private readonly every: number;

  constructor(
    private readonly schedule: number[],
    opts: IterationOptions,
    backend: string,
    /**
     * Whether a stage with tolerance 0 runs its iterations in one step: nothing can stop it early. For callers
     * whose measure reads the state alone (a marginal error, not a change since the last check) and that nobody
     * waits on (no onProgress, no signal, no explicit checkEvery): see `uncheckedAllowed`. A check costs a
     * measuring pass (a GPU read-back on webgpu), ~10 % of a fixed-count solve at the default cadence.
     */
    private readonly unchecked = false,
  ) {
    // the values were checked by the solver's option schema (ts/entropic/options.ts)
    this.maxIter = opts.maxIter ?? 1000;
    this.tol = opts.tol ?? defaultTol(backend);
    this.every = opts.checkEvery ?? 10;
  }

  /** Whether the schedule is over (the next `next()` returns undefined). */
  get ended(): boolean {
    return this.finished || (this.stageDone && this.stage === this.schedule.length - 1);
  }

  /** The current ε. */
  get eps(): number {
    return this.schedule[Math.max(0, this.stage)];
  }

  /** The next step, or undefined when the schedule is done. */
  next(): Step | undefined {
    let eps: number | undefined;
    while (this.stageDone) {
      if (this.stage === this.schedule.length - 1) {
        this.finished = true;
        return (this.pending = undefined);
      }
      this.stage++;
      const last = this.stage === this.schedule.length - 1;
      eps = this.schedule[this.stage];
      // intermediate ε only need a rough solution: the next stage refines it
      this.stageTol = last ? this.tol : Math.max(this.tol, 1e-3);
      this.cap = last ? this.maxIter - this.iterations : Math.min(this.maxIter - this.iterations, 100);
      this.done = 0;
      this.converged = false;
      this.stageDone = this.cap === 0;
      if (this.cap === 0 && last) return (this.pending = { eps, count: 0, check: false });
    }
    const every = this.unchecked && this.stageTol === 0 ? Infinity : this.every;
    return (this.pending = { eps, count: Math.min(every, this.cap - this.done), check: true });
  }

  /** The measure after the step `next()` returned. */
  record(error: number): void {
    const s = this.pending;
    this.error = error;
    if (!s) return;
    this.done += s.count;
    this.iterations += s.count;
    if (s.check && error < this.stageTol) this.converged = true;
    if (this.converged || this.done >= this.cap) this.stageDone = true;
  }
}

/**
 * Runs the engine through the ε schedule. `measure` is the convergence measure (marginal error for
 * balanced problems, potential change for unbalanced ones); a non-finite measure fails with 'numerical'.
 */
export async function iterate(
  engine: EntropicEngine,
  schedule: number[],
  opts: IterationOptions,
  measure: () => Promise<number>,
  onNonFinite: () => string,
  /** Whether `measure` reads the state alone (then a tol-0 stage may skip its intermediate checks). */
  stateMeasure = false,
): Promise<LoopResult> {
  const st = new Stepper(schedule, opts, engine.backend, stateMeasure && uncheckedAllowed(opts));
  for (let step = st.next(); step; step = st.next()) {
    if (step.eps !== undefined) await engine.setEps(step.eps);
    if (step.check) await abortPoint(opts.signal, () => `after ${st.iterations} iterations at ε = ${st.eps}`);
    if (step.count > 0) await engine.iterate(step.count);
    const error = await measure();
    st.record(error);
    if (!step.check) continue;
    if (!Number.isFinite(error)) throw new OTError('numerical', onNonFinite());
    opts.onProgress?.({ iterations: st.iterations, error, eps: st.eps });
  }
  return { iterations: st.iterations, error: st.error, converged: st.converged };
}

/** Whether nobody waits on a solve's intermediate checks: no onProgress, no abort signal, no explicit checkEvery. */
export function uncheckedAllowed(opts: { checkEvery?: number; onProgress?: unknown; signal?: AbortSignal }): boolean {
  return opts.checkEvery === undefined && !opts.onProgress && !opts.signal;
}

/** Σ x_i·y_i skipping zero-mass terms (where the potential may be −∞). */
export function dotFinite(w: Float64Array, pot: Float64Array): number {
  let s = 0;
  for (let i = 0; i < w.length; i++) if (w[i] !== 0) s += w[i] * pot[i];
  return s;
}
