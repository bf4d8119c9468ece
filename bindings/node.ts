// Node entry: the wasm binary is read from the package's build/ folder next to dist/; the GPU comes from
// the optional `webgpu` package (Dawn), loaded on the first GPU call only (bindings/dawn.ts).
/// <reference types="@webgpu/types" preserve="true" />
import { readFile } from 'node:fs/promises';
import { setWasmSource } from '../ts/backends/wasm.js';
import { assetUrl, onAssetBaseChange } from '../ts/assets.js';
import { dawnGpu } from './dawn.js';
import { setGpuProvider } from '../ts/backends/webgpu.js';
import { availableParallelism, cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
// @ts-ignore -- comlink 4.4.2 ships no .d.mts for this path (the one that resolves under Node ESM: PLATFORM.md)
import nodeAdapter from 'comlink/dist/esm/node-adapter.mjs';
import type { Endpoint } from 'comlink';
import { setWorkerPlatform } from '../ts/worker/pool.js';
import { setWasmThreadsPlatform } from '../ts/backends/wasm-threads.js';

/** A file: URL is read from disk; setAssetBase('https://…') makes Node fetch the binaries instead. */
const load = (u: URL) => (u.protocol === 'file:' ? readFile(u) : fetch(u));
const wasmSource = () => load(assetUrl('wasm', new URL('../../build/kantorovich.wasm', import.meta.url)));
setWasmSource(wasmSource);
onAssetBaseChange(() => setWasmSource(wasmSource));

setGpuProvider(dawnGpu);

/** The parent's Node flags minus those that only make sense for a main script (-e/-p code, --input-type). */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i];
    if (f === '-e' || f === '--eval' || f === '-p' || f === '--print' || f === '-pe') {
      i++;
      continue;
    }
    if (f.startsWith('--eval=') || f.startsWith('--print=') || f.startsWith('--input-type')) continue;
    out.push(f);
  }
  return out;
}

const cores = typeof availableParallelism === 'function' ? availableParallelism() : cpus().length;

// Helper threads of the wasm entropic engine (dist/bindings/wasm-helper-node.js), unref'd: an idle helper
// blocked in Atomics.wait must not keep the process alive. Beyond 8 threads a pass is bandwidth-bound anyway.
setWasmThreadsPlatform({
  source: () => load(assetUrl('wasmThreads', new URL('../../build/kantorovich-mt.wasm', import.meta.url))),
  threads: Math.min(8, cores),
  spawn: (init) =>
    new Promise((resolve, reject) => {
      const w = new Worker(new URL('./wasm-helper-node.js', import.meta.url), { workerData: init, execArgv: workerExecArgv() });
      w.unref();
      w.once('message', () => resolve({ terminate: () => void w.terminate() }));
      w.once('error', reject);
      w.once('exit', (code) => reject(new Error(`helper exited with code ${code} before serving`)));
    }),
});

// Workers: worker_threads running dist/bindings/worker-node.js; the pool keeps one thread for the caller.
setWorkerPlatform({
  size: Math.max(1, cores - 1),
  spawn() {
    const w = new Worker(new URL('./worker-node.js', import.meta.url), { execArgv: workerExecArgv() });
    let exited = false;
    return {
      endpoint: (nodeAdapter as (w: unknown) => Endpoint)(w),
      ref: () => w.ref(),
      unref: () => w.unref(),
      terminate: () => w.terminate(),
      onExit(cb) {
        const once = (reason: string) => {
          if (!exited) {
            exited = true;
            cb(reason);
          }
        };
        w.on('error', (e: Error) => once(`raised an uncaught error (${e?.message ?? String(e)})`));
        w.on('exit', (code: number) => once(`exited with code ${code}`));
      },
    };
  },
});

export * from '../ts/index.js';
export { setAssetBase, workerUnavailableReason, type AssetName } from '../ts/assets.js';
