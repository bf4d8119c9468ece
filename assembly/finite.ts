// Finiteness of an f64 array in place (the host copies a cost matrix into memory anyway; checking it here, two
// lanes at a time, replaces a separate pass in JavaScript).

/** Index of the first NaN or ±∞ among len f64 at ptr, or −1 when all are finite. */
export function firstNonFinite(ptr: usize, len: i32): i32 {
  let i = 0;
  for (; i + 1 < len; i += 2) {
    const x = v128.load(ptr + (<usize>i << 3));
    // x − x is 0 for finite x and NaN for NaN and ±∞; NaN ≠ NaN
    const d = f64x2.sub(x, x);
    if (!i64x2.all_true(f64x2.eq(d, d))) break;
  }
  for (; i < len; i++) {
    const x = load<f64>(ptr + (<usize>i << 3));
    if (x - x != 0) return i;
  }
  return -1;
}
