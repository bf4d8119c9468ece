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

/** max |x| over len f64 at ptr (the entries are finite: checked first). */
export function maxAbsF64(ptr: usize, len: i32): f64 {
  let m2 = f64x2.splat(0);
  let i = 0;
  for (; i + 1 < len; i += 2) m2 = f64x2.max(m2, f64x2.abs(v128.load(ptr + (<usize>i << 3))));
  let m = max(f64x2.extract_lane(m2, 0), f64x2.extract_lane(m2, 1));
  for (; i < len; i++) m = max(m, abs(load<f64>(ptr + (<usize>i << 3))));
  return m;
}

/** x ← s·x over len f64 at ptr (s a power of two: exact). */
export function scaleF64(ptr: usize, len: i32, s: f64): void {
  const s2 = f64x2.splat(s);
  let i = 0;
  for (; i + 1 < len; i += 2) {
    const at = ptr + (<usize>i << 3);
    v128.store(at, f64x2.mul(v128.load(at), s2));
  }
  for (; i < len; i++) store<f64>(ptr + (<usize>i << 3), load<f64>(ptr + (<usize>i << 3)) * s);
}
