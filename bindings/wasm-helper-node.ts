// worker_threads entry of a wasm engine helper thread (ts/backends/wasm-threads-helper.ts). Spawned by bindings/node.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { runHelper, type HelperInit } from '../ts/backends/wasm-threads-helper.js';

if (!parentPort) throw new Error('bindings/wasm-helper-node.js is a worker_threads entry.');
runHelper(workerData as HelperInit, () => parentPort!.postMessage('ready'));
process.exit(0);
