// Node entry: the wasm binary is read from the package's build/ folder next to dist/.
import { readFile } from 'node:fs/promises';
import { setWasmSource } from '../ts/backends/wasm.js';

setWasmSource(() => readFile(new URL('../../build/kantorovich.wasm', import.meta.url)));

export * from '../ts/index.js';
