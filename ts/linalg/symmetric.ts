// Dense symmetric linear algebra in f64 for small matrices (D up to a few hundred): the one home of the
// eigen-solver and matrix functions that the Gaussian closed forms (ts/solvers/gaussian.ts) and the neural
// benchmarks (ts/neural/gaussian.ts) share. Matrices are row-major D × D Float64Arrays.
import { OTError, type OTErrorCode } from '../errors.js';
import type { DenseMatrix, MatrixLike } from '../types.js';
import { toMatrix, toVector } from '../validate.js';
import { matmulJs } from './dense.js';
import type { WasmKernels } from '../backends/wasm.js';

/** A square symmetric matrix as callers give it: row-major D × D array, `{ data, rows, cols }`, or rows. */
export type SquareLike = MatrixLike | Float64Array | ArrayLike<number>;

/** Normalizes a D × D matrix (a flat array must have a square length, or D given). */
export function toSquare(
  name: string,
  S: SquareLike,
  d?: number,
): {
  /** The matrix, D × D row-major (a fresh copy). */
  data: Float64Array;
  /** D. */
  d: number;
} {
  let data: Float64Array;
  let n: number;
  const isFlat = (S as ArrayLike<unknown>).length !== undefined && !Array.isArray((S as ArrayLike<unknown>)[0]) && !('rows' in (S as object));
  if (isFlat) {
    data = toVector(name, S as ArrayLike<number>);
    n = Math.round(Math.sqrt(data.length));
    if (n * n !== data.length) throw new OTError('shape', `${name} has ${data.length} entries, not a square D × D matrix.`);
  } else {
    const m: DenseMatrix = toMatrix(name, S as MatrixLike);
    if (m.rows !== m.cols) throw new OTError('shape', `${name} is ${m.rows} × ${m.cols}; a covariance must be square.`);
    data = Float64Array.from(m.data);
    n = m.rows;
  }
  if (d !== undefined && n !== d) throw new OTError('shape', `${name} is ${n} × ${n} but the dimension is ${d}.`);
  return { data, d: n };
}


/**
 * Checks that S (D × D, row-major) is symmetric (|S_ij − S_ji| ≤ 1e-10 · max|S|) and positive definite (Cholesky
 * succeeds with pivots > 1e-14 · max diagonal). Throws OTError(code, default 'invalid-option') naming what failed.
 */
export function checkSPD(name: string, S: Float64Array, d: number, code: OTErrorCode = 'invalid-option'): void {
  checkSymmetric(name, S, d, code);
  cholesky(name, S, d, code);
}

/** Throws OTError(code) when |S_ij − S_ji| > 1e-10 · max|S| somewhere. */
export function checkSymmetric(name: string, S: Float64Array, d: number, code: OTErrorCode = 'invalid-option'): void {
  let maxAbs = 0;
  for (let i = 0; i < d * d; i++) maxAbs = Math.max(maxAbs, Math.abs(S[i]));
  const tol = 1e-10 * maxAbs;
  for (let i = 0; i < d; i++) {
    for (let j = i + 1; j < d; j++) {
      if (Math.abs(S[i * d + j] - S[j * d + i]) > tol) {
        throw new OTError(code, `${name} is not symmetric: [${i}][${j}] = ${S[i * d + j]} but [${j}][${i}] = ${S[j * d + i]}.`);
      }
    }
  }
}

/**
 * Lower-triangular L with S = L Lᵀ (row-major D × D). Throws OTError(code, default 'invalid-option') when S is not
 * positive definite (a pivot ≤ 1e-14 · max diagonal, or not finite). Reads only the lower triangle.
 */
export function cholesky(name: string, S: Float64Array, d: number, code: OTErrorCode = 'invalid-option'): Float64Array {
  const r = choleskyShifted(S, d, 0, 1e-14 * maxDiagonal(S, d));
  if ('pivot' in r) {
    throw new OTError(code, `${name} is not positive definite (Cholesky pivot ${r.pivot} is ${r.value}); a covariance must be symmetric positive definite.`);
  }
  return r.L;
}

