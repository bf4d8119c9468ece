// Choosing a tensor engine by backend name (DESIGN.md's names): 'js' (f64, always there), 'wasm' (WASM SIMD f64,
// needs the wasm binary), 'webgpu' (f32, needs a device); a forced backend that is unavailable is
// OTError('backend-unavailable'), never a silent switch. No backend (the trainers' default) = the CPU default:
// wasm where it loads, else js. 'auto' = webgpu on a hardware adapter, else the CPU default (on a software
// adapter such as lavapipe the CPU engines are faster).
import { OTError } from '../errors.js';
import { gpuDevice, gpuIsHardware } from '../backends/webgpu.js';
import { webgpuTensorEngine } from '../../gpu/tensor.js';
import type { TensorBackend, TensorEngine } from './engine.js';
import { jsTensorEngine } from './js-engine.js';
import { wasmTensorEngine } from './wasm-engine.js';

/** A tensor engine by name: 'js' (f64), 'webgpu' (f32), or 'auto' (webgpu on a hardware adapter, else js). */
export type TensorBackendOption = TensorBackend | 'auto';

/** The CPU default: the wasm engine (f64) where the binary loads, else the js engine. */
async function cpuDefault(): Promise<TensorEngine> {
  try {
    return await wasmTensorEngine('f64');
  } catch {
    return jsTensorEngine;
  }
}

/**
 * The engine for a backend option; undefined (the trainers' default) = the CPU default: wasm (f64) where the
 * binary loads, else js.
 */
export async function tensorEngine(backend?: TensorBackendOption): Promise<TensorEngine> {
  const gpu = async (): Promise<TensorEngine> => webgpuTensorEngine(await gpuDevice());
  if (backend === undefined) return cpuDefault();
  if (backend === 'js') return jsTensorEngine;
  if (backend === 'wasm') return wasmTensorEngine('f64');
  if (backend === 'webgpu') return gpu();
  if (backend === 'auto') return (await gpuIsHardware()) ? gpu() : cpuDefault();
  throw new OTError('invalid-option', `backend must be 'js', 'wasm', 'webgpu' or 'auto' (got '${String(backend)}').`);
}

/** The engine option every neural trainer takes. */
export interface NeuralBackendOptions {
  /**
   * Tensor engine of the training loop: 'wasm' (WASM SIMD, f64; the default, which falls back to js where the
   * binary cannot load, while a forced 'wasm' is OTError('backend-unavailable') there), 'js' (plain TypeScript f64,
   * the reference), 'webgpu' (f32; OTError('backend-unavailable') where there is no adapter) or 'auto' (webgpu on
   * a hardware adapter, else wasm, else js). Trained networks are returned on the js engine either way (copied
   * back), so results evaluate synchronously.
   */
  backend?: TensorBackendOption;
}
