// The streamed Gibbs kernel of the multiscale Sinkhorn (ts/entropic/multiscale.ts): for a list of kept
// (target cluster, source cluster) blocks, the entries
//
//   E_ij = 2^(h_i + w_j + x_i · ỹ_j)        (f32, never stored; the host gives every term in log₂ units)
//
// summed over the kept blocks into row sums (f64, per target) and, for blocks flagged so, column sums (f64, one
// buffer per thread, summed by the host). The host folds everything else into h and w: for the squared
// Euclidean cost |x − y|² = |x|² + |y|² − 2x·y, h_i = log a_i + (f_i − |x_i|²)/ε, w_j = log b_j + (g_j − |y_j|²)/ε
// and ỹ = 2y/ε, so E_ij = a_i b_j exp((f_i + g_j − C_ij)/ε) is the plan entry at the current potentials.
// Mode 1 weighs each entry by its x_i · ỹ_j (for ⟨P, C⟩ at the end of a solve; in log₂ units too); mode 2 sums
// both at once (a measuring pass that may be the last one); mode 3 sums E and E·ỹ_j per coordinate (the plan's
// first moments, for the gradients; rows only).
//
// f32 is enough because the potentials keep the exponents O(1) where the mass is: the rounding of h + w + x·ỹ
// is ~6e-8 × (|h| + |w| + |x·ỹ|) ≲ 6e-8 × (2 + 4·R²/ε) absolute for coordinates centred within radius R,
// i.e. a relative error of that size per entry (the host refuses R²/ε past ~1e4, where it would reach 1e-3).
// Row sums are accumulated in f32 over one block and one 4-target group (≤ a cluster's sources), then in f64.
//
// Layout (built by the host): points of each cloud reordered so that every cluster is contiguous and starts
// at a multiple of 4 (padding points have w = −∞, hence E = 0, and coordinates 0), coordinates as f32 SoA
// (dimension-major, stride = padded count). Threads (the shared-memory build): the calling thread and the
// helpers of ts/backends/wasm-threads.ts take target clusters off an atomic counter; each writes its own
// clusters' row sums and its own column buffer, so nothing is shared but the counter.

// The context block (f64 slots; S_THREADS at the same place as in a Sinkhorn context: parallelRows reads it)
const K_D = 0; // dimension
const K_TX = 1; // target coordinates, f32 [d][nT]
const K_NT = 2; // padded target count (the SoA stride)
const K_TH = 3; // h, f32 [nT]
const K_SY = 4; // source coordinates ỹ = 2y/ε, f32 [d][nS]
const K_NS = 5; // padded source count
const K_SW = 6; // w, f32 [nS] (−∞ on padding)
const K_TOFF = 7; // i32 [kT + 1]: target cluster k is [toff[k], toff[k + 1])
const K_SOFF = 8; // i32 [kS + 1]
const K_ROWPTR = 9; // i32 [kT + 1]: target cluster k's blocks are list[rowptr[k] … rowptr[k + 1])
const K_LIST = 10; // i32: source cluster | COLS (column sums wanted for this block)
const K_KT = 11; // target clusters
const K_ROWS = 12; // out: f64 [nT] row sums
const K_COLS = 13; // out: f64 [threads][nS] column sums, one buffer per thread
const K_MODE = 14; // 0: Σ E, 1: Σ E·(x·ỹ), 2: both (the second into K_ROWS2 / K_COLS2)
const K_NEXT = 15; // the next target cluster to take (an i32 at this slot's address)
const K_SCRATCH = 16; // f32 [threads][nS]: one block's column sums over one cluster
const K_ROWS2 = 17; // mode 2's Σ E·(x·ỹ) rows (f64 [nT])
const K_COLS2 = 18; // mode 2's Σ E·(x·ỹ) columns (f64 [threads][nS])
const K_SCRATCH2 = 19; // mode 2's second scratch (f32 [threads][nS])
const K_BLOCKS = 20; // out (0: not wanted): f64 [list length], each kept block's Σ E (mode 0 and 2)
const K_MOMENTS = 21; // mode 3's out: f64 [d][nT], Σ_j E_ij·ỹ_jc per target and coordinate
const K_MSCRATCH = 22; // mode 3's accumulators: f32x4 [threads][4][d]
const K_THREADS = 33;
// 34 slots in all (ts/entropic/stream.ts allocates them)

