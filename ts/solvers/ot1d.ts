// 1D optimal transport: sort, then walk the two CDFs (the monotone / quantile coupling).
import { SparseCoupling } from '../coupling.js';
import { OTError } from '../errors.js';
import type { VectorLike } from '../types.js';
import { chooseBackend } from '../backends/select.js';
import type { BackendOption } from '../types.js';
import type { WasmKernels } from '../backends/wasm.js';
import { ot1dCostJs, ot1dPlanJs, type Plan1d, type Side } from '../backends/js/ot1d.js';
import { type MassOptions, DEFAULT_MAX_BYTES, balanceMasses, checkAbort, checkBudget, toVector, toWeights } from '../validate.js';
import type { OTResult } from '../result.js';
import { defineSolver } from '../registry/define.js';
import { type Schema, num, opt, vector } from '../registry/schema.js';
import { backendOption, massOptions, maxBytesOption, progressOption, signalOption, workerOption } from '../registry/common.js';
import { lengthOf } from '../registry/estimate.js';

export interface Emd1dOptions extends MassOptions {
  /** Weights of x (default uniform 1/n). */
  a?: VectorLike;
  /** Weights of y (default uniform 1/m). */
  b?: VectorLike;
  /** Ground cost |x − y|^p. Default 1. */
  p?: number;
  /** Force a backend ('webgpu', 'wasm', 'js'); 'auto' (default) picks the first available. A forced one that is unavailable is OTError('backend-unavailable'). */
  backend?: BackendOption;
  /** Memory budget of the call in bytes (default DEFAULT_MAX_BYTES); above it the call fails with 'too-large'. */
  maxBytes?: number;
  /** Abort the call: it rejects with OTError('aborted'). */
  signal?: AbortSignal;
  /** Called once when the solve is done ({ done: 1, total: 1 }): sorting has no intermediate stages worth reporting. */
  onProgress?: (p: { done: number; total: number }) => void;
  /** Run in a worker of the pool: 'auto' (default) from 2^18 cost entries per pass, true always, false never. */
  worker?: 'auto' | boolean;
}

export interface Emd1dResult extends OTResult {
  /** Σ_ij P_ij |x_i − y_j|^p (for p ≥ 1 this is W_p^p, POT's ot.wasserstein_1d). Same as `cost`. */
  value: number;
  cost: number;
  /** The monotone plan, indexed by the ORIGINAL positions of x and y; at most n + m − 1 non-zeros. */
  plan: SparseCoupling;
  /** 'optimal' for p ≥ 1 (the monotone plan is optimal for convex costs); 'closed-form' for p < 1 (an upper bound). */
  status: 'optimal' | 'closed-form';
  backend: 'wasm' | 'js';
}

/** The options of the 1D calls (p's range differs: > 0 for emd1d, ≥ 1 for the distance). */
function options1d(minP: number): Schema {
  return {
    a: opt(vector, 'Weights of x.', 'uniform 1/n'),
    b: opt(vector, 'Weights of y.', 'uniform 1/m'),
    p: opt(minP === 0 ? num({ gt: 0 }) : num({ min: minP }), 'Ground cost |x − y|^p.', '1'),
    ...massOptions,
    backend: backendOption(['wasm', 'js']),
    maxBytes: maxBytesOption,
    signal: signalOption,
    onProgress: progressOption('{ done, total }, once at the end'),
    worker: workerOption,
  };
}

/** A 1D solver: p > 0 (the cost |x − y|^p) or p ≥ 1 (the distance W_p). */
function solver1d<R>(name: string, summary: string, minP: number, run: (x: VectorLike, y: VectorLike, opts?: Emd1dOptions) => Promise<R>) {
  return defineSolver({
    name,
    summary,
    params: ['x', 'y'],
    options: options1d(minP),
    backends: ['wasm', 'js'],
    // sorting is cheap: 2^20 points in all and up go to a worker under 'auto'
    workEstimate: ([x, y]) => (lengthOf(x) + lengthOf(y)) / 4,
    run,
  });
}

/** Check p: a finite number ≥ min (p > 0 when min is 0). */
export function checkP(p: number, min: number, why: string): number {
  if (typeof p !== 'number' || !Number.isFinite(p) || (min === 0 ? p <= 0 : p < min)) {
    throw new OTError('invalid-option', `p must be a finite number ${min === 0 ? '> 0' : `≥ ${min}`} ${why} (got ${String(p)}).`);
  }
  return p;
}

