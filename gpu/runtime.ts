// The one WebGPU runtime every engine here shares (entropic, grid, tensor): usage flags, compiled pipelines cached
// per device, dispatch records, submission, read-back through a staging buffer, and device loss. A loss, or an
// engine used after dispose(), is an OTError at the next call, never a hang on a promise the lost device will
// not settle.
import { OTError } from '../ts/errors.js';
import type { KernelSource } from './kernels.js';

// GPUBufferUsage / GPUShaderStage / GPUMapMode values, spelled out so these modules also work with a device
// from a WebGPU implementation that did not install its globals.
export const STORAGE = 0x80,
  UNIFORM = 0x40,
  COPY_DST = 0x8,
  COPY_SRC = 0x4,
  MAP_READ = 0x1,
  COMPUTE = 0x4;

export interface Kernel {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  src: KernelSource;
}

/** One recorded dispatch: a kernel, its bind group, and the workgroup grid. */
export interface Dispatch {
  k: Kernel;
  bg: GPUBindGroup;
  grid: [number, number, number];
}

/** Compiled pipelines per device, keyed by WGSL source: engines of the same shape share them. */
const pipelineCache = new WeakMap<GPUDevice, Map<string, Kernel>>();

export function kernel(device: GPUDevice, src: KernelSource): Kernel {
  let cache = pipelineCache.get(device);
  if (!cache) pipelineCache.set(device, (cache = new Map()));
  let k = cache.get(src.code);
  if (!k) {
    const layout = device.createBindGroupLayout({
      entries: src.bindings.map((b, i) => ({
        binding: i,
        visibility: COMPUTE,
        buffer: { type: b.access === 'uniform' ? 'uniform' : b.access === 'read' ? 'read-only-storage' : 'storage' },
      })),
    });
    const pipeline = device.createComputePipeline({
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module: device.createShaderModule({ code: src.code }), entryPoint: 'main' },
    });
    cache.set(src.code, (k = { pipeline, layout, src }));
  }
  return k;
}

/** Workgroups for `groups` groups: beyond the per-dimension limit they spill into y (kernels rebuild t from x and y). */
export function gridOf(device: GPUDevice, groups: number, z = 1): [number, number, number] {
  const g = Math.max(1, groups);
  const maxX = device.limits.maxComputeWorkgroupsPerDimension;
  return g <= maxX ? [g, 1, z] : [maxX, Math.ceil(g / maxX), z];
}

/** A device's loss, watched once for all engines on it. */
const losses = new WeakMap<GPUDevice, { lost: Promise<void>; info?: GPUDeviceLostInfo }>();

function lossOf(device: GPUDevice): { lost: Promise<void>; info?: GPUDeviceLostInfo } {
  let l = losses.get(device);
  if (!l) {
    const entry: { lost: Promise<void>; info?: GPUDeviceLostInfo } = { lost: Promise.resolve() };
    entry.lost = device.lost.then((info) => {
      entry.info = info;
    });
    losses.set(device, (l = entry));
  }
  return l;
}

/**
 * One engine's handle on its device: the buffers it owns (destroyed together by `dispose()`), dispatch records,
 * submission and read-back. `what` names the engine in error messages.
 */
export class GpuRuntime {
  private readonly loss: { lost: Promise<void>; info?: GPUDeviceLostInfo };
  private owned: GPUBuffer[] = [];
  private disposed = false;

  constructor(
    readonly device: GPUDevice,
    private readonly what: string,
  ) {
    this.loss = lossOf(device);
  }

  /** The largest buffer one binding may hold on this device, in bytes. */
  get maxBinding(): number {
    return Math.min(this.device.limits.maxStorageBufferBindingSize, this.device.limits.maxBufferSize);
  }

  /** Whether the device was lost. */
  get lost(): boolean {
    return this.loss.info !== undefined;
  }

  /** Throws OTError('device-lost') after a loss and OTError('disposed') after dispose(). */
  alive(): void {
    const info = this.loss.info;
    if (info) throw new OTError('device-lost', `webgpu: the device was lost (${info.reason}: ${info.message}); ${this.what} is gone, make a new one.`);
    if (this.disposed) throw new OTError('disposed', `webgpu: ${this.what} was used after dispose().`);
  }