function maxDiagonal(S: Float64Array, d: number): number {
  let m = 0;
  for (let i = 0; i < d; i++) m = Math.max(m, S[i * d + i]);
  return m;
}

/** The Cholesky factor of S + shift·I, or the first pivot that is ≤ floor (or not finite). */
function choleskyShifted(S: Float64Array, d: number, shift: number, floor: number): { L: Float64Array } | { pivot: number; value: number } {
  const L = new Float64Array(d * d);
  for (let j = 0; j < d; j++) {
    let s = S[j * d + j] + shift;
    for (let k = 0; k < j; k++) s -= L[j * d + k] * L[j * d + k];
    if (!(s > floor) || !Number.isFinite(s)) return { pivot: j, value: s };
    const ljj = Math.sqrt(s);
    L[j * d + j] = ljj;
    for (let i = j + 1; i < d; i++) {
      let t = S[i * d + j];
      for (let k = 0; k < j; k++) t -= L[i * d + k] * L[j * d + k];
      L[i * d + j] = t / ljj;
    }
  }
  return { L };
}

/** X with S X = B, from S's Cholesky factor L (D × D, from {@link cholesky}) and B (D × k, row-major). */
export function choleskySolve(L: Float64Array, B: Float64Array, d: number, k: number): Float64Array {
  const X = Float64Array.from(B);
  for (let c = 0; c < k; c++) {
    // L y = b, then Lᵀ x = y, column c of B in place
    for (let i = 0; i < d; i++) {
      let s = X[i * k + c];
      for (let t = 0; t < i; t++) s -= L[i * d + t] * X[t * k + c];
      X[i * k + c] = s / L[i * d + i];
    }
    for (let i = d - 1; i >= 0; i--) {
      let s = X[i * k + c];
      for (let t = i + 1; t < d; t++) s -= L[t * d + i] * X[t * k + c];
      X[i * k + c] = s / L[i * d + i];
    }
  }
  return X;
}

/**
 * Eigen-decomposition of a symmetric D × D matrix by cyclic Jacobi rotations: S = V diag(values) Vᵀ with
 * V orthogonal (eigenvectors in its COLUMNS, row-major storage). Jacobi is slower than tridiagonal QR but
 * computes small eigenvalues to high relative accuracy (what the square roots of nearly singular covariances
 * need) and never fails to converge. Sweeps until the off-diagonal mass is below 1e-30 of the total (at most
 * 100 sweeps; convergence is quadratic, ~6–10 sweeps). Values in ascending order. The input is symmetrized
 * (callers check symmetry; this removes rounding asymmetry) and never written.
 */
