// Barycenter kernels (the wasm engine of ts/backends/wasm-barycenter.ts; the reference is the plain-TS code
// of ts/solvers/barycenter.ts, which these follow step by step: same updates, same order, same stopping rule).
//
// - IBP, scaling (ibpScalingRun): K = exp(−C/ε) stored once (n × nb). One pass over K per iteration serves
//   all k histograms: rows go in blocks of four, and while a block is in cache, for each histogram t,
//   s = K_block·v_t (dot4, one load of v_t for four rows), u_t = a_t / s, Kᵀu_t += u_t K_block (axpy4).
//   Then p = Π_t (v_t ⊙ Kᵀu_t)^λ_t, the error, and v_t = p / Kᵀu_t.
// - IBP, log domain (ibpLogRun): f_i = ε (log a_ti − LSE_j((g_tj − C_ij)/ε)), h_tj = LSE_i((f_i − C_ij)/ε).
//   With room for k kernels, each histogram runs on its stabilised kernel K̃_t = exp((α_t + β_t − C)/ε)
//   (absorbed potentials, Schmitzer 2019, the scheme of assembly/sinkhorn.ts): the same fused dot4/axpy4 pass
//   as scaling, and an exact log-sum-exp for any row/column whose stabilised sum under/overflows. Without
//   (or for those rows/columns), every LSE goes through lseBuf of assembly/sinkhorn.ts (max-shifted, the SIMD
//   exp of assembly/expf64.ts) over a contiguous row: C for the rows, Cᵀ (stored once by the host) for the
//   columns.
// - convolutional (convRun): the Gibbs kernel on an h × w grid as the separable blur ξ_h · x · ξ_w
//   (convBlur: along the columns with ξ_h, as axpys of image rows, then along the rows with ξ_w, as dot4s of
//   ξ_w's rows — ξ_w is symmetric), for the k images at once.
// - convolutional, log domain (convLogRun): the same iteration on log-scalings, with no floor; the blur is
//   log(ξ_h · e^x · ξ_w) as exact log-sum-exps (convLogBlur: along the columns over a transposed copy of x,
//   then along the rows; each LSE is lseBuf of assembly/sinkhorn.ts over the log-kernel row plus the image
//   row/column, so hw(h + w) SIMD exps per blur, no (hw)² storage).
// Each *Run executes up to `count` iterations and returns how many ran: it stops after the iteration whose
// error is < tol (and, for scaling, after one whose error is not finite: the host reports the overflow).
// The error of the last iteration goes to errOut[0].
import { expF64, expF64x2 } from './expf64';
import { axpy, axpy4, dot, dot4, lseBuf, safe } from './sinkhorn';
import { at, ld, row, st } from './pointers';

const NEG_INF: f64 = -Infinity;
const STAB: f64 = 1e-30; // the floor of ts/solvers/barycenter.ts (convolutional), as POT


/** x_j ← 0 for j < len. */
function zero(p: usize, len: i32): void {
  memory.fill(p, 0, <usize>len << 3);
}

// ---- IBP, scaling -------------------------------------------------------------------------------------

/**
 * Iterative Bregman projections in the scaling form. K: n × nb; hist: k × n (normalized histograms);
 * lambda: k; V, KtU: k × nb (V starts at 1); U: k × n scratch; P: nb (the barycenter of the last iteration).
 */
