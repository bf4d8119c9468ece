// The wasm (f64, SIMD) entropic engine: the n × m work runs in assembly/sinkhorn.ts on buffers allocated
// once in wasm memory; only n- and m-vectors cross the boundary. Semantics: ts/entropic/engine.ts, matched
// against the js reference engine (tests/wasm-entropic.test.ts).
//
// scaling: K = exp(−C/ε) stored per ε, one fused pass over K per iteration (K·v, then Kᵀu while each row is in
// cache). log: the stabilised-kernel scheme (absorbed potentials, K̃ rebuilt on absorption, exact
// log-sum-exp for rows/columns whose stabilised sums under/overflow): the log-domain iteration at the
// speed of scaling. Point clouds too large to store a kernel for run exact log-sum-exps on the fly.
import { OTError } from '../errors.js';
import type { EngineProblem, EntropicEngine, PairCost, PlanStats } from '../entropic/engine.js';
import { DEFAULT_MAX_BYTES } from '../validate.js';
import { type WasmKernels, type WasmScope, WASM_MAX_BLOCK, wasmKernels } from './wasm.js';
import { wasmThreadCount, wasmThreads, wasmThreadsUnavailableReason } from './wasm-threads.js';

/** Below this many kernel entries a pass (~0.5 ns an entry) is too short to share between threads. */
const THREADS_FROM = 1 << 18;

// context slots: mirror of the S_* constants in assembly/sinkhorn.ts
export const S = {
  n: 0, m: 1, d: 2, kind: 3, stab: 4, eps: 5, tauA: 6, tauB: 7, power: 8, C: 9, X: 10, Y: 11, logA: 12, logB: 13,
  a: 14, f: 15, g: 16, alpha: 17, beta: 18, K: 19, u: 20, v: 21, s: 22, t: 23, w1: 24, w2: 25, kValid: 26, errNorm: 27,
  rebuilds: 28, fallbacks: 29, passes: 30, f2: 31, pending: 32, threads: 33, partials: 34, scratch: 35, results: 36,
} as const;
export const SLOTS = 48;
const MAX_BLOCK = WASM_MAX_BLOCK;

type Ctx = number;
type Kernels = {
  iterate: (ctx: Ctx, count: number) => void;
  marginalError: (ctx: Ctx) => number;
  stats: (ctx: Ctx, rows: number, cols: number) => number;
  planApply: (ctx: Ctx, V: number, k: number, transpose: number, out: number, parts: number) => void;
  densePlan: (ctx: Ctx, out: number) => void;
  fColLse: (ctx: Ctx, out: number) => void;
};

export class WasmEntropicEngine implements EntropicEngine {
  readonly backend = 'wasm' as const;
  readonly n: number;
  readonly m: number;
  readonly threads: number;
  /** Whether the n × m kernel is stored (false: point clouds on the fly, see create()). */
  readonly kernelStored: boolean;
  private disposed = false;
  private readonly kern: Kernels;

  private constructor(
    private readonly k: WasmKernels,
    private readonly mem: WasmScope,
    private readonly ctx: number,
    /** Whether the dense cost is another engine's (shareKernelWith): setCost would change that one's too. */
    private readonly borrowsCost = false,
  ) {
    const c = this.slots();
    this.n = c[S.n];
    this.m = c[S.m];
    this.threads = c[S.threads];
    this.kernelStored = c[S.K] !== 0;
    this.kern = {
      iterate: k.fn('entIterate'),
      marginalError: k.fn('entMarginalError'),
      stats: k.fn('entStats'),
      planApply: k.fn('entPlanApply'),
      densePlan: k.fn('entDensePlan'),
      fColLse: k.fn('entFColLse'),
    };
  }

