// Browser entry. Its three assets are located with `new URL('…', import.meta.url)`, which Vite, webpack 5,
// Rollup and Parcel recognise and ship: the wasm binary, and the pool worker and wasm helper thread, both
// pre-bundled (comlink inlined, scripts/bundle.mjs) so they load without a bundler or an import map. Host
// them elsewhere with setAssetBase(url) (esbuild users: copy node_modules/kantorovich/build/ to the output),
// or the wasm alone with setWasmSource(() => fetch(yourUrl)). The GPU is navigator.gpu (also in workers).
/// <reference types="@webgpu/types" preserve="true" />
import * as Comlink from 'comlink';
import { setWasmSource } from '../ts/backends/wasm.js';
import { setGpuProvider } from '../ts/backends/webgpu.js';
import { setWorkerPlatform, type WorkerHandle } from '../ts/worker/pool.js';
import { setWasmThreadsPlatform } from '../ts/backends/wasm-threads.js';
import { serveWorker } from '../ts/worker/serve.js';
import { assetUrl, onAssetBaseChange, setWorkerUnavailableReason, type AssetName } from '../ts/assets.js';

// The literal `new URL(…, import.meta.url)` forms are what bundlers look for: keep one per asset.
const DEFAULTS: Record<AssetName, () => URL> = {
  wasm: () => new URL('../../build/kantorovich.wasm', import.meta.url),
  wasmThreads: () => new URL('../../build/kantorovich-mt.wasm', import.meta.url),
  worker: () => new URL('../../build/kantorovich-worker.js', import.meta.url),
  wasmHelper: () => new URL('../../build/kantorovich-wasm-helper.js', import.meta.url),
};

/**
 * Inside the pre-bundled worker: the page passes the URLs it resolved (bundlers rename assets, and
 * setAssetBase may have moved them) in the worker URL's fragment, so the worker's own lookups agree.
 */
const fromPage: Partial<Record<AssetName, string>> = (() => {
  const inWorkerScope = typeof (globalThis as { importScripts?: unknown }).importScripts === 'function';
  if (!inWorkerScope) return {};
  let hash = '';
  try {
    hash = new URL(import.meta.url).hash; // the bundle's own URL: also right when a blob started it
  } catch {
    /* import.meta.url rewritten by a bundler */
  }
  hash ||= (globalThis as { location?: { hash?: string } }).location?.hash ?? '';
  if (!hash.startsWith('#kantorovich=')) return {};
  try {
    return JSON.parse(decodeURIComponent(hash.slice('#kantorovich='.length))) as Partial<Record<AssetName, string>>;
  } catch {
    return {};
  }
})();

const url = (name: AssetName): URL => {
  const given = fromPage[name];
  return assetUrl(name, given ? new URL(given) : DEFAULTS[name]());
};

/** Fetch an asset; a failure names the URL and the two ways to point the library elsewhere. */
async function fetchAsset(name: AssetName): Promise<Response> {
  const u = url(name);
  const hint = `host the file there, or call setAssetBase(folderUrl) or setWasmSource(() => fetch(url))`;
  let r: Response;
  try {
    r = await fetch(u);
  } catch (e) {
    throw new Error(`fetching ${u.href} failed (${(e as Error).message}); ${hint}`);
  }
  if (!r.ok) throw new Error(`fetching ${u.href} failed: HTTP ${r.status}; ${hint}`);
  return r;
}

setWasmSource(() => fetchAsset('wasm'));
onAssetBaseChange(() => setWasmSource(() => fetchAsset('wasm')));
setGpuProvider(async () => (typeof navigator !== 'undefined' ? navigator.gpu : undefined) ?? undefined);

const cores = typeof navigator !== 'undefined' && navigator.hardwareConcurrency ? navigator.hardwareConcurrency : 2;

/** All four asset URLs as this thread resolves them, for a worker's fragment. */
function assetMap(): string {
  const m: Partial<Record<AssetName, string>> = {};
  for (const k of Object.keys(DEFAULTS) as AssetName[]) m[k] = url(k).href;
  return '#kantorovich=' + encodeURIComponent(JSON.stringify(m));
}

/**
 * A module worker for a script URL. Browsers refuse cross-origin worker scripts, so a script on another
 * origin (a CDN) starts through a same-origin blob that imports it (its import.meta.url stays the CDN's).
 */
function moduleWorker(name: AssetName): { worker: Worker; href: string } {
  const u = url(name);
  const origin = (globalThis as { location?: { origin?: string } }).location?.origin;
  if (!origin || origin === 'null' || u.origin === origin || u.protocol === 'blob:' || u.protocol === 'data:') {
    return { worker: new Worker(new URL(assetMap(), u), { type: 'module' }), href: u.href };
  }
  const blob = new Blob([`import ${JSON.stringify(new URL(assetMap(), u).href)};`], { type: 'text/javascript' });
  return { worker: new Worker(URL.createObjectURL(blob), { type: 'module' }), href: u.href };
}

