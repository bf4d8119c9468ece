// The symmetric eigen-decomposition of ts/linalg/symmetric.ts's tridiagonalQL (JAMA's tred2 + tql2), ahead of
// time: the JS version runs its first ~10 calls before V8 optimises its loops, and the Gaussian closed forms make
// two per call. The same algorithm in the same order of operations (the results agree with the JS version to a few
// ulps); the tql2 rotations, applied to contiguous rows of Vᵀ, run two lanes at a time (no FMA: the lanes round as
// the scalar code does).
import { at, ld, st } from './pointers';

/** √(x² + y²) without overflow (as ts/linalg/symmetric.ts's hypot). */
@inline function hypot(x: f64, y: f64): f64 {
  const ax = Math.abs(x);
  const ay = Math.abs(y);
  const big = ax > ay ? ax : ay;
  if (big == 0 || big == Infinity) return big;
  const t = (ax > ay ? ay : ax) / big;
  return big * Math.sqrt(1 + t * t);
}

/** V[i][j] of a row-major n × n matrix. */
@inline function vAt(V: usize, n: i32, i: i32, j: i32): usize {
  return V + ((<usize>i * <usize>n + <usize>j) << 3);
}

/**
 * Eigenvalues (ascending, into `values`, n) and eigenvectors (the COLUMNS of `vectors`, n × n row-major) of the
 * symmetric n × n matrix at `a` (row-major, not modified). Returns 1, or 0 where QL stalls (more than 60 sweeps on
 * one eigenvalue) or a vector entry is not finite: the caller then falls back to Jacobi, as the JS version does.
 */
export function symEigQL(a: usize, n: i32, values: usize, vectors: usize): i32 {
  const bytes = (<usize>n * <usize>n) << 3;
  const V = heap.alloc(bytes);
  const Vt = heap.alloc(bytes);
  const dd = heap.alloc(<usize>n << 3);
  const e = heap.alloc(<usize>n << 3);
  memory.copy(V, a, bytes);
  const ok = tred2(V, n, dd, e) && tql2(V, Vt, n, dd, e);
  if (ok) sortedOut(Vt, n, dd, values, vectors);
  heap.free(e);
  heap.free(dd);
  heap.free(Vt);
  heap.free(V);
  return ok ? 1 : 0;
}

/** Householder reduction to tridiagonal form (dd: diagonal, e: off-diagonal), V: the accumulated transforms. */
function tred2(V: usize, n: i32, dd: usize, e: usize): bool {
  for (let j = 0; j < n; j++) st(dd, j, load<f64>(vAt(V, n, n - 1, j)));
  for (let i = n - 1; i > 0; i--) {
    let scale: f64 = 0;
    let h: f64 = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(ld(dd, k));
    if (scale == 0) {
      st(e, i, ld(dd, i - 1));
      for (let j = 0; j < i; j++) {
        st(dd, j, load<f64>(vAt(V, n, i - 1, j)));
        store<f64>(vAt(V, n, i, j), 0);
        store<f64>(vAt(V, n, j, i), 0);
      }
    } else {
      for (let k = 0; k < i; k++) {
        const x = ld(dd, k) / scale;
        st(dd, k, x);
        h += x * x;
      }
      let f = ld(dd, i - 1);
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      st(e, i, scale * g);
      h -= f * g;
      st(dd, i - 1, f - g);
      for (let j = 0; j < i; j++) st(e, j, 0);
      for (let j = 0; j < i; j++) {
        f = ld(dd, j);
        store<f64>(vAt(V, n, j, i), f);
        g = ld(e, j) + load<f64>(vAt(V, n, j, j)) * f;
        for (let k = j + 1; k <= i - 1; k++) {
          const v = load<f64>(vAt(V, n, k, j));
          g += v * ld(dd, k);
          st(e, k, ld(e, k) + v * f);
        }
        st(e, j, g);
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        const x = ld(e, j) / h;
        st(e, j, x);
        f += x * ld(dd, j);
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) st(e, j, ld(e, j) - hh * ld(dd, j));
      for (let j = 0; j < i; j++) {
        f = ld(dd, j);
        g = ld(e, j);
        for (let k = j; k <= i - 1; k++) {
          const p = vAt(V, n, k, j);
          store<f64>(p, load<f64>(p) - (f * ld(e, k) + g * ld(dd, k)));
        }
        st(dd, j, load<f64>(vAt(V, n, i - 1, j)));
        store<f64>(vAt(V, n, i, j), 0);
      }
    }
    st(dd, i, h);
  }
  for (let i = 0; i < n - 1; i++) {
    store<f64>(vAt(V, n, n - 1, i), load<f64>(vAt(V, n, i, i)));
    store<f64>(vAt(V, n, i, i), 1);
    const h = ld(dd, i + 1);
    if (h != 0) {
      for (let k = 0; k <= i; k++) st(dd, k, load<f64>(vAt(V, n, k, i + 1)) / h);
      for (let j = 0; j <= i; j++) {
        let g: f64 = 0;
        for (let k = 0; k <= i; k++) g += load<f64>(vAt(V, n, k, i + 1)) * load<f64>(vAt(V, n, k, j));
        for (let k = 0; k <= i; k++) {
          const p = vAt(V, n, k, j);
          store<f64>(p, load<f64>(p) - g * ld(dd, k));
        }
      }
    }
    for (let k = 0; k <= i; k++) store<f64>(vAt(V, n, k, i + 1), 0);
  }
  for (let j = 0; j < n; j++) {
    st(dd, j, load<f64>(vAt(V, n, n - 1, j)));
    store<f64>(vAt(V, n, n - 1, j), 0);
  }
  store<f64>(vAt(V, n, n - 1, n - 1), 1);
  st(e, 0, 0);
  return true;
}

