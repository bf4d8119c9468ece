// Exact OT for a sequence of cost matrices on the same marginals: a conditional gradient's linear steps (GW, FGW).
// One network-simplex context lives across the solves; each new cost matrix is written over the old one in wasm
// memory and the simplex continues from the previous optimal basis, which stays feasible (a and b do not change).
// Consecutive linearizations differ little, so a step takes a fraction of a fresh solve's pivots, and the per-call
// work of emd (validation, copies, the staircase, the certificate) is paid once. The optimum is the same: the
// simplex stops only at zero reduced costs over all arcs.
import type { WasmKernels, WasmScope } from '../backends/wasm.js';
import { SparseCoupling } from '../coupling.js';
import { CostMatrixGeometry } from '../geometry.js';
import { initialKeys, pivot, shortlistSize } from './emd.js';
import { exactOT } from './inner.js';

/** No pivot limit (a conditional gradient's steps are small problems); the loop still checks `signal`. */
const NO_LIMIT = Number.MAX_SAFE_INTEGER;
/** Costs beyond this magnitude go to emd, which rescales them (tree potentials are sums of n + m costs). */
const MAX_COST = 2 ** 500;

/** One linear step's answer: the optimal plan (a vertex, ≤ n + m − 1 entries) and the pivots it took. */
export interface SequenceStep {
  plan: SparseCoupling;
  iterations: number;
}

/** Exact OT solves for n × m costs on fixed marginals a, b (equal totals, all > 0), each from the previous basis. */
export class ExactSequence {
  private ctx = 0;
  private readonly mem: WasmScope;
  private readonly cost: number;
  private readonly u: number;
  private readonly v: number;
  private readonly rows: number;
  private readonly cols: number;
  private readonly vals: number;

  /** A sequence for a and b, or undefined when a weight is 0 (emd then drops those nodes; use exactOT). */
  static create(k: WasmKernels, a: Float64Array, b: Float64Array): ExactSequence | undefined {
    if (!a.every((x) => x > 0) || !b.every((x) => x > 0)) return undefined;
    return new ExactSequence(k, a, b);
  }

  private constructor(
    private readonly k: WasmKernels,
    private readonly a: Float64Array,
    private readonly b: Float64Array,
  ) {
    const n = a.length;
    const m = b.length;
    this.mem = k.scope();
    this.cost = this.mem.alloc(n * m * 8);
    this.u = this.mem.f64(n);
    this.v = this.mem.f64(m);
    this.rows = this.mem.alloc((n + m) * 4);
    this.cols = this.mem.alloc((n + m) * 4);
    this.vals = this.mem.alloc((n + m) * 8);
  }

  /**
   * The optimal plan for costs M (n × m row-major). `scale`: max |M| when the caller has it (NaN or ∞ for a
   * non-finite M, as Math.max gives them), which saves two passes over M here. `keys` (first solve only): sort
   * keys of the rows and columns for the starting staircase instead of emd's (initialKeys); for a cost
   * f_i + g_j − x_i·y_j, keys x and y make the start optimal (the comonotone coupling of x and y).
   */
  async solve(M: Float64Array, signal?: AbortSignal, scale?: number, keys?: [Float64Array, Float64Array]): Promise<SequenceStep> {
    const { k, a, b } = this;
    const n = a.length;
    const m = b.length;
    k.f64(this.cost, n * m).set(M);
    const bad = scale !== undefined ? !(scale <= MAX_COST) : k.abi.firstNonFinite(this.cost, n * m) >= 0 || !(k.abi.maxAbsF64(this.cost, n * m) <= MAX_COST);
    if (bad) {
      // emd rescales huge costs and reports NaN: the sequence restarts from its answer's basis next time
      const r = await exactOT(a, b, { data: M, rows: n, cols: m }, signal);
      return { plan: r.plan, iterations: r.iterations };
    }
    const before = this.ctx ? k.abi.nsIterations(this.ctx) : 0;
    if (!this.ctx) {
      this.ctx = k.abi.nsCreate(n, m, 0, this.cost, 0, 0, 0, 0, this.mem.put(a), this.mem.put(b));
      const rowsAll = Int32Array.from({ length: n }, (_, i) => i);
      const colsAll = Int32Array.from({ length: m }, (_, j) => j);
      const [keyR, keyC] = keys ?? initialKeys(new CostMatrixGeometry({ data: M, rows: n, cols: m }), rowsAll, colsAll);
      k.abi.nsInitTree(this.ctx, this.mem.argsort(keyR), this.mem.argsort(keyC));
      k.abi.nsPrepare(this.ctx, 0, 0, shortlistSize(m), NO_LIMIT);
    } else {
      // the previous basis under the new costs, priced by blocks over all arcs (the context left its shortlist
      // phase in the first solve): a new shortlist pass (nsPrepare) cost more than it saved, 6.6 vs 5.6 ms per
      // GW call at n = 100, 86 vs 76 ms at n = 300
      k.abi.nsRestart(this.ctx);
    }
    await pivot(k, this.ctx, NO_LIMIT, { signal }); // optimal: without a pivot limit it ends only there
    const nnz = k.abi.nsResult(this.ctx, this.u, this.v, this.rows, this.cols, this.vals);
    const plan = new SparseCoupling(n, m, k.i32(this.rows, nnz).slice(), k.i32(this.cols, nnz).slice(), k.f64(this.vals, nnz).slice());
    return { plan, iterations: k.abi.nsIterations(this.ctx) - before };
  }

  /** Frees the context and its wasm memory (call once, when the sequence is done). */
  free(): void {
    if (this.ctx) this.k.abi.nsFree(this.ctx);
    this.ctx = 0;
    this.mem.release();
  }
}
