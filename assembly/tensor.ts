// Kernels of the wasm tensor engine (ts/neural/wasm-engine.ts): the numeric half of the TensorEngine seam
// (ts/neural/engine.ts states the semantics), on storages that live in this module's memory. Every kernel takes a
// precision flag first (0: f64, 1: f32) and dispatches once to a generic body, so both precisions share one source.
//
// - Entrywise ops see each operand as (m, rep): operand index of output entry i = (i / rep) % m. That covers
//   same-shape operands (m = n), trailing blocks repeated over leading dims (bias rows, scalars: rep = 1), and
//   leading blocks repeated over trailing dims ([n, 1] against [n, d]: rep = d). The output is cut into segments
//   where every operand is either contiguous or constant, and each segment runs a SIMD loop specialised (by
//   inlining with constant arguments) for the op and the two access patterns.
// - sumTo sums x seen as [outer, m, rep] down to [m] (same decomposition, reversed).
// - matmul packs op(a) into 4-row micro-panels and op(b) into 2-vector-wide column panels (KC deep), so the inner
//   kernel is a 4 × (2 vectors) register tile: per step 2 loads of b, 4 splats of a, 8 multiply-adds, no stores;
//   blocks of NC columns × KC depth of b stay in L2, so large operands cost no more per flop than small ones.
//   Transposed operands are handled by the packing, so the inner kernel never sees a stride.
// - Transcendental entrywise ops run in f64 on every precision, so f32 tensors get the f32 rounding of an f64
//   result: exp, sigmoid and softplus (the ICNN's activation and its derivative) on two f64 lanes (expf64.ts and
//   a series log1p, a few ulps), log and tanh lane by lane (NativeMath).
import { expF64x2 } from './expf64';

// ---- entrywise ops ------------------------------------------------------------------------------------------
// Codes are the indices of BINARY_OPS / UNARY_OPS in ts/neural/engine.ts.

@inline function vbin<T>(op: i32, x: v128, y: v128): v128 {
  if (op == 0) return v128.add<T>(x, y);
  if (op == 1) return v128.sub<T>(x, y);
  if (op == 2) return v128.mul<T>(x, y);
  return v128.div<T>(x, y);
}

@inline function sbin<T>(op: i32, x: T, y: T): T {
  if (op == 0) return x + y;
  if (op == 1) return x - y;
  if (op == 2) return x * y;
  return x / y;
}

/** One segment of a binary op: a and b each contiguous (ca/cb) or one repeated value; constant op and flags after inlining. */
@inline function binSeg<T>(op: i32, pa: usize, ca: bool, pb: usize, cb: bool, po: usize, len: i32): void {
  const S = sizeof<T>();
  const L = 16 / <i32>S;
  const sa = load<T>(pa);
  const sb = load<T>(pb);
  const va = v128.splat<T>(sa);
  const vb = v128.splat<T>(sb);
  let j = 0;
  for (; j + L <= len; j += L) {
    const off = <usize>j * S;
    const x = ca ? v128.load(pa + off) : va;
    const y = cb ? v128.load(pb + off) : vb;
    v128.store(po + off, vbin<T>(op, x, y));
  }
  for (; j < len; j++) {
    const off = <usize>j * S;
    store<T>(po + off, sbin<T>(op, ca ? load<T>(pa + off) : sa, cb ? load<T>(pb + off) : sb));
  }
}

@inline function binSegFlags<T>(op: i32, pa: usize, ca: bool, pb: usize, cb: bool, po: usize, len: i32): void {
  if (ca) {
    if (cb) binSeg<T>(op, pa, true, pb, true, po, len);
    else binSeg<T>(op, pa, true, pb, false, po, len);
  } else {
    if (cb) binSeg<T>(op, pa, false, pb, true, po, len);
    else binSeg<T>(op, pa, false, pb, false, po, len);
  }
}

function binSegAny<T>(op: i32, pa: usize, ca: bool, pb: usize, cb: bool, po: usize, len: i32): void {
  if (op == 0) binSegFlags<T>(0, pa, ca, pb, cb, po, len);
  else if (op == 1) binSegFlags<T>(1, pa, ca, pb, cb, po, len);
  else if (op == 2) binSegFlags<T>(2, pa, ca, pb, cb, po, len);
  else binSegFlags<T>(3, pa, ca, pb, cb, po, len);
}

/** Entries left in the current run of an (m, rep) operand at output index i, and whether the run is contiguous. */
@inline function runOf(i: i32, m: i32, rep: i32, n: i32): i32 {
  if (m == 1) return n - i; // one value for everything
  if (rep == 1) return m - i % m;
  return rep - i % rep;
}

@inline function indexOf(i: i32, m: i32, rep: i32): i32 {
  return m == 1 ? 0 : rep == 1 ? i % m : (i / rep) % m;
}

function binary<T>(op: i32, a: usize, ma: i32, ra: i32, b: usize, mb: i32, rb: i32, out: usize, n: i32): void {
  const S = sizeof<T>();
  const ca = ma > 1 && ra == 1;
  const cb = mb > 1 && rb == 1;
  let i = 0;
  while (i < n) {
    let len = runOf(i, ma, ra, n);
    const lb = runOf(i, mb, rb, n);
    if (lb < len) len = lb;
    const pa = a + <usize>indexOf(i, ma, ra) * S;
    const pb = b + <usize>indexOf(i, mb, rb) * S;
    binSegAny<T>(op, pa, ca, pb, cb, out + <usize>i * S, len);
    i += len;
  }
}

/** out[i] = a[(i / ra) % ma] op b[(i / rb) % mb] for i < n; op: 0 add, 1 sub, 2 mul, 3 div. */
export function tensorBinary(f32: i32, op: i32, a: usize, ma: i32, ra: i32, b: usize, mb: i32, rb: i32, out: usize, n: i32): void {
  if (f32) binary<f32>(op, a, ma, ra, b, mb, rb, out, n);
  else binary<f64>(op, a, ma, ra, b, mb, rb, out, n);
}

