// The structure side of Gromov–Wasserstein: the decomposition L ⊗ P = c1 1ᵀ + 1 c2ᵀ − h1(C1) P h2(C2)ᵀ of
// Peyré et al. (2016), with h1(C1) and h2(C2) applied as linear operators. Given structure matrices they are
// dense (O(n²m + nm²) per product). Given point clouds with the squared Euclidean metric and the square loss,
// C = s1ᵀ + 1sᵀ − 2ZZᵀ (s_i = ‖z_i‖²) has rank d + 2, so every product costs O(nm·d) and c1, c2 O(n·d²):
// nothing n × n or m × m is ever formed (the low-rank cost factorization of Scetbon, Peyré & Cuturi 2022,
// "Linear-time Gromov Wasserstein distances using low rank couplings and costs", without their low-rank plans).
import { OTError } from '../errors.js';
import type { DenseMatrix, MatrixLike } from '../types.js';
import { toMatrix } from '../validate.js';
import { pointCloud } from '../geometry.js';
import { matmulJs } from '../linalg/dense.js';

/** A point cloud given to gromovWasserstein instead of a structure matrix: C_ik = metric(z_i, z_k). */
export interface StructureCloud {
  /** The points, n × d (row-major object, or rows). */
  points: MatrixLike;
  /**
   * 'sqeuclidean' (default): ‖z_i − z_k‖², applied in low rank with the square loss (O(nm·d) per product, no n × n
   * memory); 'euclidean': ‖z_i − z_k‖, built as the dense n × n matrix (as ot.dist(X, X, 'euclidean')).
   */
  metric?: 'sqeuclidean' | 'euclidean';
}

/** A structure matrix, or a cloud from which one is defined. */
export type StructureInput = MatrixLike | StructureCloud;

/** A square matrix H applied as an operator (n × n); `symmetric` says H = Hᵀ. */
export interface StructureOp {
  readonly n: number;
  /** out (n × k) = H · B for B (n × k). */
  left(B: Float64Array, k: number, out?: Float64Array): Float64Array;
  /** out (r × n) = P · Hᵀ for P (r × n). */
  rightT(P: Float64Array, r: number, out?: Float64Array): Float64Array;
  /** out (n) = column l of H: out[j] = H[j][l]. */
  columnInto(l: number, out: Float64Array): void;
  /** out (n) = H · w. */
  vec(w: Float64Array): Float64Array;
}

/** GEMM used by the dense operators (the wasm kernel when loaded: gromov.ts sets it per solve). */
export type Gemm = (A: Float64Array, B: Float64Array, r: number, k: number, c: number, out?: Float64Array) => Float64Array;

/**
 * A dense H (n × n), held as H or as Hᵀ (whichever the caller had; the other is built only if an operation
 * needs it): h1(C1) is used from the left, h2(C2) from the right, so neither side is stored twice.
 */
export class DenseStructure implements StructureOp {
  constructor(
    readonly n: number,
    private H: Float64Array | undefined,
    private Ht: Float64Array | undefined,
    private readonly gemm: () => Gemm,
  ) {}
  private static transpose(A: Float64Array, n: number): Float64Array {
    const T = new Float64Array(n * n);
    for (let j = 0; j < n; j++) for (let l = 0; l < n; l++) T[l * n + j] = A[j * n + l];
    return T;
  }
  private rows(): Float64Array {
    return (this.H ??= DenseStructure.transpose(this.Ht!, this.n));
  }
  private cols(): Float64Array {
    return (this.Ht ??= DenseStructure.transpose(this.H!, this.n));
  }
  left(B: Float64Array, k: number, out?: Float64Array): Float64Array {
    return this.gemm()(this.rows(), B, this.n, this.n, k, out);
  }
  rightT(P: Float64Array, r: number, out?: Float64Array): Float64Array {
    return this.gemm()(P, this.cols(), r, this.n, this.n, out);
  }
  columnInto(l: number, out: Float64Array): void {
    out.set(this.cols().subarray(l * this.n, (l + 1) * this.n));
  }
  vec(w: Float64Array): Float64Array {
    const n = this.n;
    const out = new Float64Array(n);
    if (this.H) {
      for (let i = 0; i < n; i++) {
        let acc = 0;
        for (let k = 0; k < n; k++) acc += this.H[i * n + k] * w[k];
        out[i] = acc;
      }
    } else {
      const Ht = this.Ht!;
      for (let k = 0; k < n; k++) {
        const wk = w[k];
        for (let i = 0; i < n; i++) out[i] += Ht[k * n + i] * wk;
      }
    }
    return out;
  }
}

