// Module Web Worker entry of the pool: the library with the browser's wasm and GPU setup, its in-process
// solvers exposed with comlink on the worker's global scope (ts/worker/serve.ts). Spawned by bindings/browser.ts.
import * as Comlink from 'comlink';
import './browser.js';
import { setGpuProvider } from '../ts/backends/webgpu.js';
import { markGpuInUse, serveWorker } from '../ts/worker/serve.js';

setGpuProvider(async () => {
  markGpuInUse();
  return (typeof navigator !== 'undefined' ? navigator.gpu : undefined) ?? undefined;
});

const scope = globalThis as unknown as { postMessage(m: unknown): void; close(): void };
Comlink.expose(
  serveWorker({
    exit: (code) => {
      scope.postMessage({ kantorovichWorkerExit: code });
      scope.close();
    },
  }),
  globalThis as unknown as Comlink.Endpoint,
);
