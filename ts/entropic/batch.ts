// Many independent entropic problems driven together (sinkhornBatch, the batched divergences): one engine per
// problem, one Stepper per problem (the same schedule a single solve runs, so each problem's iterates are
// those of its own solve), and one `step` per round for every problem still running. Per-problem
// convergence: a problem that converged leaves the round list; the others go on.
//
// wasm: all engines in one module and one call per round (assembly/sinkhorn.ts entBatch), with the threads of
// ts/backends/wasm-threads.ts taking whole problems in turn. webgpu (forced, or where a single solve's 'auto' would
// pick it: a hardware adapter and a large problem; balanced problems, on cost matrices or point clouds): one set
// of buffers and two dispatches per iteration for all problems (gpu/batch.ts). js, and webgpu for unbalanced
// problems: the engines stepped one after the other.
import { OTError } from '../errors.js';
import type { BackendName, BackendOption } from '../types.js';
import { abortPoint } from '../validate.js';
import type { EngineProblem, EntropicCost, EntropicEngine, PairCost } from './engine.js';
import { type IterationOptions, type LoopResult, Stepper, uncheckedAllowed } from './problem.js';
import { autoPrefersWebgpu, createEngine } from './select.js';

/** The engines of a batch and how a round runs. */
export interface EntropicBatch {
  readonly backend: BackendName;
  /** Threads that shared the batch (wasm; 1 elsewhere). */
  readonly threads: number;
  /** One engine per problem (potentials, stats and plans are read from them). */
  readonly engines: readonly EntropicEngine[];
  /** For each listed problem: `counts[i]` iterations of problem `list[i]`, then its marginal error (returned). */
  step(list: readonly number[], counts: readonly number[]): Promise<Float64Array>;
  dispose(): void;
}

/** Below this many kernel entries in all, a batch is not split between threads. */
const THREADS_FROM = 1 << 18;

/** Engines stepped one after another (js, webgpu). */
class SequentialBatch implements EntropicBatch {
  readonly threads = 1;
  constructor(
    readonly backend: BackendName,
    readonly engines: EntropicEngine[],
  ) {}

  async step(list: readonly number[], counts: readonly number[]): Promise<Float64Array> {
    const errs = new Float64Array(list.length);
    for (let i = 0; i < list.length; i++) {
      const e = this.engines[list[i]];
      if (counts[i] > 0) await e.iterate(counts[i]);
      errs[i] = await e.marginalError();
    }
    return errs;
  }

  dispose(): void {
    for (const e of this.engines) e.dispose();
  }
}

/** wasm engines in one module: a round is one entBatch call over their contexts. */
class WasmBatch implements EntropicBatch {
  readonly backend = 'wasm' as const;
  private constructor(
    readonly engines: import('../backends/wasm-entropic.js').WasmEntropicEngine[],
    readonly threads: number,
    private readonly k: import('../backends/wasm.js').WasmKernels,
    /** The context block's size and its S_THREADS slot (ts/backends/wasm-entropic.ts mirrors assembly/sinkhorn.ts). */
    private readonly layout: { slots: number; threadsSlot: number },
  ) {}

  static async create(problems: EngineProblem[], threads: number | 'auto'): Promise<WasmBatch> {
    const [{ WasmEntropicEngine, S, SLOTS }, { wasmKernels }, T] = await Promise.all([
      import('../backends/wasm-entropic.js'),
      import('../backends/wasm.js'),
      import('../backends/wasm-threads.js'),
    ]);
    const entries = problems.reduce((s, p) => s + p.cost.n * p.cost.m, 0);
    let want = T.wasmThreadsUnavailableReason() ? 1 : threads === 'auto' ? (entries >= THREADS_FROM ? T.wasmThreadCount() : 1) : threads;
    want = Math.min(want, problems.length);
    let k: import('../backends/wasm.js').WasmKernels | undefined;
    if (want > 1) {
      const rt = await T.wasmThreads(want).catch(() => undefined);
      want = rt ? Math.min(want, rt.threads) : 1;
      k = rt?.kernels;
    }
    k ??= await wasmKernels();
    k.fn('entBatch'); // a stale binary fails here as backend-unavailable
    const engines: import('../backends/wasm-entropic.js').WasmEntropicEngine[] = [];
    try {
      for (const p of problems) engines.push(await WasmEntropicEngine.create(p, { kernels: k }));
    } catch (e) {
      for (const x of engines) x.dispose();
      throw e;
    }
    return new WasmBatch(engines, Math.max(1, want), k, { slots: SLOTS, threadsSlot: S.threads });
  }

