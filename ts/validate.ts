// Input checks shared by every solver. Each throws an OTError before any work starts.
import { OTError } from './errors.js';
import type { DenseMatrix, MatrixLike, VectorLike } from './types.js';

/**
 * Memory budget for the buffers one call may allocate (documented in the README): 2 GiB by default,
 * because a wasm32 instance addresses at most 4 GiB and a dense n × m f64 cost matrix is 8·n·m bytes.
 */
export const DEFAULT_MAX_BYTES = 2 * 1024 ** 3;

/** Relative tolerance on |Σa − Σb| / max(Σa, Σb) before masses count as unequal. */
export const DEFAULT_MASS_TOLERANCE = 1e-9;

/** The caller's budget, checked: a number > 0 (Infinity: no budget); NaN or a string would silently disable it. */
export function checkMaxBytes(maxBytes: unknown): number {
  if (maxBytes === undefined) return DEFAULT_MAX_BYTES;
  if (typeof maxBytes !== 'number' || !(maxBytes > 0)) {
    throw new OTError('invalid-option', `maxBytes must be a number of bytes > 0 (Infinity for no budget); got ${typeof maxBytes === 'string' ? JSON.stringify(maxBytes) : String(maxBytes)}.`);
  }
  return maxBytes;
}

export function checkBudget(bytes: number, what: string, maxBytes: number = DEFAULT_MAX_BYTES): void {
  maxBytes = checkMaxBytes(maxBytes);
  if (bytes > maxBytes) {
    const mib = (x: number) => `${(x / 1024 ** 2).toFixed(0)} MiB`;
    throw new OTError(
      'too-large',
      `${what} needs ${mib(bytes)}, above the memory budget of ${mib(maxBytes)}. ` +
        `Use a point-cloud geometry (costs computed on the fly), a smaller problem, or raise { maxBytes }.`,
    );
  }
}

export function checkFinite(name: string, data: ArrayLike<number>): void {
  // typed arrays (the large inputs) hold numbers only: x − x is 0 for finite x and NaN for ±∞ and NaN, so a
  // branch-free sum of them, four at a time (~0.55 ns an entry against ~1.1 for a test per entry), is 0 exactly
  // when all are finite; the loop that finds the first bad index runs only when it is not
  if (data instanceof Float64Array) {
    if (allFinite(data)) return;
    for (let i = 0; i < data.length; i++) {
      const x = data[i];
      if (x - x !== 0) throw new OTError('nan', `${name}[${i}] is ${String(x)}; every entry must be a finite number.`);
    }
    return;
  }
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) {
      throw new OTError('nan', `${name}[${i}] is ${String(x)}; every entry must be a finite number.`);
    }
  }
}

function allFinite(d: Float64Array): boolean {
  const n = d.length;
  let acc = 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) acc += d[i] - d[i] + (d[i + 1] - d[i + 1]) + (d[i + 2] - d[i + 2]) + (d[i + 3] - d[i + 3]);
  for (; i < n; i++) acc += d[i] - d[i];
  return acc === 0;
}

/** Copy a caller's vector to a fresh, checked Float64Array. */
export function toVector(name: string, x: VectorLike): Float64Array {
  if (x == null || typeof (x as ArrayLike<number>).length !== 'number') {
    throw new OTError('shape', `${name} must be an array of numbers or a typed array.`);
  }
  if (x.length === 0) throw new OTError('empty', `${name} is empty; give at least one entry.`);
  checkFinite(name, x);
  return Float64Array.from(x as ArrayLike<number>);
}

/** Dual potentials as a caller gives them back (e.g. a previous result's): −∞ is allowed (zero weights), NaN and +∞ are not. */
export function toPotential(name: string, x: VectorLike): Float64Array {
  if (x == null || typeof (x as ArrayLike<number>).length !== 'number') {
    throw new OTError('shape', `${name} must be an array of numbers or a typed array.`);
  }
  const out = Float64Array.from(x as ArrayLike<number>);
  for (let i = 0; i < out.length; i++) {
    if (Number.isNaN(out[i]) || out[i] === Infinity) throw new OTError('nan', `${name}[${i}] is ${String(x[i])}; potentials must be finite or −∞ (zero weight).`);
  }
  return out;
}

function isMatrixObject(x: unknown): x is { data: ArrayLike<number>; rows: number; cols: number } {
  return typeof x === 'object' && x !== null && 'data' in x && 'rows' in x && 'cols' in x;
}

/**
 * Normalize `{ data, rows, cols }` or `number[][]` to a checked row-major f64 matrix. With `finite: 'caller'` a
 * Float64Array's entries are not scanned here: the caller checks them in a pass it makes anyway (emd checks the
 * costs where it copies them into wasm memory), before any work.
 */
