// The dense products of one Gromov–Wasserstein solve (gromov.ts): the tensor engine's packed f64 GEMM
// (assembly/tensor.ts) on wasm, else matmulJs. The structure matrices are the fixed operand of every product of a
// solve, so they are put in wasm memory once (`keep`) instead of once per product, and h1 · P · h2ᵀ (`chain`)
// keeps its intermediate P · h2ᵀ in wasm: one n × m copy in and one out per product, where two separate products
// copied six n × m or n × n arrays (~4 % of an entropic GW solve at n = 300).
import type { WasmKernels, WasmScope } from '../backends/wasm.js';
import { matmulJs } from '../linalg/dense.js';
import type { Gemm } from './gromov-structure.js';

/** Below this many multiply-adds a product stays in JS (the copies to wasm cost more than they save). */
const WASM_FROM = 4096;

export class SolveGemm {
  private scope: WasmScope | undefined;
  private readonly kept = new Map<Float64Array, number>();

  /** `w`: the wasm kernels, or undefined (JS products). Call release() when the solve ends. */
  constructor(private readonly w: WasmKernels | undefined) {}

  /** The wasm kernels the products run on (undefined: JS). */
  get kernels(): WasmKernels | undefined {
    return this.w;
  }

  /** Puts A in wasm memory for the rest of the solve (A must not change until release()). */
  keep(A: Float64Array): void {
    if (!this.w || this.kept.has(A)) return;
    this.scope ??= this.w.scope();
    this.kept.set(A, this.scope.put(A));
  }

  /** out = A (r × k) · B (k × c), row-major. */
  readonly gemm: Gemm = (A, B, r, k, c, out = new Float64Array(r * c)) => {
    const w = this.w;
    if (!w || r * k * c < WASM_FROM) return matmulJs(A, B, r, k, c, out);
    const mem = w.scope();
    try {
      const o = mem.alloc(r * c * 8);
      w.abi.tensorMatmul(0, this.operand(mem, A, r * k), this.operand(mem, B, k * c), r, k, c, 0, 0, o);
      out.set(w.f64(o, r * c));
      return out;
    } finally {
      mem.release();
    }
  };

  /**
   * out = H1 (n × n) · P (n × m) · H2t (m × m), the intermediate in wasm; undefined without wasm or when the
   * products are small (the caller then runs the two products itself).
   */
  chain(H1: Float64Array, P: Float64Array, H2t: Float64Array, n: number, m: number, out: Float64Array): Float64Array | undefined {
    const w = this.w;
    if (!w || n * m * Math.min(n, m) < WASM_FROM) return undefined;
    const mem = w.scope();
    try {
      const x = mem.alloc(n * m * 8);
      const o = mem.alloc(n * m * 8);
      const p = mem.put(P.length === n * m ? P : P.subarray(0, n * m));
      w.abi.tensorMatmul(0, p, this.operand(mem, H2t, m * m), n, m, m, 0, 0, x);
      w.abi.tensorMatmul(0, this.operand(mem, H1, n * n), x, n, n, m, 0, 0, o);
      out.set(w.f64(o, n * m));
      return out;
    } finally {
      mem.release();
    }
  }

  /** Frees the kept operands. */
  release(): void {
    this.scope?.release();
    this.scope = undefined;
    this.kept.clear();
  }

  /** A's address in wasm: kept, or put in `mem` for this product. */
  private operand(mem: WasmScope, A: Float64Array, len: number): number {
    const p = A.length === len ? this.kept.get(A) : undefined;
    return p ?? mem.put(A.length === len ? A : A.subarray(0, len));
  }
}
