// Browser entry: bundlers recognise `new URL(…, import.meta.url)` and ship the wasm file as an asset.
// Host it elsewhere with setWasmSource(() => fetch(yourUrl)).
import { setWasmSource } from '../ts/backends/wasm.js';

setWasmSource(() => fetch(new URL('../../build/kantorovich.wasm', import.meta.url)));

export * from '../ts/index.js';
