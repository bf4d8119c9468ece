// A geometry says what the measures live on and owns the cost evaluations; solvers never compute costs
// themselves (DESIGN.md: geometry owns the kernel operations, the solver owns the iteration).
import { OTError } from './errors.js';
import { type Cost, type CostSpec, pointCost, toCost } from './costs.js';
import type { DenseMatrix, MatrixLike } from './types.js';
import { LogSumExp } from './entropic/logsumexp.js';
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

/**
 * Histograms on a regular h × w grid, both measures on the same grid, with the squared Euclidean cost between
 * pixel centres: C_(r,c),(r',c') = ((r − r')·dy)² + ((c − c')·dx)². The kernel K = exp(−C/ε) is separable
 * (Solomon et al. 2015, "Convolutional Wasserstein distances"): applying it costs h·w·(h + w) instead of (h·w)²,
 * and nothing n × n is ever stored. Pixels are numbered row-major, q = r·w + c.
 */
export class GridGeometry {
  /** Discriminant of the {@link Geometry} union. */
  readonly kind = 'grid' as const;
  /**
   * Use {@link grid} to build one.
   * @param height h, pixels per column
   * @param width w, pixels per row
   * @param dy the distance between vertically adjacent pixel centres
   * @param dx the distance between horizontally adjacent pixel centres
   */
  constructor(
    readonly height: number,
    readonly width: number,
    readonly dy: number,
    readonly dx: number,
  ) {}
  /** n = h·w, the number of pixels (source side). */
  get rows(): number {
    return this.height * this.width;
  }
  /** m = h·w, the number of pixels (target side: the same grid). */
  get cols(): number {
    return this.height * this.width;
  }
  /** The cost between pixels i and j (row-major indices). */
  costAt(i: number, j: number): number {
    const w = this.width;
    const dr = (Math.floor(i / w) - Math.floor(j / w)) * this.dy;
    const dc = ((i % w) - (j % w)) * this.dx;
    return dr * dr + dc * dc;
  }
  /** Writes row i of the (h·w) × (h·w) cost matrix into `out`. */
  costRow(i: number, out: Float64Array): void {
    for (let j = 0; j < out.length; j++) out[j] = this.costAt(i, j);
  }
  /** The largest cost on the grid (between opposite corners). */
  get diameterSquared(): number {
    return ((this.height - 1) * this.dy) ** 2 + ((this.width - 1) * this.dx) ** 2;
  }
  /** The log-kernel −((i − r)·spacing)²/ε of one axis, len × len (`'y'`: the h rows, `'x'`: the w columns). */
  axisLogKernel(axis: 'y' | 'x', eps: number): Float64Array {
    return axis === 'y' ? separableLogKernel(this.height, this.dy, eps) : separableLogKernel(this.width, this.dx, eps);
  }
  /** The pixel centres (r·dy, c·dx) as two identical point clouds with the squared Euclidean cost. */
  toPointCloud(): PointCloudGeometry {
    const n = this.rows;
    const data = new Float64Array(2 * n);
    for (let q = 0; q < n; q++) {
      data[2 * q] = Math.floor(q / this.width) * this.dy;
      data[2 * q + 1] = (q % this.width) * this.dx;
    }
    const centres = { data, rows: n, cols: 2 };
    return new PointCloudGeometry(centres, centres, toCost('sqeuclidean'));
  }
  /** Materialize the (h·w) × (h·w) cost matrix (checked against the memory budget). */
  dense(maxBytes = DEFAULT_MAX_BYTES): DenseMatrix {
    const n = this.rows;
    checkBudget(n * n * 8, `the ${n} × ${n} cost matrix of the ${this.height} × ${this.width} grid`, maxBytes);
    const data = new Float64Array(n * n);
    for (let i = 0; i < n; i++) this.costRow(i, data.subarray(i * n, (i + 1) * n));
    return { data, rows: n, cols: n };
  }
}

/** The log-kernel of `len` points `spacing` apart: −((i − r)·spacing)²/ε, len × len row-major. */
export function separableLogKernel(len: number, spacing: number, eps: number): Float64Array {
  const lk = new Float64Array(len * len);
  for (let i = 0; i < len; i++)
    for (let r = 0; r < len; r++) {
      const d = (i - r) * spacing;
      lk[i * len + r] = -(d * d) / eps;
    }
  return lk;
}

/**
 * out = log(ξ_h · e^x · ξ_w) for an h × w image x (row-major) and the axis log-kernels lH (h × h), lW (w × w):
 * the separable log-sum-exp LSE_j(x_j + logK_ij) of a grid, exact (no underflow); −∞ pixels drop out.
 */
export function gridLogBlur(h: number, w: number, lH: Float64Array, lW: Float64Array, x: Float64Array, out: Float64Array): void {
  const tmp = new Float64Array(h * w);
  for (let i = 0; i < h; i++)
    for (let j = 0; j < w; j++) {
      const lse = new LogSumExp();
      for (let r = 0; r < h; r++) lse.add(lH[i * h + r] + x[r * w + j]);
      tmp[i * w + j] = lse.value();
    }
  for (let i = 0; i < h; i++)
    for (let j = 0; j < w; j++) {
      const lse = new LogSumExp();
      for (let q = 0; q < w; q++) lse.add(tmp[i * w + q] + lW[j * w + q]);
      out[i * w + j] = lse.value();
    }
}

/** What the measures live on: a dense cost matrix, two point clouds with costs computed on the fly, or a grid. */
export type Geometry = CostMatrixGeometry | PointCloudGeometry | GridGeometry;

/** Options of {@link grid}. */
export interface GridOptions {
  /** h, pixels per column (an integer ≥ 1). */
  height: number;
  /** w, pixels per row (an integer ≥ 1). */
  width: number;
  /**
   * Distance between adjacent pixel centres, one number for both axes or `[dy, dx]`. Default: the grid spans
   * [0, 1]² (dy = 1/(h − 1), dx = 1/(w − 1)), POT's `convolutional_barycenter2d` convention.
   */
  spacing?: number | [number, number];
}

/**
 * A regular grid as a geometry (squared Euclidean cost between pixel centres): entropic solvers apply its kernel
 * by separable convolutions, h·w·(h + w) work per iteration and O(h·w) memory, where a cost matrix would be
 * (h·w)². Histograms are flattened row-major (pixel (r, c) at r·w + c).
 *
 * @throws {@link OTError} `'invalid-option'` for a non-integer or non-positive size or a non-positive spacing
 * @example
 * ```ts
 * const r = await sinkhorn(imgA, imgB, grid({ height: 64, width: 64 }), { reg: 1e-3 });
 * ```
 */
export function grid(opts: GridOptions): GridGeometry {
  const { height, width } = opts ?? ({} as GridOptions);
  for (const [name, v] of [['height', height], ['width', width]] as const) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new OTError('invalid-option', `grid: ${name} must be an integer ≥ 1 (got ${String(v)}).`);
  }
  const sp = opts.spacing;
  const [dy, dx] = sp === undefined ? [height > 1 ? 1 / (height - 1) : 0, width > 1 ? 1 / (width - 1) : 0] : typeof sp === 'number' ? [sp, sp] : sp;
  for (const v of [dy, dx]) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (sp !== undefined && v === 0)) {
      throw new OTError('invalid-option', `grid: spacing must be a finite number > 0 or a pair of them (got ${JSON.stringify(sp)}).`);
    }
  }
  return new GridGeometry(height, width, dy, dx);
}

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
  return x instanceof CostMatrixGeometry || x instanceof PointCloudGeometry || x instanceof GridGeometry;
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
