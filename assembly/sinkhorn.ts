// Entropic OT kernels (the wasm engine of ts/backends/wasm-entropic.ts; semantics in ts/entropic/engine.ts).
//
// State lives in wasm memory and is described by a context block of f64 slots (pointers stored as f64),
// laid out as the S_* constants below (mirrored in ts/backends/wasm-entropic.ts). Potentials f, g are the
// state in both methods:
// - scaling: K = exp(−C/ε) stored once per ε; an iteration is ONE fused pass over K: for each row i,
//   s_i = K_i·v (f64x2), f_i = τ_a ε (log a_i − log s_i), u_i = e^{f_i/ε}, then t += u_i K_i while the row is
//   in cache; then g_j = τ_b ε (log b_j − log t_j). Rows go in blocks of four (one load of v and one
//   load/store of t per four rows). (Measured on this project's 2-core EPYC: ~0.5 ns per entry for the
//   dot + axpy, compute-bound on 128-bit SIMD; fusing the axpy into the next block's dot sweep and
//   eight-row blocks were both slower.)
// - log (stabilised kernel, Schmitzer 2019): absorbed potentials α, β and K̃_ij = exp((α_i + β_j − C_ij)/ε);
//   the same fused pass on K̃ with ũ = e^{(f−α)/ε}, ṽ = e^{(g−β)/ε}; LSE_j((g_j − C_ij)/ε) = log s_i − α_i/ε.
//   α, β absorb f, g (and K̃ is rebuilt) when some |log ũ|, |log ṽ| exceeds ABSORB; any row/column whose
//   stabilised sum leaves [SAFE_LO, SAFE_HI] (underflow, overflow, NaN) takes an exact log-sum-exp instead.
//   In exact arithmetic this is the log-domain iteration; in floating point it agrees to rounding.
// - no kernel (K pointer 0, point clouds too large to store): every update is an exact log-sum-exp.
// - the marginal error is the f-half of the next iteration (row sums u_i·s_i come out of its dots); the
//   half is kept pending and committed by the next entIterate unless the state changes first.
// Plan rows (stats, planApply, densePlan) are ũ_i K̃_ij ṽ_j where ũ, ṽ are within e^{±ABSORB}, else
// exp((f_i + g_j − C_ij)/ε) directly.
import { expF64x2, expF64 } from './expf64';
import { costRowInto } from './cost';
import { at, ld, st } from './pointers';
import { streamShare } from './stream';
import { gemmShare } from './tensor';

export { expArrayF64, expArrayScalarF64 } from './expf64';

const S_N = 0;
const S_M = 1;
const S_D = 2;
const S_KIND = 3; // 0 dense C, 1 points X, Y
const S_STAB = 4; // 0 scaling, 1 log (stabilised)
const S_EPS = 5;
const S_TAUA = 6;
const S_TAUB = 7;
const S_POWER = 8;
const S_C = 9;
const S_X = 10;
const S_Y = 11;
const S_LOGA = 12;
const S_LOGB = 13;
const S_A = 14;
const S_F = 15;
const S_G = 16;
const S_ALPHA = 17;
const S_BETA = 18;
const S_K = 19;
const S_U = 20;
const S_V = 21;
const S_S = 22; // K̃·ṽ of the current pass (n)
const S_T = 23;
const S_W1 = 24; // scratch, max(n, m)
const S_W2 = 25; // scratch, max(n, m)
const S_KVALID = 26; // K̃ is valid for (α, β, ε)
const S_ERRNORM = 27; // the marginal error's norm: 0 Σ|d_i| (L1), 2 √Σd_i² (L2, POT's sinkhorn)
const S_REBUILDS = 28;
const S_FALLBACKS = 29;
const S_PASSES = 30;
const S_F2 = 31; // pending f of the next iteration (n)
const S_PENDING = 32;
// row passes shared by several threads (the shared-memory build only; S_THREADS ≤ 1 everywhere else)
const S_THREADS = 33; // threads that split the rows (1: this instance does everything)
const S_PARTIALS = 34; // (threads − 1) × m: each helper's partial Σ_i ũ_i K̃_i
const S_SCRATCH = 35; // (threads − 1) × 2 max(n, m): each helper's W1, W2
const S_RESULTS = 36; // threads × 4: bad, marginal error, fallbacks of each thread's last row pass
const S_BACK = 37; // direction of the current row pass (snake order), the same in every thread
const S_STATS_COLS = 38; // entStats' column-sum output (share 0 writes there)
// entPlanApply's operands for the shares: V, k, transpose, out, and each helper's partial Pᵀ·V (m × k)
const S_PA_V = 39;
const S_PA_K = 40;
const S_PA_T = 41;
const S_PA_OUT = 42;
const S_PA_PARTS = 43;
/** Number of slots in the context block. */
export const ENT_SLOTS: i32 = 48;

/** Row operations that entRows runs on one thread's share of the rows. */
const OP_FPASS = 0;
const OP_REBUILD = 1;
const OP_STATS = 2;
// without a stored kernel (exact log-sum-exps): the f-update, partial column LSEs, the marginal error
const OP_EXACT_F = 3;
const OP_EXACT_COLS = 4;
const OP_EXACT_ERR = 5;
// plan products and the dense plan, row by row
const OP_PLAN_APPLY = 6;
const OP_DENSE_PLAN = 7;
// a batch of problems (entBatch): each thread takes whole problems
const OP_BATCH = 8;
// the multiscale Sinkhorn's streamed kernel (assembly/stream.ts): each thread takes whole target clusters
const OP_STREAM = 9;
// a dense product split by rows (assembly/tensor.ts tensorMatmulShares)
const OP_GEMM = 10;

// Runs `op` on every thread's rows (this thread takes share 0 through entRows) and returns when all are done:
// provided by ts/backends/wasm-threads.ts for the shared-memory build, absent from the single-thread one.
// @ts-ignore: decorator
@external("env", "parallelRows") declare function parallelRows(op: i32, ctx: usize, arg: usize, flag: i32): void;

const ABSORB: f64 = 100.0;
const SAFE_LO: f64 = 1e-250;
const SAFE_HI: f64 = 1e250;
const NEG_INF: f64 = -Infinity;

// the bound context (read from the slots at every exported entry)
let n: i32 = 0;
let m: i32 = 0;
let d: i32 = 0;
let kind: i32 = 0;
let stab: i32 = 0;
let eps: f64 = 1;
let tauA: f64 = 1;
let tauB: f64 = 1;
let power: f64 = 2;
let pC: usize = 0;
let pX: usize = 0;
let pY: usize = 0;
let pLogA: usize = 0;
let pLogB: usize = 0;
let pA: usize = 0;
let pF: usize = 0;
let pG: usize = 0;
let pAlpha: usize = 0;
let pBeta: usize = 0;
let pK: usize = 0;
let pU: usize = 0;
let pV: usize = 0;
let pS: usize = 0;
let pT: usize = 0;
let pW1: usize = 0;
let pW2: usize = 0;
/** Whether marginal errors are accumulated as squares (S_ERRNORM = 2; the square root is taken by entMarginalError). */
let errSquares = false;
let ctxPtr: usize = 0;

