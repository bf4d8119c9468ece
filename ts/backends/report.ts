// What is available here, per backend, with the solvers that implement each (from the registry).
import type { BackendName } from '../types.js';
import { wasmKernels } from './wasm.js';
import { gpuAdapterLabel, gpuDevice, gpuIsHardware, webgpuUnavailableReason } from './webgpu.js';
import { SOLVERS } from '../registry/registry.js';
import { backendsOf } from '../registry/define.js';

/** One row of {@link backends}: whether a backend runs here, why not, and which solvers it serves. */
export interface BackendReport {
  /** The backend. */
  name: BackendName;
  /** Whether calls can run on it here. */
  available: boolean;
  /** Why not, when unavailable (e.g. "webgpu: no adapter"). */
  reason?: string;
  /** What `auto` does with it when it is available but not preferred (e.g. a software GPU adapter). */
  note?: string;
  /** webgpu: the adapter it runs on, "(software)" appended for lavapipe, SwiftShader, WARP. */
  adapter?: string;
  /** The public solvers that implement this backend (whether or not it is available here). */
  solvers: string[];
}

/** What is available here, and why not where it is not, with the solvers each backend implements. */
export async function backends(): Promise<BackendReport[]> {
  const solversOf = (b: BackendName) => [...SOLVERS.values()].filter((d) => backendsOf(d).includes(b)).map((d) => d.name);
  const out: BackendReport[] = [];
  try {
    await gpuDevice();
    const hardware = await gpuIsHardware();
    out.push({
      name: 'webgpu',
      available: true,
      adapter: gpuAdapterLabel(),
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