/**
 * H = κ·(s1ᵀ + 1sᵀ − 2ZZᵀ), the squared distances of the points Z (n × d) scaled by κ; symmetric, rank ≤ d + 2.
 * Held as H = V·Uᵀ with U = [1, s, Z] and V = κ·[s, 1, −2Z] (n × (d + 2) each, and their transposes), so each
 * product is two thin GEMMs on the solve's kernel (wasm: ~0.2 ms at n = 300, where the JS loops took ~1.4 ms and
 * were half of an entropic GW solve on clouds).
 */
export class SqEuclideanStructure implements StructureOp {
  readonly n: number;
  /** s_i = ‖z_i‖² */
  readonly s: Float64Array;
  /** d + 2: the rank bound, the inner size of every product. */
  private readonly r: number;
  private readonly U: Float64Array;
  private readonly Ut: Float64Array;
  private readonly V: Float64Array;
  private readonly Vt: Float64Array;
  constructor(
    readonly Z: Float64Array,
    readonly d: number,
    private readonly kappa: number,
    private readonly gemm: () => Gemm = () => (A, B, r, k, c, out = new Float64Array(r * c)) => matmulJs(A, B, r, k, c, out),
  ) {
    const n = (this.n = Z.length / d);
    const r = (this.r = d + 2);
    this.s = new Float64Array(n);
    this.U = new Float64Array(n * r);
    this.V = new Float64Array(n * r);
    this.Ut = new Float64Array(r * n);
    this.Vt = new Float64Array(r * n);
    for (let i = 0; i < n; i++) {
      let acc = 0;
      for (let t = 0; t < d; t++) acc += Z[i * d + t] ** 2;
      this.s[i] = acc;
      const u = [1, acc, ...Z.subarray(i * d, (i + 1) * d)];
      const v = [kappa * acc, kappa, ...Array.from(Z.subarray(i * d, (i + 1) * d), (z) => -2 * kappa * z)];
      for (let c = 0; c < r; c++) {
        this.U[i * r + c] = this.Ut[c * n + i] = u[c];
        this.V[i * r + c] = this.Vt[c * n + i] = v[c];
      }
    }
  }
  /** The factors every product reads (a solve keeps them in wasm memory: SolveGemm.keep). */
  get factors(): Float64Array[] {
    return [this.U, this.Ut, this.V, this.Vt];
  }
  left(B: Float64Array, k: number, out = new Float64Array(this.n * k)): Float64Array {
    // H·B = V·(Uᵀ·B): Uᵀ·B = [1ᵀB; sᵀB; ZᵀB]
    const { n, r } = this;
    const g = this.gemm();
    return g(this.V, g(this.Ut, B, r, n, k), n, r, k, out);
  }
  rightT(P: Float64Array, rows: number, out = new Float64Array(rows * this.n)): Float64Array {
    // P·Hᵀ = P·H = (P·U)·Vᵀ: P·U = [P1, Ps, PZ]
    const { n, r } = this;
    const g = this.gemm();
    return g(g(P, this.U, rows, n, r), this.Vt, rows, r, n, out);
  }
  columnInto(l: number, out: Float64Array): void {
    const { n, d, s, Z, kappa } = this;
    for (let j = 0; j < n; j++) {
      let zz = 0;
      for (let t = 0; t < d; t++) zz += Z[j * d + t] * Z[l * d + t];
      out[j] = kappa * (s[j] + s[l] - 2 * zz);
    }
  }
  vec(w: Float64Array): Float64Array {
    return this.left(w, 1);
  }
  /**
   * (C∘C)·w with C = s1ᵀ + 1sᵀ − 2ZZᵀ (κ not applied), in O(n·d²): the square loss's c1 = f1(C1)·a without the
   * n × n matrix. (s_i + s_k − 2z_i·z_k)² expands into terms each a product of a function of i and one of k.
   */
  squaredTimes(w: Float64Array): Float64Array {
    const { n, d, s, Z } = this;
    let W = 0;
    let Ws = 0;
    let Wss = 0;
    const Wz = new Float64Array(d);
    const Wsz = new Float64Array(d);
    const Wzz = new Float64Array(d * d);
    for (let k = 0; k < n; k++) {
      const wk = w[k];
      if (wk === 0) continue;
      const sk = s[k];
      W += wk;
      Ws += wk * sk;
      Wss += wk * sk * sk;
      for (let t = 0; t < d; t++) {
        const z = Z[k * d + t];
        Wz[t] += wk * z;
        Wsz[t] += wk * sk * z;
        for (let u = 0; u < d; u++) Wzz[t * d + u] += wk * z * Z[k * d + u];
      }
    }
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const si = s[i];
      let zWz = 0;
      let zWzz = 0;
      let zWsz = 0;
      for (let t = 0; t < d; t++) {
        const z = Z[i * d + t];
        zWz += z * Wz[t];
        zWsz += z * Wsz[t];
        let acc = 0;
        for (let u = 0; u < d; u++) acc += Wzz[t * d + u] * Z[i * d + u];
        zWzz += z * acc;
      }
      out[i] = si * si * W + Wss + 4 * zWzz + 2 * si * Ws - 4 * si * zWz - 4 * zWsz;
    }
    return out;
  }
}