  async step(list: readonly number[], counts: readonly number[]): Promise<Float64Array> {
    const L = list.length;
    // largest problems first: the threads take them in turn, so the small ones fill in at the end
    const order = list.map((_, i) => i).sort((x, y) => this.size(list[y]) - this.size(list[x]));
    const scope = this.k.scope();
    try {
      const SLOTS = this.layout.slots;
      const block = scope.f64(SLOTS);
      const ctxs = scope.f64(L);
      const cnt = scope.f64(L);
      const errs = scope.f64(L);
      const c = this.k.f64(ctxs, L);
      const n = this.k.f64(cnt, L);
      order.forEach((i, r) => {
        c[r] = this.engines[list[i]].context;
        n[r] = counts[i];
      });
      const b = this.k.f64(block, SLOTS);
      // the batch block (assembly/sinkhorn.ts B_*): list, its length, counts, errors; S_THREADS where a context has it
      b[0] = ctxs;
      b[1] = L;
      b[2] = cnt;
      b[3] = errs;
      b[this.layout.threadsSlot] = this.threads;
      this.k.fn('entBatch')(block);
      const e = this.k.f64(errs, L);
      const out = new Float64Array(L);
      order.forEach((i, r) => (out[i] = e[r]));
      return out;
    } finally {
      scope.release();
    }
  }

  private size(q: number): number {
    return this.engines[q].n * this.engines[q].m;
  }

  dispose(): void {
    for (const e of this.engines) e.dispose();
  }
}

/** The engines of a batch on the requested backend ('auto': webgpu where a single solve's 'auto' would pick it, else wasm, else js). */
export async function createBatch(solver: string, all: EngineProblem<EntropicCost>[], requested: BackendOption = 'auto', threads: number | 'auto' = 'auto'): Promise<EntropicBatch> {
  // a grid's separable kernel has its own engine: such batches run one engine per problem
  if (all.some((p) => p.cost.kind === 'grid')) return sequential(solver, all, requested);
  const problems = all as EngineProblem<PairCost>[];
  if (requested === 'auto') {
    // what a single solve's 'auto' would give to a hardware GPU (large problems) goes there in a batch too
    const big = problems.reduce((x, p) => (p.cost.n * p.cost.m > x.cost.n * x.cost.m ? p : x), problems[0]);
    if (big && (await autoPrefersWebgpu(big.cost.n, big.cost.m))) {
      try {
        return await createBatch(solver, problems, 'webgpu', threads);
      } catch (e) {
        if (!(e instanceof OTError) || (e.code !== 'backend-unavailable' && e.code !== 'too-large')) throw e;
      }
    }
  }
  if (requested === 'auto' || requested === 'wasm') {
    try {
      // fewer problems than threads (a divergence's three): each problem's passes split between the threads
      // instead, one problem after the other
      const { wasmThreadCount } = await import('../backends/wasm-threads.js');
      const T = threads === 'auto' ? wasmThreadCount() : threads;
      if (problems.length < T) return await sequential(solver, problems, 'wasm');
      return await WasmBatch.create(problems, threads);
    } catch (e) {
      if (requested === 'wasm' || !(e instanceof OTError) || e.code !== 'backend-unavailable') throw e;
    }
  }
  // point clouds' costs are materialized for it (16 bytes an entry, host and device): only within a chunk's budget,
  // else their streaming engines run one after another
  const cloudEntries = problems.reduce((s, p) => s + (p.cost.kind === 'points' ? p.cost.n * p.cost.m : 0), 0);
  if (requested === 'webgpu' && problems.every((p) => p.tauA === 1 && p.tauB === 1) && 16 * cloudEntries <= CHUNK_BYTES) {
    // balanced problems (cost matrices or point clouds): one set of buffers, two dispatches per iteration for the
    // whole batch
    const [{ gpuDevice }, { WebGpuSinkhornBatch }] = await Promise.all([import('../backends/webgpu.js'), import('../../gpu/batch.js')]);
    return new WebGpuSinkhornBatch(await gpuDevice(), problems);
  }
  return sequential(solver, problems, requested === 'auto' ? 'js' : requested);
}

async function sequential(solver: string, problems: EngineProblem<EntropicCost>[], backend: BackendOption): Promise<EntropicBatch> {
  const engines: EntropicEngine[] = [];
  try {
    for (const p of problems) engines.push(await createEngine(solver, p, backend));
  } catch (e) {
    for (const x of engines) x.dispose();
    throw e;
  }
  return new SequentialBatch(engines[0]?.backend ?? (backend as BackendName), engines);
}

