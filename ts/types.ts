/** A vector as callers give it. */
export type VectorLike = Float64Array | Float32Array | ArrayLike<number>;

/** A row-major matrix: `data[i * cols + j]`. */
export interface Matrix {
  data: Float64Array | Float32Array | ArrayLike<number>;
  rows: number;
  cols: number;
}

/** A matrix as callers give it: row-major `{ data, rows, cols }` or an array of rows. */
export type MatrixLike = Matrix | ArrayLike<number>[];

/** The normalized internal form of a matrix (always f64, always row-major, always validated). */
export interface DenseMatrix {
  data: Float64Array;
  rows: number;
  cols: number;
}

/** Which implementation ran a call. */
export type BackendName = 'wasm' | 'js' | 'webgpu';

/** A backend to force, or 'auto'. */
export type BackendOption = BackendName | 'auto';
