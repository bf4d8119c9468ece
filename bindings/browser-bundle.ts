// The one pre-bundled browser script (build/kantorovich-worker.js): the whole library for a page, and the pool's
// module Web Worker when a worker starts it. One file in both roles ships the library once (the 2 MB install
// budget); dist/kantorovich.browser.js re-exports it for pages and CDNs.
export * from './browser.js';

// In a worker scope this same file serves the pool (the check browser.ts makes too). Not awaited: no top-level
// await in the bundle (bundlers' minifiers reject it in assets); the import settles in a microtask, before the
// worker's first message event, so no request is missed.
if (typeof (globalThis as { importScripts?: unknown }).importScripts === 'function') void import('./worker-browser.js');
