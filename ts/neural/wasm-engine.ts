// The 'wasm' tensor engine: storages in the wasm module's linear memory, numeric kernels in assembly/tensor.ts
// (SIMD, f64 or f32), behind the TensorEngine seam (ts/neural/engine.ts), so ts/neural/tensor.ts's one autodiff
// runs on it unchanged. The js engine stays the oracle it is tested against (tests/neural-wasm.test.ts).
//
// - Values never cross to JS during a step: ops call kernels on pointers, and only read() copies values out (and
//   fromArray / write copy in). A call costs one JS→wasm transition per op (a segment loop inside wasm handles
//   broadcasting), so small ops cost about a microsecond.
// - Memory: each storage is one allocation of the module's allocator (TLSF), freed when its last tensor releases
//   it (dispose / tidy). A storage that is garbage-collected without a release is freed by a FinalizationRegistry,
//   so code written for the js engine (which never disposes) leaks nothing in the end; tidy() per step keeps the
//   footprint flat without waiting for the collector. Views of memory are taken right before use (memory grows).
// - readSync is undefined (as on webgpu): `t.data` would be a copy whose writes go nowhere, so values come from
//   `await t.read()`.
// - Broadcasts the kernels' (m, rep) form cannot express (an operand whose kept dims are not contiguous, e.g.
//   [2, 1, 4] against [2, 3, 4]) run through the js engine on copies (correct, slower; the trainers never do it).
// - Threads: an engine made with threads > 1 lives in the shared-memory instance (ts/backends/wasm-threads.ts) and
//   splits the rows of each large product between the threads (tensorMatmulShares, the same result bit for bit);
//   every other op runs on this thread. Its storages count as the instance's allocations, so the runtime is not
//   retired under them; a runtime closed by dispose() leaves the engine working on one thread.
import { OTError } from '../errors.js';
import { type WasmKernels, WASM_MAX_BLOCK, wasmKernels } from '../backends/wasm.js';
import { type AdamHyper, BINARY_OPS, type MapOp, type MatmulFlags, type Operand, type TensorEngine, UNARY_OPS, sizeOf } from './engine.js';
import { jsTensorEngine } from './js-engine.js';
import { type ThreadedRuntime, wasmThreadCount, wasmThreads, wasmThreadsUnavailableReason } from '../backends/wasm-threads.js';

/** Precision of a wasm tensor engine's storages. */
export type WasmPrecision = 'f64' | 'f32';

/**
 * Multiply-adds from which a product's rows are split between threads. A split costs a wake-up and a join (a few
 * microseconds while the helpers spin between products, as they do within a training step); below ~2^17
 * multiply-adds (~10 µs of f32 arithmetic) that is no longer small. 2^15 and 2^20 were slower on a NOT step
 * (bench/README, "Tensor engine step times").
 */
const SPLIT_FROM = 1 << 17;
/** The packed product's row tile (assembly/tensor.ts MR): a split below two tiles a share has nothing to do. */
const SPLIT_MIN_ROWS = 8;

/** A tensor's values in wasm memory: `n` entries at byte offset `ptr`, shared by `refs` tensors. */
export interface WasmStorage {
  /** Byte offset of the first entry in the module's memory. */
  readonly ptr: number;
  /** Entry count. */
  readonly n: number;
  /** Tensors sharing the storage (detach() shares); 0 once freed. */
  refs: number;
}

const BINARY_CODE = new Map<MapOp, number>(BINARY_OPS.map((op, i) => [op, i]));
const UNARY_CODE = new Map<MapOp, number>(UNARY_OPS.map((op, i) => [op, i]));

/**
 * An operand of `outShape` as (m, rep): its entry for output index i is (i / rep) % m. Undefined when its kept
 * dims are not one contiguous block of the output's (ignoring dims of size 1).
 */
