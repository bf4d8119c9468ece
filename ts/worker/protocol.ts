// The message protocol between the pool (calling thread) and a worker: which solvers may be offloaded,
// how their arguments and results cross the boundary (typed arrays copied once into fresh buffers and
// transferred; geometries and couplings rebuilt on the other side), and OTErrors kept as OTErrors.
// Environment-agnostic: no Node or browser API here.
import * as Comlink from 'comlink';
import { OTError, type OTErrorCode } from '../errors.js';
import { SparseCoupling } from '../coupling.js';
import { CostMatrixGeometry, PointCloudGeometry } from '../geometry.js';
import type { MatrixLike, VectorLike } from '../types.js';

/** The solvers that can run in a worker, and where each takes its options (the last argument). */
export const OFFLOADABLE = {
  emd: 3,
  emd1d: 2,
  wasserstein1d: 2,
  slicedWasserstein: 2,
  maxSlicedWasserstein: 2,
  sinkhorn: 3,
  sinkhornUnbalanced: 3,
  sinkhornDivergence: 2,
  barycenter: 2,
  convolutionalBarycenter: 1,
  freeSupportBarycenter: 1,
  // neural trainers (ts/neural/train.ts): only with sampler specs, which are plain data
  trainICNNMap: 2,
  trainNOT: 2,
  trainKantorovichRubinsteinCritic: 2,
} as const;

export type SolverName = keyof typeof OFFLOADABLE;

export function isSolverName(s: unknown): s is SolverName {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(OFFLOADABLE, s);
}

/** Options that never cross: they are handled by the pool (signal, onProgress) or decide where to run (worker). */
export const LOCAL_OPTIONS = ['signal', 'onProgress', 'worker'] as const;

/** The API a worker exposes through comlink. */
export interface WorkerApi {
  /** `flags` (Int32Array over a SharedArrayBuffer where available): [0] abort of the running call, [1] GPU in use. */
  /** `wasm`: the calling thread's compiled module (runs in place of the worker's default binary). Returns where the worker's wasm comes from. */
  init(flags: SharedArrayBuffer | undefined, wasm?: WebAssembly.Module): 'pool' | 'default';
  run(id: number, solver: SolverName, payload: Encoded, progress?: MessagePort): Promise<Encoded>;
  abort(id: number): void;
  /** Stop everything, release the GPU device (device.destroy()) if one was acquired; then the pool terminates. */
  shutdown(): Promise<void>;
  /** Test hook: 'exit' ends the worker (process.exit / close()), 'throw' raises an uncaught error in it. */
  crash(mode: 'exit' | 'throw'): void;
}

/** A value as it crosses: plain data plus tagged geometries / couplings. */
export type Encoded = unknown;

const TAG = '__kantorovich';

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null) return false;
  const p = Object.getPrototypeOf(x);
  return p === Object.prototype || p === null;
}

/**
 * Encode for the other side. With `copy` (arguments: the caller keeps its arrays), every typed array is
 * copied once into a fresh buffer that is then transferred; without it (results, owned by the worker),
 * arrays that fill their own buffer are transferred as they are.
 */
export function encode(x: unknown, transfer: Set<ArrayBuffer>, copy: boolean): Encoded {
  if (ArrayBuffer.isView(x)) {
    if (x instanceof DataView) return x;
    const t = x as unknown as Float64Array;
    const own = !copy && t.buffer instanceof ArrayBuffer && t.byteOffset === 0 && t.byteLength === t.buffer.byteLength;
    const out = own ? t : t.slice();
    transfer.add(out.buffer as ArrayBuffer);
    return out;
  }
  if (x instanceof CostMatrixGeometry) return { [TAG]: 'costMatrix', M: encode(x.M, transfer, copy) };
  if (x instanceof PointCloudGeometry) {
    return { [TAG]: 'pointCloud', X: encode(x.X, transfer, copy), Y: encode(x.Y, transfer, copy), cost: { ...x.cost } };
  }
  if (x instanceof SparseCoupling) {
    return {
      [TAG]: 'coupling',
      rows: x.rows,
      cols: x.cols,
      rowIndex: encode(x.rowIndex, transfer, copy),
      colIndex: encode(x.colIndex, transfer, copy),
      values: encode(x.values, transfer, copy),
    };
  }
  if (Array.isArray(x)) return x.map((v) => encode(v, transfer, copy));
  if (isPlainObject(x)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) if (typeof v !== 'function') out[k] = encode(v, transfer, copy);
    return out;
  }
  return x;
}

