// The worker side: the object a worker exposes with comlink (bindings/worker-node.ts, worker-browser.ts).
// Each call runs the in-process solver with an AbortSignal that the pool triggers (by message, and through
// shared memory where there is some, so a solver whose loop never yields still sees it at its next check),
// forwards progress (throttled) to the caller's port, and transfers the result's arrays back.
import * as Comlink from 'comlink';
import { OTError } from '../errors.js';
import { gpuDevice } from '../backends/webgpu.js';
import { setWasmSource } from '../backends/wasm.js';
import { markInWorker } from './pool.js';
import { type Encoded, type SolverName, type WorkerApi, decode, encode, installErrorTransfer } from './protocol.js';
import { runSolver } from './solvers.js';

/** Progress messages are forwarded at most this often (solvers may report every few iterations). */
const PROGRESS_EVERY_MS = 16;
/** How long the last progress report may take to reach the caller before the result goes anyway. */
const LAST_PROGRESS_WAIT_MS = 2000;

const abortedGetter = Object.getOwnPropertyDescriptor(AbortSignal.prototype, 'aborted')?.get;

export interface ServeHooks {
  /** End this worker now (test hook of crash('exit')). */
  exit(code: number): void;
}

let gpuTouched = false;
let flags: Int32Array<ArrayBufferLike> = new Int32Array(2);

/** bindings' GPU provider wrapper calls this when the worker acquires the GPU (then it is never terminated mid-call). */
export function markGpuInUse(): void {
  gpuTouched = true;
  Atomics.store(flags, 1, 1);
}

/** An AbortSignal that also reads the shared abort flag, so a busy event loop does not delay the abort. */
function callSignal(ctrl: AbortController): AbortSignal {
  const signal = ctrl.signal;
  if (!abortedGetter) return signal;
  Object.defineProperty(signal, 'aborted', {
    configurable: true,
    get() {
      if (!abortedGetter.call(signal) && Atomics.load(flags, 0) === 1) ctrl.abort();
      return abortedGetter.call(signal) as boolean;
    },
  });
  return signal;
}

export function serveWorker(hooks: ServeHooks): WorkerApi {
  markInWorker();
  installErrorTransfer();
  const running = new Map<number, AbortController>();
  return {
    init(buf: SharedArrayBuffer | undefined, wasm?: WebAssembly.Module) {
      if (buf) {
        const shared = new Int32Array(buf);
        if (gpuTouched) Atomics.store(shared, 1, 1);
        flags = shared;
      }
      if (wasm instanceof WebAssembly.Module) {
        setWasmSource(async () => wasm);
        return 'pool';
      }
      return 'default';
    },
    async run(id: number, solver: SolverName, payload: Encoded, port?: MessagePort): Promise<Encoded> {
      const args = decode(payload) as unknown[];
      const k = args.length - 1; // the options come last (ts/registry/define.ts)
      const ctrl = new AbortController();
      running.set(id, ctrl);
      const opts: Record<string, unknown> = { ...((args[k] as Record<string, unknown> | undefined) ?? {}), signal: callSignal(ctrl) };
      let remote: Comlink.Remote<(p: unknown) => void> | undefined;
      let last = 0;
      let pending: unknown;
      if (port) {
        remote = Comlink.wrap<(p: unknown) => void>(port as unknown as Comlink.Endpoint);
        opts.onProgress = (p: unknown) => {
          const now = Date.now();
          if (now - last >= PROGRESS_EVERY_MS) {
            last = now;
            pending = undefined;
            Promise.resolve(remote!(p)).catch(() => {});
          } else pending = p;
        };
      }
      args[k] = opts;
      try {
        const result = await runSolver(solver, args);
        // the last report reaches the caller before the result does (the wait returns when the caller has run
        // it; the bound only covers a caller that went away — 100 ms was too short on a loaded machine)
        if (remote && pending !== undefined) await Promise.race([remote(pending), new Promise((r) => setTimeout(r, LAST_PROGRESS_WAIT_MS))]).catch(() => {});
        const transfer = new Set<ArrayBuffer>();
        const out = encode(result, transfer, false);
        return typeof out === 'object' && out !== null ? Comlink.transfer(out, [...transfer]) : out;
      } finally {
        running.delete(id);
        port?.close();
      }
    },
    abort(id: number) {
      running.get(id)?.abort();
    },
    async shutdown() {
      Atomics.store(flags, 0, 1);
      for (const c of running.values()) c.abort();
      if (gpuTouched) {
        try {
          (await gpuDevice()).destroy();
        } catch {
          /* no device after all */
        }
      }
    },
    crash(mode: 'exit' | 'throw') {
      if (mode === 'exit') hooks.exit(70);
      else
        setTimeout(() => {
          throw new Error('kantorovich worker: crash requested by a test hook');
        }, 0);
    },
  };
}