  /**
   * `storeKernel: false` runs exact log-sum-exps on the fly instead of storing n × m
   * (what kernels beyond the caller's budget or one wasm block get; exposed for tests).
   * `threads`: how many threads share each pass over the n × m entries ('auto': all there are, from
   * THREADS_FROM entries; 1: this thread only), through ts/backends/wasm-threads.ts.
   * `shareKernelWith` (barycenters: one engine per histogram over the same cost, which the caller guarantees):
   * use that engine's copy of a dense C and, in the scaling method, its kernel; it must outlive this one.
   */
  static async create(
    p: EngineProblem<PairCost>,
    opts: { storeKernel?: boolean; threads?: number | 'auto'; shareKernelWith?: WasmEntropicEngine; kernels?: WasmKernels } = {},
  ): Promise<WasmEntropicEngine> {
    const { n, m } = p.cost;
    const want = opts.threads ?? 'auto';
    // a hint: where threads cannot run (a browser's main thread, a failed start) the engine uses one
    let threads = opts.kernels || wasmThreadsUnavailableReason() ? 1 : want === 'auto' ? (n * m >= THREADS_FROM ? wasmThreadCount() : 1) : want;
    // `kernels` (a batch, ts/entropic/batch.ts): this module, the threaded runtime's when the batch shares
    // threads; the engine's own passes then run on one thread (the batch splits problems, not rows)
    let k: WasmKernels | undefined = opts.kernels;
    if (threads > 1) {
      const rt = await wasmThreads(threads).catch(() => undefined);
      threads = rt ? Math.min(threads, rt.threads) : 1;
      k = rt?.kernels;
    }
    // a runtime retired (wasm.ts WASM_RETAIN_BYTES) between its hand-out and this first allocation: one thread
    if (k?.retired) threads = 1;
    if (!k || k.retired) k = await wasmKernels();
    k.fn('entIterate'); // a stale binary fails here as backend-unavailable
    if (n * m * 8 > MAX_BLOCK && p.cost.kind === 'dense') {
      throw new OTError(
        'backend-unavailable',
        `wasm: the ${n} × ${m} cost matrix exceeds the wasm allocator's 1 GiB block limit; use the js backend, a smaller problem, or point clouds (costs on the fly).`,
      );
    }
    // Whether the n × m kernel may be stored: within the caller's budget (not the default one) and one wasm
    // block. Beyond either the passes run on the fly (exact log-sum-exps, threads as usual) — for the
    // scaling method too, whose iterates are the log domain's (f = ε·log u): the same fixed point, minus the
    // overflow. Before, a kernel over 1 GiB made 'auto' fall back to plain JS (~100× slower).
    const kernelBytes = n * m * 8;
    const fits = kernelBytes <= Math.min(p.maxBytes ?? DEFAULT_MAX_BYTES, MAX_BLOCK);
    const onTheFly = opts.storeKernel === false || (opts.storeKernel === undefined && !fits);
    const stab = p.method === 'log' || onTheFly;
    const mem = k.scope();
    try {
      const ctx = mem.f64(SLOTS);
      const put = (slot: number, x: ArrayLike<number>) => {
        const ptr = mem.put(x);
        k.f64(ctx, SLOTS)[slot] = ptr;
      };
      const zeros = (slot: number, len: number) => {
        const ptr = mem.f64(Math.max(1, len));
        k.f64(ctx, SLOTS)[slot] = ptr;
      };
      const c = p.cost;
      // barycenters: engines over the same cost share one copy of it (and, scaling, of the kernel, below)
      const owner = opts.shareKernelWith?.k === k && opts.shareKernelWith.n === n && opts.shareKernelWith.m === m ? opts.shareKernelWith : undefined;
      if (c.kind === 'dense' && owner && owner.slots()[S.kind] === 0) {
        k.f64(ctx, SLOTS)[S.C] = owner.slots()[S.C];
      } else if (c.kind === 'dense') {
        put(S.C, c.C);
      } else {
        put(S.X, c.X);
        put(S.Y, c.Y);
      }
      put(S.logA, p.a.map(Math.log));
      put(S.logB, p.b.map(Math.log));
      put(S.a, p.a);
      for (const [slot, len] of [
        [S.f, n], [S.g, m], [S.alpha, n], [S.beta, m], [S.u, n], [S.v, m], [S.s, n], [S.t, m],
        [S.w1, Math.max(n, m)], [S.w2, Math.max(n, m)], [S.f2, n],
        // per helper thread: partial column sums, scratch; per thread: a result block (assembly/sinkhorn.ts)
        [S.partials, (threads - 1) * m], [S.scratch, (threads - 1) * 2 * Math.max(n, m)], [S.results, threads * 4],
      ] as const) {
        zeros(slot, len);
      }
      const store = !onTheFly;
      if (owner && p.method === 'scaling' && owner.slots()[S.stab] === 0) {
        // barycenters: the scaling kernel exp(−C/ε) of the same cost, stored once (entFColLseBatch)
        k.f64(ctx, SLOTS)[S.K] = owner.slots()[S.K];
      } else if (store) {
        try {
          const ptr = mem.alloc(Math.max(8, kernelBytes)); // first: alloc may grow memory and detach views
          k.f64(ctx, SLOTS)[S.K] = ptr;
        } catch (e) {
          // wasm memory is full: run on the fly (log iterates) rather than fail or fall back to plain JS
          if (!(e instanceof OTError) || e.code !== 'too-large') throw e;
        }
      }
      const v = k.f64(ctx, SLOTS);
      v[S.n] = n;
      v[S.m] = m;
      v[S.d] = c.kind === 'points' ? c.d : 0;
      v[S.kind] = c.kind === 'dense' ? 0 : 1;
      v[S.stab] = stab || v[S.K] === 0 ? 1 : 0;
      v[S.eps] = 1;
      v[S.tauA] = p.tauA;
      v[S.tauB] = p.tauB;
      v[S.power] = c.kind === 'points' ? c.power : 2;
      v[S.kValid] = 0;
      v[S.threads] = threads;
      return new WasmEntropicEngine(k, mem, ctx, v[S.C] !== 0 && owner !== undefined && v[S.C] === owner.slots()[S.C]);
    } catch (e) {
      mem.release();
      if (e instanceof OTError && e.code !== 'too-large') throw e;
      throw new OTError(
        'backend-unavailable',
        `wasm: the ${n} × ${m} problem does not fit in wasm memory (${(e as Error).message}); use the js backend or a smaller problem.`,
      );
    }
  }

