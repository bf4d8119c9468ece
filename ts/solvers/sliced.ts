// Sliced Wasserstein: W_p of the 1D projections, averaged (sliced) or maximised (max-sliced) over directions.
import { OTError } from '../errors.js';
import { randomDirections } from '../rng.js';
import type { DenseMatrix, MatrixLike, VectorLike } from '../types.js';
import { chooseBackend } from '../backends/select.js';
import type { BackendOption } from '../types.js';
import type { WasmKernels } from '../backends/wasm.js';
import { slicedCostsJs } from '../backends/js/sliced.js';
import { type MassOptions, DEFAULT_MAX_BYTES, checkAbort, checkBudget, checkPositiveInteger, toMatrix } from '../validate.js';
import { type Weights1d, checkP, weightsPair } from './ot1d.js';
import type { OTResult } from '../result.js';
import { defineSolver } from '../registry/define.js';
import { matrix, num, opt, vector } from '../registry/schema.js';
import { backendOption, massOptions, maxBytesOption, progressOption, signalOption, workerOption } from '../registry/common.js';
import { rowsOf } from '../registry/estimate.js';
import { abortPoint } from '../validate.js';

/**
 * Options of {@link slicedWasserstein} and {@link maxSlicedWasserstein} (POT: the keyword arguments of
 * `ot.sliced_wasserstein_distance` / `ot.max_sliced_wasserstein_distance`).
 */
export interface SlicedOptions extends MassOptions {
  /** Weights of the rows of X (default uniform). */
  a?: VectorLike;
  /** Weights of the rows of Y (default uniform). */
  b?: VectorLike;
  /** Order of the distance, p ≥ 1. Default 2. */
  p?: number;
  /** Number of random directions when `projections` is not given. Default 50. */
  nProjections?: number;
  /**
   * Directions, k × d, ONE DIRECTION PER ROW (POT's `projections` is d × k: transpose it). Used as given,
   * not renormalized: pass unit vectors.
   */
  projections?: MatrixLike;
  /** Seed of the random directions (randomDirections(nProjections, d, seed)). Default 0. */
  seed?: number;
  /** Force a backend: 'wasm' or 'js'; 'auto' (default) takes wasm when it loads. An unavailable forced backend is OTError('backend-unavailable'). */
  backend?: BackendOption;
  /** Memory budget of the call in bytes (default DEFAULT_MAX_BYTES); above it the call fails with 'too-large'. */
  maxBytes?: number;
  /** Aborts the call between batches of 32 directions: it rejects with OTError code 'aborted'. */
  signal?: AbortSignal;
  /** Called after each batch of directions with { done, total } directions. */
  onProgress?: (p: { done: number; total: number }) => void;
  /** Where the call runs: 'auto' (default) sends (n + m)·k ≥ 2^22 (points × directions) to a worker; see {@link WorkerOptions}. */
  worker?: 'auto' | boolean;
}

/**
 * The result of {@link slicedWasserstein} / {@link maxSlicedWasserstein}: the distance and the per-direction
 * costs (POT: `ot.sliced_wasserstein_distance(..., log=True)` gives the same `projections` and `projected_emds`).
 * Cost of the solve: O(k·(n + m)·(d + log(n + m))) for k directions.
 */
export interface SlicedResult extends OTResult {
  /** SW_p = (mean_k projectionCosts[k])^(1/p), or max_k projectionCosts[k]^(1/p) for maxSlicedWasserstein. */
  value: number;
  /** W_p^p between the projected measures, one per direction. */
  projectionCosts: Float64Array;
  /** The directions used, k × d, one per row. */
  projections: DenseMatrix;
  /** 'closed-form': each projection is solved exactly by sorting; there is no iteration. */
  status: 'closed-form';
  backend: 'wasm' | 'js';
}

/** Directions per batch: between batches the call reports progress and checks its signal. */
const DIRECTIONS_PER_BATCH = 32;

const slicedOptions = {
  a: opt(vector, 'Weights of the rows of X.', 'uniform'),
  b: opt(vector, 'Weights of the rows of Y.', 'uniform'),
  p: opt(num({ min: 1 }), 'Order of the distance.', '2'),
  nProjections: opt(num({ integer: true, min: 1 }), 'Random directions when `projections` is not given (POT: n_projections).', '50'),
  projections: opt(matrix, 'Directions, k × d, one per ROW (POT: d × k), used as given.'),
  seed: opt(num({ integer: true, min: 0 }), 'Seed of the random directions.', '0'),
  ...massOptions,
  backend: backendOption(['wasm', 'js']),
  maxBytes: maxBytesOption,
  signal: signalOption,
  onProgress: progressOption('{ done, total } directions'),
  worker: workerOption,
};

function slicedEstimate([X, Y, opts]: unknown[]): number {
  const o = (opts ?? {}) as SlicedOptions;
  const k = o.projections !== undefined ? rowsOf(o.projections) : Number(o.nProjections ?? 50) || 0;
  return ((rowsOf(X) + rowsOf(Y)) * k) / 16;
}

interface SlicedProblem {
  X: DenseMatrix;
  Y: DenseMatrix;
  wa: Weights1d;
  wb: Weights1d;
  dirs: DenseMatrix;
  p: number;
}

