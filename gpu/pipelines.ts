// What every WebGPU engine here shares: the usage-flag values, compiled pipelines cached per device by WGSL
// source, and the workgroup grid of a one-thread-per-item dispatch.
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
