/** A vector as callers give it. */
export type VectorLike = Float64Array | Float32Array | ArrayLike<number>;

/** A row-major matrix: `data[i * cols + j]`. */
export interface Matrix {
  /** rows × cols entries, row after row. */
  data: Float64Array | Float32Array | ArrayLike<number>;
  /** Number of rows (points, for a point cloud). */
  rows: number;
  /** Number of columns (the dimension, for a point cloud). */
  cols: number;
}

/** A matrix as callers give it: row-major `{ data, rows, cols }` or an array of rows. */
export type MatrixLike = Matrix | ArrayLike<number>[];

/** The normalized internal form of a matrix (always f64, always row-major, always validated). */
export interface DenseMatrix {
  /** rows × cols entries, row after row. */
  data: Float64Array;
  /** Number of rows. */
  rows: number;
  /** Number of columns. */
  cols: number;
}

/** Which implementation ran a call. */
export type BackendName = 'wasm' | 'js' | 'webgpu';

/** A backend to force, or 'auto'. */
export type BackendOption = BackendName | 'auto';