export function symEigJacobi(S: Float64Array, d: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(S);
  for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) a[i * d + j] = a[j * d + i] = 0.5 * (a[i * d + j] + a[j * d + i]);
  // vt: eigenvectors in ROWS while iterating (contiguous updates), transposed at the end
  const vt = new Float64Array(d * d);
  for (let i = 0; i < d; i++) vt[i * d + i] = 1;
  let total = 0;
  for (let i = 0; i < d * d; i++) total += a[i] * a[i];
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) off += 2 * a[i * d + j] * a[i * d + j];
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < d; p++) {
      const rp = p * d;
      for (let q = p + 1; q < d; q++) {
        const rq = q * d;
        const apq = a[rp + q];
        if (apq === 0) continue;
        const app = a[rp + p];
        const aqq = a[rq + q];
        // negligible against both diagonal entries (Demmel–Veselić): zeroing it perturbs the eigenvalues by
        // less than one ulp of relative accuracy, and saves the last sweeps
        if (Math.abs(apq) <= 1e-18 * Math.sqrt(Math.abs(app * aqq))) {
          a[rp + q] = a[rq + p] = 0;
          continue;
        }
        // rotation angle that zeroes a_pq (Golub & Van Loan, sym.schur2)
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // A ← Jᵀ A J touches rows and columns p, q: update rows p, q (contiguous) and mirror into the columns
        for (let k = 0; k < d; k++) {
          const apk = a[rp + k];
          const aqk = a[rq + k];
          const np = c * apk - s * aqk;
          const nq = s * apk + c * aqk;
          a[rp + k] = np;
          a[rq + k] = nq;
          a[k * d + p] = np;
          a[k * d + q] = nq;
        }
        a[rp + p] = app - t * apq;
        a[rq + q] = aqq + t * apq;
        a[rp + q] = a[rq + p] = 0;
        for (let k = 0; k < d; k++) {
          const vp = vt[rp + k];
          const vq = vt[rq + k];
          vt[rp + k] = c * vp - s * vq;
          vt[rq + k] = s * vp + c * vq;
        }
      }
    }
  }
  const order = Array.from({ length: d }, (_, i) => i).sort((i, j) => a[i * d + i] - a[j * d + j]);
  const values = new Float64Array(d);
  const vectors = new Float64Array(d * d);
  order.forEach((src, dst) => {
    values[dst] = a[src * d + src];
    for (let k = 0; k < d; k++) vectors[k * d + dst] = vt[src * d + k];
  });
  return { values, vectors };
}

/**
 * Eigen-decomposition of a symmetric D × D matrix: S = V diag(values) Vᵀ, eigenvectors in the COLUMNS of V
 * (row-major), values ascending. Householder tridiagonalization and implicit QL (JAMA's tred2/tql2, O(D³) with
 * small constants) give V₀ and eigenvalues accurate to ε·‖S‖. When S is ill-conditioned (smallest |λ| below
 * 1e-8 of the largest: nearly singular covariances, whose square roots need small eigenvalues to high relative
 * accuracy) the cyclic Jacobi of symEigJacobi then diagonalizes V₀ᵀ S V₀, which is diagonal up to rounding,
 * in one or two sweeps: Jacobi's accuracy at a fraction of its cost. d = 64: ~2 ms (QL) vs ~20 ms (Jacobi).
 * Falls back to plain Jacobi if QL does not converge. D ≤ 4 goes to Jacobi directly. With `w` (the wasm kernels)
 * the QL step runs in wasm (assembly/symeig.ts, the same algorithm ahead of time: ~3× the JS version's speed once
 * V8 has optimised it, more before).
 */
export function symEig(
  S: Float64Array,
  d: number,
  w?: WasmKernels,
): {
  /** The eigenvalues λ (length D), ascending. */
  values: Float64Array;
  /** V, D × D row-major, the eigenvectors in its COLUMNS: S = V diag(λ) Vᵀ. */
  vectors: Float64Array;
} {
  if (d <= 4) return symEigJacobi(S, d);
  const A = Float64Array.from(S);
  for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) A[i * d + j] = A[j * d + i] = 0.5 * (A[i * d + j] + A[j * d + i]);
  const ql = w ? tridiagonalQLWasm(A, d, w) : tridiagonalQL(A, d);
  if (!ql) return symEigJacobi(S, d);
  // well-conditioned: QL's eigenvalues are accurate to ε·‖S‖, i.e. to ε·cond relatively: done
  const top = Math.max(Math.abs(ql.values[0]), Math.abs(ql.values[d - 1]));
  let low = Infinity;
  for (let k = 0; k < d; k++) low = Math.min(low, Math.abs(ql.values[k]));
  if (low >= 1e-8 * top) return ql;
  // ill-conditioned or singular: B = V0ᵀ A V0 (diagonal up to rounding), Jacobi on B; vectors = V0 W
  const V0 = ql.vectors;
  const AV = matmulSquare(A, V0, d);
  const B = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const v = V0[k * d + i];
      if (v === 0) continue;
      const bo = i * d;
      const ao = k * d;
      for (let j = 0; j < d; j++) B[bo + j] += v * AV[ao + j];
    }
  }
  const r = symEigJacobi(B, d);
  return { values: r.values, vectors: matmulSquare(V0, r.vectors, d) };
}