@inline function slot(k: i32): f64 {
  return load<f64>(ctxPtr + (<usize>k << 3));
}
@inline function slotPtr(k: i32): usize {
  return <usize>load<f64>(ctxPtr + (<usize>k << 3));
}
@inline function setSlot(k: i32, x: f64): void {
  store<f64>(ctxPtr + (<usize>k << 3), x);
}

function bind(ctx: usize): void {
  ctxPtr = ctx;
  n = <i32>slot(S_N);
  m = <i32>slot(S_M);
  d = <i32>slot(S_D);
  kind = <i32>slot(S_KIND);
  stab = <i32>slot(S_STAB);
  eps = slot(S_EPS);
  tauA = slot(S_TAUA);
  tauB = slot(S_TAUB);
  power = slot(S_POWER);
  pC = slotPtr(S_C);
  pX = slotPtr(S_X);
  pY = slotPtr(S_Y);
  pLogA = slotPtr(S_LOGA);
  pLogB = slotPtr(S_LOGB);
  pA = slotPtr(S_A);
  pF = slotPtr(S_F);
  pG = slotPtr(S_G);
  pAlpha = slotPtr(S_ALPHA);
  pBeta = slotPtr(S_BETA);
  pK = slotPtr(S_K);
  pU = slotPtr(S_U);
  pV = slotPtr(S_V);
  pS = slotPtr(S_S);
  pT = slotPtr(S_T);
  pW1 = slotPtr(S_W1);
  pW2 = slotPtr(S_W2);
  errSquares = slot(S_ERRNORM) == 2;
}

/** One row's term of the marginal error: |d| (L1) or d² (L2, rooted at the end). */
@inline function errTerm(d: f64): f64 {
  return errSquares ? d * d : Math.abs(d);
}

// ---- costs ------------------------------------------------------------------------------------------

/** Row i of C: a pointer into C (dense) or `buf` filled with ‖X_i − Y_j‖^power (points, as ts/costs.ts). */
function costRow(i: i32, buf: usize): usize {
  if (kind == 0) return pC + ((<usize>i * <usize>m) << 3);
  costRowInto(pX + ((<usize>i * <usize>d) << 3), pY, m, d, power, buf);
  return buf;
}

// ---- SIMD building blocks -----------------------------------------------------------------------------

@inline function hsum(x: v128): f64 {
  return f64x2.extract_lane(x, 0) + f64x2.extract_lane(x, 1);
}

/** Σ_j row_j · v_j. */
export function dot(row: usize, v: usize, len: i32): f64 {
  let a0 = f64x2.splat(0);
  let a1 = f64x2.splat(0);
  let a2 = f64x2.splat(0);
  let a3 = f64x2.splat(0);
  let j = 0;
  for (; j + 8 <= len; j += 8) {
    const o = <usize>j << 3;
    a0 = f64x2.add(a0, f64x2.mul(v128.load(row + o), v128.load(v + o)));
    a1 = f64x2.add(a1, f64x2.mul(v128.load(row + o, 16), v128.load(v + o, 16)));
    a2 = f64x2.add(a2, f64x2.mul(v128.load(row + o, 32), v128.load(v + o, 32)));
    a3 = f64x2.add(a3, f64x2.mul(v128.load(row + o, 48), v128.load(v + o, 48)));
  }
  for (; j + 2 <= len; j += 2) {
    const o = <usize>j << 3;
    a0 = f64x2.add(a0, f64x2.mul(v128.load(row + o), v128.load(v + o)));
  }
  let s = hsum(f64x2.add(f64x2.add(a0, a1), f64x2.add(a2, a3)));
  if (j < len) s += ld(row, j) * ld(v, j);
  return s;
}

/** t_j += c · row_j. */
export function axpy(t: usize, c: f64, row: usize, len: i32): void {
  const cv = f64x2.splat(c);
  let j = 0;
  for (; j + 4 <= len; j += 4) {
    const o = <usize>j << 3;
    v128.store(t + o, f64x2.add(v128.load(t + o), f64x2.mul(cv, v128.load(row + o))));
    v128.store(t + o, f64x2.add(v128.load(t + o, 16), f64x2.mul(cv, v128.load(row + o, 16))), 16);
  }
  for (; j < len; j++) st(t, j, ld(t, j) + c * ld(row, j));
}

/** out[0..3] = Σ_j r_q,j v_j for four consecutive rows r_q = r0 + q·len (one load of v for four rows). */
export function dot4(r0: usize, v: usize, len: i32, out: usize): void {
  const stride = <usize>len << 3;
  const r1 = r0 + stride;
  const r2 = r1 + stride;
  const r3 = r2 + stride;
  let a0 = f64x2.splat(0);
  let a1 = f64x2.splat(0);
  let a2 = f64x2.splat(0);
  let a3 = f64x2.splat(0);
  let j = 0;
  // four entries a step, addressed as (row + o) plus an immediate offset: half the address arithmetic
  for (; j + 4 <= len; j += 4) {
    const o = <usize>j << 3;
    const p0 = r0 + o;
    const p1 = r1 + o;
    const p2 = r2 + o;
    const p3 = r3 + o;
    const pv = v + o;
    const v0 = v128.load(pv);
    const v1 = v128.load(pv, 16);
    a0 = f64x2.add(a0, f64x2.mul(v128.load(p0), v0));
    a1 = f64x2.add(a1, f64x2.mul(v128.load(p1), v0));
    a2 = f64x2.add(a2, f64x2.mul(v128.load(p2), v0));
    a3 = f64x2.add(a3, f64x2.mul(v128.load(p3), v0));
    a0 = f64x2.add(a0, f64x2.mul(v128.load(p0, 16), v1));
    a1 = f64x2.add(a1, f64x2.mul(v128.load(p1, 16), v1));
    a2 = f64x2.add(a2, f64x2.mul(v128.load(p2, 16), v1));
    a3 = f64x2.add(a3, f64x2.mul(v128.load(p3, 16), v1));
  }
  for (; j + 2 <= len; j += 2) {
    const o = <usize>j << 3;
    const vv = v128.load(v + o);
    a0 = f64x2.add(a0, f64x2.mul(v128.load(r0 + o), vv));
    a1 = f64x2.add(a1, f64x2.mul(v128.load(r1 + o), vv));
    a2 = f64x2.add(a2, f64x2.mul(v128.load(r2 + o), vv));
    a3 = f64x2.add(a3, f64x2.mul(v128.load(r3 + o), vv));
  }
  let s0 = hsum(a0);
  let s1 = hsum(a1);
  let s2 = hsum(a2);
  let s3 = hsum(a3);
  if (j < len) {
    const vj = ld(v, j);
    s0 += ld(r0, j) * vj;
    s1 += ld(r1, j) * vj;
    s2 += ld(r2, j) * vj;
    s3 += ld(r3, j) * vj;
  }
  st(out, 0, s0);
  st(out, 1, s1);
  st(out, 2, s2);
  st(out, 3, s3);
}