export function repeatForm(shape: readonly number[], outShape: readonly number[]): { m: number; rep: number } | undefined {
  const r = outShape.length;
  const off = r - shape.length;
  let first = -1;
  let last = -1;
  for (let d = 0; d < r; d++) {
    const s = d < off ? 1 : shape[d - off];
    if (s !== 1 && outShape[d] !== 1) {
      if (first < 0) first = d;
      last = d;
    }
  }
  if (first < 0) return { m: 1, rep: 1 };
  let m = 1;
  for (let d = first; d <= last; d++) {
    const s = d - off < 0 ? 1 : shape[d - off];
    if (s === 1 && outShape[d] !== 1) return undefined; // a stretched dim between kept ones
    m *= outShape[d];
  }
  let rep = 1;
  for (let d = last + 1; d < r; d++) rep *= outShape[d];
  return { m, rep };
}

/**
 * The wasm tensor engine (see the file header): f64 or f32 storages in wasm memory, SIMD kernels. Get it from
 * `wasmTensorEngine(precision)` or `tensorEngine('wasm')` (f64); tensors on it read back with `await t.read()`.
 */
export class WasmTensorEngine implements TensorEngine<WasmStorage> {
  /** The backend name ('wasm' for both precisions; `precision` tells them apart). */
  readonly name = 'wasm' as const;
  private readonly f32: number;
  private readonly bytes: number;
  private live = 0;
  private liveBytes = 0;
  /** Frees storages that were collected without a release (see the header). */
  private readonly finalizer: FinalizationRegistry<{ ptr: number; bytes: number }>;

  /**
   * Use `wasmTensorEngine(precision)`: one engine per precision and wasm instance.
   * @internal
   */
  constructor(
    private readonly kernels: WasmKernels,
    /** Entry type of the storages: 'f64' (the default, as the js engine) or 'f32' (about twice as fast). */
    readonly precision: WasmPrecision,
    /** The threaded runtime whose memory `kernels` use, and the threads a large product is split between. */
    private readonly split?: { runtime: ThreadedRuntime; threads: number },
  ) {
    this.f32 = precision === 'f32' ? 1 : 0;
    this.bytes = precision === 'f32' ? 4 : 8;
    this.finalizer = new FinalizationRegistry(({ ptr, bytes }) => {
      this.live--;
      this.liveBytes -= bytes;
      this.kernels.exports.free(ptr);
      this.kernels.track(-1);
    });
  }

  /** Products whose rows were split between threads so far (tests and benchmarks read it). */
  splitProducts = 0;

  /** Threads a large product is split between (1: this thread only). */
  get threads(): number {
    return this.split ? this.split.threads : 1;
  }

  /** Storages held by tensors (`liveStorages`, for leak tests) and their bytes (`liveBytes`). */
  stats(): {
    /** Storages not yet freed. */
    liveStorages: number;
    /** Their bytes. */
    liveBytes: number;
  } {
    return { liveStorages: this.live, liveBytes: this.liveBytes };
  }

  // ---- memory ------------------------------------------------------------------------------------------------

  private alloc(n: number): WasmStorage {
    const bytes = Math.max(1, n) * this.bytes;
    if (bytes > WASM_MAX_BLOCK) throw new OTError('too-large', `wasm tensor engine: a tensor of ${n} entries (${bytes} bytes) is over the wasm allocator's limit of ${WASM_MAX_BLOCK} bytes.`);
    const ptr = this.kernels.exports.alloc(bytes) >>> 0;
    if (ptr === 0) throw new OTError('too-large', `wasm tensor engine: could not allocate ${bytes} bytes.`);
    const s: WasmStorage = { ptr, n, refs: 1 };
    this.kernels.track(1);
    this.live++;
    this.liveBytes += n * this.bytes;
    this.finalizer.register(s, { ptr, bytes: n * this.bytes }, s);
    return s;
  }

  /** A typed view of a storage's values (take it right before use: memory growth detaches it). */
  private view(s: WasmStorage): Float64Array | Float32Array {
    const buf = this.kernels.exports.memory.buffer;
    return this.f32 ? new Float32Array(buf, s.ptr, s.n) : new Float64Array(buf, s.ptr, s.n);
  }

  // ---- TensorEngine -----------------------------------------------------------------------------------------

  fromArray(values: ArrayLike<number>): WasmStorage {
    const s = this.alloc(values.length);
    this.view(s).set(values);
    return s;
  }

