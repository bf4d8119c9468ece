// The dense products of one Gromov–Wasserstein solve (gromov.ts): the tensor engine's packed f64 GEMM
// (assembly/tensor.ts) on wasm, else matmulJs. The structure matrices are the fixed operand of every product of a
// solve, so they are put in wasm memory once (`keep`) instead of once per product, and h1 · P · h2ᵀ (`chain`)
// keeps its intermediate P · h2ᵀ in wasm: one n × m copy in and one out per product, where two separate products
// copied six n × m or n × n arrays (~4 % of an entropic GW solve at n = 300).
// With threads (ts/backends/wasm-threads.ts) the products live in the shared-memory instance and each one's rows
// are split between the threads (tensorMatmulShares): the O(n²m + nm²) products are most of a dense solve.
// `precision: 'f32'` (entropic GW only) runs `chain` on the GEMM's f32 kernels: four lanes a SIMD op instead of
// two, ~2× the f64 throughput (300³: 69 against 35 GFlop/s on two threads), entries to ~1e-7 relative.
import type { WasmKernels, WasmScope } from '../backends/wasm.js';
import { wasmKernels } from '../backends/wasm.js';
import { wasmThreadCount, wasmThreads, wasmThreadsUnavailableReason } from '../backends/wasm-threads.js';
import { matmulJs } from '../linalg/dense.js';
import type { Gemm } from './gromov-structure.js';

/** Below this many multiply-adds a product stays in JS (the copies to wasm cost more than they save). */
const WASM_FROM = 4096;
/**
 * 'auto' threads from this many multiply-adds per h1·P·h2ᵀ product (n·m·max(n, m)): n = m ≈ 130. A product that
 * size takes ~0.5 ms on one core; a split costs a wake-up and a join (tens of microseconds).
 */
const THREADS_FROM = 1 << 21;
/** Below this many multiply-adds a single product is not split (even in a threaded solve). */
const SPLIT_FROM = 1 << 18;

export class SolveGemm {
  private scope: WasmScope | undefined;
  private readonly kept = new Map<Float64Array, number>();
  /** f32 copies of kept operands, made on their first f32 product. */
  private readonly kept32 = new Map<Float64Array, number>();
  /** The most threads a product of this solve was split between (1: none was). */
  threadsUsed = 1;

  /**
   * `w`: the wasm kernels, or undefined (JS products); `threads` > 1 only with the threaded runtime's kernels.
   * Call release() when the solve ends.
   */
  constructor(
    private readonly w: WasmKernels | undefined,
    /** Threads that split each large product (1: this thread only). */
    readonly threads = 1,
    /** This thread's module, for the solve's other kernels (the shared-memory build has the entropic ones only). */
    private readonly single = w,
    /** Whether `chain` runs in f32. */
    readonly f32 = false,
  ) {}

  /**
   * The products of a solve whose h1·P·h2ᵀ costs `work` multiply-adds: on `threads` wasm threads ('auto': all
   * cores from THREADS_FROM; a hint — where threads cannot run, one), else on this thread's wasm, else JS.
   */
  static async create(threads: number | 'auto', work: number, f32 = false): Promise<SolveGemm> {
    let want = wasmThreadsUnavailableReason() ? 1 : threads === 'auto' ? (work >= THREADS_FROM ? wasmThreadCount() : 1) : threads;
    if (want > 1) {
      const rt = await wasmThreads(want).catch(() => undefined);
      want = rt ? Math.min(want, rt.threads) : 1;
      // a runtime retired (wasm.ts WASM_RETAIN_BYTES) between its hand-out and this solve: one thread
      if (rt && want > 1 && !rt.kernels.retired) return new SolveGemm(rt.kernels, want, await wasmKernels().catch(() => undefined), f32);
    }
    const w = await wasmKernels().catch(() => undefined);
    return new SolveGemm(w, 1, w, f32);
  }

  /** This thread's wasm kernels (undefined: JS), for the solve's exact OT steps. */
  get kernels(): WasmKernels | undefined {
    return this.single;
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
      this.matmul(this.operand(mem, A, r * k), this.operand(mem, B, k * c), r, k, c, o);
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
    if (this.f32) return this.chain32(w, H1, P, H2t, n, m, out);
    const mem = w.scope();
    try {
      const x = mem.alloc(n * m * 8);
      const o = mem.alloc(n * m * 8);
      const p = mem.put(P.length === n * m ? P : P.subarray(0, n * m));
      this.matmul(p, this.operand(mem, H2t, m * m), n, m, m, x);
      this.matmul(this.operand(mem, H1, n * n), x, n, n, m, o);
      out.set(w.f64(o, n * m));
      return out;
    } finally {
      mem.release();
    }
  }

  /** chain in f32: P rounded on its way in, the result widened on its way out. */
  private chain32(w: WasmKernels, H1: Float64Array, P: Float64Array, H2t: Float64Array, n: number, m: number, out: Float64Array): Float64Array {
    const mem = w.scope();
    try {
      const x = mem.alloc(n * m * 4);
      const o = mem.alloc(n * m * 4);
      const p = mem.alloc(n * m * 4);
      w.f32(p, n * m).set(P.length === n * m ? P : P.subarray(0, n * m));
      this.matmul(p, this.operand32(mem, H2t, m * m), n, m, m, x, 1);
      this.matmul(this.operand32(mem, H1, n * n), x, n, n, m, o, 1);
      out.set(w.f32(o, n * m));
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
    this.kept32.clear();
  }

  /** out = a (r × k) · b (k × c) at wasm addresses (f32 = 1: f32 operands): split between the threads when large. */
  private matmul(a: number, b: number, r: number, k: number, c: number, out: number, f32 = 0): void {
    const threads = r * k * c >= SPLIT_FROM ? this.threads : 1;
    this.threadsUsed = Math.max(this.threadsUsed, threads);
    this.w!.abi.tensorMatmulShares(f32, a, b, r, k, c, 0, 0, out, threads);
  }

  /** A's f32 copy in wasm: made once for a kept operand, else for this product. */
  private operand32(mem: WasmScope, A: Float64Array, len: number): number {
    const src = A.length === len ? A : A.subarray(0, len);
    const keep = A.length === len && this.kept.has(A);
    let p = keep ? this.kept32.get(A) : undefined;
    if (p === undefined) {
      p = (keep ? this.scope! : mem).alloc(len * 4);
      this.w!.f32(p, len).set(src);
      if (keep) this.kept32.set(A, p);
    }
    return p;
  }

  /** A's address in wasm: kept, or put in `mem` for this product. */
  private operand(mem: WasmScope, A: Float64Array, len: number): number {
    const p = A.length === len ? this.kept.get(A) : undefined;
    return p ?? mem.put(A.length === len ? A : A.subarray(0, len));
  }
}
