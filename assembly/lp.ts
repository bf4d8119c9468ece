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
