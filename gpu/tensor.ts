// The webgpu tensor engine: f32 storages in GPU buffers and the kernels of gpu/tensor-kernels.ts behind the
// TensorEngine seam (ts/neural/engine.ts), so ts/neural/tensor.ts's one autodiff runs on the GPU unchanged.
//
// - Ops encode their dispatches into one open compute pass and return; nothing is read back. The batch is submitted
//   when it reaches MAX_BATCH dispatches, before a read() or an assign() (queue.writeBuffer runs ahead of unsubmitted
//   commands), and at the end of the current task (a microtask), so a training step is a few submissions and only
//   `read()` (a copy into a mapped staging buffer) waits.
// - Buffers: each storage owns one, rounded up to 16 bytes; a storage released by its last tensor goes back to a
//   pool keyed by byte size and is reused by the next op of that size (a training step allocates the same sizes
//   every time, so after the first step it allocates nothing). Buffers released while a batch is open (tensors and
//   the ops' parameter buffers) enter the pool only once that batch is submitted, so a queue.writeBuffer into a
//   pooled buffer never overtakes a command that still reads it; kernels that reuse one run in queue order after
//   the old contents were read. `stats()` counts buffers for leak tests; `trim()` destroys the pool.
// - A lost device fails the next op (or a pending read) with OTError('device-lost'); make a new engine from a new
//   device.
import { OTError } from '../ts/errors.js';
import { type AdamHyper, type MapOp, type MatmulFlags, type Operand, type TensorEngine, broadcastStrides, isTrailing, sizeOf } from '../ts/neural/engine.js';
import { transpose as transposeKernel } from './kernels.js';
import type { KernelSource } from './kernels.js';
import { COPY_DST, COPY_SRC, GpuRuntime, STORAGE, UNIFORM, gridOf, kernel } from './runtime.js';
import * as TK from './tensor-kernels.js';

/** A tensor's values on the GPU: `n` f32 entries in `buf`, shared by `refs` tensors. */
export interface GpuStorage {
  /** The buffer: n f32 values (4·n bytes, rounded up to a multiple of 16, at least 16); usage STORAGE | UNIFORM | COPY_SRC | COPY_DST. */
  readonly buf: GPUBuffer;
  /** The number of f32 entries. */
  readonly n: number;
  /** Tensors sharing the storage (`retain` / `release`); at 0 the buffer returns to the engine's pool. */
  refs: number;
}

/** Above this many pooled bytes, released buffers are destroyed instead of kept. */
const POOL_LIMIT = 256 * 1024 * 1024;
/** Dispatches per submission at most. */
const MAX_BATCH = 128;
/** Sums over at least this many terms per output use one workgroup per output. */
const WORKGROUP_SUM_MIN = 256;

const f32bits = (x: number) => new Uint32Array(Float32Array.of(x).buffer)[0];

/** Cached per device, so every caller (trainers, tests) shares one engine and one pool. */
const engines = new WeakMap<GPUDevice, WebGpuTensorEngine>();

/** The tensor engine of a device. */
export function webgpuTensorEngine(device: GPUDevice): WebGpuTensorEngine {
  let e = engines.get(device);
  if (!e) engines.set(device, (e = new WebGpuTensorEngine(device)));
  return e;
}

/**
 * The WebGPU tensor engine (f32): storages are GPU buffers from a size-keyed pool, ops encode WGSL dispatches into
 * one batch submitted at the end of the task (or every 128 dispatches, or before a read), and only `read()` waits.
 * Get the shared one of a device with {@link webgpuTensorEngine}, or `tensorEngine('webgpu')`. A lost device
 * fails the next op with OTError('device-lost').
 */
export class WebGpuTensorEngine implements TensorEngine<GpuStorage> {
  /** The backend name, 'webgpu'. */
  readonly name = 'webgpu' as const;
  private readonly pool = new Map<number, GPUBuffer[]>();
  private pooledBytes = 0;
  private live = 0;
  private liveBytes = 0;
  /** Device loss and read-back; the pooled buffers are this engine's own (they outlive any one call). */
  private readonly rt: GpuRuntime;
  /** The open batch: its encoder, its compute pass (none while a copy was encoded last), its size. */
  private enc: GPUCommandEncoder | undefined;
  private pass: GPUComputePassEncoder | undefined;
  private batched = 0;
  /** Buffers released while the batch is open: they enter the pool when it is submitted. */
  private readonly deferred: GPUBuffer[] = [];