/** t_j += Σ_q c_q · r_q,j for four consecutive rows (one load/store of t for four rows). */
export function axpy4(t: usize, c: usize, r0: usize, len: i32): void {
  const stride = <usize>len << 3;
  const r1 = r0 + stride;
  const r2 = r1 + stride;
  const r3 = r2 + stride;
  const c0 = f64x2.splat(ld(c, 0));
  const c1 = f64x2.splat(ld(c, 1));
  const c2 = f64x2.splat(ld(c, 2));
  const c3 = f64x2.splat(ld(c, 3));
  let j = 0;
  for (; j + 4 <= len; j += 4) {
    const o = <usize>j << 3;
    const p0 = r0 + o;
    const p1 = r1 + o;
    const p2 = r2 + o;
    const p3 = r3 + o;
    const pt = t + o;
    const x01 = f64x2.add(f64x2.mul(c0, v128.load(p0)), f64x2.mul(c1, v128.load(p1)));
    const x23 = f64x2.add(f64x2.mul(c2, v128.load(p2)), f64x2.mul(c3, v128.load(p3)));
    const y01 = f64x2.add(f64x2.mul(c0, v128.load(p0, 16)), f64x2.mul(c1, v128.load(p1, 16)));
    const y23 = f64x2.add(f64x2.mul(c2, v128.load(p2, 16)), f64x2.mul(c3, v128.load(p3, 16)));
    v128.store(pt, f64x2.add(v128.load(pt), f64x2.add(x01, x23)));
    v128.store(pt, f64x2.add(v128.load(pt, 16), f64x2.add(y01, y23)), 16);
  }
  for (; j + 2 <= len; j += 2) {
    const o = <usize>j << 3;
    const x01 = f64x2.add(f64x2.mul(c0, v128.load(r0 + o)), f64x2.mul(c1, v128.load(r1 + o)));
    const x23 = f64x2.add(f64x2.mul(c2, v128.load(r2 + o)), f64x2.mul(c3, v128.load(r3 + o)));
    v128.store(t + o, f64x2.add(v128.load(t + o), f64x2.add(x01, x23)));
  }
  if (j < len) st(t, j, ld(t, j) + ((ld(c, 0) * ld(r0, j) + ld(c, 1) * ld(r1, j)) + (ld(c, 2) * ld(r2, j) + ld(c, 3) * ld(r3, j))));
}

/** log Σ_j e^{x_j} for x in `buf` (len entries), max-shifted; −∞ when every x_j is −∞. */
export function lseBuf(buf: usize, len: i32): f64 {
  let mx = f64x2.splat(NEG_INF);
  let j = 0;
  for (; j + 2 <= len; j += 2) mx = f64x2.max(mx, v128.load(at(buf, j)));
  let M = Math.max(f64x2.extract_lane(mx, 0), f64x2.extract_lane(mx, 1));
  if (j < len) M = Math.max(M, ld(buf, j));
  if (M == NEG_INF) return NEG_INF;
  const Mv = f64x2.splat(M);
  let acc = f64x2.splat(0);
  j = 0;
  for (; j + 2 <= len; j += 2) acc = f64x2.add(acc, expF64x2(f64x2.sub(v128.load(at(buf, j)), Mv)));
  let s = hsum(acc);
  if (j < len) s += expF64(ld(buf, j) - M);
  return M + Math.log(s);
}

/** Exact LSE_j((g_j − C_ij)/ε) (the log-domain update of row i). */
function rowLse(i: i32): f64 {
  const c = costRow(i, pW1);
  const ev = f64x2.splat(eps);
  let j = 0;
  for (; j + 2 <= m; j += 2) {
    v128.store(at(pW2, j), f64x2.div(f64x2.sub(v128.load(at(pG, j)), v128.load(at(c, j))), ev));
  }
  if (j < m) st(pW2, j, (ld(pG, j) - ld(c, j)) / eps);
  return lseBuf(pW2, m);
}

/** Exact LSE_i((f_i − C_ij)/ε) for every column, into `out` (row-major passes: max, then Σ exp). */
function allColLse(out: usize): void {
  colLseRows(0, n, pW2, out);
  for (let j = 0; j < m; j++) {
    const M = ld(pW2, j);
    st(out, j, M == NEG_INF ? NEG_INF : M + Math.log(ld(out, j)));
  }
}

/** Over rows [r0, r1): mx_j = max_i (f_i − C_ij)/ε and s_j = Σ_i e^{(f_i − C_ij)/ε − mx_j} (two row-major passes). */
function colLseRows(r0: i32, r1: i32, mx: usize, s: usize): void {
  const ev = f64x2.splat(eps);
  for (let j = 0; j < m; j++) st(mx, j, NEG_INF);
  for (let i = r0; i < r1; i++) {
    const fi = ld(pF, i);
    if (fi == NEG_INF) continue;
    const c = costRow(i, pW1);
    const fv = f64x2.splat(fi);
    let j = 0;
    for (; j + 2 <= m; j += 2) {
      const x = f64x2.div(f64x2.sub(fv, v128.load(at(c, j))), ev);
      v128.store(at(mx, j), f64x2.max(v128.load(at(mx, j)), x));
    }
    if (j < m) st(mx, j, Math.max(ld(mx, j), (fi - ld(c, j)) / eps));
  }
  for (let j = 0; j < m; j++) st(s, j, 0);
  for (let i = r0; i < r1; i++) {
    const fi = ld(pF, i);
    if (fi == NEG_INF) continue;
    const c = costRow(i, pW1);
    const fv = f64x2.splat(fi);
    let j = 0;
    for (; j + 2 <= m; j += 2) {
      const x = f64x2.div(f64x2.sub(fv, v128.load(at(c, j))), ev);
      v128.store(at(s, j), f64x2.add(v128.load(at(s, j)), expF64x2(f64x2.sub(x, v128.load(at(mx, j))))));
    }
    if (j < m) st(s, j, ld(s, j) + expF64((fi - ld(c, j)) / eps - ld(mx, j)));
  }
}

/**
 * The column LSEs from every share's (mx, s) (colLseRows): share 0's are W2 and `out`, a helper's its
 * scratch W2 and partial buffer. LSE = M + log Σ_t s_t e^{mx_t − M} with M = max_t mx_t.
 */