// unary: 0 id, 1 neg, 2 scale, 3 square, 4 sqrt, 5 exp, 6 log, 7 leakyRelu, 8 leakyReluStep, 9 sigmoid,
// 10 softplus, 11 tanh

@inline function sigmoidF64(x: f64): f64 {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** The f64 definition of every unary op (ts/neural/js-engine.ts `entrywise`, op for op). */
@inline function sun(op: i32, x: f64, p: f64): f64 {
  switch (op) {
    case 0:
      return x;
    case 1:
      return -x;
    case 2:
      return p * x;
    case 3:
      return x * x;
    case 4:
      return Math.sqrt(x);
    case 5:
      return Math.exp(x);
    case 6:
      return Math.log(x);
    case 7:
      return x > 0 ? x : p * x;
    case 8:
      return x > 0 ? 1 : p;
    case 9:
      return sigmoidF64(x);
    case 10:
      return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
    default:
      return Math.tanh(x);
  }
}

/** Vector form of the cheap unary ops (the others go through `sun` lane by lane). */
@inline function vun<T>(op: i32, x: v128, p: v128): v128 {
  const zero = v128.splat<T>(<T>0);
  switch (op) {
    case 0:
      return x;
    case 1:
      return v128.neg<T>(x);
    case 2:
      return v128.mul<T>(p, x);
    case 3:
      return v128.mul<T>(x, x);
    case 4:
      return v128.sqrt<T>(x);
    case 7:
      return v128.bitselect(x, v128.mul<T>(p, x), v128.gt<T>(x, zero));
    default:
      return v128.bitselect(v128.splat<T>(<T>1), p, v128.gt<T>(x, zero)); // 8: leakyReluStep
  }
}

@inline function vectorUnary(op: i32): bool {
  return op <= 4 || op == 7 || op == 8;
}

/**
 * log1p(t) on two f64 lanes for t in [0, 1]: 2·atanh(u) with u = t / (2 + t) ≤ 1/3, i.e. 2u·Σ_{k≤16} u^{2k}/(2k+1)
 * (the first omitted term is below 2^-53 relative), about 2 ulps against the scalar log1p.
 */
@inline function log1pUnitF64x2(t: v128): v128 {
  const u = f64x2.div(t, f64x2.add(f64x2.splat(2), t));
  const w = f64x2.mul(u, u);
  // Σ_{k=0}^{16} w^k / (2k + 1) by Estrin's scheme (depth 5 instead of Horner's 16: the loop is latency-bound)
  const w2 = f64x2.mul(w, w);
  const w4 = f64x2.mul(w2, w2);
  const w8 = f64x2.mul(w4, w4);
  const q0 = f64x2.add(f64x2.splat(1.0), f64x2.mul(w, f64x2.splat(1.0 / 3)));
  const q1 = f64x2.add(f64x2.splat(1.0 / 5), f64x2.mul(w, f64x2.splat(1.0 / 7)));
  const q2 = f64x2.add(f64x2.splat(1.0 / 9), f64x2.mul(w, f64x2.splat(1.0 / 11)));
  const q3 = f64x2.add(f64x2.splat(1.0 / 13), f64x2.mul(w, f64x2.splat(1.0 / 15)));
  const q4 = f64x2.add(f64x2.splat(1.0 / 17), f64x2.mul(w, f64x2.splat(1.0 / 19)));
  const q5 = f64x2.add(f64x2.splat(1.0 / 21), f64x2.mul(w, f64x2.splat(1.0 / 23)));
  const q6 = f64x2.add(f64x2.splat(1.0 / 25), f64x2.mul(w, f64x2.splat(1.0 / 27)));
  const q7 = f64x2.add(f64x2.splat(1.0 / 29), f64x2.mul(w, f64x2.splat(1.0 / 31)));
  const r0 = f64x2.add(q0, f64x2.mul(w2, q1));
  const r1 = f64x2.add(q2, f64x2.mul(w2, q3));
  const r2 = f64x2.add(q4, f64x2.mul(w2, q5));
  const r3 = f64x2.add(q6, f64x2.mul(w2, q7));
  const s0 = f64x2.add(r0, f64x2.mul(w4, r1));
  const s1 = f64x2.add(r2, f64x2.mul(w4, r3));
  const q = f64x2.add(s0, f64x2.mul(w8, f64x2.add(s1, f64x2.mul(w8, f64x2.splat(1.0 / 33)))));
  return f64x2.mul(f64x2.add(u, u), q);
}

/** exp, sigmoid or softplus on two f64 lanes, in the js engine's stable forms (exp: assembly/expf64.ts, ≤ 1 ulp). */
@inline function transF64x2(op: i32, x: v128): v128 {
  if (op == 5) return expF64x2(x);
  const zero = f64x2.splat(0);
  const e = expF64x2(f64x2.neg(f64x2.abs(x))); // e^{−|x|} in (0, 1]
  if (op == 9) {
    // x ≥ 0: 1 / (1 + e^{−x});  x < 0: e^{x} / (1 + e^{x})
    const s = f64x2.div(f64x2.splat(1), f64x2.add(f64x2.splat(1), e));
    return v128.bitselect(s, f64x2.mul(e, s), f64x2.ge(x, zero));
  }
  return f64x2.add(f64x2.max(x, zero), log1pUnitF64x2(e)); // 10: softplus = max(x, 0) + log1p(e^{−|x|})
}

@inline function vectorTrans(op: i32): bool {
  return op == 5 || op == 9 || op == 10;
}

/**
 * One contiguous segment of a unary op: SIMD in T for the cheap ops, two f64 lanes for exp / sigmoid / softplus
 * (eight entries a step; the last < 8 scalar: each inlined copy of the polynomials costs ~1 KB of binary).
 */
@inline function unSeg<T>(op: i32, px: usize, po: usize, len: i32, p: f64): void {
  const S = sizeof<T>();
  const L = 16 / <i32>S;
  let j = 0;
  if (vectorUnary(op)) {
    const vp = v128.splat<T>(<T>p);
    for (; j + L <= len; j += L) {
      const off = <usize>j * S;
      v128.store(po + off, vun<T>(op, v128.load(px + off), vp));
    }
  } else if (vectorTrans(op)) {
    // four independent vectors per iteration: the polynomial chains are latency-bound, interleaving hides it
    // (exp 5.4 → 2.3 ns, softplus 16.5 → 6.3 ns per f64 entry with Estrin's log1p)
    if (S == 8) {
      for (; j + 8 <= len; j += 8) {
        const off = <usize>j << 3;
        const y0 = transF64x2(op, v128.load(px + off));
        const y1 = transF64x2(op, v128.load(px + off, 16));
        const y2 = transF64x2(op, v128.load(px + off, 32));
        const y3 = transF64x2(op, v128.load(px + off, 48));
        v128.store(po + off, y0);
        v128.store(po + off, y1, 16);
        v128.store(po + off, y2, 32);
        v128.store(po + off, y3, 48);
      }
    } else {
      for (; j + 8 <= len; j += 8) {
        const off = <usize>j << 2;
        const x = v128.load(px + off);
        const x2 = v128.load(px + off, 16);
        const y0 = transF64x2(op, f64x2.promote_low_f32x4(x));
        const y1 = transF64x2(op, f64x2.promote_low_f32x4(i64x2.shuffle(x, x, 1, 0)));
        const y2 = transF64x2(op, f64x2.promote_low_f32x4(x2));
        const y3 = transF64x2(op, f64x2.promote_low_f32x4(i64x2.shuffle(x2, x2, 1, 0)));
        v128.store(po + off, i64x2.shuffle(f32x4.demote_f64x2_zero(y0), f32x4.demote_f64x2_zero(y1), 0, 2));
        v128.store(po + off, i64x2.shuffle(f32x4.demote_f64x2_zero(y2), f32x4.demote_f64x2_zero(y3), 0, 2), 16);
      }
    }
  }
  for (; j < len; j++) {
    const off = <usize>j * S;
    store<T>(po + off, <T>sun(op, <f64>load<T>(px + off), p));
  }
}

function unSegAny<T>(op: i32, px: usize, po: usize, len: i32, p: f64): void {
  switch (op) {
    case 0:
      unSeg<T>(0, px, po, len, p);
      break;
    case 1:
      unSeg<T>(1, px, po, len, p);
      break;
    case 2:
      unSeg<T>(2, px, po, len, p);
      break;
    case 3:
      unSeg<T>(3, px, po, len, p);
      break;
    case 4:
      unSeg<T>(4, px, po, len, p);
      break;
    case 5:
      unSeg<T>(5, px, po, len, p);
      break;
    case 6:
      unSeg<T>(6, px, po, len, p);
      break;
    case 7:
      unSeg<T>(7, px, po, len, p);
      break;
    case 8:
      unSeg<T>(8, px, po, len, p);
      break;
    case 9:
      unSeg<T>(9, px, po, len, p);
      break;
    case 10:
      unSeg<T>(10, px, po, len, p);
      break;
    default:
      unSeg<T>(11, px, po, len, p);
  }
}

function unary<T>(op: i32, x: usize, m: i32, rep: i32, out: usize, n: i32, p: f64): void {
  const S = sizeof<T>();
  if (m > 1 && rep == 1) {
    // contiguous runs of m (m == n: the plain same-shape op)
    for (let i = 0; i < n; i += m) unSegAny<T>(op, x, out + <usize>i * S, m < n - i ? m : n - i, p);
    return;
  }
  // runs of one repeated value
  let i = 0;
  while (i < n) {
    const len = runOf(i, m, rep, n);
    const v = <T>sun(op, <f64>load<T>(x + <usize>indexOf(i, m, rep) * S), p);
    const vv = v128.splat<T>(v);
    const o = out + <usize>i * S;
    let j = 0;
    for (; j + 16 / <i32>S <= len; j += 16 / <i32>S) v128.store(o + <usize>j * S, vv);
    for (; j < len; j++) store<T>(o + <usize>j * S, v);
    i += len;
  }
}

/** out[i] = op(x[(i / rep) % m]) for i < n, p: the op's constant (scale's factor, leaky relu's slope). */
export function tensorUnary(f32: i32, op: i32, x: usize, m: i32, rep: i32, out: usize, n: i32, p: f64): void {
  if (f32) unary<f32>(op, x, m, rep, out, n, p);
  else unary<f64>(op, x, m, rep, out, n, p);
}

// ---- reductions ---------------------------------------------------------------------------------------------

/** out[j] = Σ_{o < outer, r < rep} x[(o·m + j)·rep + r]; f32 inputs are summed in f64 and rounded once. */
function sumTo<T>(x: usize, outer: i32, m: i32, rep: i32, out: usize): void {
  const S = sizeof<T>();
  if (rep == 1 && S == 8) {
    // rows of m added in order (the js engine's order): out += x[o, :]
    memory.fill(out, 0, <usize>m << 3);
    const m2 = m & ~1;
    for (let o = 0; o < outer; o++) {
      const row = x + ((<usize>o * <usize>m) << 3);
      let j = 0;
      for (; j < m2; j += 2) {
        const off = <usize>j << 3;
        v128.store(out + off, f64x2.add(v128.load(out + off), v128.load(row + off)));
      }
      for (; j < m; j++) {
        const off = <usize>j << 3;
        store<f64>(out + off, load<f64>(out + off) + load<f64>(row + off));
      }
    }
    return;
  }
  if (rep == 1) {
    const acc = heap.alloc(<usize>m << 3);
    memory.fill(acc, 0, <usize>m << 3);
    for (let o = 0; o < outer; o++) {
      const row = x + <usize>o * <usize>m * S;
      for (let j = 0; j < m; j++) {
        const off = acc + (<usize>j << 3);
        store<f64>(off, load<f64>(off) + <f64>load<T>(row + <usize>j * S));
      }
    }
    for (let j = 0; j < m; j++) store<T>(out + <usize>j * S, <T>load<f64>(acc + (<usize>j << 3)));
    heap.free(acc);
    return;
  }
  for (let j = 0; j < m; j++) {
    let s: f64 = 0;
    for (let o = 0; o < outer; o++) {
      const run = x + (<usize>o * <usize>m + <usize>j) * <usize>rep * S;
      if (S == 8) {
        let v = f64x2.splat(0);
        const r2 = rep & ~1;
        let r = 0;
        for (; r < r2; r += 2) v = f64x2.add(v, v128.load(run + (<usize>r << 3)));
        s += f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
        for (; r < rep; r++) s += load<f64>(run + (<usize>r << 3));
      } else {
        for (let r = 0; r < rep; r++) s += <f64>load<T>(run + <usize>r * S);
      }
    }
    store<T>(out + <usize>j * S, <T>s);
  }
}

/** Sums x, seen as [outer, m, rep], down to [m] (out: m entries). */
export function tensorSumTo(f32: i32, x: usize, outer: i32, m: i32, rep: i32, out: usize): void {
  if (f32) sumTo<f32>(x, outer, m, rep, out);
  else sumTo<f64>(x, outer, m, rep, out);
}

// ---- matmul -------------------------------------------------------------------------------------------------

/** Rows of the register tile. */
const MR = 4;
/** Bytes of one packed row of a's micro-panel block depth: KC = 1 KiB / entry size (128 f64, 256 f32) deep. */
const KC_BYTES = 1024;
/** Rows of a packed per block (MC × KC of a: 64 KiB at most, stays in L2). */
const MC = 64;
/** Columns of b packed per block (KC × NC of b: 128 KiB, stays in L2; a KC × NR panel of it stays in L1). */
const NC = 128;
/** Bytes of a tile's worth of scratch for the edges (4 rows × 2 vectors). */
const EDGE_BYTES = 4 * 32;
/** This thread's edge scratch (static data is shared between threads: a share of a split product uses its own). */
const EDGE = memory.data(EDGE_BYTES, 16);

/** Packs op(a)[i0 .. i0+mc, p0 .. p0+kc] as micro-panels of MR rows: ap[ir·kc + p·MR + r]; rows past m are 0. */
function packA<T>(a: usize, tA: bool, m: i32, k: i32, i0: i32, mc: i32, p0: i32, kc: i32, ap: usize): void {
  const S = sizeof<T>();
  for (let ir = 0; ir < mc; ir += MR) {
    const base = ap + <usize>ir * <usize>kc * S;
    for (let r = 0; r < MR; r++) {
      const i = i0 + ir + r;
      if (ir + r >= mc) {
        for (let p = 0; p < kc; p++) store<T>(base + <usize>(p * MR + r) * S, <T>0);
      } else if (tA) {
        continue; // below, row by row of a's storage
      } else {
        const row = a + (<usize>i * <usize>k + <usize>p0) * S;
        for (let p = 0; p < kc; p++) store<T>(base + <usize>(p * MR + r) * S, load<T>(row + <usize>p * S));
      }
    }
    if (tA) {
      // a stored k × m: the micro-panel's entries of one p are contiguous in a's row p0 + p
      const rows = mc - ir < MR ? mc - ir : MR;
      for (let p = 0; p < kc; p++) {
        const src = a + (<usize>(p0 + p) * <usize>m + <usize>(i0 + ir)) * S;
        for (let r = 0; r < rows; r++) store<T>(base + <usize>(p * MR + r) * S, load<T>(src + <usize>r * S));
      }
    }
  }
}

/** Packs op(b)[p0 .. p0+kc, jc .. jc+nc] as panels of NR columns: bp[(jp·kc + p)·NR + jj]; columns past nc are 0. */
function packB<T>(b: usize, tB: bool, k: i32, n: i32, jc: i32, nc: i32, p0: i32, kc: i32, bp: usize): void {
  const S = sizeof<T>();
  const NR = 32 / <i32>S;
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const panel = bp + <usize>(j0 / NR) * <usize>kc * <usize>NR * S;
    const nv = nc - j0 < NR ? nc - j0 : NR;
    const jb = jc + j0;
    if (tB) {
      // b stored n × k: each column of the panel is contiguous in b's row jb + jj
      for (let jj = 0; jj < NR; jj++) {
        if (jj < nv) {
          const src = b + (<usize>(jb + jj) * <usize>k + <usize>p0) * S;
          for (let p = 0; p < kc; p++) store<T>(panel + <usize>(p * NR + jj) * S, load<T>(src + <usize>p * S));
        } else {
          for (let p = 0; p < kc; p++) store<T>(panel + <usize>(p * NR + jj) * S, <T>0);
        }
      }
      continue;
    }
    for (let p = 0; p < kc; p++) {
      const dst = panel + <usize>(p * NR) * S;
      if (nv == NR) {
        const src = b + (<usize>(p0 + p) * <usize>n + <usize>jb) * S;
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
        continue;
      }
      for (let jj = 0; jj < NR; jj++) {
        let v: T = <T>0;
        if (jj < nv) v = load<T>(b + (<usize>(p0 + p) * <usize>n + <usize>(jb + jj)) * S);
        store<T>(dst + <usize>jj * S, v);
      }
    }
  }
}

