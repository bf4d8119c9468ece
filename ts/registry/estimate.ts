// Sizes of unvalidated inputs, for work estimates (which decide `worker: 'auto'` and must never throw).
import { CostMatrixGeometry, PointCloudGeometry } from '../geometry.js';

/** Rows of a matrix-like or geometry (0 when unknown: the call then stays in-process). */
export function rowsOf(x: unknown): number {
  if (x instanceof CostMatrixGeometry || x instanceof PointCloudGeometry) return x.rows;
  if (Array.isArray(x)) return x.length;
  if (x && typeof x === 'object' && typeof (x as { rows?: unknown }).rows === 'number') return (x as { rows: number }).rows;
  return 0;
}

export function colsOf(x: unknown): number {
  if (x instanceof CostMatrixGeometry || x instanceof PointCloudGeometry) return x.cols;
  if (Array.isArray(x)) return x.length > 0 && x[0] && typeof (x[0] as ArrayLike<number>).length === 'number' ? (x[0] as ArrayLike<number>).length : 0;
  if (x && typeof x === 'object' && typeof (x as { cols?: unknown }).cols === 'number') return (x as { cols: number }).cols;
  return 0;
}

export function lengthOf(x: unknown): number {
  return x && typeof (x as ArrayLike<number>).length === 'number' ? (x as ArrayLike<number>).length : 0;
}

/** n·m of a transport problem given as (a, b, M): from M, else from the weights. */
export function pairEntries(a: unknown, b: unknown, M: unknown): number {
  return rowsOf(M) * colsOf(M) || lengthOf(a) * lengthOf(b);
}

/** An option's number, or the fallback when unset (0 when it is not a number: the estimate stays small). */
export function numberOr(x: unknown, fallback: number): number {
  return x === undefined ? fallback : Number(x) || 0;
}
