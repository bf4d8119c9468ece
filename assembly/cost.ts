// Ground costs for the wasm backend: the same formulas as ts/costs.ts (‖x − y‖^power from ‖x − y‖²), the one
// place in assembly/ where the power is applied (tests/costs.test.ts checks them against TS and WGSL).

/** t^p for a distance t ≥ 0: the single place where the power is applied (1D costs call it directly). */
@inline export function powerOfDistance(t: f64, power: f64): f64 {
  if (power == 1.0) return t;
  if (power == 2.0) return t * t;
  return Math.pow(t, power);
}

/** ‖x − y‖^p from ‖x − y‖² (exact for p = 2, no square root). */
@inline export function powerOfSquaredDistance(sq: f64, power: f64): f64 {
  return power == 2.0 ? sq : powerOfDistance(Math.sqrt(sq), power);
}

/** Two at a time, for p = 1 or 2 only (the vectorised costs of assembly/simplex.ts). */
@inline export function powerOfSquaredDistanceX2(sq: v128, power: f64): v128 {
  return power == 1.0 ? f64x2.sqrt(sq) : sq;
}

/** out[j] = ‖x − Y_j‖^power for one point x (d coordinates) and Y (m × d): one row of the cost matrix. */
export function costRowInto(x: usize, yPtr: usize, m: i32, d: i32, power: f64, out: usize): void {
  for (let j = 0; j < m; j++) {
    const y = yPtr + ((<usize>j * <usize>d) << 3);
    let acc: f64 = 0;
    for (let k = 0; k < d; k++) {
      const t = load<f64>(x + (<usize>k << 3)) - load<f64>(y + (<usize>k << 3));
      acc += t * t;
    }
    store<f64>(out + (<usize>j << 3), powerOfSquaredDistance(acc, power));
  }
}

/** out[i*m + j] = ‖X_i − Y_j‖^power for X (n × d) and Y (m × d), row-major f64. */
export function pairwiseCosts(xPtr: usize, yPtr: usize, n: i32, m: i32, d: i32, power: f64, out: usize): void {
  for (let i = 0; i < n; i++) costRowInto(xPtr + ((<usize>i * <usize>d) << 3), yPtr, m, d, power, out + ((<usize>i * <usize>m) << 3));
}