  constructor(
    /** The device whose buffers and pipelines the engine uses (not owned: destroying it is the caller's business). */
    readonly device: GPUDevice,
  ) {
    this.rt = new GpuRuntime(device, 'the webgpu tensor engine (and every tensor on it)');
  }

  /** Buffers held by tensors (live) and waiting in the pool. */
  stats(): {
    /** Buffers held by live storages. */
    liveBuffers: number;
    /** Their size in bytes. */
    liveBytes: number;
    /** Released buffers kept for reuse (up to 256 MiB in all). */
    pooledBuffers: number;
    /** Their size in bytes. */
    pooledBytes: number;
  } {
    let pooled = 0;
    for (const l of this.pool.values()) pooled += l.length;
    return { liveBuffers: this.live, liveBytes: this.liveBytes, pooledBuffers: pooled, pooledBytes: this.pooledBytes };
  }

  /** Destroys the pooled buffers (live tensors keep theirs). */
  trim(): void {
    for (const l of this.pool.values()) for (const b of l) b.destroy();
    this.pool.clear();
    this.pooledBytes = 0;
  }

  private alive(): void {
    this.rt.alive();
  }

  // ---- buffers -------------------------------------------------------------------------------------------

  private buffer(bytes: number): GPUBuffer {
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    const list = this.pool.get(size);
    const reused = list?.pop();
    if (reused) {
      this.pooledBytes -= size;
      return reused;
    }
    const max = this.device.limits.maxStorageBufferBindingSize;
    if (size > max) throw new OTError('too-large', `webgpu: a tensor of ${size} bytes exceeds this device's storage binding limit (${max} bytes).`);
    return this.device.createBuffer({ size, usage: STORAGE | UNIFORM | COPY_SRC | COPY_DST });
  }

  /** Submits the open batch (if any) and pools the buffers released during it. */
  flush(): void {
    if (this.enc) {
      this.pass?.end();
      this.pass = undefined;
      const cmd = this.enc.finish();
      this.enc = undefined;
      this.batched = 0;
      this.device.queue.submit([cmd]);
    }
    for (const b of this.deferred.splice(0)) this.recycle(b);
  }

  /** The open batch's encoder (opening one, and scheduling its submission at the end of this task). */
  private encoder(): GPUCommandEncoder {
    if (!this.enc) {
      this.enc = this.device.createCommandEncoder();
      queueMicrotask(() => this.flush());
    }
    return this.enc;
  }

  /** Returns a buffer to the pool once no open batch can still use it. */
  private releaseBuffer(buf: GPUBuffer): void {
    if (this.enc) this.deferred.push(buf);
    else this.recycle(buf);
  }

  private recycle(buf: GPUBuffer): void {
    if (this.pooledBytes + buf.size > POOL_LIMIT) {
      buf.destroy();
      return;
    }
    const list = this.pool.get(buf.size);
    if (list) list.push(buf);
    else this.pool.set(buf.size, [buf]);
    this.pooledBytes += buf.size;
  }

  private alloc(n: number): GpuStorage {
    this.alive();
    const buf = this.buffer(n * 4);
    this.live++;
    this.liveBytes += buf.size;
    return { buf, n, refs: 1 };
  }

  /** A small parameter buffer holding `words` (u32), released once the op that uses it is encoded. */
  private meta(words: ArrayLike<number>): GPUBuffer {
    const b = this.buffer(words.length * 4);
    this.device.queue.writeBuffer(b, 0, Uint32Array.from(words));
    return b;
  }

  /** Encodes dispatches (kernel, buffers in binding order, workgroups) into the open batch. */
  private run(steps: { src: KernelSource; bufs: GPUBuffer[]; groups: number | [number, number] }[], metas: GPUBuffer[]): void {
    const enc = this.encoder();
    const pass = (this.pass ??= enc.beginComputePass());
    for (const { src, bufs, groups } of steps) {
      const k = kernel(this.device, src);
      pass.setPipeline(k.pipeline);
      pass.setBindGroup(0, this.device.createBindGroup({ layout: k.layout, entries: bufs.map((buffer, i) => ({ binding: i, resource: { buffer } })) }));
      if (typeof groups === 'number') pass.dispatchWorkgroups(...gridOf(this.device, groups));
      else pass.dispatchWorkgroups(groups[0], groups[1]);
    }
    for (const m of metas) this.releaseBuffer(m);
    this.batched += steps.length;
    if (this.batched >= MAX_BATCH) this.flush();
  }

