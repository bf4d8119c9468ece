// Choosing a tensor engine by backend name (DESIGN.md's names): 'js' (f64, always there), 'webgpu' (f32, needs a
// device; a forced webgpu that is unavailable is OTError('backend-unavailable'), never a silent switch), 'auto'
// (webgpu on a hardware adapter, else js: on a software adapter such as lavapipe the js engine is faster).
import { OTError } from '../errors.js';
import { gpuDevice, gpuIsHardware } from '../backends/webgpu.js';
import { webgpuTensorEngine } from '../../gpu/tensor.js';
import type { TensorBackend, TensorEngine } from './engine.js';
import { jsTensorEngine } from './js-engine.js';

/** A tensor engine by name: 'js' (f64), 'webgpu' (f32), or 'auto' (webgpu on a hardware adapter, else js). */
export type TensorBackendOption = TensorBackend | 'auto';

/** The engine for a backend option (default 'js'). */
export async function tensorEngine(backend: TensorBackendOption = 'js'): Promise<TensorEngine> {
  const gpu = async (): Promise<TensorEngine> => webgpuTensorEngine(await gpuDevice());
  if (backend === 'js') return jsTensorEngine;
  if (backend === 'webgpu') return gpu();
  if (backend === 'auto') return (await gpuIsHardware()) ? gpu() : jsTensorEngine;
  throw new OTError('invalid-option', `backend must be 'js', 'webgpu' or 'auto' (got '${String(backend)}').`);
}

/** The engine option every neural trainer takes. */
export interface NeuralBackendOptions {
  /**
   * Tensor engine of the training loop: 'js' (f64, default), 'webgpu' (f32; OTError('backend-unavailable') where
   * there is no adapter) or 'auto' (webgpu on a hardware adapter, else js). Trained networks are returned on the js
   * engine either way (copied back from the GPU), so results evaluate synchronously.
   */
  backend?: TensorBackendOption;
}
