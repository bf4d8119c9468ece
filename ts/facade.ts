// The public solver functions: each one runs the in-process solver, or the same solver in a worker of the
// pool (ts/worker/), by the `worker` option. See `workEstimate` in ts/worker/protocol.ts for the size rule.
import { OTError } from './errors.js';
import type { CostInput } from './geometry.js';
import type { MatrixLike, VectorLike } from './types.js';
import { AUTO_THRESHOLD, type SolverName, workEstimate } from './worker/protocol.js';
import { isInWorker, runInWorker, workersAvailable } from './worker/pool.js';
import { RAW_SOLVERS } from './worker/solvers.js';
import type { EmdOptions as RawEmdOptions, EmdResult } from './solvers/emd.js';
import type { Emd1dOptions as RawEmd1dOptions, Emd1dResult } from './solvers/ot1d.js';
import type { SlicedOptions as RawSlicedOptions, SlicedResult } from './solvers/sliced.js';
import type { SinkhornOptions as RawSinkhornOptions, SinkhornResult, UnbalancedOptions as RawUnbalancedOptions } from './solvers/sinkhorn.js';
import type { DivergenceOptions as RawDivergenceOptions, DivergenceResult } from './solvers/divergence.js';
import type {
  BarycenterOptions as RawBarycenterOptions,
  BarycenterResult,
  ConvolutionalOptions as RawConvolutionalOptions,
  FreeSupportOptions as RawFreeSupportOptions,
  FreeSupportResult,
} from './solvers/barycenter.js';

export interface WorkerOptions {
  /**
   * Where the call runs. 'auto' (default): in a worker of the pool when the problem is large (work estimate
   * ≥ 2^18 cost entries per pass, e.g. emd/sinkhorn from 512 × 512; see workEstimate), in-process otherwise
   * (a worker round trip costs about a millisecond). true: always in a worker ('backend-unavailable' where
   * no worker can be spawned). false: always in-process. Inside a worker calls always run in-process.
   */
  worker?: 'auto' | boolean;
}

export type EmdOptions = RawEmdOptions & WorkerOptions;
export type Emd1dOptions = RawEmd1dOptions & WorkerOptions;
export type SlicedOptions = RawSlicedOptions & WorkerOptions;
export type SinkhornOptions = RawSinkhornOptions & WorkerOptions;
export type UnbalancedOptions = RawUnbalancedOptions & WorkerOptions;
export type DivergenceOptions = RawDivergenceOptions & WorkerOptions;
export type BarycenterOptions = RawBarycenterOptions & WorkerOptions;
export type ConvolutionalOptions = RawConvolutionalOptions & WorkerOptions;
export type FreeSupportOptions = RawFreeSupportOptions & WorkerOptions;

type Opts = { worker?: unknown; signal?: AbortSignal; onProgress?: (p: never) => void } | undefined;

/** Decide and run: in-process or in the pool. */
function dispatch(solver: SolverName, args: unknown[], opts: Opts): Promise<unknown> {
  const where = opts?.worker ?? 'auto';
  if (where !== 'auto' && where !== true && where !== false) {
    return Promise.reject(new OTError('invalid-option', `worker must be 'auto', true or false (got ${String(where)}).`));
  }
  const raw = RAW_SOLVERS[solver] as (...a: unknown[]) => Promise<unknown>;
  const offload = !isInWorker() && (where === true || (where === 'auto' && workersAvailable() && workEstimate(solver, args) >= AUTO_THRESHOLD));
  if (!offload) {
    try {
      return raw(...args);
    } catch (e) {
      return Promise.reject(e);
    }
  }
  // 'auto' runs in-process when no worker can start here (workersUnavailableReason() says why)
  const fallback = where === 'auto' ? async () => raw(...args) : undefined;
  return runInWorker(solver, args, { signal: opts?.signal, onProgress: opts?.onProgress as ((p: unknown) => void) | undefined, fallback });
}

/** Exact OT by network simplex (see solvers/emd.ts); `worker` picks where it runs. */
export function emd(a: VectorLike | undefined, b: VectorLike | undefined, M: CostInput, opts: EmdOptions = {}): Promise<EmdResult> {
  return dispatch('emd', [a, b, M, opts], opts) as Promise<EmdResult>;
}

export function emd1d(x: VectorLike, y: VectorLike, opts: Emd1dOptions = {}): Promise<Emd1dResult> {
  return dispatch('emd1d', [x, y, opts], opts) as Promise<Emd1dResult>;
}

export function wasserstein1d(x: VectorLike, y: VectorLike, opts: Emd1dOptions = {}): Promise<number> {
  return dispatch('wasserstein1d', [x, y, opts], opts) as Promise<number>;
}

export function slicedWasserstein(X: MatrixLike, Y: MatrixLike, opts: SlicedOptions = {}): Promise<SlicedResult> {
  return dispatch('slicedWasserstein', [X, Y, opts], opts) as Promise<SlicedResult>;
}

export function maxSlicedWasserstein(X: MatrixLike, Y: MatrixLike, opts: SlicedOptions = {}): Promise<SlicedResult> {
  return dispatch('maxSlicedWasserstein', [X, Y, opts], opts) as Promise<SlicedResult>;
}

export function sinkhorn(a: VectorLike | undefined, b: VectorLike | undefined, M: CostInput, opts: SinkhornOptions): Promise<SinkhornResult> {
  return dispatch('sinkhorn', [a, b, M, opts], opts) as Promise<SinkhornResult>;
}

export function sinkhornUnbalanced(a: VectorLike | undefined, b: VectorLike | undefined, M: CostInput, opts: UnbalancedOptions): Promise<SinkhornResult> {
  return dispatch('sinkhornUnbalanced', [a, b, M, opts], opts) as Promise<SinkhornResult>;
}

export function sinkhornDivergence(X: MatrixLike, Y: MatrixLike, opts: DivergenceOptions): Promise<DivergenceResult> {
  return dispatch('sinkhornDivergence', [X, Y, opts], opts) as Promise<DivergenceResult>;
}

export function barycenter(A: MatrixLike, M: CostInput, opts: BarycenterOptions): Promise<BarycenterResult> {
  return dispatch('barycenter', [A, M, opts], opts) as Promise<BarycenterResult>;
}

export function convolutionalBarycenter(A: MatrixLike, opts: ConvolutionalOptions): Promise<BarycenterResult> {
  return dispatch('convolutionalBarycenter', [A, opts], opts) as Promise<BarycenterResult>;
}

export function freeSupportBarycenter(measures: { X: MatrixLike; a?: VectorLike }[], opts: FreeSupportOptions = {}): Promise<FreeSupportResult> {
  return dispatch('freeSupportBarycenter', [measures, opts], opts) as Promise<FreeSupportResult>;
}

export { dispose } from './worker/pool.js';
