// The webgpu backend's device: acquired once per thread from a provider that bindings/ registers (the
// `webgpu` npm package in Node, navigator.gpu in browsers), so this module stays environment-agnostic.
// A lost device is dropped from the cache, so the next call acquires a fresh one.
import { OTError } from '../errors.js';

/** Returns the GPU entry point (navigator.gpu or an equivalent), or undefined where there is none. */
export type GpuProvider = () => Promise<GPU | undefined>;

let provider: GpuProvider | undefined;
let acquiring: Promise<GPUDevice> | undefined;
let failure: string | undefined;
/** Whether the adapter behind the current device is a software rasteriser (lavapipe, SwiftShader, WARP). */
let software = true;
/** The adapter behind the current device, as backends() and the CLI report it (e.g. "llvmpipe … (software)"). */
let adapterLabel: string | undefined;

/** Register where the GPU comes from (bindings/ does this; call it yourself to supply your own). */
export function setGpuProvider(p: GpuProvider): void {
  provider = p;
  acquiring = undefined;
  failure = undefined;
}

async function acquire(p: GpuProvider): Promise<GPUDevice> {
  let gpu: GPU | undefined;
  try {
    gpu = await p();
  } catch (e) {
    throw new Error((e as Error).message ?? String(e));
  }
  if (!gpu) throw new Error('this environment has no WebGPU');
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('no adapter');
  const info = (adapter as unknown as { info?: GPUAdapterInfo & { isFallbackAdapter?: boolean } }).info;
  software =
    Boolean(info?.isFallbackAdapter ?? (adapter as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter) ||
    /software|cpu|swiftshader|llvmpipe|lavapipe/i.test(`${info?.architecture ?? ''} ${info?.description ?? ''} ${info?.device ?? ''}`);
  const name = info?.description?.trim() || [info?.vendor, info?.architecture, info?.device].filter((x) => x && String(x).trim()).join(' ');
  adapterLabel = `${name || 'unnamed adapter'}${software ? ' (software)' : ''}`;
  // Ask for what the adapter can do on the limits the engines are sized by (the defaults are far lower:
  // 128 MiB bindings and 256 threads per workgroup).
  const names = ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupSizeX', 'maxComputeInvocationsPerWorkgroup'] as const;
  const requiredLimits: Record<string, number> = {};
  for (const k of names) requiredLimits[k] = adapter.limits[k];
  return adapter.requestDevice({ requiredLimits });
}

/** The shared device; rejects with OTError('backend-unavailable', 'webgpu: <reason>') where there is none. */
export function gpuDevice(): Promise<GPUDevice> {
  if (!provider) {
    return Promise.reject(new OTError('backend-unavailable', 'webgpu: no GPU provider registered. Import the package entry (kantorovich) or call setGpuProvider().'));
  }
  if (!acquiring) {
    const mine: Promise<GPUDevice> = acquire(provider).then(
      (device) => {
        failure = undefined;
        void device.lost.then(() => {
          if (acquiring === mine) acquiring = undefined;
        });
        return device;
      },
      (e: Error) => {
        if (acquiring === mine) acquiring = undefined;
        failure = `webgpu: ${e.message}`;
        throw new OTError('backend-unavailable', `${failure}.`);
      },
    );
    acquiring = mine;
  }
  return acquiring;
}

/** Why webgpu is unavailable, or undefined when a device was acquired (or not tried yet). */
export function webgpuUnavailableReason(): string | undefined {
  return provider ? failure : 'webgpu: no GPU provider registered';
}

/** True when a device can be acquired and it runs on real GPU hardware (not a software fallback adapter). */
export async function gpuIsHardware(): Promise<boolean> {
  try {
    await gpuDevice();
  } catch {
    return false;
  }
  return !software;
}

/** The adapter behind the current device ("<vendor> <architecture> <device>", "(software)" appended for a
 *  software rasteriser such as lavapipe or SwiftShader), or undefined before a device was acquired. */
export function gpuAdapterLabel(): string | undefined {
  return adapterLabel;
}
