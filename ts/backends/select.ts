// Backend choice for one call. A forced backend that is unavailable is an error, never a silent switch.
import { OTError } from '../errors.js';
import type { BackendName, BackendOption } from '../types.js';
import { type WasmKernels, wasmKernels } from './wasm.js';

export type Chosen = { name: 'wasm'; wasm: WasmKernels } | { name: 'js' };

/**
 * Pick the first available backend among those the solver implements, in the order webgpu → wasm → js
 * (this solvers implement wasm and js).
 */
export async function chooseBackend(solver: string, implemented: BackendName[], requested: BackendOption = 'auto'): Promise<Chosen> {
  if (requested !== 'auto') {
    if (!implemented.includes(requested)) {
      throw new OTError('backend-unavailable', `${solver} has no '${requested}' backend; it runs on: ${implemented.join(', ')}.`);
    }
    if (requested === 'wasm') return { name: 'wasm', wasm: await wasmKernels() };
    if (requested === 'js') return { name: 'js' };
    throw new OTError('backend-unavailable', `${solver}: backend '${requested}' is not available in this build.`);
  }
  if (implemented.includes('wasm')) {
    try {
      return { name: 'wasm', wasm: await wasmKernels() };
    } catch (e) {
      if (!implemented.includes('js')) throw e;
    }
  }
  if (implemented.includes('js')) return { name: 'js' };
  throw new OTError('backend-unavailable', `${solver}: none of its backends (${implemented.join(', ')}) is available.`);
}
