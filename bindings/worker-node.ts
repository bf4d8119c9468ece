// worker_threads entry of the pool: the library with Node's wasm and GPU setup, its in-process solvers
// exposed with comlink over the parent port (ts/worker/serve.ts). Spawned by bindings/node.ts.
import { parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink';
// @ts-ignore -- comlink 4.4.2 ships no .d.mts for this path (the one that resolves under Node ESM: PLATFORM.md)
import nodeAdapter from 'comlink/dist/esm/node-adapter.mjs';
import './node.js';
import { dawnGpu } from './dawn.js';
import { setGpuProvider } from '../ts/backends/webgpu.js';
import { drainWorker, markGpuInUse, serveWorker } from '../ts/worker/serve.js';

if (!parentPort) throw new Error('bindings/worker-node.js is a worker_threads entry; import the package entry instead.');

// The same Dawn provider as node.ts, marked so the pool never terminates this worker while a device lives
// (PLATFORM.md: worker.terminate() with GPU work in flight kills the process).
setGpuProvider(async () => {
  markGpuInUse();
  return dawnGpu();
});

// Every way out drains first (serve.ts drainWorker: abort, let GPU work finish, destroy the device): ending
// this thread with a GPU promise open aborts the whole process in Dawn. An uncaught error is reported to the
// pool (the reason of its 'worker-crashed'), then the worker drains and exits; it never lingers half-broken.
const port = parentPort;
let leaving = false;
function leave(code: number, reason = `exited with code ${code}`): void {
  if (leaving) return;
  leaving = true;
  // the pool takes this worker out now (its call rejects with 'worker-crashed'), not after the drain
  try {
    port.postMessage({ kantorovichWorkerLeaving: reason });
  } catch {
    /* the exit is still seen */
  }
  void drainWorker()
    .catch(() => {})
    .finally(() => process.exit(code));
}
process.on('uncaughtException', (e: unknown) => leave(1, `raised an uncaught error (${(e as Error)?.message ?? String(e)})`));

Comlink.expose(serveWorker({ exit: leave }), (nodeAdapter as (p: unknown) => Comlink.Endpoint)(port));