function mergeColLse(out: usize): void {
  const threads = <i32>slot(S_THREADS);
  const w = <usize>max(n, m) << 3;
  for (let j = 0; j < m; j++) {
    let M = ld(pW2, j);
    for (let t = 1; t < threads; t++) M = Math.max(M, ld(slotPtr(S_SCRATCH) + <usize>(t - 1) * 2 * w + w, j));
    if (M == NEG_INF) {
      st(out, j, NEG_INF);
      continue;
    }
    let S = ld(out, j) * expF64(ld(pW2, j) - M);
    for (let t = 1; t < threads; t++) {
      const mt = ld(slotPtr(S_SCRATCH) + <usize>(t - 1) * 2 * w + w, j);
      S += ld(slotPtr(S_PARTIALS) + ((<usize>(t - 1) * <usize>m) << 3), j) * expF64(mt - M);
    }
    st(out, j, M + Math.log(S));
  }
}

// ---- kernel -------------------------------------------------------------------------------------------

/** α = f, β = g (log method; +∞/NaN entries absorb as 0), then rebuild. */
function absorb(): void {
  for (let i = 0; i < n; i++) {
    const x = ld(pF, i);
    st(pAlpha, i, x == NEG_INF || (x - x == 0) ? x : 0);
  }
  for (let j = 0; j < m; j++) {
    const x = ld(pG, j);
    st(pBeta, j, x == NEG_INF || (x - x == 0) ? x : 0);
  }
  rebuild();
}

/** Whether the row passes are split between threads (never in the single-thread build). */
@inline function threaded(): bool {
  return ASC_FEATURE_THREADS && <i32>slot(S_THREADS) > 1;
}

/** K̃_ij = exp((α_i + β_j − C_ij)/ε) (α = β = 0 for the scaling method: K = exp(−C/ε)). */
function rebuild(): void {
  if (threaded()) parallelRows(OP_REBUILD, ctxPtr, 0, 0);
  else rebuildRows(0, n);
  setSlot(S_KVALID, 1);
  setSlot(S_PENDING, 0);
  setSlot(S_REBUILDS, slot(S_REBUILDS) + 1);
}

function rebuildRows(r0: i32, r1: i32): void {
  const ev = f64x2.splat(eps);
  for (let i = r0; i < r1; i++) {
    const c = costRow(i, pW1);
    const ai = ld(pAlpha, i);
    const av = f64x2.splat(ai);
    const row = pK + ((<usize>i * <usize>m) << 3);
    let j = 0;
    for (; j + 2 <= m; j += 2) {
      const x = f64x2.div(f64x2.sub(f64x2.add(av, v128.load(at(pBeta, j))), v128.load(at(c, j))), ev);
      v128.store(at(row, j), expF64x2(x));
    }
    if (j < m) st(row, j, expF64((ai + ld(pBeta, j) - ld(c, j)) / eps));
  }
}

function ensureKernel(): void {
  if (pK == 0 || slot(S_KVALID) != 0) return;
  if (stab) absorb();
  else rebuild();
}

/** ṽ_j = e^{(g_j − β_j)/ε} (0 where g_j = −∞); returns false when some finite g_j is out of the absorb range. */
function scaledV(): bool {
  if (!stab) {
    // scaling: v = e^{g/ε} (β = 0, no range to keep; exp(−∞) = 0), two at a time
    const inv = f64x2.splat(1 / eps);
    let j = 0;
    for (; j + 2 <= m; j += 2) v128.store(at(pV, j), expF64x2(f64x2.mul(v128.load(at(pG, j)), inv)));
    if (j < m) st(pV, j, expF64(ld(pG, j) / eps));
    return true;
  }
  let ok = true;
  for (let j = 0; j < m; j++) {
    const gj = ld(pG, j);
    if (gj == NEG_INF) {
      st(pV, j, 0);
      continue;
    }
    const z = (gj - ld(pBeta, j)) / eps;
    if (!(Math.abs(z) <= ABSORB)) ok = false;
    st(pV, j, expF64(z));
  }
  return ok;
}

/** Whether a stabilised sum is far enough from under/overflow to be used as is (else: exact log-sum-exp). */
@inline export function safe(s: f64): bool {
  return s >= SAFE_LO && s <= SAFE_HI;
}

/** Kernel valid for (α, β, ε) and ṽ computed from g (absorbing first when ṽ is out of range). */
function prepareKernelPass(): void {
  ensureKernel();
  if (!scaledV() && stab) {
    absorb();
    scaledV();
  }
}

let passBad = false;
let passErr: f64 = 0;
let passFallbacks: i32 = 0;

/**
 * The f-half of an iteration, fused with the first half of the g-update: for each row, s_i = K̃_i·ṽ,
 * f_i → fOut, ũ_i → U, and T += ũ_i K̃_i (until some ũ leaves the absorb range: passBad). With `measure`,
 * also Σ_i |(P·1)_i − a_i| for the CURRENT f (row sums ũ_i^{cur}·s_i, exact where unsafe) into passErr:
 * the marginal error costs no extra pass over the kernel, and the next iterate() continues from here.
 */
function fPass(fOut: usize, measure: bool): void {
  // snake order: alternate passes run backwards, so rows still in the last-level cache are read first
  setSlot(S_BACK, <f64>(<i32>slot(S_PASSES) & 1));
  setSlot(S_PASSES, slot(S_PASSES) + 1);
  if (!threaded()) {
    fPassRows(0, n, fOut, pT, measure);
    return;
  }
  parallelRows(OP_FPASS, ctxPtr, fOut, measure ? 1 : 0);
  const threads = <i32>slot(S_THREADS);
  const res = slotPtr(S_RESULTS);
  passBad = false;
  passErr = 0;
  passFallbacks = 0;
  for (let t = 0; t < threads; t++) {
    if (ld(res, t * 4) != 0) passBad = true;
    passErr += ld(res, t * 4 + 1);
    passFallbacks += <i32>ld(res, t * 4 + 2);
  }
  for (let t = 1; t < threads; t++) axpy(pT, 1, slotPtr(S_PARTIALS) + ((<usize>(t - 1) * <usize>m) << 3), m);
}