/** Entry r of a packed micro-panel step, in every lane (one load-splat instruction). */
@inline function splatLoad<T>(pa: usize, r: i32): v128 {
  if (sizeof<T>() == 8) return v128.load64_splat(pa + <usize>(r << 3));
  return v128.load32_splat(pa + <usize>(r << 2));
}

/** c[0..mv, 0..nv] += (4 × kc micro-panel of a)·(kc × NR panel of b); c has row stride n (entries). */
@inline function micro<T>(ap: usize, bp: usize, kc: i32, c: usize, n: i32, mv: i32, nv: i32, edge: usize): void {
  const S = sizeof<T>();
  const NR = 32 / <i32>S;
  let c00 = v128.splat<T>(<T>0);
  let c01 = c00;
  let c10 = c00;
  let c11 = c00;
  let c20 = c00;
  let c21 = c00;
  let c30 = c00;
  let c31 = c00;
  let pa = ap;
  let pb = bp;
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    const a0 = splatLoad<T>(pa, 0);
    const a1 = splatLoad<T>(pa, 1);
    const a2 = splatLoad<T>(pa, 2);
    const a3 = splatLoad<T>(pa, 3);
    c00 = v128.add<T>(c00, v128.mul<T>(a0, b0));
    c01 = v128.add<T>(c01, v128.mul<T>(a0, b1));
    c10 = v128.add<T>(c10, v128.mul<T>(a1, b0));
    c11 = v128.add<T>(c11, v128.mul<T>(a1, b1));
    c20 = v128.add<T>(c20, v128.mul<T>(a2, b0));
    c21 = v128.add<T>(c21, v128.mul<T>(a2, b1));
    c30 = v128.add<T>(c30, v128.mul<T>(a3, b0));
    c31 = v128.add<T>(c31, v128.mul<T>(a3, b1));
    pa += <usize>MR * S;
    pb += 32;
  }
  const rs = <usize>n * S;
  if (mv == MR && nv == NR) {
    let r = c;
    v128.store(r, v128.add<T>(v128.load(r), c00));
    v128.store(r, v128.add<T>(v128.load(r, 16), c01), 16);
    r += rs;
    v128.store(r, v128.add<T>(v128.load(r), c10));
    v128.store(r, v128.add<T>(v128.load(r, 16), c11), 16);
    r += rs;
    v128.store(r, v128.add<T>(v128.load(r), c20));
    v128.store(r, v128.add<T>(v128.load(r, 16), c21), 16);
    r += rs;
    v128.store(r, v128.add<T>(v128.load(r), c30));
    v128.store(r, v128.add<T>(v128.load(r, 16), c31), 16);
    return;
  }
  v128.store(edge, c00);
  v128.store(edge, c01, 16);
  v128.store(edge, c10, 32);
  v128.store(edge, c11, 48);
  v128.store(edge, c20, 64);
  v128.store(edge, c21, 80);
  v128.store(edge, c30, 96);
  v128.store(edge, c31, 112);
  for (let i = 0; i < mv; i++) {
    for (let j = 0; j < nv; j++) {
      const dst = c + <usize>i * rs + <usize>j * S;
      store<T>(dst, load<T>(dst) + load<T>(edge + <usize>(i * NR + j) * S));
    }
  }
}