// Helper threads of the wasm entropic engine: module workers sharing the engine's memory. They only start
// where the engine's thread may block — a worker (the pool's, or yours) of a cross-origin-isolated page
// (COOP same-origin + COEP require-corp); elsewhere solves run on one thread.
if (typeof Worker !== 'undefined') {
  setWasmThreadsPlatform({
    source: () => fetchAsset('wasmThreads'),
    threads: Math.min(8, cores),
    spawn: (init) =>
      new Promise((resolve, reject) => {
        const { worker: w, href } = moduleWorker('wasmHelper');
        w.addEventListener('message', () => resolve({ terminate: () => w.terminate() }), { once: true });
        w.addEventListener('error', (e) => reject(new Error(`the helper thread ${href} failed to start (${(e as ErrorEvent).message ?? 'not loadable'})`)), { once: true });
        w.postMessage(init);
      }),
  });
}

/**
 * A worker whose script fails to load (404, a bundler that did not emit it, a CSP) must not fail solves:
 * the messages sent before it answered are replayed to the same solver service running on this thread, the
 * pool is switched off (workerUnavailableReason() says why, with the URL) and later calls run in-process.
 */
function inProcessFallback(pending: { msg: unknown; transfer: Transferable[] }[], listeners: Set<EventListenerOrEventListenerObject>): MessagePort {
  const ch = new MessageChannel();
  Comlink.expose(serveWorker({ exit: () => ch.port2.close() }), ch.port2 as unknown as Comlink.Endpoint);
  for (const l of listeners) ch.port1.addEventListener('message', l);
  ch.port1.start();
  for (const p of pending) ch.port1.postMessage(p.msg, p.transfer);
  return ch.port1;
}

function spawnWorker(): WorkerHandle {
  const { worker: w, href } = moduleWorker('worker');
  let exited = false;
  let answered = false;
  let fallback: MessagePort | undefined;
  let cb: ((reason: string) => void) | undefined;
  const pending: { msg: unknown; transfer: Transferable[] }[] = [];
  const listeners = new Set<EventListenerOrEventListenerObject>();
  const once = (reason: string) => {
    if (exited) return;
    exited = true;
    cb?.(reason);
    w.terminate();
  };
  w.addEventListener('error', (e) => {
    if (!answered && !fallback) {
      const reason = `the worker script ${href} did not load (${(e as ErrorEvent).message || 'not found, or not a module script'}); solves run in-process. Serve it there, or call setAssetBase(folderUrl)`;
      setWorkerUnavailableReason(reason);
      setWorkerPlatform(undefined);
      w.terminate();
      fallback = inProcessFallback(pending, listeners);
      pending.length = 0;
      return;
    }
    once(`raised an uncaught error (${(e as ErrorEvent).message ?? 'unknown'})`);
  });
  w.addEventListener('messageerror', () => once('could not deserialize a message'));
  w.addEventListener('message', (e: MessageEvent) => {
    answered = true;
    pending.length = 0;
    // the worker tells when it closes itself (crash('exit') test hook)
    if (e.data && (e.data as { kantorovichWorkerExit?: number }).kantorovichWorkerExit !== undefined) once('closed itself');
  });
  const endpoint: Comlink.Endpoint = {
    postMessage(msg: unknown, transfer: Transferable[] = []) {
      if (fallback) return fallback.postMessage(msg, transfer);
      if (!answered) pending.push({ msg, transfer });
      w.postMessage(msg, transfer);
    },
    addEventListener(type: string, l: EventListenerOrEventListenerObject) {
      if (type === 'message') listeners.add(l);
      (fallback ?? w).addEventListener(type, l);
    },
    removeEventListener(type: string, l: EventListenerOrEventListenerObject) {
      listeners.delete(l);
      w.removeEventListener(type, l);
      fallback?.removeEventListener(type, l);
    },
  };
  return {
    endpoint,
    ref: () => {},
    unref: () => {},
    terminate: () => {
      exited = true;
      w.terminate();
      fallback?.close();
    },
    onExit(f) {
      cb = f;
    },
  };
}

// Workers: the pre-bundled pool worker (build/kantorovich-worker.js) as a module Web Worker.
if (typeof Worker !== 'undefined') {
  setWorkerPlatform({ size: Math.max(1, cores - 1), spawn: spawnWorker });
} else {
  setWorkerUnavailableReason('this environment has no Worker: solves run in-process');
}

export * from '../ts/index.js';
export { setAssetBase, workerUnavailableReason, type AssetName } from '../ts/assets.js';