/** A list entry's flag: this block also adds to the column sums. */
const COLS: i32 = 1 << 30;

const OP_STREAM = 9; // entRows' op code (assembly/sinkhorn.ts dispatches it here)

// @ts-ignore: decorator
@external("env", "parallelRows") declare function parallelRows(op: i32, ctx: usize, arg: usize, flag: i32): void;

// 2^r on [−½, ½]: degree 4, least-squares fit of the relative error at Chebyshev nodes: at most 2.7e-6
// relative, oscillating about 0 in r, so a sum over many entries (whose r are spread) is off by far less; below
// the exponents' own f32 rounding (~6e-8·D²/ε: 6e-6 at the bench's D²/ε = 100). Degree 5 (7.7e-8) ran 15 % slower
// (one 10^4 × 10^4 pass, one thread: 0.82 against 0.96e9 entries per CPU-second).
const ROUNDER: f32 = 12582912.0; // 1.5·2^23
const P0: f32 = 0.9999991908565828;
const P1: f32 = 0.693121967696061;
const P2: f32 = 0.24024981109537327;
const P3: f32 = 0.05591703917486793;
const P4: f32 = 0.009560510206479118;

/**
 * 2^t on four f32 lanes, t clamped to [−125, 127] (no subnormals, no overflow; NaN stays NaN). The host scales the
 * exponents by log₂e, which saves the multiplication here.
 */
@inline function exp2F32x4(t0: v128): v128 {
  // clamped to [−125, 127]: below, 2^−125 ≈ 2e-38 stands in for 0 (the host treats sums that small as lost)
  const t = f32x4.pmax(f32x4.pmin(t0, f32x4.splat(127.0)), f32x4.splat(-125.0));
  // round to the nearest integer by adding 1.5·2^23 (the integer lands in the low mantissa bits, which a shift
  // by 23 moves into the exponent field): cheaper than nearest + trunc_sat, whose saturation V8 emulates on x64
  const big = f32x4.add(t, f32x4.splat(ROUNDER));
  const r = f32x4.sub(t, f32x4.sub(big, f32x4.splat(ROUNDER)));
  let p = f32x4.add(f32x4.splat(P3), f32x4.mul(r, f32x4.splat(P4)));
  p = f32x4.add(f32x4.splat(P2), f32x4.mul(r, p));
  p = f32x4.add(f32x4.splat(P1), f32x4.mul(r, p));
  p = f32x4.add(f32x4.splat(P0), f32x4.mul(r, p));
  return i32x4.add(p, i32x4.shl(big, 23));
}

@inline function hsum32(x: v128): f64 {
  return <f64>f32x4.extract_lane(x, 0) + <f64>f32x4.extract_lane(x, 1) + (<f64>f32x4.extract_lane(x, 2) + <f64>f32x4.extract_lane(x, 3));
}

@inline function slotAt(ctx: usize, k: i32): usize {
  return <usize>load<f64>(ctx + (<usize>k << 3));
}

/**
 * One pass over the kept blocks (see the header): row sums into K_ROWS, column sums into each thread's
 * K_COLS buffer. Threads as the context's S_THREADS says (the shared-memory build; 1 elsewhere).
 */
export function streamPass(ctx: usize): void {
  if (ASC_FEATURE_THREADS && <i32>load<f64>(ctx + (<usize>K_THREADS << 3)) > 1) {
    atomic.store<i32>(ctx + (<usize>K_NEXT << 3), 0);
    parallelRows(OP_STREAM, ctx, 0, 0);
    return;
  }
  store<i32>(ctx + (<usize>K_NEXT << 3), 0);
  streamShare(ctx, 0);
}