/** Σ_p x[p]·y[p] over k contiguous entries (vector lanes, then the tail). */
@inline function dot<T>(x: usize, y: usize, k: i32): f64 {
  const S = sizeof<T>();
  const L = 16 / <i32>S;
  let v0 = v128.splat<T>(<T>0);
  let v1 = v0;
  let p = 0;
  for (; p + 2 * L <= k; p += 2 * L) {
    const off = <usize>p * S;
    v0 = v128.add<T>(v0, v128.mul<T>(v128.load(x + off), v128.load(y + off)));
    v1 = v128.add<T>(v1, v128.mul<T>(v128.load(x + off, 16), v128.load(y + off, 16)));
  }
  const v = v128.add<T>(v0, v1);
  let s: f64 = 0;
  if (S == 8) s = f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
  else s = <f64>f32x4.extract_lane(v, 0) + <f64>f32x4.extract_lane(v, 1) + <f64>f32x4.extract_lane(v, 2) + <f64>f32x4.extract_lane(v, 3);
  for (; p < k; p++) s += <f64>load<T>(x + <usize>p * S) * <f64>load<T>(y + <usize>p * S);
  return s;
}

/** y[0..n) += c·x[0..n) (vector lanes, then the tail). */
@inline function axpy<T>(c: T, x: usize, y: usize, n: i32): void {
  const S = sizeof<T>();
  const L = 16 / <i32>S;
  const vc = v128.splat<T>(c);
  let j = 0;
  for (; j + L <= n; j += L) {
    const off = <usize>j * S;
    v128.store(y + off, v128.add<T>(v128.load(y + off), v128.mul<T>(vc, v128.load(x + off))));
  }
  for (; j < n; j++) {
    const off = <usize>j * S;
    store<T>(y + off, load<T>(y + off) + c * load<T>(x + off));
  }
}