export function toMatrix(name: string, x: MatrixLike, maxBytes = DEFAULT_MAX_BYTES, finite: 'here' | 'caller' = 'here'): DenseMatrix {
  if (isMatrixObject(x)) {
    const { rows, cols, data } = x;
    if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
      throw new OTError('shape', `${name}: rows and cols must be non-negative integers (got ${rows} × ${cols}).`);
    }
    if (rows === 0 || cols === 0) throw new OTError('empty', `${name} is empty (${rows} × ${cols}); give at least one row and one column.`);
    if (data == null || data.length !== rows * cols) {
      throw new OTError('shape', `${name}.data has ${data?.length} entries but ${rows} × ${cols} = ${rows * cols} are needed.`);
    }
    checkBudget(rows * cols * 8, `${name} (${rows} × ${cols})`, maxBytes);
    if (finite === 'here' || !(data instanceof Float64Array)) checkFinite(`${name}.data`, data);
    // Solvers never write to their inputs, so a Float64Array is used as it is, not copied.
    return { data: data instanceof Float64Array ? data : Float64Array.from(data), rows, cols };
  }
  if (!Array.isArray(x)) {
    throw new OTError('shape', `${name} must be { data, rows, cols } (row-major) or an array of rows.`);
  }
  const rows = x.length;
  if (rows === 0) throw new OTError('empty', `${name} has no rows; give at least one row (one point or one source).`);
  const cols = x[0]?.length ?? 0;
  if (cols === 0) throw new OTError('empty', `${name} has rows of length 0; give at least one column.`);
  checkBudget(rows * cols * 8, `${name} (${rows} × ${cols})`, maxBytes);
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const row = x[i];
    if (row == null || row.length !== cols) {
      throw new OTError('shape', `${name}: row ${i} has ${row?.length} entries, row 0 has ${cols}; rows must be equally long.`);
    }
    for (let j = 0; j < cols; j++) {
      const v = row[j];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new OTError('nan', `${name}[${i}][${j}] is ${String(v)}; every entry must be a finite number.`);
      }
      data[i * cols + j] = v;
    }
  }
  return { data, rows, cols };
}

/** Weights of a measure: `undefined` means uniform; otherwise length n, finite, ≥ 0, positive total. */
export function toWeights(name: string, w: VectorLike | undefined, n: number): Float64Array {
  if (w === undefined) return new Float64Array(n).fill(1 / n);
  const out = toVector(name, w);
  if (out.length !== n) {
    throw new OTError('shape', `${name} has ${out.length} weights but its measure has ${n} points.`);
  }
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (out[i] < 0) throw new OTError('negative', `${name}[${i}] = ${out[i]} is negative; weights are masses, ≥ 0.`);
    total += out[i];
  }
  if (!(total > 0)) throw new OTError('mass', `${name} sums to 0; a measure needs positive total mass.`);
  return out;
}

export function sum(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s;
}

export interface MassOptions {
  /** Rescale b to a's total mass instead of rejecting unequal masses. Default false. */
  normalize?: boolean;
  /** Relative tolerance for |Σa − Σb|. Default 1e-9. */
  massTolerance?: number;
}

/**
 * Balanced OT needs Σa = Σb. Within tolerance (or with `normalize`) b is rescaled so the totals agree
 * to the last bit the solver needs; beyond it the call fails with code 'mass'.
 */
export function balanceMasses(a: Float64Array, b: Float64Array, opts: MassOptions = {}): Float64Array {
  const sa = sum(a);
  const sb = sum(b);
  const tol = opts.massTolerance ?? DEFAULT_MASS_TOLERANCE;
  const rel = Math.abs(sa - sb) / Math.max(sa, sb);
  if (rel > tol && !opts.normalize) {
    throw new OTError(
      'mass',
      `a sums to ${sa} but b sums to ${sb} (relative difference ${rel.toExponential(2)} > ${tol}). ` +
        `Balanced OT needs equal masses: normalize both, pass { normalize: true }, or use unbalanced OT.`,
    );
  }
  if (sa === sb) return b;
  const scale = sa / sb;
  const out = new Float64Array(b.length);
  for (let j = 0; j < b.length; j++) out[j] = b[j] * scale;
  return out;
}

export function checkPositiveInteger(name: string, x: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(x) || x < 1 || x > max) {
    throw new OTError('invalid-option', `${name} must be an integer in [1, ${max}] (got ${String(x)}).`);
  }
  return x;
}

export function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new OTError('aborted', 'The call was aborted before it started.');
}

const YIELD_EVERY_MS = 20;
let lastYield = 0;

/**
 * Between chunks of a long solve. Awaiting a synchronous kernel never lets the event loop turn, so an abort
 * from a timer or a worker message could not fire until the solve ended: with a signal, yield one macrotask
 * at most every 20 ms, then reject with 'aborted' (`progress` says how far the solve got). Free without a signal.
 */
export async function abortPoint(signal: AbortSignal | undefined, progress: () => string): Promise<void> {
  if (!signal) return;
  const now = Date.now();
  if (now - lastYield >= YIELD_EVERY_MS) {
    lastYield = now;
    await new Promise((r) => setTimeout(r, 0));
  }
  if (signal.aborted) throw new OTError('aborted', `The call was aborted (${progress()}).`);
}