/** Thread t's part of a pass: whole target clusters taken off the shared counter. */
export function streamShare(ctx: usize, t: i32): void {
  const d = <i32>load<f64>(ctx);
  const nT = <usize>load<f64>(ctx + (<usize>K_NT << 3));
  const nS = <usize>load<f64>(ctx + (<usize>K_NS << 3));
  const kT = <i32>load<f64>(ctx + (<usize>K_KT << 3));
  const mode = <i32>load<f64>(ctx + (<usize>K_MODE << 3));
  const tx = slotAt(ctx, K_TX);
  const th = slotAt(ctx, K_TH);
  const sy = slotAt(ctx, K_SY);
  const sw = slotAt(ctx, K_SW);
  const toff = slotAt(ctx, K_TOFF);
  const soff = slotAt(ctx, K_SOFF);
  const rowptr = slotAt(ctx, K_ROWPTR);
  const list = slotAt(ctx, K_LIST);
  const rows = slotAt(ctx, K_ROWS);
  const rows2 = slotAt(ctx, K_ROWS2);
  const cols = slotAt(ctx, K_COLS) + ((<usize>t * nS) << 3);
  const cols2 = slotAt(ctx, K_COLS2) + ((<usize>t * nS) << 3);
  const scratch = slotAt(ctx, K_SCRATCH) + ((<usize>t * nS) << 2);
  const scratch2 = slotAt(ctx, K_SCRATCH2) + ((<usize>t * nS) << 2);
  const moments = slotAt(ctx, K_MOMENTS);
  const acc = slotAt(ctx, K_MSCRATCH) + <usize>(t * 64 * d);
  const blockSums = slotAt(ctx, K_BLOCKS);
  const next = ctx + (<usize>K_NEXT << 3);
  memory.fill(cols, 0, nS << 3);
  if (mode == 2) memory.fill(cols2, 0, nS << 3);
  for (;;) {
    let k: i32;
    if (ASC_FEATURE_THREADS) k = atomic.add<i32>(next, 1);
    else {
      k = load<i32>(next);
      store<i32>(next, k + 1);
    }
    if (k >= kT) return;
    const i0 = load<i32>(toff + (<usize>k << 2));
    const i1 = load<i32>(toff + (<usize>(k + 1) << 2));
    memory.fill(rows + (<usize>i0 << 3), 0, <usize>(i1 - i0) << 3);
    if (mode == 2) memory.fill(rows2 + (<usize>i0 << 3), 0, <usize>(i1 - i0) << 3);
    if (mode == 3) for (let c = 0; c < d; c++) memory.fill(moments + ((<usize>c * nT + <usize>i0) << 3), 0, <usize>(i1 - i0) << 3);
    const b0 = load<i32>(rowptr + (<usize>k << 2));
    const b1 = load<i32>(rowptr + (<usize>(k + 1) << 2));
    let before: f64 = 0; // Σ rows of the cluster before this block (the block's sum is the increase)
    for (let b = b0; b < b1; b++) {
      const e = load<i32>(list + (<usize>b << 2));
      const l = e & (COLS - 1);
      const withCols = (e & COLS) != 0;
      const j0 = load<i32>(soff + (<usize>l << 2));
      const j1 = load<i32>(soff + (<usize>(l + 1) << 2));
      if (withCols) {
        memory.fill(scratch + (<usize>j0 << 2), 0, <usize>(j1 - j0) << 2);
        if (mode == 2) memory.fill(scratch2 + (<usize>j0 << 2), 0, <usize>(j1 - j0) << 2);
      }
      // a copy of the tile loop per (mode, columns, d ≤ 3): each with its switches constant (no branch inside)
      for (let i = i0; i < i1; i += 4) {
        if (mode == 3) blockN(d, tx, nT, th, sy, nS, sw, i, j0, j1, rows, 0, 0, 0, 3, moments, acc);
        else if (d <= 3) {
          if (mode == 0) {
            if (withCols) block3(d, tx, nT, th, sy, nS, sw, i, j0, j1, rows, 0, scratch, 0, 0);
            else block3(d, tx, nT, th, sy, nS, sw, i, j0, j1, rows, 0, 0, 0, 0);
          } else if (mode == 1) {
            if (withCols) block3(d, tx, nT, th, sy, nS, sw, i, j0, j1, rows, 0, scratch, 0, 1);
            else block3(d, tx, nT, th, sy, nS, sw, i, j0, j1, rows, 0, 0, 0, 1);
          } else if (withCols) block3(d, tx, nT, th, sy, nS, sw, i, j0, j1, rows, rows2, scratch, scratch2, 2);
          else block3(d, tx, nT, th, sy, nS, sw, i, j0, j1, rows, rows2, 0, 0, 2);
        } else if (mode == 0) {
          if (withCols) blockN(d, tx, nT, th, sy, nS, sw, i, j0, j1, rows, 0, scratch, 0, 0, 0, 0);
          else blockN(d, tx, nT, th, sy, nS, sw, i, j0, j1, rows, 0, 0, 0, 0, 0, 0);
        } else if (mode == 1) {
          if (withCols) blockN(d, tx, nT, th, sy, nS, sw, i, j0, j1, rows, 0, scratch, 0, 1, 0, 0);
          else blockN(d, tx, nT, th, sy, nS, sw, i, j0, j1, rows, 0, 0, 0, 1, 0, 0);
        } else if (withCols) blockN(d, tx, nT, th, sy, nS, sw, i, j0, j1, rows, rows2, scratch, scratch2, 2, 0, 0);
        else blockN(d, tx, nT, th, sy, nS, sw, i, j0, j1, rows, rows2, 0, 0, 2, 0, 0);
      }
      if (withCols) {
        flushCols(cols, scratch, j0, j1);
        if (mode == 2) flushCols(cols2, scratch2, j0, j1);
      }
      if (blockSums != 0) {
        let after: f64 = 0;
        for (let i = i0; i < i1; i++) after += load<f64>(rows + (<usize>i << 3));
        store<f64>(blockSums + (<usize>b << 3), after - before);
        before = after;
      }
    }
  }
}