/** y[0..n) += c0·x0[0..n) + c1·x1[0..n): one pass over y for two rows. */
@inline function axpy2<T>(c0: T, x0: usize, c1: T, x1: usize, y: usize, n: i32): void {
  const S = sizeof<T>();
  const L = 16 / <i32>S;
  const v0 = v128.splat<T>(c0);
  const v1 = v128.splat<T>(c1);
  let j = 0;
  for (; j + L <= n; j += L) {
    const off = <usize>j * S;
    v128.store(y + off, v128.add<T>(v128.add<T>(v128.load(y + off), v128.mul<T>(v0, v128.load(x0 + off))), v128.mul<T>(v1, v128.load(x1 + off))));
  }
  for (; j < n; j++) {
    const off = <usize>j * S;
    store<T>(y + off, load<T>(y + off) + c0 * load<T>(x0 + off) + c1 * load<T>(x1 + off));
  }
}

/**
 * Products with a side of 1 or 2, where packing for the 4 × 2-vector tile would cost more than the product:
 * n ≤ 2: dot products of a's rows with op(b)'s columns, or (a transposed) sums of a's storage rows into a column;
 * m ≤ 2 or k ≤ 2 with op(b) = b: sums of b's rows into out's rows. Returns false when none applies (then the
 * packed kernel runs). `out` holds the bias or zeros already.
 */