/** Implicit QL on the tridiagonal (dd, e), the rotations accumulated into the rows of Vt = Vᵀ. */
function tql2(V: usize, Vt: usize, n: i32, dd: usize, e: usize): bool {
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) store<f64>(vAt(Vt, n, i, k), load<f64>(vAt(V, n, k, i)));
  for (let i = 1; i < n; i++) st(e, i - 1, ld(e, i));
  st(e, n - 1, 0);
  let f: f64 = 0;
  let tst1: f64 = 0;
  const eps: f64 = 2.220446049250313e-16;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(ld(dd, l)) + Math.abs(ld(e, l)));
    let m = l;
    while (m < n) {
      if (Math.abs(ld(e, m)) <= eps * tst1) break;
      m++;
    }
    if (m == n) m = n - 1;
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 60) return false;
        let g = ld(dd, l);
        let p = (ld(dd, l + 1) - g) / (2 * ld(e, l));
        let r = hypot(p, 1);
        if (p < 0) r = -r;
        st(dd, l, ld(e, l) / (p + r));
        st(dd, l + 1, ld(e, l) * (p + r));
        const dl1 = ld(dd, l + 1);
        let h = g - ld(dd, l);
        for (let i = l + 2; i < n; i++) st(dd, i, ld(dd, i) - h);
        f += h;
        p = ld(dd, m);
        let c: f64 = 1;
        let c2 = c;
        let c3 = c;
        const el1 = ld(e, l + 1);
        let s: f64 = 0;
        let s2: f64 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * ld(e, i);
          h = c * p;
          r = hypot(p, ld(e, i));
          st(e, i + 1, s * r);
          s = ld(e, i) / r;
          c = p / r;
          p = c * ld(dd, i) - s * g;
          st(dd, i + 1, h + s * (c * g + s * ld(dd, i)));
          rotateRows(vAt(Vt, n, i, 0), vAt(Vt, n, i + 1, 0), n, c, s);
        }
        p = (-s * s2 * c3 * el1 * ld(e, l)) / dl1;
        st(e, l, s * p);
        st(dd, l, c * p);
      } while (Math.abs(ld(e, l)) > eps * tst1);
    }
    st(dd, l, ld(dd, l) + f);
    st(e, l, 0);
  }
  for (let t = 0; t < n * n; t++) {
    const x = ld(Vt, t);
    if (!(x - x == 0)) return false;
  }
  return true;
}

/** (r0, r1) ← (c·r0 − s·r1, s·r0 + c·r1) over n entries, two lanes at a time. */
@inline function rotateRows(r0: usize, r1: usize, n: i32, c: f64, s: f64): void {
  const cv = f64x2.splat(c);
  const sv = f64x2.splat(s);
  let k = 0;
  for (; k + 2 <= n; k += 2) {
    const v0 = v128.load(at(r0, k));
    const h = v128.load(at(r1, k));
    v128.store(at(r1, k), f64x2.add(f64x2.mul(sv, v0), f64x2.mul(cv, h)));
    v128.store(at(r0, k), f64x2.sub(f64x2.mul(cv, v0), f64x2.mul(sv, h)));
  }
  if (k < n) {
    const v0 = ld(r0, k);
    const h = ld(r1, k);
    st(r1, k, s * v0 + c * h);
    st(r0, k, c * v0 - s * h);
  }
}

/** values ascending (stable: ties keep their order, as JS's sort), vectors[k][dst] = Vt[src][k]. */
function sortedOut(Vt: usize, n: i32, dd: usize, values: usize, vectors: usize): void {
  const order = heap.alloc(<usize>n << 2);
  for (let i = 0; i < n; i++) store<i32>(order + (<usize>i << 2), i);
  for (let i = 1; i < n; i++) {
    const x = load<i32>(order + (<usize>i << 2));
    const key = ld(dd, x);
    let j = i - 1;
    while (j >= 0 && ld(dd, load<i32>(order + (<usize>j << 2))) > key) {
      store<i32>(order + (<usize>(j + 1) << 2), load<i32>(order + (<usize>j << 2)));
      j--;
    }
    store<i32>(order + (<usize>(j + 1) << 2), x);
  }
  for (let dst = 0; dst < n; dst++) {
    const src = load<i32>(order + (<usize>dst << 2));
    st(values, dst, ld(dd, src));
    for (let k = 0; k < n; k++) store<f64>(vAt(vectors, n, k, dst), load<f64>(vAt(Vt, n, src, k)));
  }
  heap.free(order);
}
