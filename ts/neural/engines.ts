// Choosing a tensor engine by backend name (DESIGN.md's names): 'js' (f64, always there), 'wasm' (WASM SIMD f64,
// needs the wasm binary), 'webgpu' (f32, needs a device); a forced backend that is unavailable is
// OTError('backend-unavailable'), never a silent switch. No backend (the trainers' default) = the CPU default:
// wasm where it loads, else js. 'auto' = webgpu on a hardware adapter, else the CPU default (on a software
// adapter such as lavapipe the CPU engines are faster).
// Precision: 'f64' (the default on the CPU engines) or 'f32' (the wasm engine's f32 storages and kernels, about
// 1.8× faster matmuls; the webgpu engine is f32 only). A forced combination an engine cannot honour ('js' with
// 'f32', 'webgpu' with 'f64') is OTError('invalid-option') before any work.
// Threads: the wasm engine splits large products between threads (ts/neural/wasm-engine.ts); the trainers ask for
// every core by default.
import { OTError } from '../errors.js';
import { gpuDevice, gpuIsHardware } from '../backends/webgpu.js';
import { webgpuTensorEngine } from '../../gpu/tensor.js';
import type { TensorBackend, TensorEngine } from './engine.js';
import { jsTensorEngine } from './js-engine.js';
import { type WasmPrecision, wasmTensorEngine } from './wasm-engine.js';

/** A tensor engine by name: 'js' (f64), 'webgpu' (f32), or 'auto' (webgpu on a hardware adapter, else js). */
export type TensorBackendOption = TensorBackend | 'auto';

/** Floating-point precision of a training loop's tensors: 'f64' or 'f32'. */
export type TensorPrecision = WasmPrecision;

/**
 * The CPU default: the wasm engine where the binary loads (f64, or f32 when asked), else the js engine (f64 only:
 * a default backend falls back as it always did, whatever the precision; only a forced combination is an error).
 */
async function cpuDefault(precision: TensorPrecision, threads: number | 'auto'): Promise<TensorEngine> {
  try {
    return await wasmTensorEngine(precision, threads);
  } catch {
    return jsTensorEngine;
  }
}

/**
 * Checks a backend / precision pair (synchronously, so trainers can call it before any work): 'f32' on 'js' and
 * 'f64' on 'webgpu' are OTError('invalid-option'), as is a precision other than 'f64' / 'f32'.
 */
export function checkPrecision(backend: TensorBackendOption | undefined, precision: TensorPrecision | undefined): void {
  if (precision === undefined) return;
  if (precision !== 'f64' && precision !== 'f32') {
    throw new OTError('invalid-option', `precision must be 'f64' or 'f32' (got '${String(precision)}').`);
  }
  if (backend === 'js' && precision === 'f32') {
    throw new OTError('invalid-option', "precision 'f32' needs backend 'wasm' (or the default): the js engine computes in f64 only.");
  }
  if (backend === 'webgpu' && precision === 'f64') {
    throw new OTError('invalid-option', "precision 'f64' is not available on backend 'webgpu' (WGSL has no f64): use 'wasm' or 'js'.");
  }
}

/**
 * The engine for a backend option and a precision; backend undefined (the trainers' default) = the CPU default:
 * wasm where the binary loads, else js. precision undefined = f64 on the CPU engines, f32 on webgpu; 'auto' with
 * 'f64' stays on the CPU. Bad combinations ('js' + 'f32', 'webgpu' + 'f64') are OTError('invalid-option').
 * threads: the wasm engine's (wasmTensorEngine; 1 by default here, 'auto' in the trainers); other engines ignore it.
 */
export async function tensorEngine(backend?: TensorBackendOption, precision?: TensorPrecision, threads: number | 'auto' = 1): Promise<TensorEngine> {
  checkPrecision(backend, precision);
  const cpu = precision ?? 'f64';
  const gpu = async (): Promise<TensorEngine> => webgpuTensorEngine(await gpuDevice());
  if (backend === undefined) return cpuDefault(cpu, threads);
  if (backend === 'js') return jsTensorEngine;
  if (backend === 'wasm') return wasmTensorEngine(cpu, threads);
  if (backend === 'webgpu') return gpu();
  if (backend === 'auto') return precision !== 'f64' && (await gpuIsHardware()) ? gpu() : cpuDefault(cpu, threads);
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
  /**
   * Precision of the training loop's tensors (default 'f64' on the CPU engines; 'webgpu' is always 'f32'):
   * 'f32' runs the wasm engine on f32 storages and kernels, 1.4× (an ICNN step) to 2× (wide MLPs) faster per
   * step (float32 is what the reference PyTorch implementations train in); the returned networks are f64 copies
   * either way. 'f32' with
   * backend 'js' and 'f64' with backend 'webgpu' are OTError('invalid-option'); with the default backend where
   * the wasm binary cannot load, training falls back to js in f64.
   */
  precision?: TensorPrecision;
  /**
   * wasm: threads that share each large product of a step (≥ 2^17 multiply-adds, e.g. a 256-wide layer at batch
   * 256, forward and backward; the result is the same bit for bit); 'auto' (the default) uses every core where
   * threads can run (Node; a cross-origin-isolated browser worker), else one. A hint, never an error; other
   * engines ignore it.
   */
  threads?: number | 'auto';
}
