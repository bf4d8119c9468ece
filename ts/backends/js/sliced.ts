// Plain-TS reference for sliced Wasserstein: project, then 1D OT per direction (as assembly/sliced.ts).
import type { DenseMatrix } from '../../types.js';
import { ot1dCostJs } from './ot1d.js';

/** Σ_c dir[c]·X[i][c], accumulated in c order exactly as the wasm kernel does (bit-identical projections). */
export function project(X: DenseMatrix, dirs: Float64Array, t: number): Float64Array {
  const { rows, cols: d, data } = X;
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = dirs[t * d] * data[i * d];
    for (let c = 1; c < d; c++) s += dirs[t * d + c] * data[i * d + c];
    out[i] = s;
  }
  return out;
}

/** W_p^p between the projections of (X, a) and (Y, b) on each row of dirs (k × d). */
export function slicedCostsJs(
  X: DenseMatrix, a: Float64Array | null, ua: number,
  Y: DenseMatrix, b: Float64Array | null, ub: number,
  dirs: DenseMatrix, p: number,
): Float64Array {
  const out = new Float64Array(dirs.rows);
  for (let t = 0; t < dirs.rows; t++) {
    out[t] = ot1dCostJs(
      { values: project(X, dirs.data, t), weights: a, uniform: ua },
      { values: project(Y, dirs.data, t), weights: b, uniform: ub },
      p,
    );
  }
  return out;
}
