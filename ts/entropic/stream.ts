// The host side of the streamed f32 Gibbs kernel (assembly/stream.ts): clouds laid out as the kernel reads them
// (clusters contiguous, each padded to a multiple of 4 points, coordinates f32 dimension-major) and one
// allocation per (target cloud, source cloud) pair, reused for every pass of a solve.
import type { WasmKernels, WasmScope } from '../backends/wasm.js';
import { wasmKernels } from '../backends/wasm.js';
import { wasmThreadCount, wasmThreads, wasmThreadsUnavailableReason } from '../backends/wasm-threads.js';

/** f64 slots of a stream context (assembly/stream.ts K_*; S_THREADS is slot 33, as in a Sinkhorn context). */
const SLOTS = 34;
/** A list entry's flag: the block also adds to the column sums (assembly/stream.ts COLS). */
export const COLS_FLAG = 1 << 30;

/** A cloud in the kernel's layout: `np` slots, cluster c = slots [off[c], off[c + 1]), padding slots have orig −1. */
export interface PaddedCloud {
  /** Real points. */
  n: number;
  /** Slots (points plus padding). */
  np: number;
  d: number;
  /** Slot → index in the caller's cloud, −1 for padding. */
  orig: Int32Array;
  /** Cluster offsets into the slots (clusters + 1 entries, multiples of 4). */
  off: Int32Array;
  /** Coordinates, centred, dimension-major: coords[c·np + s]. Padding: 0. */
  coords: Float64Array;
  /** |x|² per slot. */
  sq: Float64Array;
  /** Weight per slot (0 on padding) and its log (−∞ on padding). */
  w: Float64Array;
  logw: Float64Array;
  /** Per cluster: mass, and bounding box lo/hi (clusters × d). */
  mass: Float64Array;
  lo: Float64Array;
  hi: Float64Array;
}

/**
 * Lays out a cloud (row-major P, n × d, already centred) whose points are grouped by `cluster[i]` (0 … k − 1):
 * each cluster contiguous in slot order, padded to a multiple of 4.
 */
export function padCloud(P: Float64Array, w: Float64Array, d: number, cluster: Int32Array, k: number): PaddedCloud {
  const n = w.length;
  const count = new Int32Array(k);
  for (let i = 0; i < n; i++) count[cluster[i]]++;
  const off = new Int32Array(k + 1);
  for (let c = 0; c < k; c++) off[c + 1] = off[c] + ((count[c] + 3) & ~3);
  const np = off[k];
  const orig = new Int32Array(np).fill(-1);
  const fill = off.slice(0, k);
  for (let i = 0; i < n; i++) orig[fill[cluster[i]]++] = i;
  const coords = new Float64Array(d * np);
  const sq = new Float64Array(np);
  const ws = new Float64Array(np);
  const logw = new Float64Array(np).fill(-Infinity);
  const mass = new Float64Array(k);
  const lo = new Float64Array(k * d).fill(Infinity);
  const hi = new Float64Array(k * d).fill(-Infinity);
  for (let c = 0; c < k; c++)
    for (let s = off[c]; s < off[c + 1]; s++) {
      const i = orig[s];
      if (i < 0) continue;
      let q = 0;
      for (let t = 0; t < d; t++) {
        const x = P[i * d + t];
        coords[t * np + s] = x;
        q += x * x;
        if (x < lo[c * d + t]) lo[c * d + t] = x;
        if (x > hi[c * d + t]) hi[c * d + t] = x;
      }
      sq[s] = q;
      ws[s] = w[i];
      logw[s] = Math.log(w[i]);
      mass[c] += w[i];
    }
  return { n, np, d, orig, off, coords, sq, w: ws, logw, mass, lo, hi };
}

/** The wasm module (and threads) the passes of one solve run on. */
export interface StreamRuntime {
  kernels: WasmKernels;
  threads: number;
}

/** The threaded runtime when threads are wanted and available (as the entropic engines choose), else one thread. */
export async function streamRuntime(threads: number | 'auto'): Promise<StreamRuntime> {
  let want = wasmThreadsUnavailableReason() ? 1 : threads === 'auto' ? wasmThreadCount() : threads;
  let k: WasmKernels | undefined;
  if (want > 1) {
    const rt = await wasmThreads(want).catch(() => undefined);
    want = rt ? Math.min(want, rt.threads) : 1;
    k = rt?.kernels;
  }
  if (!k || k.retired) {
    want = 1;
    k = await wasmKernels();
  }
  k.fn('streamPass'); // a stale binary fails here as backend-unavailable
  return { kernels: k, threads: want };
}