export function ibpScalingRun(
  n: i32, nb: i32, k: i32,
  pK: usize, pHist: usize, pLambda: usize,
  pV: usize, pKtU: usize, pU: usize, pP: usize,
  count: i32, tol: f64, errOut: usize,
): i32 {
  let error: f64 = Infinity;
  let it = 0;
  while (it < count) {
    it++;
    zero(pKtU, k * nb);
    for (let i = 0; i < n; i += 4) {
      const cnt = min(4, n - i);
      const r0 = row(pK, i, nb);
      for (let t = 0; t < k; t++) {
        const v = row(pV, t, nb);
        const u = row(pU, t, n);
        const a = row(pHist, t, n);
        const ktu = row(pKtU, t, nb);
        if (cnt == 4) dot4(r0, v, nb, at(u, i));
        else for (let q = 0; q < cnt; q++) st(u, i + q, dot(row(r0, q, nb), v, nb));
        let nz = 0;
        for (let q = 0; q < cnt; q++) {
          const ui = ld(a, i + q) / ld(u, i + q);
          st(u, i + q, ui);
          if (ui != 0) nz++;
        }
        if (cnt == 4 && nz == 4) {
          axpy4(ktu, at(u, i), r0, nb);
        } else {
          for (let q = 0; q < cnt; q++) {
            const ui = ld(u, i + q);
            if (ui != 0) axpy(ktu, ui, row(r0, q, nb), nb);
          }
        }
      }
    }
    // p = Π_t (v_t ⊙ Kᵀu_t)^λ_t, the KL projection onto equal second marginals
    for (let j = 0; j < nb; j++) {
      let s: f64 = 0;
      for (let t = 0; t < k; t++) s += ld(pLambda, t) * Math.log(ld(row(pV, t, nb), j) * ld(row(pKtU, t, nb), j));
      st(pP, j, expF64(s));
    }
    error = 0;
    for (let t = 0; t < k; t++) {
      const lt = ld(pLambda, t);
      const v = row(pV, t, nb);
      const ktu = row(pKtU, t, nb);
      for (let j = 0; j < nb; j++) error += lt * Math.abs(ld(v, j) * ld(ktu, j) - ld(pP, j));
    }
    if (!(error - error == 0)) break; // overflow: the host throws
    for (let t = 0; t < k; t++) {
      const v = row(pV, t, nb);
      const ktu = row(pKtU, t, nb);
      for (let j = 0; j < nb; j++) st(v, j, ld(pP, j) / ld(ktu, j));
    }
    if (error < tol) break;
  }
  st(errOut, 0, error);
  return it;
}

// ---- IBP, log domain ----------------------------------------------------------------------------------

const ABSORB: f64 = 100.0;

// the bound log-domain problem (set by ibpLogRun)
let ln: i32 = 0;
let lnb: i32 = 0;
let leps: f64 = 1;
let lC: usize = 0;
let lCT: usize = 0;
let lBuf: usize = 0;
let lRebuilds: i32 = 0;
let lFallbacks: i32 = 0;

/** Exact LSE_j((g_j − C_ij)/ε) over row i of C (the reference's row update). */
function rowLse(i: i32, g: usize): f64 {
  const ev = f64x2.splat(leps);
  const c = row(lC, i, lnb);
  let j = 0;
  for (; j + 2 <= lnb; j += 2) v128.store(at(lBuf, j), f64x2.div(f64x2.sub(v128.load(at(g, j)), v128.load(at(c, j))), ev));
  if (j < lnb) st(lBuf, j, (ld(g, j) - ld(c, j)) / leps);
  return lseBuf(lBuf, lnb);
}

/** Exact LSE_i((f_i − C_ij)/ε) over the contiguous row j of Cᵀ (the reference's column update). */
function colLse(j: i32, f: usize): f64 {
  const ev = f64x2.splat(leps);
  const c = row(lCT, j, ln);
  let i = 0;
  for (; i + 2 <= ln; i += 2) v128.store(at(lBuf, i), f64x2.div(f64x2.sub(v128.load(at(f, i)), v128.load(at(c, i))), ev));
  if (i < ln) st(lBuf, i, (ld(f, i) - ld(c, i)) / leps);
  return lseBuf(lBuf, ln);
}

/** α = f, β = g (−∞ stays, NaN/+∞ absorb as 0), K̃_ij = exp((α_i + β_j − C_ij)/ε). */
function absorb(f: usize, g: usize, alpha: usize, beta: usize, K: usize): void {
  for (let i = 0; i < ln; i++) {
    const x = ld(f, i);
    st(alpha, i, x == NEG_INF || x - x == 0 ? x : 0);
  }
  for (let j = 0; j < lnb; j++) {
    const x = ld(g, j);
    st(beta, j, x == NEG_INF || x - x == 0 ? x : 0);
  }
  const ev = f64x2.splat(leps);
  for (let i = 0; i < ln; i++) {
    const c = row(lC, i, lnb);
    const kr = row(K, i, lnb);
    const av = f64x2.splat(ld(alpha, i));
    let j = 0;
    for (; j + 2 <= lnb; j += 2) {
      const z = f64x2.div(f64x2.sub(f64x2.add(av, v128.load(at(beta, j))), v128.load(at(c, j))), ev);
      v128.store(at(kr, j), expF64x2(z));
    }
    if (j < lnb) st(kr, j, expF64((ld(alpha, i) + ld(beta, j) - ld(c, j)) / leps));
  }
  lRebuilds++;
}