  /** The context block's address (a batch lists its engines' contexts for entBatch). */
  get context(): number {
    return this.ctx;
  }

  /** The module the engine lives in. */
  get kernels(): WasmKernels {
    return this.k;
  }

  /** The context block (re-made on each call: views die when memory grows). */
  private slots(): Float64Array {
    return this.k.f64(this.ctx, SLOTS);
  }

  private vec(slot: number, len: number): Float64Array {
    return this.k.f64(this.slots()[slot], len);
  }

  private live(): void {
    if (this.disposed) throw new OTError('invalid-option', 'wasm engine used after dispose().');
  }

  /** Kernel rebuilds and exact-LSE fallbacks so far (diagnostics for tests and benchmarks). */
  counters(): { rebuilds: number; fallbacks: number } {
    const c = this.slots();
    return { rebuilds: c[S.rebuilds], fallbacks: c[S.fallbacks] };
  }

  async setEps(eps: number): Promise<void> {
    this.live();
    const c = this.slots();
    c[S.eps] = eps;
    c[S.kValid] = 0;
    c[S.pending] = 0;
  }

  async iterate(count: number): Promise<void> {
    this.live();
    if (count > 0) this.kern.iterate(this.ctx, count);
  }

  async marginalError(): Promise<number> {
    this.live();
    return this.kern.marginalError(this.ctx);
  }

  async potentials(): Promise<{ f: Float64Array; g: Float64Array }> {
    this.live();
    return { f: this.vec(S.f, this.n).slice(), g: this.vec(S.g, this.m).slice() };
  }

  async setPotentials(f: Float64Array, g: Float64Array): Promise<void> {
    this.live();
    this.vec(S.f, this.n).set(f);
    this.vec(S.g, this.m).set(g);
    const c = this.slots();
    if (c[S.stab]) c[S.kValid] = 0; // re-absorb (the scaling kernel does not depend on f, g)
    c[S.pending] = 0; // drop the f-half a marginal-error pass left for the next iteration
  }

  async stats(): Promise<PlanStats> {
    this.live();
    const scope = this.k.scope();
    try {
      const rows = scope.f64(this.n);
      const cols = scope.f64(this.m);
      const transportCost = this.kern.stats(this.ctx, rows, cols);
      return { transportCost, rowSums: this.k.f64(rows, this.n).slice(), colSums: this.k.f64(cols, this.m).slice() };
    } finally {
      scope.release();
    }
  }

  async planApply(V: Float64Array, k: number, transpose: boolean): Promise<Float64Array> {
    this.live();
    const inRows = transpose ? this.n : this.m;
    const outRows = transpose ? this.m : this.n;
    if (V.length !== inRows * k) throw new OTError('shape', `planApply: V has ${V.length} entries, expected ${inRows} × ${k}.`);
    const scope = this.k.scope();
    try {
      const pv = scope.put(V);
      // helpers' partial Pᵀ·V, one m × k buffer each (assembly/sinkhorn.ts entPlanApply)
      const parts = transpose && this.threads > 1 ? scope.alloc((this.threads - 1) * this.m * k * 8) : 0;
      const out = scope.f64(Math.max(1, outRows * k));
      this.kern.planApply(this.ctx, pv, k, transpose ? 1 : 0, out, parts);
      return this.k.f64(out, outRows * k).slice();
    } finally {
      scope.release();
    }
  }