  /** One dispatch of `threads` threads of `src` over meta + bufs. */
  private launch(src: KernelSource, words: ArrayLike<number>, bufs: GPUBuffer[], threads: number): void {
    const m = this.meta(words);
    this.run([{ src, bufs: [m, ...bufs], groups: Math.ceil(threads / src.workgroupSize) }], [m]);
  }

  // ---- TensorEngine --------------------------------------------------------------------------------------

  fromArray(values: ArrayLike<number>): GpuStorage {
    const s = this.alloc(values.length);
    if (values.length > 0) this.device.queue.writeBuffer(s.buf, 0, Float32Array.from(values));
    return s;
  }

  full(size: number, value: number): GpuStorage {
    const s = this.alloc(size);
    if (size > 0) this.device.queue.writeBuffer(s.buf, 0, new Float32Array(size).fill(value));
    return s;
  }

  length(s: GpuStorage): number {
    if (!s || typeof s !== 'object' || !('buf' in s)) throw new OTError('invalid-option', 'webgpu engine: not a storage of this engine');
    return s.n;
  }

  async read(s: GpuStorage): Promise<Float64Array> {
    this.alive();
    const f = await this.rt.readBack(s.n * 4, (staging) => {
      this.copyInto(s.buf, staging, Math.max(16, Math.ceil((s.n * 4) / 16) * 16));
      this.flush();
    });
    return Float64Array.from(f);
  }

  readSync(): undefined {
    return undefined;
  }

  write(s: GpuStorage, values: ArrayLike<number>): void {
    this.alive();
    if (values.length !== s.n) throw new OTError('shape', `write: ${values.length} values for a storage of ${s.n}`);
    this.flush(); // commands already encoded must read the old values
    if (s.n > 0) this.device.queue.writeBuffer(s.buf, 0, Float32Array.from(values));
  }

  retain(s: GpuStorage): void {
    s.refs++;
  }

  release(s: GpuStorage): void {
    if (s.refs <= 0) return; // already freed: never pool a buffer twice
    if (--s.refs > 0) return;
    this.live--;
    this.liveBytes -= s.buf.size;
    if (this.rt.lost) s.buf.destroy();
    else this.releaseBuffer(s.buf);
  }

  map(op: MapOp, inputs: Operand<GpuStorage>[], outShape: readonly number[], p = 0): GpuStorage {
    const n = sizeOf(outShape);
    const out = this.alloc(n);
    if (n === 0) return out;
    const arity = inputs.length as 1 | 2;
    const trailing = inputs.every((x) => isTrailing(x.shape, outShape));
    const rank = outShape.length;
    const words = [n, rank, f32bits(p), inputs[0].s.n, arity === 2 ? inputs[1].s.n : 1];
    if (!trailing) {
      words.push(...outShape, ...broadcastStrides(inputs[0].shape, outShape), ...(arity === 2 ? broadcastStrides(inputs[1].shape, outShape) : new Array<number>(rank).fill(0)));
    }
    this.launch(TK.mapKernel(op, arity, trailing), words, [...inputs.map((x) => x.s.buf), out.buf], n);
    return out;
  }

  sumTo(x: Operand<GpuStorage>, shape: readonly number[]): GpuStorage {
    const nOut = sizeOf(shape);
    const out = this.alloc(nOut);
    if (nOut === 0) return out;
    const r = x.shape.length;
    // target dims right-aligned to x's rank; a dim is kept (same size) or reduced (target 1)
    const od = x.shape.map((_, i) => (i < r - shape.length ? 1 : shape[i - (r - shape.length)]));
    const rdim = x.shape.map((d, i) => (od[i] === d ? 1 : d));
    const xs = new Array<number>(r);
    for (let i = r - 1, s = 1; i >= 0; i--) {
      xs[i] = s;
      s *= x.shape[i];
    }
    const R = sizeOf(rdim);
    const words = [nOut, R, r, ...od, ...rdim, ...xs];
    if (R >= WORKGROUP_SUM_MIN) {
      const m = this.meta(words);
      this.run([{ src: TK.sumToWorkgroups(), bufs: [m, x.s.buf, out.buf], groups: nOut }], [m]);
    } else {
      this.launch(TK.sumToThreads(), words, [x.s.buf, out.buf], nOut);
    }
    return out;
  }

