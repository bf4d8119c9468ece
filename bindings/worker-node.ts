// worker_threads entry of the pool: the library with Node's wasm and GPU setup, its in-process solvers
// exposed with comlink over the parent port (ts/worker/serve.ts). Spawned by bindings/node.ts.
import { parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink';
// @ts-ignore -- comlink 4.4.2 ships no .d.mts for this path (the one that resolves under Node ESM: PLATFORM.md)
import nodeAdapter from 'comlink/dist/esm/node-adapter.mjs';
import './node.js';
import { dawnGpu } from './dawn.js';
import { setGpuProvider } from '../ts/backends/webgpu.js';
import { markGpuInUse, serveWorker } from '../ts/worker/serve.js';

if (!parentPort) throw new Error('bindings/worker-node.js is a worker_threads entry; import the package entry instead.');

// The same Dawn provider as node.ts, marked so the pool never terminates this worker while a device lives
// (PLATFORM.md: worker.terminate() with GPU work in flight kills the process).
setGpuProvider(async () => {
  markGpuInUse();
  return dawnGpu();
});

Comlink.expose(serveWorker({ exit: (code) => process.exit(code) }), (nodeAdapter as (p: unknown) => Comlink.Endpoint)(parentPort));