  full(size: number, value: number): WasmStorage {
    const s = this.alloc(size);
    this.view(s).fill(value);
    return s;
  }

  length(s: WasmStorage): number {
    if (!s || typeof s !== 'object' || !('ptr' in s)) throw new OTError('invalid-option', 'wasm engine: not a storage of this engine');
    return s.n;
  }

  read(s: WasmStorage): Promise<Float64Array> {
    return Promise.resolve(this.readCopy(s));
  }

  /** The values as a new Float64Array (synchronous: nothing is queued on this engine). */
  readCopy(s: WasmStorage): Float64Array {
    this.alive(s);
    return Float64Array.from(this.view(s));
  }

  readSync(): undefined {
    return undefined;
  }

  write(s: WasmStorage, values: ArrayLike<number>): void {
    this.alive(s);
    if (values.length !== s.n) throw new OTError('shape', `write: ${values.length} values for a storage of ${s.n}`);
    this.view(s).set(values);
  }

  /** One more tensor shares `s`. */
  retain(s: WasmStorage): void {
    s.refs++;
  }

  /** One tensor fewer shares `s`; the last release frees its memory. */
  release(s: WasmStorage): void {
    if (s.refs <= 0) return; // already freed: never free twice
    if (--s.refs > 0) return;
    this.finalizer.unregister(s);
    this.live--;
    this.liveBytes -= s.n * this.bytes;
    this.kernels.exports.free(s.ptr);
    this.kernels.track(-1);
  }

  private alive(s: WasmStorage): void {
    if (s.refs <= 0) throw new OTError('disposed', 'wasm engine: this storage was freed');
  }

  map(op: MapOp, inputs: Operand<WasmStorage>[], outShape: readonly number[], p = 0): WasmStorage {
    const n = sizeOf(outShape);
    const forms = inputs.map((x) => repeatForm(x.shape, outShape));
    if (forms.some((f) => !f)) return this.fromArray(jsTensorEngine.map(op, inputs.map((x) => ({ s: this.readCopy(x.s), shape: x.shape })), outShape, p) as Float64Array);
    const out = this.alloc(n);
    if (n === 0) return out;
    const abi = this.kernels.abi;
    if (inputs.length === 2) {
      const code = BINARY_CODE.get(op);
      if (code === undefined) throw new OTError('invalid-option', `'${op}' is not a binary tensor op (${BINARY_OPS.join(', ')})`);
      const [a, b] = inputs;
      const [fa, fb] = forms as { m: number; rep: number }[];
      abi.tensorBinary(this.f32, code, a.s.ptr, fa.m, fa.rep, b.s.ptr, fb.m, fb.rep, out.ptr, n);
    } else {
      const code = UNARY_CODE.get(op);
      if (code === undefined) throw new OTError('invalid-option', `'${op}' is not a unary tensor op (${UNARY_OPS.join(', ')})`);
      const f = forms[0]!;
      abi.tensorUnary(this.f32, code, inputs[0].s.ptr, f.m, f.rep, out.ptr, n, p);
    }
    return out;
  }

  sumTo(x: Operand<WasmStorage>, shape: readonly number[]): WasmStorage {
    const f = repeatForm(shape, x.shape);
    if (!f) return this.fromArray(jsTensorEngine.sumTo({ s: this.readCopy(x.s), shape: x.shape }, shape) as Float64Array);
    const out = this.alloc(sizeOf(shape));
    const total = x.s.n;
    if (total === 0) {
      this.view(out).fill(0);
      return out;
    }
    this.kernels.abi.tensorSumTo(this.f32, x.s.ptr, total / (f.m * f.rep), f.m, f.rep, out.ptr);
    return out;
  }

  matmul(a: WasmStorage, b: WasmStorage, m: number, k: number, n: number, opts: MatmulFlags<WasmStorage> = {}): WasmStorage {
    const out = this.alloc(m * n);
    const flags = (opts.transA ? 1 : 0) | (opts.transB ? 2 : 0);
    const bias = opts.bias ? opts.bias.ptr : 0;
    const split = this.split;
    // thin products (a side ≤ 2) take tensorMatmul's unpacked paths, which do not split
    if (split && split.runtime.usable && m * k * n >= SPLIT_FROM && m >= SPLIT_MIN_ROWS && k > 2 && n > 2) {
      this.kernels.abi.tensorMatmulShares(this.f32, a.ptr, b.ptr, m, k, n, flags, bias, out.ptr, split.threads);
      this.splitProducts++;
    } else {
      this.kernels.abi.tensorMatmul(this.f32, a.ptr, b.ptr, m, k, n, flags, bias, out.ptr);
    }
    return out;
  }

