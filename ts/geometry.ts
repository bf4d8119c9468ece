// A geometry says what the measures live on and owns the cost evaluations; solvers never compute costs
// themselves (DESIGN.md: geometry owns the kernel operations, the solver owns the iteration).
import { OTError } from './errors.js';
import { type Cost, type CostSpec, pointCost, toCost } from './costs.js';
import type { DenseMatrix, MatrixLike } from './types.js';
import { DEFAULT_MAX_BYTES, checkBudget, checkMaxBytes, toMatrix } from './validate.js';

/** Costs given as a dense n × m matrix. */
export class CostMatrixGeometry {
  /** Discriminant of the {@link Geometry} union. */
  readonly kind = 'costMatrix' as const;
  /** false only inside a solver that took the matrix with toGeometry(…, deferFinite) and checks it itself. */
  finiteChecked = true;
  /** @param M the validated n × m cost matrix (use {@link costMatrix} to build one from user input). */
  constructor(readonly M: DenseMatrix) {}
  /** n, the number of source points (rows of the cost matrix). */
  get rows(): number {
    return this.M.rows;
  }
  /** m, the number of target points (columns of the cost matrix). */
  get cols(): number {
    return this.M.cols;
  }
  /** The cost C_ij. */
  costAt(i: number, j: number): number {
    return this.M.data[i * this.M.cols + j];
  }
  /** Writes row i of the cost matrix into `out` (length m). */
  costRow(i: number, out: Float64Array): void {
    out.set(this.M.data.subarray(i * this.M.cols, (i + 1) * this.M.cols));
  }
  /** The n × m matrix itself (no copy). */
  dense(): DenseMatrix {
    return this.M;
  }
}

/** Two point clouds (one point per row, same dimension); costs are computed on the fly, never stored n × m. */
export class PointCloudGeometry {
  /** Discriminant of the {@link Geometry} union. */
  readonly kind = 'pointCloud' as const;
  /**
   * Use {@link pointCloud} to build one from user input.
   * @param X the source points, n × d, one per row
   * @param Y the target points, m × d, one per row
   * @param cost the ground cost, as normalized from a {@link CostSpec}
   */
  constructor(
    readonly X: DenseMatrix,
    readonly Y: DenseMatrix,
    readonly cost: Cost,
  ) {}
  /** n, the number of source points. */
  get rows(): number {
    return this.X.rows;
  }
  /** m, the number of target points. */
  get cols(): number {
    return this.Y.rows;
  }
  /** d, the dimension of the points. */
  get dim(): number {
    return this.X.cols;
  }
  /** The cost c(X_i, Y_j), computed on demand. */
  costAt(i: number, j: number): number {
    return pointCost(this.cost, this.X.data, i, this.Y.data, j, this.dim);
  }
  /** Writes row i of the costs, c(X_i, Y_j) for j < out.length, into `out` (length m): O(m·d). */
  costRow(i: number, out: Float64Array): void {
    for (let j = 0; j < out.length; j++) out[j] = this.costAt(i, j);
  }
  /** Materialize the n × m cost matrix (checked against the memory budget). */
  dense(maxBytes = DEFAULT_MAX_BYTES): DenseMatrix {
    const n = this.rows;
    const m = this.cols;
    checkBudget(n * m * 8, `the ${n} × ${m} cost matrix`, maxBytes);
    const data = new Float64Array(n * m);
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) data[i * m + j] = this.costAt(i, j);
    return { data, rows: n, cols: m };
  }
}

/** What the measures live on: a dense cost matrix, or two point clouds with costs computed on the fly. */
export type Geometry = CostMatrixGeometry | PointCloudGeometry;

/** Options of {@link pointCloud} and of `costMatrix(X, Y, opts)`. */
export interface PointCloudOptions {
  /** The ground cost. Default `'sqeuclidean'` (‖x − y‖², POT's `ot.dist` default). */
  cost?: CostSpec;
  /** Memory budget in bytes for the inputs (and, for costMatrix, the n × m matrix). Default {@link DEFAULT_MAX_BYTES}. */
  maxBytes?: number;
}

/**
 * Two point clouds as a geometry: solvers evaluate the costs on the fly and never store the n × m matrix
 * (exact OT up to 2^22 arcs builds them once inside wasm; the entropic solvers stay online, also on the GPU).
 *
 * @param X source points, n × d, one per row (`number[][]` or row-major `{ data, rows, cols }`)
 * @param Y target points, m × d, same d
 * @throws {@link OTError} `'shape'` when the dimensions differ; `'nan'`, `'empty'`, `'too-large'` on bad input
 * @example
 * ```ts
 * const r = await emd(a, b, pointCloud(X, Y, { cost: 'euclidean' }));
 * ```
 */
export function pointCloud(X: MatrixLike, Y: MatrixLike, opts: PointCloudOptions = {}): PointCloudGeometry {
  const cost = toCost(opts.cost);
  const x = toMatrix('X', X, opts.maxBytes);
  const y = toMatrix('Y', Y, opts.maxBytes);
  if (x.cols !== y.cols) {
    throw new OTError('shape', `X has dimension ${x.cols} but Y has dimension ${y.cols}; points must live in the same space.`);
  }
  return new PointCloudGeometry(x, y, cost);
}

/**
 * `costMatrix(M)` wraps a given n × m cost matrix; `costMatrix(X, Y, { cost })` computes the pairwise
 * costs between two point clouds into a dense matrix.
 */
export function costMatrix(M: MatrixLike, opts?: { maxBytes?: number }): CostMatrixGeometry;
export function costMatrix(X: MatrixLike, Y: MatrixLike, opts?: PointCloudOptions): CostMatrixGeometry;
export function costMatrix(
  first: MatrixLike,
  second?: MatrixLike | { maxBytes?: number },
  third?: PointCloudOptions,
): CostMatrixGeometry {
  if (second !== undefined && (Array.isArray(second) || 'data' in (second as object))) {
    const opts = third ?? {};
    return new CostMatrixGeometry(pointCloud(first, second as MatrixLike, opts).dense(opts.maxBytes));
  }
  const opts = (second ?? {}) as { maxBytes?: number };
  return new CostMatrixGeometry(toMatrix('M', first, opts.maxBytes));
}

function isGeometry(x: unknown): x is Geometry {
  return x instanceof CostMatrixGeometry || x instanceof PointCloudGeometry;
}

/** What solvers accept as their cost argument: a matrix or a geometry. */
export type CostInput = MatrixLike | Geometry;

/**
 * The geometry of a cost argument. `deferFinite`: a raw Float64Array matrix is not scanned for NaN/±∞ here; the
 * returned geometry has `finiteChecked = false` and the caller must check it (emd does, in wasm) before any work.
 */
export function toGeometry(M: CostInput, maxBytes?: number, deferFinite = false): Geometry {
  checkMaxBytes(maxBytes); // a geometry given as such has no check of its own: the budget is checked here too
  if (isGeometry(M)) return M;
  if (!deferFinite) return costMatrix(M, { maxBytes });
  const g = new CostMatrixGeometry(toMatrix('M', M, maxBytes, 'caller'));
  g.finiteChecked = !(Array.isArray(M) === false && (M as { data?: unknown }).data instanceof Float64Array);
  return g;
}
