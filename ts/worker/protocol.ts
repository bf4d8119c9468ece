// The message protocol between the pool (calling thread) and a worker: which solvers may be offloaded,
// how their arguments and results cross the boundary (typed arrays copied once into fresh buffers and
// transferred; geometries and couplings rebuilt on the other side), and OTErrors kept as OTErrors.
// Environment-agnostic: no Node or browser API here.
import * as Comlink from 'comlink';
import { OTError, type OTErrorCode } from '../errors.js';
import { DenseCoupling, LazyCoupling, SparseCoupling } from '../coupling.js';
import { CostMatrixGeometry, GridGeometry, PointCloudGeometry } from '../geometry.js';

/** A solver's registry name (ts/solvers/index.ts). */
export type SolverName = string;

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
  if (x instanceof GridGeometry) return { [TAG]: 'grid', height: x.height, width: x.width, dy: x.dy, dx: x.dx };
  if (x instanceof PointCloudGeometry) {
    return { [TAG]: 'pointCloud', X: encode(x.X, transfer, copy), Y: encode(x.Y, transfer, copy), cost: { ...x.cost } };
  }
  if (x instanceof DenseCoupling) return { [TAG]: 'denseCoupling', rows: x.rows, cols: x.cols, data: encode(x.data, transfer, copy) };
  if (x instanceof LazyCoupling) {
    return { [TAG]: 'lazyCoupling', cost: encode(x.cost, transfer, copy), f: encode(x.f, transfer, copy), g: encode(x.g, transfer, copy), eps: x.eps };
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
    if (tag === 'grid') return new GridGeometry(x.height as number, x.width as number, x.dy as number, x.dx as number);
    if (tag === 'pointCloud') return new PointCloudGeometry(x.X as never, x.Y as never, x.cost as never);
    if (tag === 'denseCoupling') return new DenseCoupling(x.rows as number, x.cols as number, x.data as Float64Array);
    if (tag === 'lazyCoupling') return new LazyCoupling(decode(x.cost) as never, x.f as Float64Array, x.g as Float64Array, x.eps as number);
    if (tag === 'coupling') {
      return new SparseCoupling(x.rows as number, x.cols as number, x.rowIndex as Int32Array, x.colIndex as Int32Array, x.values as Float64Array);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) out[k] = decode(v);
    return out;
  }
  return x;
}

/**
 * The arguments of a call without the options that stay on this side; typed arrays copied for transfer.
 * The dispatcher (ts/registry/define.ts) passes every positional argument and the options last.
 */
export function encodeArgs(_solver: SolverName, args: unknown[]): { payload: Encoded; transfer: ArrayBuffer[] } {
  const list = args.slice();
  const k = list.length - 1;
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
