// The dense revised simplex's basis-inverse update (ts/solvers/lp-barycenter.ts): the one O(m²) step of a pivot,
// in f64x2. Each entry gets the same IEEE operations, in the same order, as the JS loop it replaces (no FMA), so
// the iterates are bitwise those of the JS path.

/**
 * After `enter` replaced the basic variable of row `leave` (alpha = B⁻¹ a_enter, ap = alpha[leave]): the duals
 * y += f·(pivot row), the pivot row /= ap, and every other row r with alpha[r] ≠ 0 loses alpha[r]·(pivot row).
 * Binv is m × m row-major f64; y and alpha have m entries.
 */
export function lpPivotUpdate(Binv: usize, m: i32, leave: i32, alpha: usize, ap: f64, y: usize, f: f64): void {
  const p = Binv + ((<usize>leave * <usize>m) << 3);
  const f2 = f64x2.splat(f);
  const ap2 = f64x2.splat(ap);
  let s = 0;
  for (; s + 1 < m; s += 2) {
    const at = <usize>s << 3;
    const ps = v128.load(p + at);
    v128.store(y + at, f64x2.add(v128.load(y + at), f64x2.mul(f2, ps)));
    v128.store(p + at, f64x2.div(ps, ap2));
  }
  for (; s < m; s++) {
    const at = <usize>s << 3;
    const ps = load<f64>(p + at);
    store<f64>(y + at, load<f64>(y + at) + f * ps);
    store<f64>(p + at, ps / ap);
  }
  for (let r = 0; r < m; r++) {
    const ar = load<f64>(alpha + (<usize>r << 3));
    if (r == leave || ar == 0) continue;
    const row = Binv + ((<usize>r * <usize>m) << 3);
    const a2 = f64x2.splat(ar);
    let t = 0;
    for (; t + 1 < m; t += 2) {
      const at = <usize>t << 3;
      v128.store(row + at, f64x2.sub(v128.load(row + at), f64x2.mul(a2, v128.load(p + at))));
    }
    for (; t < m; t++) {
      const at = <usize>t << 3;
      store<f64>(row + at, load<f64>(row + at) - ar * load<f64>(p + at));
    }
  }
}

/** row r −= f · row c over m entries (f64x2; the same operations as the scalar loop). */
@inline function subScaledRow(M: usize, m: i32, r: i32, c: i32, f: f64): void {
  const dst = M + ((<usize>r * <usize>m) << 3);
  const src = M + ((<usize>c * <usize>m) << 3);
  const f2 = f64x2.splat(f);
  let s = 0;
  for (; s + 1 < m; s += 2) {
    const at = <usize>s << 3;
    v128.store(dst + at, f64x2.sub(v128.load(dst + at), f64x2.mul(f2, v128.load(src + at))));
  }
  for (; s < m; s++) {
    const at = <usize>s << 3;
    store<f64>(dst + at, load<f64>(dst + at) - f * load<f64>(src + at));
  }
}

/** row r ·= d over m entries. */
@inline function scaleRow(M: usize, m: i32, r: i32, d: f64): void {
  const row = M + ((<usize>r * <usize>m) << 3);
  const d2 = f64x2.splat(d);
  let s = 0;
  for (; s + 1 < m; s += 2) v128.store(row + (<usize>s << 3), f64x2.mul(v128.load(row + (<usize>s << 3)), d2));
  for (; s < m; s++) store<f64>(row + (<usize>s << 3), load<f64>(row + (<usize>s << 3)) * d);
}

/** Swap rows r and q of M (m entries each). */
@inline function swapRows(M: usize, m: i32, r: i32, q: i32): void {
  const a = M + ((<usize>r * <usize>m) << 3);
  const b = M + ((<usize>q * <usize>m) << 3);
  for (let s = 0; s < m; s++) {
    const at = <usize>s << 3;
    const t = load<f64>(a + at);
    store<f64>(a + at, load<f64>(b + at));
    store<f64>(b + at, t);
  }
}

/**
 * Binv = B⁻¹ by Gauss–Jordan with partial pivoting (B, m × m row-major, is destroyed; Binv is overwritten), the
 * JS reinversion's steps in the same order. Returns −1, or the column whose best pivot was below 1e-14 (singular).
 */
export function lpInvert(B: usize, Binv: usize, m: i32): i32 {
  memory.fill(Binv, 0, (<usize>m * <usize>m) << 3);
  for (let r = 0; r < m; r++) store<f64>(Binv + ((<usize>r * <usize>m + <usize>r) << 3), 1.0);
  for (let c = 0; c < m; c++) {
    let p = c;
    let best = abs(load<f64>(B + ((<usize>c * <usize>m + <usize>c) << 3)));
    for (let r = c + 1; r < m; r++) {
      const x = abs(load<f64>(B + ((<usize>r * <usize>m + <usize>c) << 3)));
      if (x > best) {
        best = x;
        p = r;
      }
    }
    if (best < 1e-14) return c;
    if (p != c) {
      swapRows(B, m, c, p);
      swapRows(Binv, m, c, p);
    }
    const d = 1 / load<f64>(B + ((<usize>c * <usize>m + <usize>c) << 3));
    scaleRow(B, m, c, d);
    scaleRow(Binv, m, c, d);
    for (let r = 0; r < m; r++) {
      if (r == c) continue;
      const f = load<f64>(B + ((<usize>r * <usize>m + <usize>c) << 3));
      if (f == 0) continue;
      subScaledRow(B, m, r, c, f);
      subScaledRow(Binv, m, r, c, f);
    }
  }
  return -1;
}