export function decode(x: Encoded): unknown {
  if (Array.isArray(x)) return x.map(decode);
  if (isPlainObject(x)) {
    const tag = x[TAG];
    if (tag === 'costMatrix') return new CostMatrixGeometry(x.M as never);
    if (tag === 'pointCloud') return new PointCloudGeometry(x.X as never, x.Y as never, x.cost as never);
    if (tag === 'coupling') {
      return new SparseCoupling(x.rows as number, x.cols as number, x.rowIndex as Int32Array, x.colIndex as Int32Array, x.values as Float64Array);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) out[k] = decode(v);
    return out;
  }
  return x;
}

/** The arguments of a call without the options that stay on this side; typed arrays copied for transfer. */
export function encodeArgs(solver: SolverName, args: unknown[]): { payload: Encoded; transfer: ArrayBuffer[] } {
  const k = OFFLOADABLE[solver];
  const list = args.slice(0, k + 1);
  while (list.length < k + 1) list.push(undefined);
  const opts = list[k];
  if (isPlainObject(opts)) {
    const o: Record<string, unknown> = { ...opts };
    for (const name of LOCAL_OPTIONS) delete o[name];
    list[k] = o;
  }
  const transfer = new Set<ArrayBuffer>();
  const payload = encode(list, transfer, true);
  return { payload, transfer: [...transfer] };
}

let errorsInstalled = false;

/**
 * Comlink serializes thrown Errors as plain Errors (message, name, stack). Extend its 'throw' handler so an
 * OTError arrives as an OTError with the same code and message. Installed on both sides.
 */
export function installErrorTransfer(): void {
  if (errorsInstalled) return;
  errorsInstalled = true;
  type Thrown = { value: unknown };
  const base = Comlink.transferHandlers.get('throw') as Comlink.TransferHandler<Thrown, unknown>;
  const handler: Comlink.TransferHandler<Thrown, unknown> = {
    canHandle: (v: unknown): v is Thrown => base.canHandle(v),
    serialize(t: Thrown) {
      const e = t.value;
      if (e instanceof OTError) return [{ isError: true, otError: { code: e.code, message: e.message, stack: e.stack } }, []];
      return base.serialize(t);
    },
    deserialize(s: unknown) {
      const o = s as { otError?: { code: OTErrorCode; message: string; stack?: string } };
      if (o && o.otError) {
        const err = new OTError(o.otError.code, o.otError.message);
        // keep the calling thread's stack (where the user awaited) and append the worker's for debugging
        if (o.otError.stack) err.stack = `${err.stack}\n    --- in the worker ---\n${o.otError.stack}`;
        throw err;
      }
      return base.deserialize(s);
    },
  };
  Comlink.transferHandlers.set('throw', handler as Comlink.TransferHandler<unknown, unknown>);
}

// ---- size rule of worker: 'auto' -------------------------------------------------------------------------

/** Rows of a matrix-like or geometry without validating it (0 when unknown: then the call stays in-process). */
function rowsOf(x: unknown): number {
  if (x instanceof CostMatrixGeometry || x instanceof PointCloudGeometry) return x.rows;
  if (Array.isArray(x)) return x.length;
  if (x && typeof x === 'object' && typeof (x as { rows?: unknown }).rows === 'number') return (x as { rows: number }).rows;
  return 0;
}

function colsOf(x: unknown): number {
  if (x instanceof CostMatrixGeometry || x instanceof PointCloudGeometry) return x.cols;
  if (Array.isArray(x)) return x.length > 0 && x[0] && typeof (x[0] as ArrayLike<number>).length === 'number' ? (x[0] as ArrayLike<number>).length : 0;
  if (x && typeof x === 'object' && typeof (x as { cols?: unknown }).cols === 'number') return (x as { cols: number }).cols;
  return 0;
}

function lengthOf(x: unknown): number {
  return x && typeof (x as VectorLike).length === 'number' ? (x as VectorLike).length : 0;
}

