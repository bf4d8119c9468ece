// Ground costs for the wasm backend: the same formulas as ts/costs.ts (‖x − y‖^power from ‖x − y‖²).

/** ‖x − y‖^p from ‖x − y‖²: the single place where the power is applied. */
@inline export function powerOfSquaredDistance(sq: f64, power: f64): f64 {
  if (power == 2.0) return sq;
  if (power == 1.0) return Math.sqrt(sq);
  return Math.pow(sq, power * 0.5);
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