/** Kept blocks of one pass, CSR over target clusters: list entries are source clusters | COLS_FLAG. */
export interface BlockList {
  rowptr: Int32Array;
  list: Int32Array;
}

/** What a pass returns (see StreamPair.pass): fresh arrays, f64, per slot (moments: [d][T.np]). */
export interface PassSums {
  rows: Float64Array;
  cols: Float64Array;
  rows2?: Float64Array;
  cols2?: Float64Array;
  blocks?: Float64Array;
  moments?: Float64Array;
}

/**
 * The passes between one target cloud and one source cloud, on whatever runs them: the wasm StreamPair below or
 * the WebGPU one (gpu/stream.ts). The multiscale solver sees only this.
 */
export interface PairPasses {
  readonly T: PaddedCloud;
  readonly S: PaddedCloud;
  /** Point pairs evaluated by this pair's passes so far (padding included). */
  pairs: number;
  pass(eps: number, h: Float64Array, w: Float64Array, blocks: BlockList, mode: 0 | 1 | 2 | 3, blockSums?: boolean): Promise<PassSums>;
  moments(eps: number, h: Float64Array, w: Float64Array, blocks: BlockList, blockSums?: boolean): Promise<{ rows: Float64Array; moments: Float64Array; blocks?: Float64Array }>;
}

/** The passes between one target cloud and one source cloud on wasm (their buffers allocated once). */
export class StreamPair implements PairPasses {
  private readonly ctx: number;
  private readonly p: Record<'tx' | 'th' | 'sy' | 'sw' | 'toff' | 'soff' | 'rowptr' | 'list' | 'rows' | 'cols' | 'scratch' | 'rows2' | 'cols2' | 'scratch2', number>;
  private readonly kT: number;
  private readonly kS: number;
  private scaledFor = NaN;
  /** Point pairs evaluated by this pair's passes so far (padding included). */
  pairs = 0;
  private sumsAt = 0;
  /** List entries the list (and block-sum) buffers hold: grown on demand, not kT·kS (10^8 at 10^6 points). */
  private listCap: number;
  private sumsCap = 0;
  private momentsAt = 0;
  private readonly h32: Float32Array;
  private readonly w32: Float32Array;

  constructor(
    private readonly rt: StreamRuntime,
    private readonly mem: WasmScope,
    readonly T: PaddedCloud,
    readonly S: PaddedCloud,
  ) {
    const { threads } = rt;
    this.kT = T.off.length - 1;
    this.kS = S.off.length - 1;
    const a = (bytes: number) => mem.alloc(Math.max(16, bytes));
    this.ctx = a(SLOTS * 8);
    this.p = {
      tx: a(T.d * T.np * 4),
      th: a(T.np * 4),
      sy: a(S.d * S.np * 4),
      sw: a(S.np * 4),
      toff: a((this.kT + 1) * 4),
      soff: a((this.kS + 1) * 4),
      rowptr: a((this.kT + 1) * 4),
      list: a(4 * (this.listCap = Math.min(this.kT * this.kS, 4 * (this.kT + this.kS)))),
      rows: a(T.np * 8),
      cols: a(threads * S.np * 8),
      scratch: a(threads * S.np * 4),
      rows2: a(T.np * 8),
      cols2: a(threads * S.np * 8),
      scratch2: a(threads * S.np * 4),
    };
    this.h32 = new Float32Array(T.np);
    this.w32 = new Float32Array(S.np);
    const buf = () => rt.kernels.exports.memory.buffer;
    new Float32Array(buf(), this.p.tx, T.d * T.np).set(T.coords);
    new Int32Array(buf(), this.p.toff, this.kT + 1).set(T.off);
    new Int32Array(buf(), this.p.soff, this.kS + 1).set(S.off);
    const c = new Float64Array(buf(), this.ctx, SLOTS);
    c.fill(0);
    c[0] = T.d;
    c[1] = this.p.tx;
    c[2] = T.np;
    c[3] = this.p.th;
    c[4] = this.p.sy;
    c[5] = S.np;
    c[6] = this.p.sw;
    c[7] = this.p.toff;
    c[8] = this.p.soff;
    c[9] = this.p.rowptr;
    c[10] = this.p.list;
    c[11] = this.kT;
    c[12] = this.p.rows;
    c[13] = this.p.cols;
    c[16] = this.p.scratch;
    c[17] = this.p.rows2;
    c[18] = this.p.cols2;
    c[19] = this.p.scratch2;
    c[33] = threads;
  }