/** Progress of a batch: problems finished so far, of all. */
export interface BatchProgress {
  /** Problems whose iteration has ended (converged or at maxIter). */
  solved: number;
  /** Problems in the batch. */
  total: number;
  /** The most iterations any problem has run so far. */
  iterations: number;
  /** Entropic batches: the largest convergence measure of this round's checks. */
  error?: number;
  /** Entropic batches: the largest ε of this round's problems (their ε-scaling stage). */
  eps?: number;
}

/**
 * Runs every problem through its ε schedule (`schedules[q]`) with per-problem convergence. A non-finite
 * measure fails with 'numerical', naming the problem (`onNonFinite(q)`).
 */
export async function iterateBatch(
  batch: EntropicBatch,
  schedules: number[][],
  opts: Omit<IterationOptions, 'onProgress'> & { onProgress?: (p: BatchProgress) => void },
  onNonFinite: (q: number) => string,
): Promise<LoopResult[]> {
  const iter = { maxIter: opts.maxIter, tol: opts.tol, checkEvery: opts.checkEvery };
  // the batch's measure is each problem's marginal error (state alone)
  const steppers = schedules.map((s) => new Stepper(s, iter, batch.backend, uncheckedAllowed(opts)));
  let active = steppers.map((_, q) => q);
  let most = 0;
  while (active.length > 0) {
    await abortPoint(opts.signal, () => `after ${most} iterations of the batch`);
    const list: number[] = [];
    const counts: number[] = [];
    const checked: boolean[] = [];
    for (const q of active) {
      const step = steppers[q].next();
      if (!step) continue;
      if (step.eps !== undefined) await batch.engines[q].setEps(step.eps);
      list.push(q);
      counts.push(step.count);
      checked.push(step.check);
    }
    if (list.length === 0) break;
    const errs = await batch.step(list, counts);
    let error = 0;
    let eps = 0;
    list.forEach((q, i) => {
      error = Math.max(error, errs[i]);
      eps = Math.max(eps, steppers[q].eps);
      steppers[q].record(errs[i]);
      if (checked[i] && !Number.isFinite(errs[i])) throw new OTError('numerical', onNonFinite(q));
      most = Math.max(most, steppers[q].iterations);
    });
    active = list;
    const solved = steppers.reduce((s, st) => s + (st.ended ? 1 : 0), 0);
    opts.onProgress?.({ solved, total: steppers.length, iterations: most, error, eps });
  }
  return steppers.map((st) => ({ iterations: st.iterations, error: st.error, converged: st.converged }));
}

/** Bytes of stored costs and kernels one chunk of a batch may hold at once (the rest waits for the next chunk). */
export const CHUNK_BYTES = 2 ** 28;

/**
 * A whole batch: the problems in chunks of at most CHUNK_BYTES (or `maxBytes`) of n × m storage, each chunk
 * one EntropicBatch run to the end, `read` called on each problem's engine before its chunk is released.
 */
export async function solveBatch<R>(
  solver: string,
  problems: EngineProblem<EntropicCost>[],
  schedules: number[][],
  opts: Omit<IterationOptions, 'onProgress'> & { onProgress?: (p: BatchProgress) => void; backend?: BackendOption; maxBytes?: number },
  onNonFinite: (q: number) => string,
  read: (engine: EntropicEngine, q: number, loop: LoopResult) => Promise<R>,
): Promise<{ results: R[]; backend: BackendName; threads: number }> {
  const limit = Math.min(CHUNK_BYTES, opts.maxBytes ?? CHUNK_BYTES);
  const results: R[] = [];
  let backend: BackendName = 'js';
  let threads = 1;
  for (let start = 0; start < problems.length; ) {
    let end = start + 1;
    let bytes = 16 * problems[start].cost.n * problems[start].cost.m;
    while (end < problems.length && bytes + 16 * problems[end].cost.n * problems[end].cost.m <= limit) bytes += 16 * problems[end].cost.n * problems[end].cost.m, end++;
    const batch = await createBatch(solver, problems.slice(start, end), opts.backend, opts.threads ?? 'auto');
    try {
      const offset = start;
      const progress = opts.onProgress && ((p: BatchProgress) => opts.onProgress!({ ...p, solved: p.solved + offset, total: problems.length }));
      const loops = await iterateBatch(batch, schedules.slice(start, end), { ...opts, onProgress: progress }, (q) => onNonFinite(q + offset));
      for (let q = 0; q < loops.length; q++) results.push(await read(batch.engines[q], q + offset, loops[q]));
      backend = batch.backend;
      threads = Math.max(threads, batch.threads);
    } finally {
      batch.dispose();
    }
    start = end;
  }
  return { results, backend, threads };
}