/** tridiagonalQL in wasm (assembly/symeig.ts). */
function tridiagonalQLWasm(A: Float64Array, n: number, w: WasmKernels): { values: Float64Array; vectors: Float64Array } | undefined {
  const mem = w.scope();
  try {
    const pa = mem.put(A);
    const pv = mem.alloc(n * 8);
    const pV = mem.alloc(n * n * 8);
    if (!w.abi.symEigQL(pa, n, pv, pV)) return undefined;
    return { values: w.f64(pv, n).slice(), vectors: w.f64(pV, n * n).slice() };
  } finally {
    mem.release();
  }
}

/** JAMA's tred2 + tql2 on a symmetric A (row-major, not modified): the eigenvectors V (columns), or undefined if QL stalls. */
export function tridiagonalQL(A: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } | undefined {
  const V = Float64Array.from(A);
  const dd = new Float64Array(n);
  const e = new Float64Array(n);
  // tred2: Householder reduction to tridiagonal form
  for (let j = 0; j < n; j++) dd[j] = V[(n - 1) * n + j];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(dd[k]);
    if (scale === 0) {
      e[i] = dd[i - 1];
      for (let j = 0; j < i; j++) {
        dd[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
        V[j * n + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        dd[k] /= scale;
        h += dd[k] * dd[k];
      }
      let f = dd[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      dd[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = dd[j];
        V[j * n + i] = f;
        g = e[j] + V[j * n + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[k * n + j] * dd[k];
          e[k] += V[k * n + j] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * dd[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * dd[j];
      for (let j = 0; j < i; j++) {
        f = dd[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) V[k * n + j] -= f * e[k] + g * dd[k];
        dd[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
      }
    }
    dd[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    V[(n - 1) * n + i] = V[i * n + i];
    V[i * n + i] = 1;
    const h = dd[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) dd[k] = V[k * n + i + 1] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[k * n + i + 1] * V[k * n + j];
        for (let k = 0; k <= i; k++) V[k * n + j] -= g * dd[k];
      }
    }
    for (let k = 0; k <= i; k++) V[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    dd[j] = V[(n - 1) * n + j];
    V[(n - 1) * n + j] = 0;
  }
  V[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
  // tql2: implicit QL on the tridiagonal matrix, accumulating the rotations into the ROWS of Vt = Vᵀ
  // (contiguous, where V's columns would be strided)
  const Vt = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) Vt[i * n + k] = V[k * n + i];
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(dd[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]) <= eps * tst1) break;
      m++;
    }
    if (m === n) m = n - 1;
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 60) return undefined;
        let g = dd[l];
        let p = (dd[l + 1] - g) / (2 * e[l]);
        let r = hypot(p, 1);
        if (p < 0) r = -r;
        dd[l] = e[l] / (p + r);
        dd[l + 1] = e[l] * (p + r);
        const dl1 = dd[l + 1];
        let h = g - dd[l];
        for (let i = l + 2; i < n; i++) dd[i] -= h;
        f += h;
        p = dd[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * dd[i] - s * g;
          dd[i + 1] = h + s * (c * g + s * dd[i]);
          const r0 = i * n;
          const r1 = r0 + n;
          for (let k = 0; k < n; k++) {
            h = Vt[r1 + k];
            const v0 = Vt[r0 + k];
            Vt[r1 + k] = s * v0 + c * h;
            Vt[r0 + k] = c * v0 - s * h;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        dd[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    dd[l] += f;
    e[l] = 0;
  }
  for (let t = 0; t < n * n; t++) if (!Number.isFinite(Vt[t])) return undefined;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => dd[i] - dd[j]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = dd[src];
    for (let k = 0; k < n; k++) vectors[k * n + dst] = Vt[src * n + k];
  });
  return { values, vectors };
}

/**
 * √(x² + y²) without overflow or underflow, for the QL rotations: Math.hypot (variadic) made a D = 64
 * eigen-decomposition ~10 % slower.
 */
function hypot(x: number, y: number): number {
  const ax = Math.abs(x);
  const ay = Math.abs(y);
  const big = ax > ay ? ax : ay;
  if (big === 0 || big === Infinity) return big;
  const t = (ax > ay ? ay : ax) / big;
  return big * Math.sqrt(1 + t * t);
}

/** V diag(f(λ)) Vᵀ from an eigen-decomposition (symmetric result); with `w`, one wasm product W·Vᵀ, W = V diag(f(λ)). */
export function fromEig(values: Float64Array, vectors: Float64Array, d: number, f: (lambda: number) => number, w?: WasmKernels): Float64Array {
  const fl = values.map(f);
  if (w) {
    const W = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) W[i * d + k] = vectors[i * d + k] * fl[k];
    return symmetrize(wasmProduct(W, vectors, d, 2, w), d);
  }
  const out = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) row[k] = vectors[i * d + k] * fl[k];
    for (let j = i; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += row[k] * vectors[j * d + k];
      out[i * d + j] = out[j * d + i] = s;
    }
  }
  return out;
}