/** fPass on rows [r0, r1) (r0 a multiple of 4), accumulating Σ ũ_i K̃_i into T. */
function fPassRows(r0: i32, r1: i32, fOut: usize, T: usize, measure: bool, zeroT: bool = true): void {
  if (zeroT) for (let j = 0; j < m; j++) st(T, j, 0);
  passBad = false;
  passErr = 0;
  passFallbacks = 0;
  // rows in blocks of four: one load of v for four dots, one load/store of t for four axpys
  const blocks = (r1 - r0 + 3) >> 2;
  const back = slot(S_BACK) != 0;
  let pend: i32 = -1; // first row of the deferred block, or −1
  for (let bq = 0; bq < blocks; bq++) {
    const i = r0 + ((back ? blocks - 1 - bq : bq) << 2);
    const cnt = min(4, r1 - i);
    const row0 = pK + ((<usize>i * <usize>m) << 3);
    // the previous block's axpy runs first (its rows are still in L2), then this block's dots
    if (pend >= 0) axpy4(T, at(pU, pend), pK + ((<usize>pend * <usize>m) << 3), m);
    if (cnt == 4) {
      dot4(row0, pV, m, at(pS, i));
    } else {
      for (let q = 0; q < cnt; q++) st(pS, i + q, dot(row0 + ((<usize>q * <usize>m) << 3), pV, m));
    }
    pend = -1;
    let nz = 0;
    for (let q = 0; q < cnt; q++) {
      const r = i + q;
      const la = ld(pLogA, r);
      const s = ld(pS, r);
      const ar = ld(pAlpha, r);
      if (measure) {
        const fc = ld(pF, r);
        let rs: f64 = 0;
        if (fc != NEG_INF) {
          rs = expF64((fc - ar) / eps) * s;
          if (!safe(s) || !(rs - rs == 0)) rs = planRow(r, pW2);
        }
        passErr += errTerm(rs - ld(pA, r));
      }
      let u: f64 = 0;
      if (la == NEG_INF) {
        st(fOut, r, NEG_INF);
      } else {
        let lse: f64;
        if (stab && !safe(s)) {
          lse = rowLse(r);
          passFallbacks++;
        } else {
          lse = stab ? Math.log(s) - ar / eps : Math.log(s);
        }
        const fr = tauA * eps * (la - lse);
        st(fOut, r, fr);
        const z = (fr - ar) / eps;
        // scaling, balanced: u = a / (Kv) without a round trip through exp
        u = fr == NEG_INF ? 0 : !stab && tauA == 1 ? ld(pA, r) / s : expF64(z);
        if (stab && fr != NEG_INF && !(Math.abs(z) <= ABSORB)) passBad = true;
      }
      st(pU, r, u);
      if (u != 0) nz++;
    }
    if (passBad) continue;
    if (cnt == 4 && nz == 4) pend = i;
    else {
      for (let q = 0; q < cnt; q++) {
        const u = ld(pU, i + q);
        if (u != 0) axpy(T, u, row0 + ((<usize>q * <usize>m) << 3), m);
      }
    }
  }
  if (pend >= 0 && !passBad) axpy4(T, at(pU, pend), pK + ((<usize>pend * <usize>m) << 3), m);
}

/** First row of thread t's share (multiples of four, so blocks of four never straddle two threads). */
function rowStart(t: i32, threads: i32): i32 {
  if (t >= threads) return n;
  return <i32>((<i64>((n + 3) >> 2) * t) / threads) << 2;
}

/**
 * One thread's share of a row operation: OP_FPASS (arg = fOut, flag = measure), OP_REBUILD, OP_STATS
 * (arg = row sums, flag = plan rows from the kernel), the exact path's OP_EXACT_F / _COLS / _ERR, or the plan's
 * OP_PLAN_APPLY (operands in the S_PA_* slots) / OP_DENSE_PLAN (arg = out).
 * Share 0 runs on the calling thread, inside parallelRows; shares ≥ 1 run in helper instances on the same
 * memory, each with its own scratch, partial column sums and result block.
 */
export function entRows(op: i32, ctx: usize, t: i32, arg: usize, flag: i32): void {
  if (op == OP_BATCH) {
    batchShare(ctx);
    return;
  }
  if (op == OP_STREAM) {
    streamShare(ctx, t);
    return;
  }
  if (op == OP_GEMM) {
    gemmShare(ctx, t);
    return;
  }
  bind(ctx);
  const threads = <i32>slot(S_THREADS);
  const r0 = rowStart(t, threads);
  const r1 = rowStart(t + 1, threads);
  let T = pT;
  if (t > 0) {
    const w = <usize>max(n, m) << 3;
    pW1 = slotPtr(S_SCRATCH) + <usize>(t - 1) * 2 * w;
    pW2 = pW1 + w;
    T = slotPtr(S_PARTIALS) + ((<usize>(t - 1) * <usize>m) << 3);
  }
  if (op == OP_REBUILD) {
    rebuildRows(r0, r1);
    return;
  }
  const res = slotPtr(S_RESULTS) + (<usize>t << 5);
  if (op == OP_EXACT_F) {
    exactRows(r0, r1);
    return;
  }
  if (op == OP_EXACT_COLS) {
    colLseRows(r0, r1, pW2, T);
    return;
  }
  if (op == OP_EXACT_ERR) {
    st(res, 1, exactErrorRows(r0, r1));
    return;
  }
  if (op == OP_PLAN_APPLY || op == OP_DENSE_PLAN) {
    kernelRows = flag != 0; // planSetup ran on the calling thread
    if (op == OP_DENSE_PLAN) {
      densePlanRows(r0, r1, arg);
      return;
    }
    const k = <i32>slot(S_PA_K);
    const transpose = slot(S_PA_T) != 0;
    // a helper's share of Pᵀ·V goes to its own m × k buffer (summed by entPlanApply); rows of P·V are disjoint
    const out = transpose && t > 0 ? slotPtr(S_PA_PARTS) + <usize>(t - 1) * ((<usize>m * <usize>k) << 3) : slotPtr(S_PA_OUT);
    planApplyRows(r0, r1, slotPtr(S_PA_V), k, transpose, out);
    return;
  }
  if (op == OP_STATS) {
    kernelRows = flag != 0; // planSetup ran on the calling thread
    st(res, 1, statsRows(r0, r1, arg, t == 0 ? slotPtr(S_STATS_COLS) : T));
    return;
  }
  fPassRows(r0, r1, arg, T, flag != 0);
  st(res, 0, passBad ? 1 : 0);
  st(res, 1, passErr);
  st(res, 2, <f64>passFallbacks);
}

/** The g-update from T = Σ_i ũ_i K̃_i (exact column LSEs where T is unsafe). */
function gUpdate(): void {
  let fallbacks: i32 = 0;
  let needCols = false;
  for (let j = 0; j < m; j++) {
    const lb = ld(pLogB, j);
    if (lb == NEG_INF) {
      st(pG, j, NEG_INF);
      continue;
    }
    const t = ld(pT, j);
    if (stab && !safe(t)) {
      needCols = true;
      continue;
    }
    const lse = stab ? Math.log(t) - ld(pBeta, j) / eps : Math.log(t);
    st(pG, j, tauB * eps * (lb - lse));
  }
  if (needCols) {
    // exact column LSEs (one row-major sweep for all columns), used where the stabilised sum was unsafe;
    // V is free here (ṽ is recomputed at the start of every pass)
    allColLse(pV);
    for (let j = 0; j < m; j++) {
      const lb = ld(pLogB, j);
      if (lb == NEG_INF) continue;
      if (!safe(ld(pT, j))) {
        st(pG, j, tauB * eps * (lb - ld(pV, j)));
        fallbacks++;
      }
    }
  }
  setSlot(S_FALLBACKS, slot(S_FALLBACKS) + fallbacks);
}