function isCloud(x: unknown): x is StructureCloud {
  return typeof x === 'object' && x !== null && 'points' in x && !('data' in x);
}

/** The number of points of a structure input (for the work estimate), without validating it. */
export function structureSize(x: unknown): number {
  const X = (isCloud(x) ? x.points : x) as { rows?: number; length?: number } | undefined;
  return typeof X?.rows === 'number' ? X.rows : (X?.length ?? 0);
}

/**
 * Reads C1 or C2: a square structure matrix, or a cloud ({ points, metric }). A sqeuclidean cloud with the square
 * loss stays in low rank; otherwise the dense matrix is built (within maxBytes).
 */
export function readStructure(name: string, x: StructureInput, loss: 'square' | 'kl', maxBytes: number | undefined): { dense?: DenseMatrix; cloud?: { Z: Float64Array; d: number } } {
  if (isCloud(x)) {
    const metric = x.metric ?? 'sqeuclidean';
    if (metric !== 'sqeuclidean' && metric !== 'euclidean') {
      throw new OTError('invalid-option', `${name}.metric must be 'sqeuclidean' or 'euclidean' (got ${String(metric)}).`);
    }
    const P = toMatrix(`${name}.points`, x.points, maxBytes);
    if (metric === 'sqeuclidean' && loss === 'square') return { cloud: { Z: P.data, d: P.cols } };
    // the one cost definition (ts/costs.ts) through the cloud's own geometry, within maxBytes
    return { dense: pointCloud(P, P, { cost: metric }).dense(maxBytes) };
  }
  const S = toMatrix(name, x, maxBytes);
  if (S.rows !== S.cols) throw new OTError('shape', `${name} is ${S.rows} × ${S.cols}; a structure matrix must be square (one row and one column per point), or give a cloud as { points }.`);
  return { dense: S };
}