  transpose(x: WasmStorage, m: number, n: number): WasmStorage {
    const out = this.alloc(m * n);
    this.kernels.abi.tensorTranspose(this.f32, x.ptr, m, n, out.ptr);
    return out;
  }

  copy(x: WasmStorage): WasmStorage {
    const out = this.alloc(x.n);
    this.kernels.abi.tensorCopyBlock(this.f32, x.ptr, 1, x.n, 0, 0, out.ptr, 0, 0);
    return out;
  }

  concat(parts: { s: WasmStorage; w: number }[], rows: number): WasmStorage {
    const total = parts.reduce((a, p) => a + p.w, 0);
    const out = this.alloc(rows * total);
    let off = 0;
    for (const { s, w } of parts) {
      this.kernels.abi.tensorCopyBlock(this.f32, s.ptr, rows, w, w, 0, out.ptr, total, off);
      off += w;
    }
    return out;
  }

  slice(x: WasmStorage, rows: number, total: number, start: number, end: number): WasmStorage {
    const w = end - start;
    const out = this.alloc(rows * w);
    this.kernels.abi.tensorCopyBlock(this.f32, x.ptr, rows, w, total, start, out.ptr, w, 0);
    return out;
  }

  adam(p: WasmStorage, g: WasmStorage, m: WasmStorage, v: WasmStorage, h: AdamHyper): void {
    this.kernels.abi.tensorAdam(this.f32, p.ptr, g.ptr, m.ptr, v.ptr, p.n, h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, h.c1, h.c2);
  }

  clampMin(x: WasmStorage, lo: number): void {
    this.kernels.abi.tensorClampMin(this.f32, x.ptr, x.n, lo);
  }
}

const engines = new Map<WasmPrecision, Promise<WasmTensorEngine>>();
/** Threaded engines, per runtime (a runtime replaced after dispose() gets new ones), precision and thread count. */
const threadedEngines = new WeakMap<ThreadedRuntime, Map<string, WasmTensorEngine>>();

/**
 * The wasm tensor engine of a precision (default f64). threads = 1 (the default): on this thread's wasm instance.
 * threads > 1 or 'auto' (every core): in the shared-memory instance, large products split between the threads —
 * a hint, as elsewhere: where threads cannot run (no threads platform, a thread that cannot block) or 'auto' finds
 * one core, the single-thread engine. Rejects with OTError('backend-unavailable') where the wasm cannot load.
 */
export async function wasmTensorEngine(precision: WasmPrecision = 'f64', threads: number | 'auto' = 1): Promise<WasmTensorEngine> {
  const want = wasmThreadsUnavailableReason() ? 1 : threads === 'auto' ? wasmThreadCount() : threads;
  if (want > 1) {
    const rt = await wasmThreads(want).catch(() => undefined);
    if (rt && !rt.kernels.retired) {
      const n = Math.min(want, rt.threads);
      let perRuntime = threadedEngines.get(rt);
      if (!perRuntime) threadedEngines.set(rt, (perRuntime = new Map()));
      const key = `${precision}/${n}`;
      let e = perRuntime.get(key);
      if (!e) perRuntime.set(key, (e = new WasmTensorEngine(rt.kernels, precision, { runtime: rt, threads: n })));
      return e;
    }
  }
  let e = engines.get(precision);
  if (!e) {
    e = wasmKernels().then((k) => {
      if (typeof k.exports.tensorMatmul !== 'function') throw new OTError('backend-unavailable', "wasm: the binary lacks the tensor kernels (stale build?).");
      return new WasmTensorEngine(k, precision);
    });
    e.catch(() => engines.delete(precision));
    engines.set(precision, e);
  }
  return e;
}
