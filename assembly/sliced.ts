// Sliced Wasserstein in one call: for each of k directions, project both clouds, sort, and run the 1D
// merge, writing W_p^p per direction. One host→wasm crossing for the whole job.
import { argsortF64, gatherF64, sortF64 } from './sort';
import { mergeSorted } from './ot1d';

// @ts-ignore: decorator
@inline function align16(x: usize): usize {
  return (x + 15) & ~<usize>15;
}

/** Bytes of scratch slicedCosts needs (the host allocates them; the layout is private to this file). */
export function slicedWorkBytes(n: i32, m: i32, d: i32, weighted: bool): usize {
  const nm = <usize>max(n, m);
  let bytes = align16(<usize>n * d * 8) + align16(<usize>m * d * 8); // clouds, column-major
  bytes += align16(<usize>n * 8) + align16(<usize>m * 8) + align16(nm * 8); // projections + sort scratch
  if (weighted) bytes += align16(<usize>n * 8) + align16(<usize>m * 8) + 2 * align16(nm * 4); // sorted weights, idx
  return bytes;
}

/** Row-major (rows × d) → column-major, so that projecting is a SIMD axpy per coordinate. */
function transpose(src: usize, rows: i32, d: i32, dst: usize): void {
  for (let i = 0; i < rows; i++) {
    for (let c = 0; c < d; c++) {
      store<f64>(dst + ((<usize>c * rows + i) << 3), load<f64>(src + ((<usize>i * d + c) << 3)));
    }
  }
}

/**
 * out[i] = Σ_c dir[c]·cols[c][i], accumulated in c order (the JS reference does the same, so both
 * backends get bit-identical projections).
 */
function project(cols: usize, rows: i32, d: i32, dir: usize, out: usize): void {
  for (let c = 0; c < d; c++) {
    const w = load<f64>(dir + (<usize>c << 3));
    const wv = f64x2.splat(w);
    const col = cols + ((<usize>c * rows) << 3);
    let i = 0;
    if (c == 0) {
      for (; i + 1 < rows; i += 2) v128.store(out + (<usize>i << 3), f64x2.mul(wv, v128.load(col + (<usize>i << 3))));
      for (; i < rows; i++) store<f64>(out + (<usize>i << 3), w * load<f64>(col + (<usize>i << 3)));
    } else {
      for (; i + 1 < rows; i += 2) {
        const q = out + (<usize>i << 3);
        v128.store(q, f64x2.add(v128.load(q), f64x2.mul(wv, v128.load(col + (<usize>i << 3)))));
      }
      for (; i < rows; i++) {
        const q = out + (<usize>i << 3);
        store<f64>(q, load<f64>(q) + w * load<f64>(col + (<usize>i << 3)));
      }
    }
  }
}

/**
 * X: n × d, Y: m × d (row-major), dirs: k × d (one direction per row). a/b: weights or 0 for uniform
 * ua/ub. Writes W_p^p of the projected measures to out[0..k). work: slicedWorkBytes(n, m, d, a != 0 || b != 0).
 */
export function slicedCosts(
  X: usize, n: i32, Y: usize, m: i32, d: i32, dirs: usize, k: i32,
  a: usize, ua: f64, b: usize, ub: f64, p: f64, out: usize, work: usize,
): void {
  const nm = <usize>max(n, m);
  const XT = work;
  const YT = XT + align16(<usize>n * d * 8);
  const px = YT + align16(<usize>m * d * 8);
  const py = px + align16(<usize>n * 8);
  const tmp = py + align16(<usize>m * 8);
  const sa = tmp + align16(nm * 8); // sorted weights (weighted case only)
  const sb = sa + align16(<usize>n * 8);
  const idx = sb + align16(<usize>m * 8);
  const tmpIdx = idx + align16(nm * 4);
  transpose(X, n, d, XT);
  transpose(Y, m, d, YT);
  for (let t = 0; t < k; t++) {
    const dir = dirs + ((<usize>t * d) << 3);
    project(XT, n, d, dir, px);
    project(YT, m, d, dir, py);
    if (a == 0) sortF64(px, n, tmp);
    else {
      argsortF64(px, n, idx, tmp, tmpIdx);
      gatherF64(a, idx, n, sa);
    }
    if (b == 0) sortF64(py, m, tmp);
    else {
      argsortF64(py, m, idx, tmp, tmpIdx);
      gatherF64(b, idx, m, sb);
    }
    const cost = mergeSorted(px, a == 0 ? 0 : sa, ua, n, py, b == 0 ? 0 : sb, ub, m, p, 0, 0, 0, 0, 0);
    store<f64>(out + (<usize>t << 3), cost);
  }
}