  async densePlan(): Promise<Float64Array> {
    this.live();
    const scope = this.k.scope();
    try {
      const out = scope.alloc(Math.max(8, this.n * this.m * 8));
      this.kern.densePlan(this.ctx, out);
      return this.k.f64(out, this.n * this.m).slice();
    } finally {
      scope.release();
    }
  }

  async setErrorNorm(norm: 1 | 2): Promise<void> {
    this.live();
    this.slots()[S.errNorm] = norm === 2 ? 2 : 0;
  }

  /** The engine's own dense cost (not shared with another engine), or undefined. */
  private ownCost(): number | undefined {
    const c = this.slots();
    return c[S.kind] === 0 && !this.borrowsCost ? c[S.C] : undefined;
  }

  async setCost(C: Float64Array): Promise<void> {
    this.live();
    const ptr = this.ownCost();
    // (an engine whose cost others borrow is the caller's to keep: barycenters never call this)
    if (ptr === undefined || C.length !== this.n * this.m) throw new OTError('internal', 'setCost: the engine has no dense cost of its own, or C has the wrong size.');
    this.k.f64(ptr, C.length).set(C);
    const c = this.slots();
    c[S.kValid] = 0; // the kernel (scaling) or the stabilised kernel (log) is rebuilt from the new cost
    c[S.pending] = 0; // a pending f-half was computed on the old cost
  }

  /** The plan buffer of densePlanInto (n × m), allocated on first use. */
  private planPtr = 0;

  async densePlanInto(out: Float64Array): Promise<void> {
    this.live();
    if (out.length !== this.n * this.m) throw new OTError('shape', `densePlanInto: out has ${out.length} entries, expected ${this.n} × ${this.m}.`);
    this.planPtr ||= this.mem.alloc(Math.max(8, this.n * this.m * 8));
    this.kern.densePlan(this.ctx, this.planPtr);
    out.set(this.k.f64(this.planPtr, this.n * this.m));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.mem.release();
  }

  // ---- barycenters ----

  /** fUpdateColLse's output buffer (m), allocated on first use. */
  private hPtr = 0;

  async fUpdateColLse(g: Float64Array): Promise<Float64Array> {
    this.live();
    if (g.length !== this.m) throw new OTError('shape', `fUpdateColLse: g has ${g.length} entries, expected ${this.m}.`);
    this.hPtr ||= this.mem.f64(Math.max(1, this.m));
    this.vec(S.g, this.m).set(g);
    this.kern.fColLse(this.ctx, this.hPtr);
    return this.k.f64(this.hPtr, this.m).slice();
  }

  /**
   * fUpdateColLse of this engine and the others (same m, same module) in one call: G and the result k × m. Engines
   * created with `shareKernelWith` this one run their scaling passes together (one read of K for all).
   */
  async fUpdateColLseBatch(engines: EntropicEngine[], G: Float64Array, H: Float64Array): Promise<void> {
    this.live();
    const all = engines as WasmEntropicEngine[];
    const k = all.length;
    const m = this.m;
    if (!all.every((e) => e instanceof WasmEntropicEngine && e.k === this.k && e.m === m && !e.disposed) || G.length !== k * m || H.length !== k * m) {
      throw new OTError('internal', 'fUpdateColLseBatch: engines of another module or size, or disposed.');
    }
    // operands allocated once (the same engines every iteration): the context pointers and the output
    if (!this.batchOps || this.batchOps.k !== k) {
      const ctxs = this.mem.f64(k);
      const outs = this.mem.f64(k * m);
      this.k.f64(ctxs, k).set(all.map((e) => e.ctx));
      this.batchOps = { k, ctxs, outs, run: this.k.fn('entFColLseBatch') };
    }
    const b = this.batchOps;
    all.forEach((e, t) => e.vec(S.g, m).set(G.subarray(t * m, t * m + m)));
    b.run(b.ctxs, k, b.outs);
    H.set(this.k.f64(b.outs, k * m));
  }

  private batchOps?: { k: number; ctxs: number; outs: number; run: (ctxs: number, k: number, outs: number) => void };
}