/** ṽ_j = e^{(g_j − β_j)/ε}; false when some |(g_j − β_j)/ε| exceeds ABSORB. */
function scaledV(g: usize, beta: usize, V: usize): bool {
  let ok = true;
  for (let j = 0; j < lnb; j++) {
    const z = (ld(g, j) - ld(beta, j)) / leps;
    if (!(Math.abs(z) <= ABSORB)) ok = false;
    st(V, j, expF64(z));
  }
  return ok;
}

/**
 * One log-domain half-step pair for histogram t on its stabilised kernel K̃ (Schmitzer 2019, as in
 * assembly/sinkhorn.ts): f_i = ε (log a_i − log (K̃ṽ)_i + α_i/ε), then H_j = log (K̃ᵀũ)_j − β_j/ε, with exact
 * log-sum-exps (rowLse / colLse) for rows and columns whose stabilised sums leave [SAFE_LO, SAFE_HI], and
 * absorption (α = f, β = g, K̃ rebuilt) whenever ũ or ṽ leaves e^{±ABSORB}. In exact arithmetic this is the
 * reference's update; in floating point it agrees to rounding.
 */
function logStepStab(la: usize, g: usize, h: usize, f: usize, alpha: usize, beta: usize, K: usize, valid: usize, U: usize, S: usize, T: usize, V: usize): void {
  if (load<f64>(valid) == 0 || !scaledV(g, beta, V)) {
    absorb(f, g, alpha, beta, K);
    store<f64>(valid, 1);
    scaledV(g, beta, V);
  }
  zero(T, lnb);
  let bad = false;
  for (let i = 0; i < ln; i += 4) {
    const cnt = min(4, ln - i);
    const r0 = row(K, i, lnb);
    if (cnt == 4) dot4(r0, V, lnb, at(S, i));
    else for (let q = 0; q < cnt; q++) st(S, i + q, dot(row(r0, q, lnb), V, lnb));
    let nz = 0;
    for (let q = 0; q < cnt; q++) {
      const r = i + q;
      const lar = ld(la, r);
      let u: f64 = 0;
      if (lar == NEG_INF) {
        st(f, r, NEG_INF);
      } else {
        const s = ld(S, r);
        const ar = ld(alpha, r);
        let lse: f64;
        if (safe(s)) {
          lse = Math.log(s) - ar / leps;
        } else {
          lse = rowLse(r, g);
          lFallbacks++;
        }
        const fr = leps * (lar - lse);
        st(f, r, fr);
        const z = (fr - ar) / leps;
        u = expF64(z);
        if (!(Math.abs(z) <= ABSORB)) bad = true;
      }
      st(U, r, u);
      if (u != 0) nz++;
    }
    if (bad) continue;
    if (cnt == 4 && nz == 4) {
      axpy4(T, at(U, i), r0, lnb);
    } else {
      for (let q = 0; q < cnt; q++) {
        const u = ld(U, i + q);
        if (u != 0) axpy(T, u, row(r0, q, lnb), lnb);
      }
    }
  }
  if (bad) {
    // ũ left the absorb range: absorb the new f (and g), then K̃ᵀũ with ũ = e^{(f − α)/ε} (1, or 0 at zero bins)
    absorb(f, g, alpha, beta, K);
    zero(T, lnb);
    for (let i = 0; i < ln; i++) {
      const fi = ld(f, i);
      if (fi == NEG_INF) continue;
      axpy(T, expF64((fi - ld(alpha, i)) / leps), row(K, i, lnb), lnb);
    }
  }
  for (let j = 0; j < lnb; j++) {
    const tj = ld(T, j);
    if (safe(tj)) {
      st(h, j, Math.log(tj) - ld(beta, j) / leps);
    } else {
      st(h, j, colLse(j, f));
      lFallbacks++;
    }
  }
}

