// Backend choice for one call. A forced backend that is unavailable is an error, never a silent switch.
import { OTError } from '../errors.js';
import type { BackendName } from '../types.js';
import { type WasmKernels, wasmKernels } from './wasm.js';
import { gpuDevice, gpuIsHardware, webgpuUnavailableReason } from './webgpu.js';
import { engineBackends } from '../entropic/select.js';

export type BackendOption = BackendName | 'auto';

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

/** The solvers whose backends come from the entropic engine registry (ts/entropic/select.ts). */
const ENTROPIC_SOLVERS = ['sinkhorn', 'sinkhornUnbalanced', 'sinkhornDivergence'] as const;

/**
 * Which backends implement each public solver (the lists the solvers pass to chooseBackend; entropic
 * solvers follow the registered engines). Solvers that gain a backend declare it with registerSolverBackends.
 */
const SOLVER_BACKENDS = new Map<string, BackendName[]>([
  ['emd', ['wasm']],
  ['emd1d', ['wasm', 'js']],
  ['wasserstein1d', ['wasm', 'js']],
  ['slicedWasserstein', ['wasm', 'js']],
  ['maxSlicedWasserstein', ['wasm', 'js']],
  ['barycenter', ['webgpu', 'wasm', 'js']],
  ['convolutionalBarycenter', ['webgpu', 'wasm', 'js']],
  ['freeSupportBarycenter', ['wasm']],
]);

/** Declare (or change) the backends that implement a solver, as reported by backends(). */
export function registerSolverBackends(solver: string, implemented: BackendName[]): void {
  SOLVER_BACKENDS.set(solver, [...implemented]);
}

/** solver → the backends that implement it, auto order (webgpu → wasm → js). */
export function solverBackends(): Record<string, BackendName[]> {
  const order: BackendName[] = ['webgpu', 'wasm', 'js'];
  const out: Record<string, BackendName[]> = {};
  const engines = engineBackends();
  for (const s of ENTROPIC_SOLVERS) out[s] = engines;
  for (const [s, list] of SOLVER_BACKENDS) out[s] = order.filter((b) => list.includes(b));
  return out;
}

export interface BackendReport {
  name: BackendName;
  /** Whether calls can run on it here. */
  available: boolean;
  /** Why not, when unavailable (e.g. "webgpu: no adapter"). */
  reason?: string;
  /** What `auto` does with it when it is available but not preferred (e.g. a software GPU adapter). */
  note?: string;
  /** The public solvers that implement this backend (whether or not it is available here). */
  solvers: string[];
}

/** What is available here, and why not where it is not, with the solvers each backend implements. */
export async function backends(): Promise<BackendReport[]> {
  const table = solverBackends();
  const solversOf = (b: BackendName) => Object.keys(table).filter((s) => table[s].includes(b));
  const out: BackendReport[] = [];
  try {
    await gpuDevice();
    const hardware = await gpuIsHardware();
    out.push({
      name: 'webgpu',
      available: true,
      ...(hardware ? {} : { note: "software adapter: 'auto' never picks it; force it with { backend: 'webgpu' }" }),
      solvers: solversOf('webgpu'),
    });
  } catch (e) {
    out.push({ name: 'webgpu', available: false, reason: webgpuUnavailableReason() ?? (e as Error).message, solvers: solversOf('webgpu') });
  }
  try {
    await wasmKernels();
    out.push({ name: 'wasm', available: true, solvers: solversOf('wasm') });
  } catch (e) {
    out.push({ name: 'wasm', available: false, reason: (e as Error).message, solvers: solversOf('wasm') });
  }
  out.push({ name: 'js', available: true, solvers: solversOf('js') });
  return out;
}
