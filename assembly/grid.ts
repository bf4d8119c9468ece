// The grid geometry's kernel for the wasm backend (ts/backends/wasm-grid.ts; the reference and the semantics are
// JsGridKernel of ts/barycenter/grid.ts): on an h × w grid the Gibbs kernel is the separable blur ξ_h · x · ξ_w
// (convBlur: along the columns with ξ_h, as axpys of image rows, then along the rows with ξ_w, as dot4s of ξ_w's
// rows — ξ_w is symmetric); in the log domain log(ξ_h · e^x · ξ_w) as exact log-sum-exps (convLogBlur: along the
// columns over a transposed copy of x, then along the rows; each LSE is lseBuf of assembly/sinkhorn.ts over the
// log-kernel row plus the image row/column, so hw(h + w) SIMD exps per blur, no (hw)² storage).
// gridStep is the barycenter's kernel operation (one Bregman projection per image, ts/barycenter/kernel.ts).
import { expF64x2 } from './expf64';
import { axpy, axpy4, dot, dot4, lseBuf } from './sinkhorn';
import { at, ld, row, st } from './pointers';

const STAB: f64 = 1e-30; // GRID_FLOOR of ts/barycenter/grid.ts, as POT

/** x_j ← 0 for j < len. */
function zero(p: usize, len: i32): void {
  memory.fill(p, 0, <usize>len << 3);
}

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
 * One Bregman projection on the images' side for each of the k images (G, H: k × hw): scaling (log = 0):
 * H_t = log ξ(a_t / max(1e-30, ξ(e^{G_t/ε}))) with imgs the images; log (log = 1): H_t = logξ(log a_t − logξ(G_t/ε))
 * with imgs their logs (−∞ at zero pixels). K1, K2: ξ_h, ξ_w (scaling) or their logs (log). scratch: 4·hw + max(h, w).
 */
export function gridStep(h: i32, w: i32, k: i32, log: i32, eps: f64, pK1: usize, pK2: usize, pImgs: usize, pG: usize, pH: usize, pScratch: usize): void {
  const hw = h * w;
  const x = pScratch;
  const y = row(pScratch, 1, hw);
  const tmp = row(pScratch, 2, hw);
  const xt = row(pScratch, 3, hw);
  const buf = row(pScratch, 4, hw);
  const inv = f64x2.splat(1 / eps);
  for (let t = 0; t < k; t++) {
    const g = row(pG, t, hw);
    const a = row(pImgs, t, hw);
    const out = row(pH, t, hw);
    let q = 0;
    if (log == 0) {
      for (; q + 2 <= hw; q += 2) v128.store(at(x, q), expF64x2(f64x2.mul(v128.load(at(g, q)), inv)));
      for (; q < hw; q++) st(x, q, Math.exp(ld(g, q) / eps));
      convBlur(h, w, pK1, pK2, 1, x, tmp, y);
      const fl = f64x2.splat(STAB);
      for (q = 0; q + 2 <= hw; q += 2) v128.store(at(x, q), f64x2.div(v128.load(at(a, q)), f64x2.max(fl, v128.load(at(y, q)))));
      for (; q < hw; q++) st(x, q, ld(a, q) / Math.max(STAB, ld(y, q)));
      convBlur(h, w, pK1, pK2, 1, x, tmp, out);
      for (q = 0; q < hw; q++) st(out, q, Math.log(ld(out, q)));
    } else {
      for (; q + 2 <= hw; q += 2) v128.store(at(x, q), f64x2.mul(v128.load(at(g, q)), inv));
      for (; q < hw; q++) st(x, q, ld(g, q) / eps);
      convLogBlur(h, w, pK1, pK2, 1, x, xt, tmp, buf, y);
      for (q = 0; q + 2 <= hw; q += 2) v128.store(at(x, q), f64x2.sub(v128.load(at(a, q)), v128.load(at(y, q))));
      for (; q < hw; q++) st(x, q, ld(a, q) - ld(y, q));
      convLogBlur(h, w, pK1, pK2, 1, x, xt, tmp, buf, out);
    }
  }
}