  /**
   * The plan's row sums and first moments at (h, w) over the kept blocks (the kernel's mode 3): rows_i = Σ_j E_ij
   * and moments[c·T.np + i] = Σ_j E_ij·y_jc (the source's centred coordinates), the pieces of the gradient
   * Σ_j E_ij·2(x_i − y_j) = 2(rows_i x_i − moments_i); with `blockSums`, each list entry's Σ E as `pass` gives
   * it. List entries' column flags are ignored.
   */
  async moments(eps: number, h: Float64Array, w: Float64Array, blocks: BlockList, blockSums = false): Promise<{ rows: Float64Array; moments: Float64Array; blocks?: Float64Array }> {
    const { T, S, rt } = this;
    if (!this.momentsAt) {
      this.momentsAt = this.mem.alloc(Math.max(16, T.d * T.np * 8));
      const scratch = this.mem.alloc(rt.threads * 64 * T.d);
      const c = new Float64Array(rt.kernels.exports.memory.buffer, this.ctx, SLOTS);
      c[21] = this.momentsAt;
      c[22] = scratch;
    }
    const rowsOnly = { rowptr: blocks.rowptr, list: blocks.list.map((l) => l & (COLS_FLAG - 1)) };
    const { rows, blocks: sums } = this.passNow(eps, h, w, rowsOnly, 3, blockSums);
    // the kernel's sources are ỹ = 2y/ε·log₂e
    const back = eps / (2 * Math.LOG2E);
    const moments = Float64Array.from(new Float64Array(rt.kernels.exports.memory.buffer, this.momentsAt, T.d * T.np), (x) => x * back);
    return { rows, moments, blocks: sums };
  }

  /**
   * One pass: E_ij = exp(h_i + w_j + 2x_i·y_j/ε) over the kept blocks (h per target slot, w per source slot;
   * −∞ allowed). `mode` 0 sums E, 1 sums E·2x_i·y_j/ε, 2 both (the second as rows2, cols2); 3 is `moments`'. Row sums per target
   * slot, column sums per source slot (zero where no block asked for them); fresh arrays. `blockSums` (modes 0
   * and 2): also each list entry's Σ E, the plan's mass on that (target cluster, source cluster) block.
   */
  async pass(eps: number, h: Float64Array, w: Float64Array, blocks: BlockList, mode: 0 | 1 | 2 | 3, blockSums = false): Promise<PassSums> {
    return this.passNow(eps, h, w, blocks, mode, blockSums);
  }

  private passNow(eps: number, h: Float64Array, w: Float64Array, blocks: BlockList, mode: 0 | 1 | 2 | 3, blockSums: boolean): PassSums {
    const { T, S, rt } = this;
    const buf = () => rt.kernels.exports.memory.buffer;
    if (eps !== this.scaledFor) {
      const sy = new Float32Array(buf(), this.p.sy, S.d * S.np);
      const k = (2 / eps) * Math.LOG2E;
      for (let t = 0; t < sy.length; t++) sy[t] = S.coords[t] * k;
      this.scaledFor = eps;
    }
    // the kernel works in log₂ units (2^t is its exponential)
    for (let s = 0; s < T.np; s++) this.h32[s] = h[s] * Math.LOG2E;
    for (let s = 0; s < S.np; s++) this.w32[s] = w[s] * Math.LOG2E;
    new Float32Array(buf(), this.p.th, T.np).set(this.h32);
    new Float32Array(buf(), this.p.sw, S.np).set(this.w32);
    new Int32Array(buf(), this.p.rowptr, this.kT + 1).set(blocks.rowptr);
    const len = blocks.list.length;
    if (len > this.listCap) {
      // (the old buffers stay in the scope until the solve ends: doubling keeps that under the final size)
      this.listCap = Math.min(this.kT * this.kS, Math.max(len, 2 * this.listCap));
      this.p.list = this.mem.alloc(4 * this.listCap);
      new Float64Array(buf(), this.ctx, SLOTS)[10] = this.p.list; // (a view made after the alloc: it may grow memory)
    }
    if (blockSums && len > this.sumsCap) {
      this.sumsCap = Math.min(this.kT * this.kS, Math.max(len, 2 * this.sumsCap));
      this.sumsAt = this.mem.alloc(8 * this.sumsCap);
    }
    new Int32Array(buf(), this.p.list, len).set(blocks.list);
    const c = new Float64Array(buf(), this.ctx, SLOTS);
    c[14] = mode;
    new Float64Array(buf(), this.ctx, SLOTS)[20] = blockSums ? this.sumsAt : 0;
    rt.kernels.fn('streamPass')(this.ctx);
    for (let k = 0; k < this.kT; k++)
      for (let q = blocks.rowptr[k]; q < blocks.rowptr[k + 1]; q++) {
        const l = blocks.list[q] & (COLS_FLAG - 1);
        this.pairs += (T.off[k + 1] - T.off[k]) * (S.off[l + 1] - S.off[l]);
      }
    // the E·t sums are in log₂ units (t = 2x·y/ε · log₂e): LN2 brings them back
    const read = (rowsAt: number, colsAt: number, scale: number) => {
      const rows = Float64Array.from(new Float64Array(buf(), rowsAt, T.np));
      const all = new Float64Array(buf(), colsAt, rt.threads * S.np);
      const cols = Float64Array.from(all.subarray(0, S.np));
      for (let t = 1; t < rt.threads; t++) for (let j = 0; j < S.np; j++) cols[j] += all[t * S.np + j];
      if (scale !== 1) {
        for (let s = 0; s < rows.length; s++) rows[s] *= scale;
        for (let s = 0; s < cols.length; s++) cols[s] *= scale;
      }
      return { rows, cols };
    };
    const first: PassSums = read(this.p.rows, this.p.cols, mode === 1 ? Math.LN2 : 1);
    if (blockSums) first.blocks = Float64Array.from(new Float64Array(buf(), this.sumsAt, blocks.list.length));
    if (mode !== 2) return first;
    const second = read(this.p.rows2, this.p.cols2, Math.LN2);
    return { ...first, rows2: second.rows, cols2: second.cols };
  }
}