/**
 * The size rule of `worker: 'auto'`: a call goes to a worker when its work estimate reaches AUTO_THRESHOLD
 * (2^18: below it a solve takes milliseconds and a worker round trip would be a noticeable share).
 * The estimate is the number of cost entries one pass touches:
 * - emd, sinkhorn, sinkhornUnbalanced: n·m (e.g. 512 × 512 and up goes to a worker);
 * - sinkhornDivergence: n·m + n² + m² (its three problems);
 * - barycenter: k·n·n' (k histograms of n bins, barycenter of n' bins);
 * - convolutionalBarycenter: k·h·w·(h + w)/16 for the scaling form (one separable blur costs hw(h + w)
 *   multiply-adds), k·h·w·(h + w) for the log domain (an exponential each), which 'auto' picks below reg 0.04;
 * - freeSupportBarycenter: k_support·Σ n_t (one exact OT per measure per step);
 * - emd1d, wasserstein1d: (n + m)/4 (sorting is cheap: 2^20 points in all and up);
 * - slicedWasserstein, maxSlicedWasserstein: (n + m)·k_directions/16;
 * - the neural trainers: iterations × batch × network updates per iteration × hidden units (the trainers'
 *   defaults where unset): any real training run (the defaults give 10^7 and more) goes to a worker.
 * Below it the call runs in-process: a worker round trip costs about a millisecond (more on the first call,
 * which starts the worker and compiles the wasm there).
 */
export const AUTO_THRESHOLD = 2 ** 18;

export function workEstimate(solver: SolverName, args: unknown[]): number {
  const opts = (args[OFFLOADABLE[solver]] ?? {}) as Record<string, unknown>;
  switch (solver) {
    case 'emd':
    case 'sinkhorn':
    case 'sinkhornUnbalanced':
      return rowsOf(args[2]) * colsOf(args[2]) || lengthOf(args[0]) * lengthOf(args[1]);
    case 'sinkhornDivergence': {
      const n = rowsOf(args[0]);
      const m = rowsOf(args[1]);
      return n * m + n * n + m * m;
    }
    case 'barycenter':
      return rowsOf(args[0]) * rowsOf(args[1]) * colsOf(args[1]);
    case 'convolutionalBarycenter': {
      const h = Number(opts.height) || 0;
      const w = Number(opts.width) || 0;
      const log = opts.method === 'log' || (opts.method !== 'scaling' && !(Number(opts.reg) >= 0.04));
      return (rowsOf(args[0]) * h * w * (h + w)) / (log ? 1 : 16);
    }
    case 'freeSupportBarycenter': {
      const ms = Array.isArray(args[0]) ? (args[0] as { X?: MatrixLike }[]) : [];
      let total = 0;
      for (const mu of ms) total += rowsOf(mu?.X);
      const k = opts.init !== undefined ? rowsOf(opts.init) : Number(opts.k) || 0;
      return k * total;
    }
    case 'emd1d':
    case 'wasserstein1d':
      return (lengthOf(args[0]) + lengthOf(args[1])) / 4;
    case 'slicedWasserstein':
    case 'maxSlicedWasserstein': {
      const k = opts.projections !== undefined ? rowsOf(opts.projections) : Number(opts.nProjections ?? 50) || 0;
      return ((rowsOf(args[0]) + rowsOf(args[1])) * k) / 16;
    }
    case 'trainICNNMap':
      return num(opts.iterations, 500) * num(opts.batchSize, 256) * (num(opts.innerSteps, 4) + 1) * units(opts.hidden, [32, 32]);
    case 'trainNOT':
      return num(opts.iterations, 1000) * num(opts.batchSize, 64) * (num(opts.innerSteps, 10) + 1) * (units(opts.hiddenT, [64, 64]) + units(opts.hiddenF, [64, 64]));
    case 'trainKantorovichRubinsteinCritic':
      return num(opts.iterations, 300) * num(opts.batchSize, 256) * units(opts.hidden, [32, 32]);
  }
}

function num(x: unknown, fallback: number): number {
  return x === undefined ? fallback : Number(x) || 0;
}

function units(widths: unknown, fallback: number[]): number {
  return (Array.isArray(widths) ? widths : fallback).reduce((s: number, w) => s + (Number(w) || 0), 0);
}