export interface Weights1d {
  /** null when every atom has the same mass `uniform` (kernels then skip the argsort). */
  weights: Float64Array | null;
  uniform: number;
}

/** Validated, balanced weights of both sides, with equal-weight sides recognised as uniform. */
export function weightsPair(
  a: VectorLike | undefined, n: number, b: VectorLike | undefined, m: number, opts: MassOptions,
): [Weights1d, Weights1d] {
  const wa = toWeights('a', a, n);
  const wb = balanceMasses(wa, toWeights('b', b, m), opts);
  const side = (w: Float64Array): Weights1d => (w.every((v) => v === w[0]) ? { weights: null, uniform: w[0] } : { weights: w, uniform: 0 });
  return [side(wa), side(wb)];
}

/** Bytes a 1D call places in wasm memory (the js backend needs about as much). */
function bytes1d(n: number, m: number, weighted: boolean, plan: boolean): number {
  let bytes = 8 * (n + m) + 8 * Math.max(n, m); // supports + sort scratch
  if (weighted || plan) bytes += 20 * (n + m) + 4 * Math.max(n, m); // weights, sorted weights, permutations
  if (plan) bytes += 16 * (n + m); // triplets
  return bytes;
}

interface Problem1d {
  x: Float64Array;
  y: Float64Array;
  wa: Weights1d;
  wb: Weights1d;
  p: number;
}

function prepare(x: VectorLike, y: VectorLike, opts: Emd1dOptions, minP: number, plan: boolean): Problem1d {
  checkAbort(opts.signal);
  const p = checkP(opts.p ?? 1, minP, minP === 1 ? 'for the distance W_p' : 'for the cost |x − y|^p');
  const xv = toVector('x', x);
  const yv = toVector('y', y);
  const [wa, wb] = weightsPair(opts.a, xv.length, opts.b, yv.length, opts);
  const weighted = wa.weights !== null || wb.weights !== null;
  checkBudget(bytes1d(xv.length, yv.length, weighted, plan), `1D OT of ${xv.length} vs ${yv.length} points`, opts.maxBytes ?? DEFAULT_MAX_BYTES);
  return { x: xv, y: yv, wa, wb, p };
}

const sides = (q: Problem1d): [Side, Side] => [
  { values: q.x, weights: q.wa.weights, uniform: q.wa.uniform },
  { values: q.y, weights: q.wb.weights, uniform: q.wb.uniform },
];


function costWasm(k: WasmKernels, q: Problem1d): number {
  const n = q.x.length;
  const m = q.y.length;
  const sortF64 = k.abi.sortF64;
  const argsortF64 = k.abi.argsortF64;
  const gatherF64 = k.abi.gatherF64;
  const ot1dCost = k.abi.ot1dCost;
  const s = k.scope();
  try {
    const px = s.put(q.x);
    const py = s.put(q.y);
    const tmp = s.alloc(8 * Math.max(n, m));
    // A weighted side needs the permutation to carry its weights into sorted order.
    const sortSide = (ptr: number, len: number, w: Float64Array | null): number => {
      if (w === null) {
        sortF64(ptr, len, tmp);
        return 0;
      }
      const raw = s.put(w);
      const idx = s.alloc(4 * len);
      const tmpIdx = s.alloc(4 * len);
      const sorted = s.alloc(8 * len);
      argsortF64(ptr, len, idx, tmp, tmpIdx);
      gatherF64(raw, idx, len, sorted);
      return sorted;
    };
    const pa = sortSide(px, n, q.wa.weights);
    const pb = sortSide(py, m, q.wb.weights);
    return ot1dCost(px, pa, q.wa.uniform, n, py, pb, q.wb.uniform, m, q.p);
  } finally {
    s.release();
  }
}