  matmul(a: GpuStorage, b: GpuStorage, m: number, k: number, n: number, opts: MatmulFlags<GpuStorage> = {}): GpuStorage {
    const out = this.alloc(m * n);
    if (m * n === 0) return out;
    const gx = Math.ceil(n / TK.TILE);
    const gy = Math.ceil(m / TK.TILE);
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (gx > max || gy > max) throw new OTError('too-large', `webgpu matmul: [${m} × ${k}]·[${k} × ${n}] needs more than ${max} tiles per side.`);
    const P = this.meta([m, k, n, opts.transA ? 1 : 0, opts.transB ? 1 : 0, opts.bias ? 1 : 0, 0, 0]);
    this.run([{ src: TK.matmulKernel(), bufs: [P, a.buf, b.buf, (opts.bias ?? a).buf, out.buf], groups: [gx, gy] }], [P]);
    return out;
  }

  transpose(x: GpuStorage, m: number, n: number): GpuStorage {
    const out = this.alloc(m * n);
    if (m * n === 0) return out;
    // gpu/kernels.ts's transpose reads the entropic Params block: nOut = rows, nIn = cols (8 words)
    const P = this.meta([m, n, 0, 0, 0, 0, 0, 0]);
    this.run([{ src: transposeKernel(TK.WG), bufs: [P, x.buf, out.buf], groups: Math.ceil((m * n) / TK.WG) }], [P]);
    return out;
  }

  copy(x: GpuStorage): GpuStorage {
    const out = this.alloc(x.n);
    if (x.n > 0) this.copyInto(x.buf, out.buf, x.n * 4);
    return out;
  }

  /** Encodes a buffer copy into the open batch (closing its compute pass; the next dispatch opens another). */
  private copyInto(src: GPUBuffer, dst: GPUBuffer, bytes: number): void {
    const enc = this.encoder();
    this.pass?.end();
    this.pass = undefined;
    enc.copyBufferToBuffer(src, 0, dst, 0, bytes);
  }

  /** Copies a rows × w block between row-major matrices (one dispatch of the copy kernel per block). */
  private blocks(parts: { src: GpuStorage; rows: number; w: number; srcStride: number; srcOff: number; dstStride: number; dstOff: number }[], dst: GpuStorage): void {
    const metas: GPUBuffer[] = [];
    const steps = parts
      .filter((p) => p.rows * p.w > 0)
      .map((p) => {
        const m = this.meta([p.rows, p.w, p.srcStride, p.srcOff, p.dstStride, p.dstOff]);
        metas.push(m);
        return { src: TK.copyBlockKernel(), bufs: [m, p.src.buf, dst.buf], groups: Math.ceil((p.rows * p.w) / TK.WG) };
      });
    if (steps.length > 0) this.run(steps, metas);
    else metas.forEach((m) => this.releaseBuffer(m));
  }

  concat(parts: { s: GpuStorage; w: number }[], rows: number): GpuStorage {
    const total = parts.reduce((a, p) => a + p.w, 0);
    const out = this.alloc(rows * total);
    let off = 0;
    this.blocks(
      parts.map(({ s, w }) => {
        const b = { src: s, rows, w, srcStride: w, srcOff: 0, dstStride: total, dstOff: off };
        off += w;
        return b;
      }),
      out,
    );
    return out;
  }

  slice(x: GpuStorage, rows: number, total: number, start: number, end: number): GpuStorage {
    const w = end - start;
    const out = this.alloc(rows * w);
    this.blocks([{ src: x, rows, w, srcStride: total, srcOff: start, dstStride: w, dstOff: 0 }], out);
    return out;
  }

  adam(p: GpuStorage, g: GpuStorage, m: GpuStorage, v: GpuStorage, h: AdamHyper): void {
    this.alive();
    if (p.n === 0) return;
    const words = [p.n, ...[h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, h.c1, h.c2].map(f32bits)];
    this.launch(TK.adamKernel(), words, [p.buf, g.buf, m.buf, v.buf], p.n);
  }

  clampMin(x: GpuStorage, lo: number): void {
    this.alive();
    if (x.n > 0) this.launch(TK.clampMinKernel(), [x.n, f32bits(lo)], [x.buf], x.n);
  }
}