function thin<T>(a: usize, b: usize, m: i32, k: i32, n: i32, tA: bool, tB: bool, out: usize): bool {
  const S = sizeof<T>();
  // a vector's transpose is the same memory
  if (k == 1 || m == 1) tA = false;
  if (k == 1 || n == 1) tB = false;
  if (n <= 2 && tA) {
    // column j of out += b[p, j] · (row p of a's storage), rows contiguous; columns gathered in a scratch row
    const col = heap.alloc(<usize>m * S);
    for (let j = 0; j < n; j++) {
      memory.fill(col, 0, <usize>m * S);
      for (let p = 0; p < k; p++) {
        const bj = tB ? load<T>(b + (<usize>j * <usize>k + <usize>p) * S) : load<T>(b + (<usize>p * <usize>n + <usize>j) * S);
        axpy<T>(bj, a + <usize>p * <usize>m * S, col, m);
      }
      for (let i = 0; i < m; i++) {
        const o = out + (<usize>i * <usize>n + <usize>j) * S;
        store<T>(o, load<T>(o) + load<T>(col + <usize>i * S));
      }
    }
    heap.free(col);
    return true;
  }
  if (n <= 2) {
    // dot products of a's rows with op(b)'s columns (gathered contiguous when b is stored k × 2)
    let bt = b;
    if (!tB && n == 2) {
      bt = heap.alloc(<usize>k * 2 * S);
      for (let p = 0; p < k; p++) {
        store<T>(bt + <usize>p * S, load<T>(b + <usize>(2 * p) * S));
        store<T>(bt + (<usize>k + <usize>p) * S, load<T>(b + <usize>(2 * p + 1) * S));
      }
    }
    for (let i = 0; i < m; i++) {
      const ai = a + <usize>i * <usize>k * S;
      for (let j = 0; j < n; j++) {
        const o = out + (<usize>i * <usize>n + <usize>j) * S;
        store<T>(o, <T>(<f64>load<T>(o) + dot<T>(ai, bt + <usize>j * <usize>k * S, k)));
      }
    }
    if (bt != b) heap.free(bt);
    return true;
  }
  if (!tB && (m <= 2 || k <= 2)) {
    // out[i, :] += Σ_p op(a)[i, p] · b[p, :], two rows of b per pass over out's row
    for (let i = 0; i < m; i++) {
      const oi = out + <usize>i * <usize>n * S;
      let p = 0;
      for (; p + 2 <= k; p += 2) {
        const c0 = tA ? load<T>(a + (<usize>p * <usize>m + <usize>i) * S) : load<T>(a + (<usize>i * <usize>k + <usize>p) * S);
        const c1 = tA ? load<T>(a + (<usize>(p + 1) * <usize>m + <usize>i) * S) : load<T>(a + (<usize>i * <usize>k + <usize>(p + 1)) * S);
        axpy2<T>(c0, b + <usize>p * <usize>n * S, c1, b + <usize>(p + 1) * <usize>n * S, oi, n);
      }
      if (p < k) {
        const c = tA ? load<T>(a + (<usize>p * <usize>m + <usize>i) * S) : load<T>(a + (<usize>i * <usize>k + <usize>p) * S);
        axpy<T>(c, b + <usize>p * <usize>n * S, oi, n);
      }
    }
    return true;
  }
  return false;
}

function gemm<T>(a: usize, b: usize, m: i32, k: i32, n: i32, flags: i32, bias: usize, out: usize): void {
  const rowBytes = <usize>n * sizeof<T>();
  if (bias) for (let i = 0; i < m; i++) memory.copy(out + <usize>i * rowBytes, bias, rowBytes);
  else memory.fill(out, 0, <usize>m * rowBytes);
  if (m == 0 || n == 0 || k == 0) return;
  const tA = (flags & 1) != 0;
  const tB = (flags & 2) != 0;
  if ((m <= 2 || k <= 2 || n <= 2) && thin<T>(a, b, m, k, n, tA, tB, out)) return;
  const scratch = heap.alloc(packScratchBytes<T>(k));
  packed<T>(a, b, m, k, n, tA, tB, out, scratch, EDGE, 0, m);
  heap.free(scratch);
}

/** Bytes of packing scratch a product of depth k needs: a KC × NC block of b, then an (MC + MR) × KC block of a. */
function packScratchBytes<T>(k: i32): usize {
  const KC = KC_BYTES / <i32>sizeof<T>();
  const kcMax = <usize>(k < KC ? k : KC);
  return kcMax * <usize>(NC + MC + MR) * sizeof<T>();
}

/**
 * out rows [r0, r1) += op(a)·op(b) by packed blocks, in the caller's scratch (packScratchBytes) and edge tile
 * (EDGE_BYTES); m is op(a)'s full row count (a transposed a's leading dimension). Each entry sums over k in the
 * same blocks and order whatever the row range, so a product split by rows equals the whole one bit for bit.
 */
function packed<T>(a: usize, b: usize, m: i32, k: i32, n: i32, tA: bool, tB: bool, out: usize, scratch: usize, edge: usize, r0: i32, r1: i32): void {
  const S = sizeof<T>();
  const NR = 32 / <i32>S;
  const KC = KC_BYTES / <i32>S;
  const kcMax = k < KC ? k : KC;
  const bp = scratch;
  const ap = scratch + <usize>kcMax * <usize>NC * S;
  for (let jc = 0; jc < n; jc += NC) {
    const nc = n - jc < NC ? n - jc : NC;
    const panels = (nc + NR - 1) / NR;
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kc = k - p0 < KC ? k - p0 : KC;
      packB<T>(b, tB, k, n, jc, nc, p0, kc, bp);
      for (let i0 = r0; i0 < r1; i0 += MC) {
        const mc = r1 - i0 < MC ? r1 - i0 : MC;
        packA<T>(a, tA, m, k, i0, mc, p0, kc, ap);
        for (let jp = 0; jp < panels; jp++) {
          const j0 = jp * NR;
          const nv = nc - j0 < NR ? nc - j0 : NR;
          const panel = bp + <usize>jp * <usize>kc * <usize>NR * S;
          for (let ir = 0; ir < mc; ir += MR) {
            const mv = mc - ir < MR ? mc - ir : MR;
            micro<T>(ap + <usize>ir * <usize>kc * S, panel, kc, out + (<usize>(i0 + ir) * <usize>n + <usize>(jc + j0)) * S, n, mv, nv, edge);
          }
        }
      }
    }
  }
}