/** One iteration with a stored kernel (continuing a pending f-half left by entMarginalError). */
function iterateKernel(): void {
  if (slot(S_PENDING) != 0) {
    // commit the f-half computed by the last marginal-error pass
    memory.copy(pF, slotPtr(S_F2), <usize>n << 3);
    setSlot(S_PENDING, 0);
  } else {
    fHalf();
  }
  gUpdate();
}

/** The f-update from the current g with a stored kernel, and T = Σ_i ũ_i K̃_i (the g-update's first half). */
function fHalf(): void {
  prepareKernelPass();
  fPass(pF, false);
  setSlot(S_FALLBACKS, slot(S_FALLBACKS) + passFallbacks);
  if (passBad) {
    absorb();
    for (let j = 0; j < m; j++) st(pT, j, 0);
    for (let i = 0; i < n; i++) {
      const u: f64 = ld(pF, i) == NEG_INF ? 0 : expF64((ld(pF, i) - ld(pAlpha, i)) / eps);
      st(pU, i, u);
      if (u != 0) axpy(pT, u, pK + ((<usize>i * <usize>m) << 3), m);
    }
  }
}

/** One exact log-domain iteration (no stored kernel). */
function iterateExact(): void {
  exactHalf();
  for (let j = 0; j < m; j++) {
    const lb = ld(pLogB, j);
    st(pG, j, lb == NEG_INF ? NEG_INF : tauB * eps * (lb - ld(pT, j)));
  }
}

/** Without a stored kernel: the exact f-update, then T_j = LSE_i((f_i − C_ij)/ε). */
function exactHalf(): void {
  if (threaded()) {
    parallelRows(OP_EXACT_F, ctxPtr, 0, 0);
    parallelRows(OP_EXACT_COLS, ctxPtr, 0, 0);
    mergeColLse(pT);
  } else {
    exactRows(0, n);
    allColLse(pT);
  }
}

/** The exact f-update of rows [r0, r1). */
function exactRows(r0: i32, r1: i32): void {
  for (let i = r0; i < r1; i++) {
    const la = ld(pLogA, i);
    st(pF, i, la == NEG_INF ? NEG_INF : tauA * eps * (la - rowLse(i)));
  }
}

/** Σ_{i ∈ [r0, r1)} |(P·1)_i − a_i| (or its squares, S_ERRNORM) by exact row sums. */
function exactErrorRows(r0: i32, r1: i32): f64 {
  let err: f64 = 0;
  for (let i = r0; i < r1; i++) err += errTerm(planRow(i, pW2) - ld(pA, i));
  return err;
}

/** Runs `count` iterations (f-update then g-update). */
export function entIterate(ctx: usize, count: i32): void {
  bind(ctx);
  let t = 0;
  if (pK != 0 && count > 1 && !stab && tauA == 1 && tauB == 1 && !threaded()) {
    // balanced scaling on one thread: all but the last iteration on the scalings u, v alone (leanIterations);
    // the last one, the usual iteration, brings f and g back
    if (slot(S_PENDING) != 0) {
      iterateKernel(); // commits the pending f-half
      t = 1;
    }
    leanIterations(count - t - 1);
    t = count - 1;
  }
  for (; t < count; t++) {
    if (pK == 0) iterateExact();
    else iterateKernel();
  }
}

/**
 * `k` balanced scaling iterations u = a / (K v), v = b / (Kᵀ u) on the stored kernel, from v = e^{g/ε} and back to
 * g = ε·log v: the iterates of iterateKernel's scaling path without its per-row and per-column logs, exps and
 * checks, which were ~45 % of an iteration at 64 × 64 (2.83 µs against ~1.5 µs for the two products). The rows
 * go in blocks of four as in fPassRows (one load of v for four dots, the axpys deferred a block), alternately
 * forwards and backwards (rows still in cache first).
 */
function leanIterations(k: i32): void {
  if (k <= 0) return;
  ensureKernel();
  scaledV();
  // b = e^{log b} once (0 where b_j = 0), into the scratch the kernel passes do not use with a stored kernel
  const pB = pW2;
  for (let j = 0; j < m; j++) {
    const lb = ld(pLogB, j);
    st(pB, j, lb == NEG_INF ? 0 : Math.exp(lb));
  }
  const blocks = (n + 3) >> 2;
  for (let it = 0; it < k; it++) {
    const back = ((<i32>slot(S_PASSES) + it) & 1) != 0;
    for (let j = 0; j < m; j++) st(pT, j, 0);
    let pend: i32 = -1;
    for (let bq = 0; bq < blocks; bq++) {
      const i = (back ? blocks - 1 - bq : bq) << 2;
      const cnt = min(4, n - i);
      const row0 = pK + ((<usize>i * <usize>m) << 3);
      if (pend >= 0) axpy4(pT, at(pU, pend), pK + ((<usize>pend * <usize>m) << 3), m);
      pend = -1;
      if (cnt == 4) {
        dot4(row0, pV, m, at(pS, i));
        for (let q = 0; q < 4; q++) {
          const a = ld(pA, i + q);
          st(pU, i + q, a == 0 ? 0 : a / ld(pS, i + q)); // a zero weight: u = 0 even where the row sum is 0
        }
        pend = i;
      } else {
        for (let q = 0; q < cnt; q++) {
          const r = row0 + ((<usize>q * <usize>m) << 3);
          const a = ld(pA, i + q);
          const u = a == 0 ? 0 : a / dot(r, pV, m);
          st(pU, i + q, u);
          if (u != 0) axpy(pT, u, r, m);
        }
      }
    }
    if (pend >= 0) axpy4(pT, at(pU, pend), pK + ((<usize>pend * <usize>m) << 3), m);
    for (let j = 0; j < m; j++) {
      const b = ld(pB, j);
      st(pV, j, b == 0 ? 0 : b / ld(pT, j));
    }
  }
  setSlot(S_PASSES, slot(S_PASSES) + <f64>k);
  for (let j = 0; j < m; j++) {
    const lb = ld(pLogB, j);
    st(pG, j, lb == NEG_INF ? NEG_INF : eps * Math.log(ld(pV, j)));
  }
}

/** Σ_j exp((f_i + g_j − C_ij)/ε) for row i, into W2 as entries; returns the row sum. */
function planRow(i: i32, out: usize): f64 {
  const c = costRow(i, pW1);
  const fv = f64x2.splat(ld(pF, i));
  const ev = f64x2.splat(eps);
  let acc = f64x2.splat(0);
  let j = 0;
  for (; j + 2 <= m; j += 2) {
    const p = expF64x2(f64x2.div(f64x2.sub(f64x2.add(fv, v128.load(at(pG, j))), v128.load(at(c, j))), ev));
    v128.store(at(out, j), p);
    acc = f64x2.add(acc, p);
  }
  let s = hsum(acc);
  if (j < m) {
    const p = expF64((ld(pF, i) + ld(pG, j) - ld(c, j)) / eps);
    st(out, j, p);
    s += p;
  }
  return s;
}

