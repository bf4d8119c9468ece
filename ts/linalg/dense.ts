// Dense row-major f64 products in plain TypeScript, shared by the families that need small general matrices
// (Gromov–Wasserstein's fallback when wasm is not loaded, the domain-adaptation mappings).

/** C = A (r × k) · B (k × c), row-major: four rows of B per pass over a row of C (a quarter of the loads and stores of C). */
export function matmulJs(A: Float64Array, B: Float64Array, r: number, k: number, c: number, out: Float64Array): Float64Array {
  out.fill(0);
  const k4 = k - (k % 4);
  for (let i = 0; i < r; i++) {
    const oo = i * c;
    const ao = i * k;
    let t = 0;
    for (; t < k4; t += 4) {
      const x0 = A[ao + t];
      const x1 = A[ao + t + 1];
      const x2 = A[ao + t + 2];
      const x3 = A[ao + t + 3];
      if (x0 === 0 && x1 === 0 && x2 === 0 && x3 === 0) continue;
      const b0 = t * c;
      const b1 = b0 + c;
      const b2 = b1 + c;
      const b3 = b2 + c;
      for (let j = 0; j < c; j++) out[oo + j] += x0 * B[b0 + j] + x1 * B[b1 + j] + x2 * B[b2 + j] + x3 * B[b3 + j];
    }
    for (; t < k; t++) {
      const x = A[ao + t];
      if (x === 0) continue;
      const bo = t * c;
      for (let j = 0; j < c; j++) out[oo + j] += x * B[bo + j];
    }
  }
  return out;
}