/**
 * out = op(a)·op(b) (+ bias row): m × n, op(a) m × k, op(b) k × n; flags bit 0 transposes a (stored k × m), bit 1
 * transposes b (stored n × k); bias: a pointer to n entries or 0.
 */
export function tensorMatmul(f32: i32, a: usize, b: usize, m: i32, k: i32, n: i32, flags: i32, bias: usize, out: usize): void {
  if (f32) gemm<f32>(a, b, m, k, n, flags, bias, out);
  else gemm<f64>(a, b, m, k, n, flags, bias, out);
}

// ---- matmul split by rows between threads --------------------------------------------------------------------

// Runs `op` on every thread's share (this thread takes share 0 through entRows) and returns when all are done:
// provided by ts/backends/wasm-threads.ts for the shared-memory build, absent from the single-thread one.
// @ts-ignore: decorator
@external("env", "parallelRows") declare function parallelRows(op: i32, ctx: usize, arg: usize, flag: i32): void;

/** entRows' op code (assembly/sinkhorn.ts dispatches it to gemmShare). */
const OP_GEMM = 10;
// The block of a split product (f64 slots; G_THREADS where parallelRows reads a context's thread count)
const G_A = 0;
const G_B = 1;
const G_M = 2;
const G_K = 3;
const G_N = 4;
const G_FLAGS = 5; // bit 0: a transposed (stored k × m), bit 1: b transposed (stored n × k)
const G_OUT = 6;
const G_SCRATCH = 7; // threads × G_STRIDE bytes: each share's packing scratch and edge tile
const G_STRIDE = 8;
const G_F32 = 9;
const G_BIAS = 10; // a row of n entries every row of out starts from, or 0
const G_THREADS = 33;
const G_SLOTS = 34;

/**
 * tensorMatmul's product (out = op(a)·op(b) + bias row) with the rows of out split between `threads` threads
 * (multiples of the 4-row tile): each share packs its rows of op(a) and all of op(b), so a share costs
 * (its rows + n)·k packing next to its rows·k·n multiply-adds; the result equals tensorMatmul's bit for bit.
 * Entropic GW's products h1·P·h2ᵀ (ts/solvers/gromov-gemm.ts) and the threaded tensor engine's large products
 * (ts/neural/wasm-engine.ts). One thread (or the single-thread build): the packed product on this thread.
 */
export function tensorMatmulShares(f32: i32, a: usize, b: usize, m: i32, k: i32, n: i32, flags: i32, bias: usize, out: usize, threads: i32): void {
  const shares = ASC_FEATURE_THREADS && threads > 1 ? threads : 1;
  const block = heap.alloc(<usize>G_SLOTS << 3);
  const stride = (f32 ? packScratchBytes<f32>(k) : packScratchBytes<f64>(k)) + EDGE_BYTES;
  const scratch = heap.alloc(<usize>shares * stride);
  store<f64>(block + (<usize>G_A << 3), <f64>a);
  store<f64>(block + (<usize>G_B << 3), <f64>b);
  store<f64>(block + (<usize>G_M << 3), <f64>m);
  store<f64>(block + (<usize>G_K << 3), <f64>k);
  store<f64>(block + (<usize>G_N << 3), <f64>n);
  store<f64>(block + (<usize>G_FLAGS << 3), <f64>(flags & 3));
  store<f64>(block + (<usize>G_BIAS << 3), <f64>bias);
  store<f64>(block + (<usize>G_OUT << 3), <f64>out);
  store<f64>(block + (<usize>G_SCRATCH << 3), <f64>scratch);
  store<f64>(block + (<usize>G_STRIDE << 3), <f64>stride);
  store<f64>(block + (<usize>G_F32 << 3), <f64>f32);
  store<f64>(block + (<usize>G_THREADS << 3), <f64>shares);
  if (shares > 1) parallelRows(OP_GEMM, block, 0, 0);
  else gemmShare(block, 0);
  heap.free(scratch);
  heap.free(block);
}

/** Share t of a tensorMatmulShares product: rows [r0, r1) of out, zeroed then accumulated. */
export function gemmShare(block: usize, t: i32): void {
  const m = <i32>load<f64>(block + (<usize>G_M << 3));
  const threads = <i32>load<f64>(block + (<usize>G_THREADS << 3));
  const tiles = (m + MR - 1) / MR;
  let r0 = <i32>((<i64>tiles * t) / threads) * MR;
  let r1 = <i32>((<i64>tiles * (t + 1)) / threads) * MR;
  if (r0 > m) r0 = m;
  if (r1 > m) r1 = m;
  if (r1 <= r0) return;
  if (load<f64>(block + (<usize>G_F32 << 3)) != 0) shareRows<f32>(block, t, r0, r1);
  else shareRows<f64>(block, t, r0, r1);
}