let kernelRows = false;

/** Before planFast: whether plan rows may come from the kernel (valid K̃, ṽ in range). */
function planSetup(): void {
  kernelRows = false;
  if (pK == 0) return;
  ensureKernel();
  let ok = scaledV();
  if (!ok && stab) {
    absorb();
    ok = scaledV();
  }
  kernelRows = ok;
}

/**
 * Row i of P into `out` (returns its sum): ũ_i·K̃_ij·ṽ_j when ũ_i and ṽ are within e^{±ABSORB} (then an
 * entry lost to underflow in K̃ is below e^{2·ABSORB}·2^−1074 ≈ 1e−237), else exp((f_i + g_j − C_ij)/ε).
 */
function planFast(i: i32, out: usize): f64 {
  if (kernelRows) {
    const fi = ld(pF, i);
    const z = (fi - ld(pAlpha, i)) / eps;
    if (fi != NEG_INF && Math.abs(z) <= ABSORB) {
      const uv = f64x2.splat(expF64(z));
      const row = pK + ((<usize>i * <usize>m) << 3);
      let acc = f64x2.splat(0);
      let j = 0;
      for (; j + 2 <= m; j += 2) {
        const p = f64x2.mul(f64x2.mul(uv, v128.load(at(row, j))), v128.load(at(pV, j)));
        v128.store(at(out, j), p);
        acc = f64x2.add(acc, p);
      }
      let s = hsum(acc);
      if (j < m) {
        const p = f64x2.extract_lane(uv, 0) * ld(row, j) * ld(pV, j);
        st(out, j, p);
        s += p;
      }
      return s;
    }
  }
  return planRow(i, out);
}

/**
 * Σ_i |(P·1)_i − a_i| for the current potentials (√Σ_i ((P·1)_i − a_i)² when S_ERRNORM = 2). With a kernel this is the f-half of the next iteration
 * (kept pending, committed by the next entIterate unless the state changes first): row sums are
 * ũ_i·(K̃ṽ)_i, exact exp sums where that is unsafe.
 */
export function entMarginalError(ctx: usize): f64 {
  bind(ctx);
  let err: f64 = 0;
  if (pK == 0) {
    if (!threaded()) err = exactErrorRows(0, n);
    else {
      parallelRows(OP_EXACT_ERR, ctxPtr, 0, 0);
      for (let t = 0; t < <i32>slot(S_THREADS); t++) err += ld(slotPtr(S_RESULTS), t * 4 + 1);
    }
    return errSquares ? Math.sqrt(err) : err;
  }
  setSlot(S_PENDING, 0);
  prepareKernelPass();
  fPass(slotPtr(S_F2), true);
  if (!passBad) {
    setSlot(S_PENDING, 1);
    setSlot(S_FALLBACKS, slot(S_FALLBACKS) + passFallbacks);
  }
  return errSquares ? Math.sqrt(passErr) : passErr;
}

/** ⟨P, C⟩ (returned), P·1 into rows (n), Pᵀ·1 into cols (m). */
export function entStats(ctx: usize, rows: usize, cols: usize): f64 {
  bind(ctx);
  planSetup();
  if (!threaded()) return statsRows(0, n, rows, cols);
  // shares write their rows in place, their column sums into cols (share 0) or their partial buffer
  setSlot(S_STATS_COLS, <f64>cols);
  parallelRows(OP_STATS, ctxPtr, rows, kernelRows ? 1 : 0);
  const threads = <i32>slot(S_THREADS);
  let cost: f64 = 0;
  for (let t = 0; t < threads; t++) cost += ld(slotPtr(S_RESULTS), t * 4 + 1);
  for (let t = 1; t < threads; t++) axpy(cols, 1, slotPtr(S_PARTIALS) + ((<usize>(t - 1) * <usize>m) << 3), m);
  return cost;
}

/** entStats on rows [r0, r1): their sums into rows, their column sums into cols; returns their ⟨P, C⟩. */
function statsRows(r0: i32, r1: i32, rows: usize, cols: usize): f64 {
  let cost: f64 = 0;
  for (let j = 0; j < m; j++) st(cols, j, 0);
  for (let i = r0; i < r1; i++) {
    const rs = planFast(i, pW2);
    st(rows, i, rs);
    const c = costRow(i, pW1);
    let acc = f64x2.splat(0);
    let j = 0;
    for (; j + 2 <= m; j += 2) {
      const p = v128.load(at(pW2, j));
      acc = f64x2.add(acc, f64x2.mul(p, v128.load(at(c, j))));
      v128.store(at(cols, j), f64x2.add(v128.load(at(cols, j)), p));
    }
    let s = hsum(acc);
    if (j < m) {
      s += ld(pW2, j) * ld(c, j);
      st(cols, j, ld(cols, j) + ld(pW2, j));
    }
    cost += s;
  }
  return cost;
}

/**
 * out = P·V (V: m × k) or, when transpose, Pᵀ·V (V: n × k), row-major. `parts` (threaded only): (threads − 1)
 * buffers of m × k for the helpers' partial Pᵀ·V, summed into out here.
 */
export function entPlanApply(ctx: usize, V: usize, k: i32, transpose: i32, out: usize, parts: usize): void {
  bind(ctx);
  planSetup();
  if (!threaded()) {
    planApplyRows(0, n, V, k, transpose != 0, out);
    return;
  }
  setSlot(S_PA_V, <f64>V);
  setSlot(S_PA_K, <f64>k);
  setSlot(S_PA_T, <f64>transpose);
  setSlot(S_PA_OUT, <f64>out);
  setSlot(S_PA_PARTS, <f64>parts);
  parallelRows(OP_PLAN_APPLY, ctxPtr, 0, kernelRows ? 1 : 0);
  if (transpose) {
    for (let t = 1; t < <i32>slot(S_THREADS); t++) axpy(out, 1, parts + <usize>(t - 1) * ((<usize>m * <usize>k) << 3), m * k);
  }
}

/** Rows [r0, r1) of P·V into out's rows, or their share of Pᵀ·V into out (m × k, zeroed here). */
function planApplyRows(r0: i32, r1: i32, V: usize, k: i32, transpose: bool, out: usize): void {
  if (transpose) for (let q = 0; q < m * k; q++) st(out, q, 0);
  for (let i = r0; i < r1; i++) {
    planFast(i, pW2);
    if (!transpose) {
      const o = out + ((<usize>i * <usize>k) << 3);
      if (k == 1) {
        st(o, 0, dot(pW2, V, m));
        continue;
      }
      for (let t = 0; t < k; t++) st(o, t, 0);
      for (let j = 0; j < m; j++) {
        const p = ld(pW2, j);
        if (p == 0) continue;
        const vr = V + ((<usize>j * <usize>k) << 3);
        for (let t = 0; t < k; t++) st(o, t, ld(o, t) + p * ld(vr, t));
      }
    } else {
      const vr = V + ((<usize>i * <usize>k) << 3);
      if (k == 1) {
        axpy(out, ld(vr, 0), pW2, m);
        continue;
      }
      for (let j = 0; j < m; j++) {
        const p = ld(pW2, j);
        if (p == 0) continue;
        const o = out + ((<usize>j * <usize>k) << 3);
        for (let t = 0; t < k; t++) st(o, t, ld(o, t) + p * ld(vr, t));
      }
    }
  }
}

