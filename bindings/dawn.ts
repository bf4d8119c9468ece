// Node's WebGPU: Dawn from the optional peer dependency `webgpu` (npm i webgpu). Without it, Node runs the
// wasm and js backends and backends() says how to enable WebGPU. Shared by the entry and the pool's workers.

/** The message backends() and a forced { backend: 'webgpu' } give when the package is not installed. */
export const DAWN_MISSING = "the optional 'webgpu' package (Dawn) is not installed: `npm i webgpu` to enable WebGPU in Node";

// Held for the life of the process: Dawn segfaults if the object from create() is garbage-collected while
// one of its devices is in use.
let dawn: GPU | undefined;

/** Loads Dawn once (the module name is not a literal, so bundlers targeting Node never try to resolve it). */
export async function dawnGpu(): Promise<GPU> {
  if (!dawn) {
    const name = 'webgpu';
    let mod: { create(flags: string[]): GPU; globals: Record<string, unknown> };
    try {
      mod = (await import(name)) as typeof mod;
    } catch (e) {
      const code = (e as { code?: string }).code;
      if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && /'webgpu'/.test((e as Error).message)) throw new Error(DAWN_MISSING);
      throw new Error(`the 'webgpu' package failed to load (${(e as Error).message})`);
    }
    Object.assign(globalThis, mod.globals);
    // On Vulkan drivers that report more than 16 dynamic uniform/storage buffers per pipeline layout (lavapipe
    // and NVIDIA report 10^6, RADV 500000) the first requestAdapter prints two "Warning: maxDynamic…
    // artificially reduced … to fit dynamic offset allocation limit." lines. They cannot be silenced from here:
    // Dawn's NormalizeLimits (src/dawn/native/Limits.cpp) clamps unconditionally and logs with
    // dawn::WarningLog(), whose LogMessage destructor fprintf()s to stderr (fd 2) unless Dawn was compiled with
    // DAWN_DISABLE_LOGGING; it is neither a toggle (enable-/disable-dawn-features) nor a create() flag (the
    // others are backend, adapter, dlldir, validate, verbose), nor a device logging callback, and Node cannot
    // redirect fd 2 around a native call. Only the process that reads our stderr can filter it (the tests do).
    dawn = mod.create([]);
  }
  return dawn;
}