function shareRows<T>(block: usize, t: i32, r0: i32, r1: i32): void {
  const S = sizeof<T>();
  const m = <i32>load<f64>(block + (<usize>G_M << 3));
  const k = <i32>load<f64>(block + (<usize>G_K << 3));
  const n = <i32>load<f64>(block + (<usize>G_N << 3));
  const out = <usize>load<f64>(block + (<usize>G_OUT << 3));
  const bias = <usize>load<f64>(block + (<usize>G_BIAS << 3));
  const stride = <usize>load<f64>(block + (<usize>G_STRIDE << 3));
  const scratch = <usize>load<f64>(block + (<usize>G_SCRATCH << 3)) + <usize>t * stride;
  const rowBytes = <usize>n * S;
  if (bias) for (let i = r0; i < r1; i++) memory.copy(out + <usize>i * rowBytes, bias, rowBytes);
  else memory.fill(out + <usize>r0 * rowBytes, 0, <usize>(r1 - r0) * rowBytes);
  if (k == 0 || n == 0) return;
  const flags = <i32>load<f64>(block + (<usize>G_FLAGS << 3));
  const a = <usize>load<f64>(block + (<usize>G_A << 3));
  const b = <usize>load<f64>(block + (<usize>G_B << 3));
  packed<T>(a, b, m, k, n, (flags & 1) != 0, (flags & 2) != 0, out, scratch + EDGE_BYTES, scratch, r0, r1);
}

// ---- layout -------------------------------------------------------------------------------------------------

function transpose<T>(x: usize, m: i32, n: i32, out: usize): void {
  const S = sizeof<T>();
  const B = 16;
  for (let i0 = 0; i0 < m; i0 += B) {
    const i1 = i0 + B < m ? i0 + B : m;
    for (let j0 = 0; j0 < n; j0 += B) {
      const j1 = j0 + B < n ? j0 + B : n;
      for (let i = i0; i < i1; i++) {
        for (let j = j0; j < j1; j++) store<T>(out + (<usize>j * <usize>m + <usize>i) * S, load<T>(x + (<usize>i * <usize>n + <usize>j) * S));
      }
    }
  }
}

/** out (n × m) = xᵀ for x m × n. */
export function tensorTranspose(f32: i32, x: usize, m: i32, n: i32, out: usize): void {
  if (f32) transpose<f32>(x, m, n, out);
  else transpose<f64>(x, m, n, out);
}

/** Copies a rows × w block: dst[r·dstStride + dstOff + j] = src[r·srcStride + srcOff + j] (strides in entries). */
export function tensorCopyBlock(f32: i32, src: usize, rows: i32, w: i32, srcStride: i32, srcOff: i32, dst: usize, dstStride: i32, dstOff: i32): void {
  const S: usize = f32 ? 4 : 8;
  const bytes = <usize>w * S;
  for (let r = 0; r < rows; r++) {
    memory.copy(dst + (<usize>r * <usize>dstStride + <usize>dstOff) * S, src + (<usize>r * <usize>srcStride + <usize>srcOff) * S, bytes);
  }
}

// ---- optimizer ----------------------------------------------------------------------------------------------

function adam<T>(p: usize, g: usize, m: usize, v: usize, n: i32, lr: f64, b1: f64, b2: f64, eps: f64, wd: f64, c1: f64, c2: f64): void {
  const S = sizeof<T>();
  const L = 16 / <i32>S;
  const vb1 = v128.splat<T>(<T>b1);
  const vb2 = v128.splat<T>(<T>b2);
  const v1b1 = v128.splat<T>(<T>(1 - b1));
  const v1b2 = v128.splat<T>(<T>(1 - b2));
  const vdecay = v128.splat<T>(<T>(lr * wd));
  const vlr = v128.splat<T>(<T>lr);
  const vc1 = v128.splat<T>(<T>c1);
  const vc2 = v128.splat<T>(<T>c2);
  const veps = v128.splat<T>(<T>eps);
  let j = 0;
  for (; j + L <= n; j += L) {
    const off = <usize>j * S;
    const gj = v128.load(g + off);
    const mj = v128.add<T>(v128.mul<T>(vb1, v128.load(m + off)), v128.mul<T>(v1b1, gj));
    const vj = v128.add<T>(v128.mul<T>(vb2, v128.load(v + off)), v128.mul<T>(v128.mul<T>(v1b2, gj), gj));
    v128.store(m + off, mj);
    v128.store(v + off, vj);
    let pj = v128.load(p + off);
    if (wd != 0) pj = v128.sub<T>(pj, v128.mul<T>(vdecay, pj));
    const step = v128.div<T>(v128.mul<T>(vlr, v128.div<T>(mj, vc1)), v128.add<T>(v128.sqrt<T>(v128.div<T>(vj, vc2)), veps));
    v128.store(p + off, v128.sub<T>(pj, step));
  }
  for (; j < n; j++) {
    const off = <usize>j * S;
    const gj = <f64>load<T>(g + off);
    const mj = <T>(b1 * <f64>load<T>(m + off) + (1 - b1) * gj);
    const vj = <T>(b2 * <f64>load<T>(v + off) + (1 - b2) * gj * gj);
    store<T>(m + off, mj);
    store<T>(v + off, vj);
    let pj = <f64>load<T>(p + off);
    if (wd != 0) pj -= lr * wd * pj;
    store<T>(p + off, <T>(pj - (lr * (<f64>mj / c1)) / (Math.sqrt(<f64>vj / c2) + eps)));
  }
}

/** In place: Adam's update of p (n entries) from g, moments m, v (ts/neural/optim.ts states the formula). */
export function tensorAdam(f32: i32, p: usize, g: usize, m: usize, v: usize, n: i32, lr: f64, b1: f64, b2: f64, eps: f64, wd: f64, c1: f64, c2: f64): void {
  if (f32) adam<f32>(p, g, m, v, n, lr, b1, b2, eps, wd, c1, c2);
  else adam<f64>(p, g, m, v, n, lr, b1, b2, eps, wd, c1, c2);
}

/** In place: x ← max(x, lo) entrywise (NaN stays NaN, as on the js engine). */
export function tensorClampMin(f32: i32, x: usize, n: i32, lo: f64): void {
  if (f32) {
    for (let i = 0; i < n; i++) {
      const p = x + (<usize>i << 2);
      if (load<f32>(p) < <f32>lo) store<f32>(p, <f32>lo);
    }
  } else {
    for (let i = 0; i < n; i++) {
      const p = x + (<usize>i << 3);
      if (load<f64>(p) < lo) store<f64>(p, lo);
    }
  }
}