  /**
   * A buffer owned by this runtime, destroyed by dispose(). Its size is `bytes` rounded up to a multiple of 4
   * (at least 16): kernels that bound their threads by arrayLength() see the data's own length.
   */
  buffer(bytes: number, usage = STORAGE | COPY_SRC | COPY_DST): GPUBuffer {
    const b = this.device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 4) * 4), usage });
    this.owned.push(b);
    return b;
  }

  /** An owned storage buffer holding `data`. */
  upload(data: Float32Array<ArrayBuffer> | Uint32Array<ArrayBuffer>): GPUBuffer {
    const b = this.buffer(data.byteLength);
    this.device.queue.writeBuffer(b, 0, data);
    return b;
  }

  /** A dispatch of `threads` threads of `src`, its bindings looked up by name in `bufs`. */
  dispatch(src: KernelSource, bufs: Record<string, GPUBuffer>, threads: number, z = 1): Dispatch {
    const k = kernel(this.device, src);
    const bg = this.device.createBindGroup({
      layout: k.layout,
      entries: src.bindings.map((b, i) => {
        const buffer = bufs[b.name];
        if (!buffer) throw new OTError('internal', `webgpu: kernel binding '${b.name}' has no buffer. This is a bug in kantorovich; please report it.`);
        return { binding: i, resource: { buffer } };
      }),
    });
    return { k, bg, grid: gridOf(this.device, Math.ceil(threads / src.workgroupSize), z) };
  }

  /** Encodes dispatches (in order, one compute pass) and optional copies, and submits them as one command buffer. */
  submit(ds: Dispatch[], copies?: (enc: GPUCommandEncoder) => void): void {
    const enc = this.device.createCommandEncoder();
    if (ds.length > 0) {
      const pass = enc.beginComputePass();
      for (const d of ds) {
        pass.setPipeline(d.k.pipeline);
        pass.setBindGroup(0, d.bg);
        pass.dispatchWorkgroups(...d.grid);
      }
      pass.end();
    }
    copies?.(enc);
    this.device.queue.submit([enc.finish()]);
  }

  /** Awaits GPU work, but stops waiting as soon as the device is lost; a loss becomes OTError('device-lost'). */
  async settle<T>(work: Promise<T>): Promise<void> {
    this.alive();
    try {
      await Promise.race([work, this.loss.lost]);
    } catch (e) {
      // A mapAsync refused because of the loss may settle before `lost` does: give the loss a moment to land.
      await Promise.race([this.loss.lost, new Promise((r) => setTimeout(r, 100))]);
      this.alive();
      throw e;
    }
    this.alive();
  }

  /** Waits until everything submitted so far has run. */
  idle(): Promise<void> {
    return this.settle(this.device.queue.onSubmittedWorkDone());
  }

  /**
   * Read-back: `encode` records the copies into a fresh staging buffer of `bytes` bytes (and submits them, with
   * whatever must run first); the mapped contents come back as an f32 copy.
   */
  async readBack(bytes: number, encode: (staging: GPUBuffer) => void): Promise<Float32Array> {
    this.alive();
    const staging = this.device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage: MAP_READ | COPY_DST });
    try {
      encode(staging);
      await this.settle(staging.mapAsync(1 /* GPUMapMode.READ */));
      const out = new Float32Array(staging.getMappedRange().slice(0, bytes));
      staging.unmap();
      return out;
    } finally {
      staging.destroy();
    }
  }

  /** Runs `ds`, then copies `srcs` (f32 counts) into one staging buffer and returns their contents. */
  async read(ds: Dispatch[], srcs: GPUBuffer[], counts: number[]): Promise<Float32Array[]> {
    const total = counts.reduce((s, c) => s + c, 0);
    const all = await this.readBack(total * 4, (staging) =>
      this.submit(ds, (enc) => {
        let off = 0;
        srcs.forEach((s, i) => {
          if (counts[i] > 0) enc.copyBufferToBuffer(s, 0, staging, off * 4, counts[i] * 4);
          off += counts[i];
        });
      }),
    );
    let off = 0;
    return counts.map((c) => all.subarray(off, (off += c)));
  }

  /** Bytes of the buffers this runtime owns now. */
  get ownedBytes(): number {
    return this.owned.reduce((s, b) => s + b.size, 0);
  }

  /** Destroys the owned buffers; later calls are OTError('disposed'). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const b of this.owned) b.destroy();
    this.owned = [];
  }

  /** Destroys one owned buffer before dispose() (temporary buffers of a single call). */
  release(b: GPUBuffer): void {
    b.destroy();
    this.owned = this.owned.filter((o) => o !== b);
  }

  /**
   * Builds an engine under error scopes: an out-of-memory becomes OTError('too-large') naming `size`, a validation
   * failure (WGSL, bindings: a bug of ours, never the caller's input) OTError('internal'). The half-built engine
   * is disposed.
   */
  static async build<T extends { dispose(): void }>(device: GPUDevice, size: string, make: () => T): Promise<T> {
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    let made: T | undefined;
    try {
      made = make();
    } finally {
      const validation = await device.popErrorScope();
      const oom = await device.popErrorScope();
      if (made && (validation || oom)) made.dispose();
      if (oom) throw new OTError('too-large', `webgpu: out of GPU memory for ${size} (${oom.message}).`);
      if (validation) throw new OTError('internal', `webgpu: ${validation.message}. This is a bug in kantorovich; please report it.`);
    }
    return made;
  }
}