/**
 * Iterative Bregman projections in the log domain. C: n × nb and CT = Cᵀ: nb × n; logHist: k × n (log of
 * the normalized histograms, −∞ at zero bins); lambda: k; G = ε log v, H = log Kᵀu: k × nb (G starts at 0);
 * F: k × n (f of each histogram); buf: max(n, nb) scratch; logP: nb (log of the unnormalized barycenter of
 * the last iteration). With K ≠ 0 (k × n × nb, plus alpha: k × n, beta: k × nb, valid: k, all 0 at the start,
 * and scratch U, S: n, T, V: nb), each histogram runs on its stabilised kernel (logStepStab); with K = 0,
 * every update is an exact log-sum-exp. counters[0] += kernel rebuilds, counters[1] += exact fallbacks.
 */
export function ibpLogRun(
  n: i32, nb: i32, k: i32, eps: f64,
  pC: usize, pCT: usize, pLogHist: usize, pLambda: usize,
  pG: usize, pH: usize, pF: usize, pBuf: usize, pLogP: usize,
  pK: usize, pAlpha: usize, pBeta: usize, pValid: usize, pU: usize, pS: usize, pT: usize, pV: usize, pCounters: usize,
  count: i32, tol: f64, errOut: usize,
): i32 {
  ln = n;
  lnb = nb;
  leps = eps;
  lC = pC;
  lCT = pCT;
  lBuf = pBuf;
  lRebuilds = 0;
  lFallbacks = 0;
  let error: f64 = Infinity;
  let it = 0;
  while (it < count) {
    it++;
    for (let t = 0; t < k; t++) {
      const g = row(pG, t, nb);
      const h = row(pH, t, nb);
      const la = row(pLogHist, t, n);
      const f = row(pF, t, n);
      if (pK != 0) {
        logStepStab(la, g, h, f, row(pAlpha, t, n), row(pBeta, t, nb), pK + ((<usize>t * <usize>n * <usize>nb) << 3), at(pValid, t), pU, pS, pT, pV);
        continue;
      }
      // f_i = ε (log a_i − LSE_j((g_j − C_ij)/ε))
      for (let i = 0; i < n; i++) {
        const lai = ld(la, i);
        st(f, i, lai == NEG_INF ? NEG_INF : eps * (lai - rowLse(i, g)));
      }
      // h_j = LSE_i((f_i − C_ij)/ε)
      for (let j = 0; j < nb; j++) st(h, j, colLse(j, f));
    }
    zero(pLogP, nb);
    for (let t = 0; t < k; t++) {
      const lt = ld(pLambda, t);
      const g = row(pG, t, nb);
      const h = row(pH, t, nb);
      for (let j = 0; j < nb; j++) st(pLogP, j, ld(pLogP, j) + lt * (ld(g, j) / eps + ld(h, j)));
    }
    error = 0;
    for (let t = 0; t < k; t++) {
      const lt = ld(pLambda, t);
      const g = row(pG, t, nb);
      const h = row(pH, t, nb);
      for (let j = 0; j < nb; j++) error += lt * Math.abs(expF64(ld(g, j) / eps + ld(h, j)) - expF64(ld(pLogP, j)));
    }
    for (let t = 0; t < k; t++) {
      const g = row(pG, t, nb);
      const h = row(pH, t, nb);
      for (let j = 0; j < nb; j++) st(g, j, eps * (ld(pLogP, j) - ld(h, j)));
    }
    if (error < tol) break;
  }
  st(errOut, 0, error);
  st(pCounters, 0, ld(pCounters, 0) + <f64>lRebuilds);
  st(pCounters, 1, ld(pCounters, 1) + <f64>lFallbacks);
  return it;
}

// ---- convolutional ------------------------------------------------------------------------------------

/**
 * out_t = ξ_h · x_t · ξ_w for the k images x_t (h × w, row-major; X and out: k × hw, distinct), ξ_h: h × h and
 * ξ_w: w × w symmetric; tmp: hw scratch. First along the columns (tmp_i = Σ_r ξ_h[i,r] x_r over image rows,
 * four rows per axpy4, zero coefficients skipped), then along the rows (out[i, j] = ξ_w[j,·]·tmp_i).
 */