/**
 * The transpose of a block list (source clusters as targets, kS of them; entries are target clusters, unflagged):
 * every entry, or with `flagged` only those with COLS_FLAG (the blocks whose column sums a pass wants).
 */
export function transposeBlocks(blocks: BlockList, kS: number, flagged = false): BlockList {
  const { rowptr, list } = blocks;
  const kT = rowptr.length - 1;
  const take = (e: number) => !flagged || (e & COLS_FLAG) !== 0;
  const tptr = new Int32Array(kS + 1);
  for (const e of list) if (take(e)) tptr[(e & (COLS_FLAG - 1)) + 1]++;
  for (let l = 0; l < kS; l++) tptr[l + 1] += tptr[l];
  const fill = tptr.slice(0, kS);
  const tlist = new Int32Array(tptr[kS]);
  for (let k = 0; k < kT; k++) for (let q = rowptr[k]; q < rowptr[k + 1]; q++) if (take(list[q])) tlist[fill[list[q] & (COLS_FLAG - 1)]++] = k;
  return { rowptr: tptr, list: tlist };
}

/** Every block kept (the coarse levels): each source cluster for each target cluster, flagged `flag`. */
export function allBlocks(kT: number, kS: number, flag: number): BlockList {
  const rowptr = new Int32Array(kT + 1);
  const list = new Int32Array(kT * kS);
  for (let k = 0; k < kT; k++) {
    rowptr[k + 1] = (k + 1) * kS;
    for (let l = 0; l < kS; l++) list[k * kS + l] = l | flag;
  }
  return { rowptr, list };
}

/** What the passes of one solve run on: its pairs, released together at the end of the solve. */
export interface PassEngine {
  backend: 'wasm' | 'webgpu';
  threads: number;
  pair(T: PaddedCloud, S: PaddedCloud): Promise<PairPasses>;
  release(): void;
}

/** The wasm kernel (threads as streamRuntime picks them) or the WebGPU one (gpu/stream.ts, imported only here). */
export async function passEngine(backend: 'wasm' | 'webgpu', threads: number | 'auto'): Promise<PassEngine> {
  if (backend === 'webgpu') {
    const [{ gpuDevice }, { GpuStreamPair }, { GpuRuntime }] = await Promise.all([import('../backends/webgpu.js'), import('../../gpu/stream.js'), import('../../gpu/runtime.js')]);
    const rt = new GpuRuntime(await gpuDevice(), 'the multiscale divergence');
    return { backend, threads: 1, pair: (T, S) => GpuStreamPair.create(rt, T, S), release: () => rt.dispose() };
  }
  const rt = await streamRuntime(threads);
  const mem = rt.kernels.scope();
  return { backend, threads: rt.threads, pair: async (T, S) => new StreamPair(rt, mem, T, S), release: () => mem.release() };
}
