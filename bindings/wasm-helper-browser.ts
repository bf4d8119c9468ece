// Module Web Worker entry of a wasm engine helper thread (ts/backends/wasm-threads-helper.ts), started by
// bindings/browser.ts; it serves until its engine's thread exits. Needs cross-origin isolation (shared memory).
import { runHelper, type HelperInit } from '../ts/backends/wasm-threads-helper.js';

const scope = self as unknown as { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown): void; close(): void };
scope.onmessage = (e: MessageEvent) => {
  scope.onmessage = null;
  runHelper(e.data as HelperInit, () => scope.postMessage('ready'));
  scope.close();
};
