// The input side of the batched solvers (ts/solvers/batch.ts): B problems as an array (ragged by nature) or
// packed B × n × m with per-problem valid sizes (the padding mask), turned into one list of problems, and
// errors that name the problem they come from.
import { OTError } from '../errors.js';
import type { CostInput } from '../geometry.js';
import type { MatrixLike, VectorLike } from '../types.js';
import { isPlainObject } from '../registry/schema.js';

/** One transport problem of a batch: weights (default uniform) and a cost (matrix or geometry). */
export interface BatchProblem {
  /** Row weights (default uniform 1/n). */
  a?: VectorLike;
  /** Column weights (default uniform 1/m). */
  b?: VectorLike;
  /** The cost: a matrix, `costMatrix(...)` or `pointCloud(...)`. */
  M: CostInput;
}

/**
 * B problems packed as one padded tensor (POT's ot.batch layout): `costs` is B × n × m row-major, `a` B × n and
 * `b` B × m (default uniform over each problem's valid entries). `rows[q]` × `cols[q]` (default n × m) is the
 * valid leading block of problem q; entries outside it are padding and are never read.
 */
export interface PackedBatch {
  /** B × n × m costs, row-major per problem, problem after problem. */
  costs: ArrayLike<number>;
  /** [B, n, m]. */
  shape: readonly [number, number, number];
  /** B × n row weights (default uniform over each problem's valid rows). */
  a?: ArrayLike<number>;
  /** B × m column weights (default uniform over each problem's valid columns). */
  b?: ArrayLike<number>;
  /** Valid rows of each problem (the padding mask of the rows), each in 1 … n. */
  rows?: ArrayLike<number>;
  /** Valid columns of each problem, each in 1 … m. */
  cols?: ArrayLike<number>;
}

/** What the batched cost solvers take: an array of problems, or one packed tensor. */
export type BatchInput = readonly BatchProblem[] | PackedBatch;

/** A pair of point clouds of a batch (sinkhornDivergenceBatch): rows are points; weights default uniform. */
export interface CloudPair {
  /** The first cloud, n × d. */
  X: MatrixLike;
  /** The second cloud, m × d. */
  Y: MatrixLike;
  /** Weights of X's points (default uniform; a zero masks a padded point). */
  a?: VectorLike;
  /** Weights of Y's points (default uniform). */
  b?: VectorLike;
}

/** A pair of 1D samples of a batch (wasserstein1dBatch). */
export interface SamplePair {
  /** The first samples. */
  x: VectorLike;
  /** The second samples. */
  y: VectorLike;
  /** Weights of x (default uniform). */
  a?: VectorLike;
  /** Weights of y (default uniform). */
  b?: VectorLike;
}

/** Runs `fn` for problem q; an OTError it throws gets "problem q: " in front (same code), anything else passes. */
export function atProblem<T>(solver: string, q: number, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw problemError(solver, q, e);
  }
}

export function problemError(solver: string, q: number, e: unknown): unknown {
  if (!(e instanceof OTError) || e.message.startsWith(`${solver}: problem `)) return e;
  const out = new OTError(e.code, `${solver}: problem ${q}: ${e.message}`);
  (out as { cause?: unknown }).cause = e;
  return out;
}

/** The list of a batch (at least one problem), each entry an object. */
export function listOf<T>(solver: string, what: string, x: unknown): T[] {
  if (!Array.isArray(x) || x.length === 0) throw new OTError('shape', `${solver}: expected a non-empty array of ${what} (got ${describe(x)}).`);
  x.forEach((p, q) => {
    if (!isPlainObject(p)) throw new OTError('shape', `${solver}: problem ${q}: expected ${what.replace(/s$/, '')} object (got ${describe(p)}).`);
  });
  return x as T[];
}

function describe(x: unknown): string {
  return x === null ? 'null' : Array.isArray(x) ? `an array of ${x.length}` : typeof x;
}

function isPacked(x: unknown): x is PackedBatch {
  return isPlainObject(x) && 'costs' in x && 'shape' in x;
}

/** The problems of a batch input, packed tensors unpacked (views where a problem is the whole n × m block). */
export function unpackBatch(solver: string, input: unknown): BatchProblem[] {
  if (!isPacked(input)) {
    const list = listOf<BatchProblem>(solver, 'problems { a?, b?, M }', input);
    list.forEach((p, q) => {
      if (p.M === undefined) throw new OTError('shape', `${solver}: problem ${q}: the cost M is missing.`);
    });
    return list;
  }
  const { costs, shape } = input;
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((s) => Number.isInteger(s) && s >= 1)) {
    throw new OTError('shape', `${solver}: shape must be [B, n, m] of positive integers (got ${JSON.stringify(shape)}).`);
  }
  const [B, n, m] = shape;
  const check = (name: string, x: ArrayLike<number> | undefined, len: number) => {
    if (x !== undefined && (x == null || x.length !== len)) {
      throw new OTError('shape', `${solver}: ${name} has ${x?.length} entries; shape [${B}, ${n}, ${m}] needs ${len}.`);
    }
  };
  check('costs', costs, B * n * m);
  check('a', input.a, B * n);
  check('b', input.b, B * m);
  check('rows', input.rows, B);
  check('cols', input.cols, B);
  const C = costs instanceof Float64Array ? costs : Float64Array.from(costs);
  const out: BatchProblem[] = [];
  for (let q = 0; q < B; q++) {
    const r = input.rows ? input.rows[q] : n;
    const c = input.cols ? input.cols[q] : m;
    if (!Number.isInteger(r) || r < 1 || r > n || !Number.isInteger(c) || c < 1 || c > m) {
      throw new OTError('shape', `${solver}: problem ${q}: its valid block ${r} × ${c} must lie within 1 … ${n} × 1 … ${m}.`);
    }
    let data: Float64Array;
    if (c === m) data = C.subarray(q * n * m, q * n * m + r * m);
    else {
      data = new Float64Array(r * c);
      for (let i = 0; i < r; i++) data.set(C.subarray(q * n * m + i * m, q * n * m + i * m + c), i * c);
    }
    const slice = (x: ArrayLike<number> | undefined, at: number, len: number) =>
      x === undefined ? undefined : x instanceof Float64Array ? x.subarray(at, at + len) : Array.prototype.slice.call(x, at, at + len);
    out.push({ a: slice(input.a, q * n, r), b: slice(input.b, q * m, c), M: { data, rows: r, cols: c } });
  }
  return out;
}