/** out (n × m) = P. */
export function entDensePlan(ctx: usize, out: usize): void {
  bind(ctx);
  planSetup();
  if (!threaded()) {
    densePlanRows(0, n, out);
    return;
  }
  parallelRows(OP_DENSE_PLAN, ctxPtr, out, kernelRows ? 1 : 0);
}

function densePlanRows(r0: i32, r1: i32, out: usize): void {
  for (let i = r0; i < r1; i++) planFast(i, out + ((<usize>i * <usize>m) << 3));
}

// ---- barycenters (iterative Bregman projections: ts/barycenter/ibp.ts) ----------------------------------

/**
 * The f-update from the current g (as entIterate's first half), then out_j = LSE_i((f_i − C_ij)/ε): log Kᵀu
 * in the scaling form, log T̃_j − β_j/ε on the stabilised kernel (exact column log-sum-exps where T̃_j is unsafe),
 * exact log-sum-exps without a kernel. g is left as the host set it (EntropicEngine.fUpdateColLse).
 */
export function entFColLse(ctx: usize, out: usize): void {
  bind(ctx);
  setSlot(S_PENDING, 0);
  if (pK == 0) {
    exactHalf();
    memory.copy(out, pT, <usize>m << 3);
    return;
  }
  fHalf();
  colLseFromT(out);
}

/** out_j = LSE_i((f_i − C_ij)/ε) from T = Σ_i ũ_i K̃_i (exact column log-sum-exps where T̃_j is unsafe). */
function colLseFromT(out: usize): void {
  let needCols = false;
  for (let j = 0; j < m; j++) {
    const t = ld(pT, j);
    if (stab && !safe(t)) {
      needCols = true;
      continue;
    }
    st(out, j, stab ? Math.log(t) - ld(pBeta, j) / eps : Math.log(t));
  }
  if (needCols) {
    allColLse(pV); // V is free here (ṽ is recomputed at the start of every pass)
    let fallbacks: i32 = 0;
    for (let j = 0; j < m; j++) {
      if (!safe(ld(pT, j))) {
        st(out, j, ld(pV, j));
        fallbacks++;
      }
    }
    setSlot(S_FALLBACKS, slot(S_FALLBACKS) + fallbacks);
  }
}

/** Rows per chunk of the batched pass: a chunk of a 400-column kernel (~50 KB) stays in L2 across the k contexts. */
const BATCH_ROWS: i32 = 16;

/**
 * entFColLse for k contexts (pointers in `ctxs`, f64 slots) into outs (k × m). When they are all in the scaling
 * form, single-threaded and share one stored kernel K (the host allocates it once), the k passes run chunk by
 * chunk of rows, so every chunk of K is read from memory once for all k; otherwise one entFColLse each.
 */
export function entFColLseBatch(ctxs: usize, k: i32, outs: usize): void {
  let shared = true;
  bind(<usize>ld(ctxs, 0));
  const K0 = pK;
  for (let t = 0; t < k && shared; t++) {
    bind(<usize>ld(ctxs, t));
    shared = pK == K0 && pK != 0 && stab == 0 && !threaded();
  }
  if (!shared) {
    for (let t = 0; t < k; t++) entFColLse(<usize>ld(ctxs, t), outs + ((<usize>t * <usize>m) << 3));
    return;
  }
  for (let t = 0; t < k; t++) {
    bind(<usize>ld(ctxs, t));
    setSlot(S_PENDING, 0);
    if (t > 0) setSlot(S_KVALID, 1); // context 0 built the shared K for this ε
    prepareKernelPass();
    for (let j = 0; j < m; j++) st(pT, j, 0);
  }
  for (let r0 = 0; r0 < n; r0 += BATCH_ROWS) {
    const r1 = min(n, r0 + BATCH_ROWS);
    for (let t = 0; t < k; t++) {
      bind(<usize>ld(ctxs, t));
      fPassRows(r0, r1, pF, pT, false, false);
    }
  }
  for (let t = 0; t < k; t++) {
    bind(<usize>ld(ctxs, t));
    colLseFromT(outs + ((<usize>t * <usize>m) << 3));
  }
}

// ---- a batch of problems --------------------------------------------------------------------------------

// The batch block (f64 slots; S_THREADS at the same place as in a context, since parallelRows reads it there)
const B_LIST = 0; // k context pointers (f64), largest problems first
const B_K = 1;
const B_COUNTS = 2; // iterations to run for each listed problem (f64)
const B_ERRS = 3; // out: each listed problem's marginal error after its iterations (f64)
const B_NEXT = 4; // the next list index to take (an i32 at this slot's address; threads build)

/**
 * A step of many independent problems (ts/entropic/batch.ts): for each listed context, entIterate(count) then
 * entMarginalError, exactly what a single solve does between two convergence checks. The contexts are
 * single-threaded; in the shared-memory build with S_THREADS > 1 the threads share the list, each taking the
 * next whole problem (an atomic counter), so small problems run in parallel without per-pass joins.
 */
export function entBatch(batch: usize): void {
  if (ASC_FEATURE_THREADS && <i32>load<f64>(batch + (<usize>S_THREADS << 3)) > 1) {
    atomic.store<i32>(batch + (<usize>B_NEXT << 3), 0);
    parallelRows(OP_BATCH, batch, 0, 0);
    return;
  }
  store<i32>(batch + (<usize>B_NEXT << 3), 0);
  batchShare(batch);
}

function batchShare(batch: usize): void {
  const list = <usize>load<f64>(batch + (<usize>B_LIST << 3));
  const k = <i32>load<f64>(batch + (<usize>B_K << 3));
  const counts = <usize>load<f64>(batch + (<usize>B_COUNTS << 3));
  const errs = <usize>load<f64>(batch + (<usize>B_ERRS << 3));
  const next = batch + (<usize>B_NEXT << 3);
  for (;;) {
    let q: i32;
    if (ASC_FEATURE_THREADS) q = atomic.add<i32>(next, 1);
    else {
      q = load<i32>(next);
      store<i32>(next, q + 1);
    }
    if (q >= k) return;
    const ctx = <usize>ld(list, q);
    const count = <i32>ld(counts, q);
    if (count > 0) entIterate(ctx, count);
    st(errs, q, entMarginalError(ctx));
  }
}
