// The worker side: the object a worker exposes with comlink (bindings/worker-node.ts, worker-browser.ts).
// Each call runs the in-process solver with an AbortSignal that the pool triggers (by message, and through
// shared memory where there is some, so a solver whose loop never yields still sees it at its next check),
// forwards progress (throttled) to the caller's port, and transfers the result's arrays back.
import * as Comlink from 'comlink';
import { currentGpuDevice, gpuIdle } from '../backends/webgpu.js';
import { setWasmSource } from '../backends/wasm.js';
import { markInWorker } from './pool.js';
import { type Encoded, type SolverName, type WorkerApi, decode, encode, installErrorTransfer } from './protocol.js';
import { runSolver } from './solvers.js';

/** Progress messages are forwarded at most this often (solvers may report every few iterations). */
const PROGRESS_EVERY_MS = 16;
/** How long drain() waits for aborted solves to reach an iteration boundary before it drains the GPU anyway. */
const DRAIN_SOLVES_MS = 5000;

/**
 * Messages on a call's progress port (raw postMessage, one port per call, delivered in order): a report, and
 * the end marker posted before the result. The pool settles a call only after the marker, so the last report
 * always reaches the caller before the promise settles (no bounded wait).
 */
export type ProgressMessage = { p: unknown } | { end: true };

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

const running = new Map<number, { ctrl: AbortController; done: Promise<unknown> }>();
let draining: Promise<void> | undefined;

/**
 * Make this worker safe to end: abort every call, let them stop at their next iteration boundary, wait until
 * no GPU promise is open, destroy the device, wait again. Dawn aborts the whole process when a thread ends
 * with GPU work in flight (PLATFORM.md), so every way out of a worker that touched the GPU goes through here:
 * shutdown() before the pool terminates it, and the exit and uncaught-error paths of bindings/worker-node.ts.
 */
export function drainWorker(): Promise<void> {
  if (!draining) draining = drain();
  return draining;
}

async function drain(): Promise<void> {
  Atomics.store(flags, 0, 1);
  for (const r of running.values()) r.ctrl.abort();
  if (!gpuTouched) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([Promise.allSettled([...running.values()].map((r) => r.done)), new Promise((r) => (timer = setTimeout(r, DRAIN_SOLVES_MS)))]);
  clearTimeout(timer);
  await gpuIdle();
  const device = await currentGpuDevice();
  if (device) {
    device.destroy();
    await gpuIdle();
  }
  // nothing of ours is in flight on the GPU any more: the pool may terminate this worker
  Atomics.store(flags, 1, 0);
}

export function serveWorker(hooks: ServeHooks): WorkerApi {
  markInWorker();
  installErrorTransfer();
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
      const ctrl = new AbortController();
      let done!: () => void;
      running.set(id, { ctrl, done: new Promise<void>((r) => (done = r)) });
      let pending: { p: unknown } | undefined;
      try {
        const args = decode(payload) as unknown[];
        const k = args.length - 1; // the options come last (ts/registry/define.ts)
        const opts: Record<string, unknown> = { ...((args[k] as Record<string, unknown> | undefined) ?? {}), signal: callSignal(ctrl) };
        let last = 0;
        if (port) {
          opts.onProgress = (p: unknown) => {
            const now = Date.now();
            if (now - last >= PROGRESS_EVERY_MS) {
              last = now;
              pending = undefined;
              try {
                port.postMessage({ p } satisfies ProgressMessage);
              } catch {
                /* a report that cannot be cloned is dropped, not the solve */
              }
            } else pending = { p };
          };
        }
        args[k] = opts;
        const result = await runSolver(solver, args);
        const transfer = new Set<ArrayBuffer>();
        const out = encode(result, transfer, false);
        return typeof out === 'object' && out !== null ? Comlink.transfer(out, [...transfer]) : out;
      } finally {
        running.delete(id);
        done();
        // the throttled last report, then the end marker: both precede the result on the caller's side
        if (port) {
          try {
            if (pending) port.postMessage(pending satisfies ProgressMessage);
            port.postMessage({ end: true } satisfies ProgressMessage);
          } catch {
            /* the report cannot be cloned: the marker still goes */
            port.postMessage({ end: true } satisfies ProgressMessage);
          }
          port.close();
        }
      }
    },
    abort(id: number) {
      running.get(id)?.ctrl.abort();
    },
    shutdown: drainWorker,
    crash(mode: 'exit' | 'throw') {
      if (mode === 'exit') hooks.exit(70);
      // a microtask, not a timer: the error is uncaught before the worker handles its next message, so a test
      // that dispatches right after the crash meets a dead worker, never one still serving for a millisecond
      else
        queueMicrotask(() => {
          throw new Error('kantorovich worker: crash requested by a test hook');
        });
    },
  };
}
