// Node entry: the wasm binary is read from the package's build/ folder next to dist/; the GPU comes from
// the `webgpu` package (Dawn), loaded on the first GPU call only.
import { readFile } from 'node:fs/promises';
import { setWasmSource } from '../ts/backends/wasm.js';
import { setGpuProvider } from '../ts/backends/webgpu.js';

setWasmSource(() => readFile(new URL('../../build/kantorovich.wasm', import.meta.url)));

// Held for the life of the process: Dawn segfaults if the object from create() is garbage-collected while
// one of its devices is in use (docs: PLATFORM.md).
let dawn: GPU | undefined;
setGpuProvider(async () => {
  if (!dawn) {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    dawn = create([]);
  }
  return dawn;
});

export * from '../ts/index.js';