@inline function flushCols(cols: usize, scratch: usize, j0: i32, j1: i32): void {
  for (let j = j0; j < j1; j++) {
    const p = cols + (<usize>j << 3);
    store<f64>(p, load<f64>(p) + <f64>load<f32>(scratch + (<usize>j << 2)));
  }
}

/** Coordinate `c` (< d) of the 4 targets from i as splats, or 0 past d. */
@inline function tsplat(tx: usize, nT: usize, c: i32, d: i32, i: i32): v128 {
  return c < d ? v128.load32_splat(tx + ((<usize>c * nT + <usize>i) << 2)) : f32x4.splat(0);
}

/**
 * Targets i … i + 3 against sources [j0, j1) for d ≤ 3 (the coordinates held in registers). Mode 0: Σ E into
 * rows (and scratch), 1: Σ E·q there, 2: Σ E there and Σ E·q into rows2 (and scratch2); scratch = 0: no columns.
 */
@inline function block3(d: i32, tx: usize, nT: usize, th: usize, sy: usize, nS: usize, sw: usize, i: i32, j0: i32, j1: i32, rows: usize, rows2: usize, scratch: usize, scratch2: usize, mode: i32): void {
  const x00 = tsplat(tx, nT, 0, d, i);
  const x01 = tsplat(tx, nT, 0, d, i + 1);
  const x02 = tsplat(tx, nT, 0, d, i + 2);
  const x03 = tsplat(tx, nT, 0, d, i + 3);
  const x10 = tsplat(tx, nT, 1, d, i);
  const x11 = tsplat(tx, nT, 1, d, i + 1);
  const x12 = tsplat(tx, nT, 1, d, i + 2);
  const x13 = tsplat(tx, nT, 1, d, i + 3);
  const x20 = tsplat(tx, nT, 2, d, i);
  const x21 = tsplat(tx, nT, 2, d, i + 1);
  const x22 = tsplat(tx, nT, 2, d, i + 2);
  const x23 = tsplat(tx, nT, 2, d, i + 3);
  const h0 = v128.load32_splat(th + (<usize>i << 2));
  const h1 = v128.load32_splat(th + (<usize>(i + 1) << 2));
  const h2 = v128.load32_splat(th + (<usize>(i + 2) << 2));
  const h3 = v128.load32_splat(th + (<usize>(i + 3) << 2));
  const y1 = d > 1 ? sy + (nS << 2) : sy; // (x1 = 0 past d: any valid address)
  const y2 = d > 2 ? sy + (nS << 3) : sy;
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let a2 = f32x4.splat(0);
  let a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0);
  let b1 = f32x4.splat(0);
  let b2 = f32x4.splat(0);
  let b3 = f32x4.splat(0);
  for (let j = j0; j < j1; j += 4) {
    const o = <usize>j << 2;
    const v0 = v128.load(sy + o);
    const v1 = v128.load(y1 + o);
    const v2 = v128.load(y2 + o);
    const w = v128.load(sw + o);
    const q0 = f32x4.add(f32x4.add(f32x4.mul(x00, v0), f32x4.mul(x10, v1)), f32x4.mul(x20, v2));
    const q1 = f32x4.add(f32x4.add(f32x4.mul(x01, v0), f32x4.mul(x11, v1)), f32x4.mul(x21, v2));
    const q2 = f32x4.add(f32x4.add(f32x4.mul(x02, v0), f32x4.mul(x12, v1)), f32x4.mul(x22, v2));
    const q3 = f32x4.add(f32x4.add(f32x4.mul(x03, v0), f32x4.mul(x13, v1)), f32x4.mul(x23, v2));
    const e0 = exp2F32x4(f32x4.add(f32x4.add(q0, w), h0));
    const e1 = exp2F32x4(f32x4.add(f32x4.add(q1, w), h1));
    const e2 = exp2F32x4(f32x4.add(f32x4.add(q2, w), h2));
    const e3 = exp2F32x4(f32x4.add(f32x4.add(q3, w), h3));
    if (mode == 1) {
      const g0 = f32x4.mul(e0, q0);
      const g1 = f32x4.mul(e1, q1);
      const g2 = f32x4.mul(e2, q2);
      const g3 = f32x4.mul(e3, q3);
      a0 = f32x4.add(a0, g0);
      a1 = f32x4.add(a1, g1);
      a2 = f32x4.add(a2, g2);
      a3 = f32x4.add(a3, g3);
      if (scratch != 0) addCols(scratch, o, g0, g1, g2, g3);
    } else {
      a0 = f32x4.add(a0, e0);
      a1 = f32x4.add(a1, e1);
      a2 = f32x4.add(a2, e2);
      a3 = f32x4.add(a3, e3);
      if (scratch != 0) addCols(scratch, o, e0, e1, e2, e3);
      if (mode == 2) {
        const g0 = f32x4.mul(e0, q0);
        const g1 = f32x4.mul(e1, q1);
        const g2 = f32x4.mul(e2, q2);
        const g3 = f32x4.mul(e3, q3);
        b0 = f32x4.add(b0, g0);
        b1 = f32x4.add(b1, g1);
        b2 = f32x4.add(b2, g2);
        b3 = f32x4.add(b3, g3);
        if (scratch2 != 0) addCols(scratch2, o, g0, g1, g2, g3);
      }
    }
  }
  flushRows(rows, i, a0, a1, a2, a3);
  if (mode == 2) flushRows(rows2, i, b0, b1, b2, b3);
}

