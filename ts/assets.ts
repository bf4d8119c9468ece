// Where the package's runtime assets live: the two wasm binaries, the pre-bundled pool worker and the
// pre-bundled wasm helper thread (all four ship in the package's build/ folder). The entries (bindings/)
// resolve them with `new URL('…', import.meta.url)`, which Vite, webpack 5, Rollup and Parcel rewrite to the
// emitted assets; setAssetBase() points all four at another folder (a CDN, or where you copied build/, as
// esbuild users do) in one call.

/** One of the package's runtime assets: the wasm binary, the shared-memory (threads) binary, the pool's worker script, the helper-thread script. */
export type AssetName = 'wasm' | 'wasmThreads' | 'worker' | 'wasmHelper';

/** @internal The asset files, by role, as named in the package's build/ folder. */
export const ASSET_FILES: Readonly<Record<AssetName, string>> = {
  wasm: 'kantorovich.wasm',
  wasmThreads: 'kantorovich-mt.wasm',
  worker: 'kantorovich-worker.js',
  wasmHelper: 'kantorovich-wasm-helper.js',
};

let base: URL | undefined;
const listeners: (() => void)[] = [];

/**
 * Load the package's assets (`kantorovich.wasm`, `kantorovich-mt.wasm`, `kantorovich-worker.js`,
 * `kantorovich-wasm-helper.js`) from one folder instead of where the bundler or the package put them: a
 * CDN (`setAssetBase('https://cdn.jsdelivr.net/npm/kantorovich@0.2.0/build/')`) or the folder your build
 * copied `node_modules/kantorovich/build/` to. A relative URL is resolved against the page. Call it before
 * the first solve; it applies to this thread and to the workers started afterwards. `setWasmSource` still
 * overrides the wasm binary alone.
 */
export function setAssetBase(url: string | URL): void {
  let s = String(url);
  if (!s.endsWith('/')) s += '/';
  const page = (globalThis as { location?: { href?: string } }).location?.href;
  base = page ? new URL(s, page) : new URL(s);
  for (const f of listeners) f();
}

/** The URL of an asset: under setAssetBase's folder when one was set, else `fallback` (the entry's default). */
export function assetUrl(name: AssetName, fallback: URL): URL {
  return base ? new URL(ASSET_FILES[name], base) : fallback;
}

/** Called when setAssetBase changes the folder (the entries re-register their wasm sources). */
export function onAssetBaseChange(f: () => void): void {
  listeners.push(f);
}

let workerReason: string | undefined;

/**
 * Why solves do not go to worker threads here, or undefined where they can. In a browser it says so when
 * the worker script could not load (its URL and how to fix it); solves then run in-process, with the same
 * results, instead of failing.
 */
export function workerUnavailableReason(): string | undefined {
  return workerReason;
}

/** bindings/ records why workers are off. */
export function setWorkerUnavailableReason(reason: string | undefined): void {
  workerReason = reason;
}