function planWasm(k: WasmKernels, q: Problem1d): Plan1d {
  const n = q.x.length;
  const m = q.y.length;
  const argsortF64 = k.abi.argsortF64;
  const gatherF64 = k.abi.gatherF64;
  const ot1dPlan = k.abi.ot1dPlan;
  const s = k.scope();
  try {
    const px = s.put(q.x);
    const py = s.put(q.y);
    const tmp = s.alloc(8 * Math.max(n, m));
    const tmpIdx = s.alloc(4 * Math.max(n, m));
    const ia = s.alloc(4 * n);
    const ib = s.alloc(4 * m);
    const pa = q.wa.weights && s.put(q.wa.weights);
    const pb = q.wb.weights && s.put(q.wb.weights);
    const sa = pa ? s.alloc(8 * n) : 0;
    const sb = pb ? s.alloc(8 * m) : 0;
    const outI = s.alloc(4 * (n + m));
    const outJ = s.alloc(4 * (n + m));
    const outW = s.alloc(8 * (n + m));
    const costOut = s.alloc(8);
    argsortF64(px, n, ia, tmp, tmpIdx);
    argsortF64(py, m, ib, tmp, tmpIdx);
    if (pa) gatherF64(pa, ia, n, sa);
    if (pb) gatherF64(pb, ib, m, sb);
    const nnz = ot1dPlan(px, sa, q.wa.uniform, n, py, sb, q.wb.uniform, m, q.p, ia, ib, outI, outJ, outW, costOut);
    // views after the last allocation (memory growth detaches them)
    return {
      cost: k.f64(costOut, 1)[0],
      rowIndex: k.i32(outI, nnz).slice(),
      colIndex: k.i32(outJ, nnz).slice(),
      values: k.f64(outW, nnz).slice(),
    };
  } finally {
    s.release();
  }
}

/**
 * Exact OT between two measures on the line: sum_i a_i δ(x_i) and sum_j b_j δ(y_j), cost |x − y|^p.
 * Returns the monotone (north-west-corner on sorted supports) plan and its cost. For p ≥ 1 the cost is
 * convex and this plan is optimal, so `cost` = W_p^p; for 0 < p < 1 it is the monotone plan's cost, an
 * upper bound of the optimum (concave costs are not solved by sorting).
 * a and b default to uniform; unequal masses fail with 'mass' unless { normalize: true } (b is rescaled to Σa).
 */
export const emd1d = solver1d('emd1d', 'Exact 1D OT by sorting: the monotone plan and its cost Σ P_ij |x_i − y_j|^p.', 0, emd1dRun);

async function emd1dRun(x: VectorLike, y: VectorLike, opts: Emd1dOptions = {}): Promise<Emd1dResult> {
  const q = prepare(x, y, opts, 0, true);
  const be = await chooseBackend('emd1d', ['wasm', 'js'], opts.backend);
  const [sx, sy] = sides(q);
  const r = be.name === 'wasm' ? planWasm(be.wasm, q) : ot1dPlanJs(sx, sy, q.p);
  opts.onProgress?.({ done: 1, total: 1 });
  return {
    value: r.cost,
    cost: r.cost,
    plan: new SparseCoupling(q.x.length, q.y.length, r.rowIndex, r.colIndex, r.values),
    status: q.p >= 1 ? 'optimal' : 'closed-form',
    iterations: 0,
    error: 0,
    backend: be.name,
    threads: 1,
  };
}

/**
 * The p-Wasserstein DISTANCE W_p = (min_P Σ P_ij |x_i − y_j|^p)^(1/p), p ≥ 1 (default 1).
 * Note: POT's `ot.wasserstein_1d` (0.8.2) returns W_p^p instead; raise ours to the power p to compare.
 * Same options as emd1d; no plan is built, and uniform weights skip the argsort.
 */
export const wasserstein1d = solver1d('wasserstein1d', 'The 1D p-Wasserstein distance W_p as a number (POT returns W_p^p).', 1, async (x, y, opts = {}): Promise<number> => {
  const r = await wasserstein1dCost(x, y, opts);
  opts.onProgress?.({ done: 1, total: 1 });
  return r.value;
});

/** The cost-only path: W_p and W_p^p. */
async function wasserstein1dCost(x: VectorLike, y: VectorLike, opts: Emd1dOptions): Promise<{ value: number; cost: number }> {
  const q = prepare(x, y, opts, 1, false);
  const be = await chooseBackend('wasserstein1d', ['wasm', 'js'], opts.backend);
  const [sx, sy] = sides(q);
  const cost = be.name === 'wasm' ? costWasm(be.wasm, q) : ot1dCostJs(sx, sy, q.p);
  return { value: Math.pow(cost, 1 / q.p), cost };
}