/** f(S) = V diag(f(λ)) Vᵀ for a symmetric S (row-major D × D). */
export function symFunction(S: Float64Array, d: number, f: (lambda: number) => number): Float64Array {
  const { values, vectors } = symEig(S, d);
  return fromEig(values, vectors, d, f);
}

/** Principal square root of a symmetric positive semidefinite matrix (eigenvalues clamped at 0 against rounding). */
export function sqrtm(S: Float64Array, d: number): Float64Array {
  return symFunction(S, d, (l) => Math.sqrt(Math.max(l, 0)));
}

/** S^{−1/2} of a symmetric positive definite matrix. */
export function invSqrtm(S: Float64Array, d: number): Float64Array {
  return symFunction(S, d, (l) => 1 / Math.sqrt(l));
}

/**
 * C = A B for row-major D × D matrices: with `w`, the wasm tensor kernel's packed GEMM (~0.04 ms at D = 64), else
 * ts/linalg/dense.ts's product (~0.2 ms).
 */
export function matmulSquare(A: Float64Array, B: Float64Array, d: number, w?: WasmKernels): Float64Array {
  return w ? wasmProduct(A, B, d, 0, w) : matmulJs(A, B, d, d, d, new Float64Array(d * d));
}

/** A·B (flags 0) or A·Bᵀ (flags 2) on the wasm tensor kernel. */
function wasmProduct(A: Float64Array, B: Float64Array, d: number, flags: number, w: WasmKernels): Float64Array {
  const mem = w.scope();
  try {
    const out = mem.alloc(d * d * 8);
    w.abi.tensorMatmul(0, mem.put(A), mem.put(B), d, d, d, flags, 0, out);
    return w.f64(out, d * d).slice();
  } finally {
    mem.release();
  }
}

/**
 * Whether S (symmetric, D × D) is positive semidefinite within `tol` of its scale, decided cheaply where it can be:
 * a Cholesky factorization of S + tol·max_i S_ii·I that succeeds proves λ_min(S) > −tol·max_i S_ii ≥ −tol·λ_max
 * (O(D³/3), a twentieth of an eigen-decomposition); false when it fails (near-singular or indefinite: the caller
 * decides from the eigenvalues).
 */
export function surelyPSD(S: Float64Array, d: number, tol: number): boolean {
  const top = maxDiagonal(S, d);
  return top > 0 && Number.isFinite(top) && 'L' in choleskyShifted(S, d, tol * top, 0);
}

/** (S + Sᵀ) / 2 in place; returns S. */
export function symmetrize(S: Float64Array, d: number): Float64Array {
  for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) S[i * d + j] = S[j * d + i] = 0.5 * (S[i * d + j] + S[j * d + i]);
  return S;
}