function prepare(X: MatrixLike, Y: MatrixLike, opts: SlicedOptions): SlicedProblem {
  checkAbort(opts.signal);
  const p = checkP(opts.p ?? 2, 1, 'for the sliced distance SW_p');
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const seed = opts.seed ?? 0;
  if (!Number.isSafeInteger(seed)) throw new OTError('invalid-option', `seed must be an integer (got ${String(seed)}).`);
  const k0 = opts.projections === undefined ? checkPositiveInteger('nProjections', opts.nProjections ?? 50) : 0;
  const Xm = toMatrix('X', X, maxBytes);
  const Ym = toMatrix('Y', Y, maxBytes);
  const d = Xm.cols;
  if (Ym.cols !== d) throw new OTError('shape', `X has ${d} columns but Y has ${Ym.cols}; both clouds must live in the same R^d.`);
  let given: DenseMatrix | undefined;
  if (opts.projections !== undefined) {
    given = toMatrix('projections', opts.projections, maxBytes);
    if (given.cols !== d) {
      throw new OTError('shape', `projections has ${given.cols} columns but the points have d = ${d}: give one direction per row (k × d; POT's layout d × k is the transpose).`);
    }
  }
  const [wa, wb] = weightsPair(opts.a, Xm.rows, opts.b, Ym.rows, opts);
  const k = given ? given.rows : k0;
  const n = Xm.rows;
  const m = Ym.rows;
  // Copies of the clouds and directions in wasm, the column-major clouds, projections, sort scratch, weights.
  const bytes = 16 * (n + m) * d + 8 * k * (d + 1) + 8 * (n + m) + 8 * Math.max(n, m) + 36 * (n + m);
  checkBudget(bytes, `sliced OT of ${n} vs ${m} points in R^${d} over ${k} directions`, maxBytes);
  const dirs = given ?? { data: randomDirections(k, d, seed), rows: k, cols: d };
  return { X: Xm, Y: Ym, wa, wb, dirs, p };
}

async function costsWasm(w: WasmKernels, q: SlicedProblem, opts: SlicedOptions): Promise<Float64Array> {
  const { X, Y, dirs, wa, wb, p } = q;
  const k = dirs.rows;
  const workBytes = w.abi.slicedWorkBytes;
  const slicedCosts = w.abi.slicedCosts;
  const s = w.scope();
  try {
    const pX = s.put(X.data);
    const pY = s.put(Y.data);
    const pD = s.put(dirs.data);
    const pa = wa.weights ? s.put(wa.weights) : 0;
    const pb = wb.weights ? s.put(wb.weights) : 0;
    const out = s.alloc(8 * k);
    const work = s.alloc(workBytes(X.rows, Y.rows, X.cols, pa || pb ? 1 : 0) >>> 0);
    const d = X.cols;
    for (let start = 0; start < k; start += DIRECTIONS_PER_BATCH) {
      const count = Math.min(DIRECTIONS_PER_BATCH, k - start);
      slicedCosts(pX, X.rows, pY, Y.rows, d, pD + 8 * d * start, count, pa, wa.uniform, pb, wb.uniform, p, out + 8 * start, work);
      opts.onProgress?.({ done: start + count, total: k });
      if (start + count < k) await abortPoint(opts.signal, () => `after ${start + count} of ${k} directions`);
    }
    return w.f64(out, k).slice();
  } finally {
    s.release();
  }
}

async function run(X: MatrixLike, Y: MatrixLike, opts: SlicedOptions, solver: string): Promise<Omit<SlicedResult, 'value'> & { p: number }> {
  const q = prepare(X, Y, opts);
  const be = await chooseBackend(solver, ['wasm', 'js'], opts.backend);
  let projectionCosts: Float64Array;
  if (be.name === 'wasm') projectionCosts = await costsWasm(be.wasm, q, opts);
  else {
    projectionCosts = slicedCostsJs(q.X, q.wa.weights, q.wa.uniform, q.Y, q.wb.weights, q.wb.uniform, q.dirs, q.p);
    opts.onProgress?.({ done: q.dirs.rows, total: q.dirs.rows });
  }
  return { projectionCosts, projections: q.dirs, status: 'closed-form', iterations: 0, error: 0, backend: be.name, threads: 1, p: q.p };
}

/** A sliced solver: the projection costs reduced to one number (mean for sliced, max for max-sliced). */
function slicedSolver(name: string, summary: string, reduce: (costs: Float64Array) => number) {
  return defineSolver({
    name,
    summary,
    params: ['X', 'Y'],
    options: slicedOptions,
    backends: ['wasm', 'js'],
    workEstimate: slicedEstimate,
    run: async (X: MatrixLike, Y: MatrixLike, opts: SlicedOptions = {}): Promise<SlicedResult> => {
      const { p, ...r } = await run(X, Y, opts, name);
      return { value: Math.pow(reduce(r.projectionCosts), 1 / p), ...r };
    },
  });
}

/**
 * Sliced p-Wasserstein distance SW_p = (mean over directions θ_k of W_p^p(θ_k·X, θ_k·Y))^(1/p), the same
 * quantity as POT's `ot.sliced_wasserstein_distance` (POT takes projections as d × k; ours are k × d).
 * Directions: `projections` if given, else randomDirections(nProjections, d, seed) — reproducible on every backend.
 */
export const slicedWasserstein = slicedSolver(
  'slicedWasserstein',
  'Sliced p-Wasserstein distance: W_p of 1D projections, averaged over random or given directions.',
  (costs) => costs.reduce((s, c) => s + c, 0) / costs.length,
);

/** Max-sliced: max over the directions of W_p(θ_k·X, θ_k·Y) (POT's `max_sliced_wasserstein_distance`). */
export const maxSlicedWasserstein = slicedSolver(
  'maxSlicedWasserstein',
  'Max-sliced p-Wasserstein distance: the largest W_p over the directions.',
  (costs) => costs.reduce((s, c) => Math.max(s, c), 0),
);
