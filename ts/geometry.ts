// A geometry says what the measures live on and owns the cost evaluations; solvers never compute costs
// themselves (DESIGN.md: geometry owns the kernel operations, the solver owns the iteration).
import { OTError } from './errors.js';
import { type Cost, type CostSpec, pointCost, toCost } from './costs.js';
import type { DenseMatrix, MatrixLike } from './types.js';
import { DEFAULT_MAX_BYTES, checkBudget, checkMaxBytes, toMatrix } from './validate.js';

/** Costs given as a dense n × m matrix. */
export class CostMatrixGeometry {
  readonly kind = 'costMatrix' as const;
  constructor(readonly M: DenseMatrix) {}
  get rows(): number {
    return this.M.rows;
  }
  get cols(): number {
    return this.M.cols;
  }
  costAt(i: number, j: number): number {
    return this.M.data[i * this.M.cols + j];
  }
  dense(): DenseMatrix {
    return this.M;
  }
}

/** Two point clouds (one point per row, same dimension); costs are computed on the fly, never stored n × m. */
export class PointCloudGeometry {
  readonly kind = 'pointCloud' as const;
  constructor(
    readonly X: DenseMatrix,
    readonly Y: DenseMatrix,
    readonly cost: Cost,
  ) {}
  get rows(): number {
    return this.X.rows;
  }
  get cols(): number {
    return this.Y.rows;
  }
  get dim(): number {
    return this.X.cols;
  }
  costAt(i: number, j: number): number {
    return pointCost(this.cost, this.X.data, i, this.Y.data, j, this.dim);
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

export type Geometry = CostMatrixGeometry | PointCloudGeometry;

export interface PointCloudOptions {
  cost?: CostSpec;
  maxBytes?: number;
}

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

export function toGeometry(M: CostInput, maxBytes?: number): Geometry {
  checkMaxBytes(maxBytes); // a geometry given as such has no check of its own: the budget is checked here too
  return isGeometry(M) ? M : costMatrix(M, { maxBytes });
}