export function convBlur(h: i32, w: i32, pXiH: usize, pXiW: usize, k: i32, pX: usize, pTmp: usize, pOut: usize): void {
  const hw = h * w;
  for (let t = 0; t < k; t++) {
    const x = row(pX, t, hw);
    const out = row(pOut, t, hw);
    zero(pTmp, hw);
    for (let i = 0; i < h; i++) {
      const ti = row(pTmp, i, w);
      const xi = row(pXiH, i, h);
      let r = 0;
      for (; r + 4 <= h; r += 4) {
        // four image rows per load/store of tmp_i, unless a coefficient is 0 (skipped, as the reference does)
        if (ld(xi, r) != 0 && ld(xi, r + 1) != 0 && ld(xi, r + 2) != 0 && ld(xi, r + 3) != 0) {
          axpy4(ti, at(xi, r), row(x, r, w), w);
        } else {
          for (let q = r; q < r + 4; q++) {
            const c = ld(xi, q);
            if (c != 0) axpy(ti, c, row(x, q, w), w);
          }
        }
      }
      for (; r < h; r++) {
        const c = ld(xi, r);
        if (c != 0) axpy(ti, c, row(x, r, w), w);
      }
    }
    for (let i = 0; i < h; i++) {
      const ti = row(pTmp, i, w);
      const oi = row(out, i, w);
      let j = 0;
      for (; j + 4 <= w; j += 4) dot4(row(pXiW, j, w), ti, w, at(oi, j));
      for (; j < w; j++) st(oi, j, dot(row(pXiW, j, w), ti, w));
    }
  }
}

/**
 * p ← exp(log p) for the convolutional iterations; returns Σ|p_new − p_old| / Σp_new. Relative, because p can
 * start out tiny (far-apart shapes, small reg) and must not "converge" there.
 */
function commitBarycenter(pLogP: usize, pP: usize, hw: i32): f64 {
  let change: f64 = 0;
  let mass: f64 = 0;
  for (let q = 0; q < hw; q++) {
    const next = expF64(ld(pLogP, q));
    change += Math.abs(next - ld(pP, q));
    mass += next;
    st(pP, q, next);
  }
  return change / Math.max(mass, 1e-300);
}

/**
 * The convolutional barycenter's iterations (ts/solvers/barycenter.ts): imgs: k × hw (normalized), lambda: k,
 * U: k × hw (starts at 1), KV, KU, ratio: k × hw, tmp, logP: hw scratch, P: hw (the barycenter of the last
 * iteration; starts at 0: the first error is Σ p).
 */
export function convRun(
  h: i32, w: i32, k: i32, pXiH: usize, pXiW: usize,
  pImgs: usize, pLambda: usize, pU: usize, pKV: usize, pKU: usize, pRatio: usize, pTmp: usize, pLogP: usize, pP: usize,
  count: i32, tol: f64, errOut: usize,
): i32 {
  const hw = h * w;
  const kh = k * hw;
  let error: f64 = Infinity;
  let it = 0;
  while (it < count) {
    it++;
    convBlur(h, w, pXiH, pXiW, k, pU, pTmp, pKU);
    for (let q = 0; q < kh; q++) st(pRatio, q, ld(pImgs, q) / Math.max(STAB, ld(pKU, q)));
    convBlur(h, w, pXiH, pXiW, k, pRatio, pTmp, pKV);
    zero(pLogP, hw);
    for (let t = 0; t < k; t++) {
      const lt = ld(pLambda, t);
      const u = row(pU, t, hw);
      const kv = row(pKV, t, hw);
      for (let q = 0; q < hw; q++) st(pLogP, q, ld(pLogP, q) + lt * Math.log(Math.max(STAB, ld(u, q) * ld(kv, q))));
    }
    error = commitBarycenter(pLogP, pP, hw);
    for (let t = 0; t < k; t++) {
      const u = row(pU, t, hw);
      const kv = row(pKV, t, hw);
      for (let q = 0; q < hw; q++) st(u, q, ld(pP, q) / Math.max(STAB, ld(kv, q)));
    }
    if (error < tol) break;
  }
  st(errOut, 0, error);
  return it;
}

// ---- convolutional, log domain ------------------------------------------------------------------------

/**
 * out_t = log(ξ_h · e^{x_t} · ξ_w) for the k log-images x_t (h × w, row-major; X and out: k × hw, distinct;
 * −∞ allowed), with the log kernels lH[i,r] = −((i−r)/(h−1))²/ε (h × h) and lW (w × w), both symmetric.
 * Separable and exact: first along the columns, tmp[i,j] = LSE_r(lH[i,r] + x[r,j]) (x transposed once into
 * XT: w × h, so that column j is contiguous), then along the rows, out[i,j] = LSE_q(tmp[i,q] + lW[j,q]); every
 * LSE is lseBuf of assembly/sinkhorn.ts over `buf` (max(h, w) scratch). XT, tmp: hw scratch.
 */
