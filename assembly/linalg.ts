// Dense f64 matrix product for the Gromov–Wasserstein tensor product (ts/solvers/gromov.ts): C = A·B, row-major,
// A r × k, B k × c. Four rows of B per pass over a row of C (a quarter of the loads and stores of C), two
// columns per f64x2 lane pair.

export function matmulF64(a: usize, b: usize, r: i32, k: i32, c: i32, out: usize): void {
  const rowB = <usize>c << 3;
  const c2 = c & ~1;
  memory.fill(out, 0, (<usize>r * <usize>c) << 3);
  const k4 = k & ~3;
  for (let i = 0; i < r; i++) {
    const o = out + <usize>i * rowB;
    const ai = a + ((<usize>i * <usize>k) << 3);
    let t = 0;
    for (; t < k4; t += 4) {
      const x0 = load<f64>(ai + (<usize>t << 3));
      const x1 = load<f64>(ai + (<usize>(t + 1) << 3));
      const x2 = load<f64>(ai + (<usize>(t + 2) << 3));
      const x3 = load<f64>(ai + (<usize>(t + 3) << 3));
      if (x0 == 0 && x1 == 0 && x2 == 0 && x3 == 0) continue;
      const v0 = f64x2.splat(x0);
      const v1 = f64x2.splat(x1);
      const v2 = f64x2.splat(x2);
      const v3 = f64x2.splat(x3);
      const b0 = b + <usize>t * rowB;
      const b1 = b0 + rowB;
      const b2 = b1 + rowB;
      const b3 = b2 + rowB;
      let j = 0;
      for (; j < c2; j += 2) {
        const off = <usize>j << 3;
        let acc = v128.load(o + off);
        acc = f64x2.add(acc, f64x2.mul(v0, v128.load(b0 + off)));
        acc = f64x2.add(acc, f64x2.mul(v1, v128.load(b1 + off)));
        acc = f64x2.add(acc, f64x2.mul(v2, v128.load(b2 + off)));
        acc = f64x2.add(acc, f64x2.mul(v3, v128.load(b3 + off)));
        v128.store(o + off, acc);
      }
      for (; j < c; j++) {
        const off = <usize>j << 3;
        store<f64>(o + off, load<f64>(o + off) + x0 * load<f64>(b0 + off) + x1 * load<f64>(b1 + off) + x2 * load<f64>(b2 + off) + x3 * load<f64>(b3 + off));
      }
    }
    for (; t < k; t++) {
      const x = load<f64>(ai + (<usize>t << 3));
      if (x == 0) continue;
      const v = f64x2.splat(x);
      const bt = b + <usize>t * rowB;
      let j = 0;
      for (; j < c2; j += 2) {
        const off = <usize>j << 3;
        v128.store(o + off, f64x2.add(v128.load(o + off), f64x2.mul(v, v128.load(bt + off))));
      }
      for (; j < c; j++) {
        const off = <usize>j << 3;
        store<f64>(o + off, load<f64>(o + off) + x * load<f64>(bt + off));
      }
    }
  }
}
