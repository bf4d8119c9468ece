// Browser entry: bundlers recognise `new URL(…, import.meta.url)` and ship the wasm file as an asset.
// Host it elsewhere with setWasmSource(() => fetch(yourUrl)). The GPU is navigator.gpu (also in workers).
import { setWasmSource } from '../ts/backends/wasm.js';
import { setGpuProvider } from '../ts/backends/webgpu.js';

setWasmSource(() => fetch(new URL('../../build/kantorovich.wasm', import.meta.url)));
setGpuProvider(async () => (typeof navigator !== 'undefined' ? navigator.gpu : undefined) ?? undefined);

export * from '../ts/index.js';