export function convLogBlur(h: i32, w: i32, pLH: usize, pLW: usize, k: i32, pX: usize, pXT: usize, pTmp: usize, pBuf: usize, pOut: usize): void {
  const hw = h * w;
  for (let t = 0; t < k; t++) {
    const x = row(pX, t, hw);
    const out = row(pOut, t, hw);
    for (let r = 0; r < h; r++) for (let j = 0; j < w; j++) st(pXT, j * h + r, ld(x, r * w + j));
    for (let j = 0; j < w; j++) {
      const xc = row(pXT, j, h);
      for (let i = 0; i < h; i++) {
        const lk = row(pLH, i, h);
        let r = 0;
        for (; r + 2 <= h; r += 2) v128.store(at(pBuf, r), f64x2.add(v128.load(at(lk, r)), v128.load(at(xc, r))));
        if (r < h) st(pBuf, r, ld(lk, r) + ld(xc, r));
        st(pTmp, i * w + j, lseBuf(pBuf, h));
      }
    }
    for (let i = 0; i < h; i++) {
      const ti = row(pTmp, i, w);
      const oi = row(out, i, w);
      for (let j = 0; j < w; j++) {
        const lk = row(pLW, j, w);
        let q = 0;
        for (; q + 2 <= w; q += 2) v128.store(at(pBuf, q), f64x2.add(v128.load(at(ti, q)), v128.load(at(lk, q))));
        if (q < w) st(pBuf, q, ld(ti, q) + ld(lk, q));
        st(oi, j, lseBuf(pBuf, w));
      }
    }
  }
}

/**
 * The convolutional barycenter in the log domain (ts/solvers/barycenter.ts, convLogJs): the scaling form's
 * iteration on LU = log U, with no floor. logImgs: k × hw (log of the normalized images, −∞ at zero pixels),
 * lambda: k, LU: k × hw (starts at 0), LKU, LR, LKV: k × hw, XT, tmp, logP: hw scratch, buf: max(h, w)
 * scratch, P: hw (the barycenter of the last iteration; starts at 0). Per iteration: LKU = log K e^{LU},
 * LR = logImg − LKU, LKV = log K e^{LR}, logP = Σ_t λ_t (LU_t + LKV_t), P = e^{logP}, LU_t = logP − LKV_t;
 * error = Σ|P − P_previous| / ΣP.
 */
export function convLogRun(
  h: i32, w: i32, k: i32, pLH: usize, pLW: usize,
  pLogImgs: usize, pLambda: usize, pLU: usize, pLKV: usize, pLKU: usize, pLR: usize, pXT: usize, pTmp: usize, pBuf: usize, pLogP: usize, pP: usize,
  count: i32, tol: f64, errOut: usize,
): i32 {
  const hw = h * w;
  const kh = k * hw;
  let error: f64 = Infinity;
  let it = 0;
  while (it < count) {
    it++;
    convLogBlur(h, w, pLH, pLW, k, pLU, pXT, pTmp, pBuf, pLKU);
    for (let q = 0; q < kh; q++) st(pLR, q, ld(pLogImgs, q) - ld(pLKU, q));
    convLogBlur(h, w, pLH, pLW, k, pLR, pXT, pTmp, pBuf, pLKV);
    zero(pLogP, hw);
    for (let t = 0; t < k; t++) {
      const lt = ld(pLambda, t);
      const lu = row(pLU, t, hw);
      const lkv = row(pLKV, t, hw);
      for (let q = 0; q < hw; q++) st(pLogP, q, ld(pLogP, q) + lt * (ld(lu, q) + ld(lkv, q)));
    }
    error = commitBarycenter(pLogP, pP, hw);
    for (let t = 0; t < k; t++) {
      const lu = row(pLU, t, hw);
      const lkv = row(pLKV, t, hw);
      for (let q = 0; q < hw; q++) st(lu, q, ld(pLogP, q) - ld(lkv, q));
    }
    if (error < tol) break;
  }
  st(errOut, 0, error);
  return it;
}