/**
 * Targets i … i + 3 against sources [j0, j1), any d (coordinates streamed from memory); modes as block3, and
 * mode 3: Σ E into rows and Σ E·ỹ_c (c < d) into moments ([d][nT]), the per-target, per-coordinate f32x4 sums
 * kept in `acc` ([4][d]) over the block.
 */
@inline function blockN(d: i32, tx: usize, nT: usize, th: usize, sy: usize, nS: usize, sw: usize, i: i32, j0: i32, j1: i32, rows: usize, rows2: usize, scratch: usize, scratch2: usize, mode: i32, moments: usize, acc: usize): void {
  const stride = <usize>(16 * d); // one target's moment accumulators
  if (mode == 3) memory.fill(acc, 0, <usize>(64 * d));
  const h0 = v128.load32_splat(th + (<usize>i << 2));
  const h1 = v128.load32_splat(th + (<usize>(i + 1) << 2));
  const h2 = v128.load32_splat(th + (<usize>(i + 2) << 2));
  const h3 = v128.load32_splat(th + (<usize>(i + 3) << 2));
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let a2 = f32x4.splat(0);
  let a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0);
  let b1 = f32x4.splat(0);
  let b2 = f32x4.splat(0);
  let b3 = f32x4.splat(0);
  for (let j = j0; j < j1; j += 4) {
    const o = <usize>j << 2;
    let q0 = f32x4.splat(0);
    let q1 = f32x4.splat(0);
    let q2 = f32x4.splat(0);
    let q3 = f32x4.splat(0);
    for (let c = 0; c < d; c++) {
      const v = v128.load(sy + ((<usize>c * nS) << 2) + o);
      const xc = tx + ((<usize>c * nT + <usize>i) << 2);
      q0 = f32x4.add(q0, f32x4.mul(v128.load32_splat(xc), v));
      q1 = f32x4.add(q1, f32x4.mul(v128.load32_splat(xc + 4), v));
      q2 = f32x4.add(q2, f32x4.mul(v128.load32_splat(xc + 8), v));
      q3 = f32x4.add(q3, f32x4.mul(v128.load32_splat(xc + 12), v));
    }
    const w = v128.load(sw + o);
    const e0 = exp2F32x4(f32x4.add(f32x4.add(q0, w), h0));
    const e1 = exp2F32x4(f32x4.add(f32x4.add(q1, w), h1));
    const e2 = exp2F32x4(f32x4.add(f32x4.add(q2, w), h2));
    const e3 = exp2F32x4(f32x4.add(f32x4.add(q3, w), h3));
    if (mode == 1) {
      const g0 = f32x4.mul(e0, q0);
      const g1 = f32x4.mul(e1, q1);
      const g2 = f32x4.mul(e2, q2);
      const g3 = f32x4.mul(e3, q3);
      a0 = f32x4.add(a0, g0);
      a1 = f32x4.add(a1, g1);
      a2 = f32x4.add(a2, g2);
      a3 = f32x4.add(a3, g3);
      if (scratch != 0) addCols(scratch, o, g0, g1, g2, g3);
    } else {
      a0 = f32x4.add(a0, e0);
      a1 = f32x4.add(a1, e1);
      a2 = f32x4.add(a2, e2);
      a3 = f32x4.add(a3, e3);
      if (scratch != 0) addCols(scratch, o, e0, e1, e2, e3);
      if (mode == 2) {
        const g0 = f32x4.mul(e0, q0);
        const g1 = f32x4.mul(e1, q1);
        const g2 = f32x4.mul(e2, q2);
        const g3 = f32x4.mul(e3, q3);
        b0 = f32x4.add(b0, g0);
        b1 = f32x4.add(b1, g1);
        b2 = f32x4.add(b2, g2);
        b3 = f32x4.add(b3, g3);
        if (scratch2 != 0) addCols(scratch2, o, g0, g1, g2, g3);
      } else if (mode == 3) {
        for (let c = 0; c < d; c++) {
          const v = v128.load(sy + ((<usize>c * nS) << 2) + o);
          const p = acc + (<usize>c << 4);
          v128.store(p, f32x4.add(v128.load(p), f32x4.mul(e0, v)));
          v128.store(p + stride, f32x4.add(v128.load(p + stride), f32x4.mul(e1, v)));
          v128.store(p + 2 * stride, f32x4.add(v128.load(p + 2 * stride), f32x4.mul(e2, v)));
          v128.store(p + 3 * stride, f32x4.add(v128.load(p + 3 * stride), f32x4.mul(e3, v)));
        }
      }
    }
  }
  flushRows(rows, i, a0, a1, a2, a3);
  if (mode == 2) flushRows(rows2, i, b0, b1, b2, b3);
  if (mode == 3)
    for (let c = 0; c < d; c++) {
      const p = acc + (<usize>c << 4);
      const m = moments + ((<usize>c * nT + <usize>i) << 3);
      store<f64>(m, load<f64>(m) + hsum32(v128.load(p)));
      store<f64>(m, load<f64>(m, 8) + hsum32(v128.load(p + stride)), 8);
      store<f64>(m, load<f64>(m, 16) + hsum32(v128.load(p + 2 * stride)), 16);
      store<f64>(m, load<f64>(m, 24) + hsum32(v128.load(p + 3 * stride)), 24);
    }
}

/** One 4-target tile's contributions to its 4 sources' column sums (f32 scratch, one block). */
@inline function addCols(scratch: usize, o: usize, e0: v128, e1: v128, e2: v128, e3: v128): void {
  const c = f32x4.add(f32x4.add(e0, e1), f32x4.add(e2, e3));
  v128.store(scratch + o, f32x4.add(v128.load(scratch + o), c));
}

@inline function flushRows(rows: usize, i: i32, a0: v128, a1: v128, a2: v128, a3: v128): void {
  const p = rows + (<usize>i << 3);
  store<f64>(p, load<f64>(p) + hsum32(a0));
  store<f64>(p, load<f64>(p, 8) + hsum32(a1), 8);
  store<f64>(p, load<f64>(p, 16) + hsum32(a2), 16);
  store<f64>(p, load<f64>(p, 24) + hsum32(a3), 24);
}
