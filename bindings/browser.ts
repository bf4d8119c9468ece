// Browser entry: bundlers recognise `new URL(…, import.meta.url)` and ship the wasm file as an asset.
// Host it elsewhere with setWasmSource(() => fetch(yourUrl)). The GPU is navigator.gpu (also in workers).
import { setWasmSource } from '../ts/backends/wasm.js';
import { setGpuProvider } from '../ts/backends/webgpu.js';
import type { Endpoint } from 'comlink';
import { setWorkerPlatform } from '../ts/worker/pool.js';
import { setWasmThreadsPlatform } from '../ts/backends/wasm-threads.js';

setWasmSource(() => fetch(new URL('../../build/kantorovich.wasm', import.meta.url)));
setGpuProvider(async () => (typeof navigator !== 'undefined' ? navigator.gpu : undefined) ?? undefined);

const cores = typeof navigator !== 'undefined' && navigator.hardwareConcurrency ? navigator.hardwareConcurrency : 2;

// Helper threads of the wasm entropic engine: module workers sharing the engine's memory. They only start
// where the engine's thread may block — a worker (the pool's, or yours) of a cross-origin-isolated page
// (COOP same-origin + COEP require-corp); elsewhere solves run on one thread.
if (typeof Worker !== 'undefined') {
  setWasmThreadsPlatform({
    source: () => fetch(new URL('../../build/kantorovich-mt.wasm', import.meta.url)),
    threads: Math.min(8, cores),
    spawn: (init) =>
      new Promise((resolve, reject) => {
        const w = new Worker(new URL('./wasm-helper-browser.js', import.meta.url), { type: 'module' });
        w.addEventListener('message', () => resolve({ terminate: () => w.terminate() }), { once: true });
        w.addEventListener('error', (e) => reject(new Error((e as ErrorEvent).message ?? 'helper failed to start')), { once: true });
        w.postMessage(init);
      }),
  });
}

// Workers: module Web Workers running worker-browser.js (bundlers follow `new URL(…, import.meta.url)`).
if (typeof Worker !== 'undefined') {
  setWorkerPlatform({
    size: Math.max(1, cores - 1),
    spawn() {
      const w = new Worker(new URL('./worker-browser.js', import.meta.url), { type: 'module' });
      let exited = false;
      let cb: ((reason: string) => void) | undefined;
      const once = (reason: string) => {
        if (exited) return;
        exited = true;
        cb?.(reason);
        w.terminate();
      };
      w.addEventListener('error', (e) => once(`raised an uncaught error (${(e as ErrorEvent).message ?? 'unknown'})`));
      w.addEventListener('messageerror', () => once('could not deserialize a message'));
      // the worker tells when it closes itself (crash('exit') test hook)
      w.addEventListener('message', (e: MessageEvent) => {
        if (e.data && (e.data as { kantorovichWorkerExit?: number }).kantorovichWorkerExit !== undefined) once('closed itself');
      });
      return {
        endpoint: w as unknown as Endpoint,
        ref: () => {},
        unref: () => {},
        terminate: () => {
          exited = true;
          w.terminate();
        },
        onExit(f) {
          cb = f;
        },
      };
    },
  });
}

export * from '../ts/index.js';
