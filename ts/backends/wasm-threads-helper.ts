// A helper thread of the threaded wasm engine (ts/backends/wasm-threads.ts): instantiates the shared-memory
// build on the shared memory and then serves row shares until told to exit. It blocks its thread between
// requests (Atomics.wait), so it runs in a thread of its own: bindings/ starts it (Node: worker_threads).
import { wasmAbort } from './wasm.js';

export interface HelperInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Int32 slots laid out as HELPER. */
  ctrl: SharedArrayBuffer;
}

/** Slots of the control block shared by the calling thread and one helper. */
export const HELPER = {
  seq: 0, // bumped by the caller for each request
  done: 1, // set to seq by the helper when the request is finished
  op: 2,
  ctx: 3,
  arg: 4,
  flag: 5,
  share: 6, // which share of the rows (1 … threads − 1)
  status: 7, // 0 ok, 1 the request threw
  size: 8,
  exit: -1, // op that ends the loop
} as const;

/**
 * How long either side polls before blocking (a helper for its next request, the caller for a helper's share):
 * the wait is usually microseconds (one g-update), while waking a blocked thread takes tens to hundreds of
 * microseconds on a loaded or virtual machine.
 */
export const SPIN_MS = 2;

/** Serves requests until op = HELPER.exit; `ready` is called once the instance exists. */
export function runHelper(init: HelperInit, ready: () => void): void {
  const instance = new WebAssembly.Instance(init.module, {
    env: {
      memory: init.memory,
      abort: wasmAbort,
      parallelRows() {
        throw new Error('a helper never splits rows further');
      },
    },
  });
  const entRows = instance.exports.entRows as (op: number, ctx: number, t: number, arg: number, flag: number) => void;
  const c = new Int32Array(init.ctrl);
  let seen = Atomics.load(c, HELPER.seq);
  ready();
  for (;;) {
    const idle = performance.now();
    while (Atomics.load(c, HELPER.seq) === seen && performance.now() - idle < SPIN_MS);
    while (Atomics.load(c, HELPER.seq) === seen) Atomics.wait(c, HELPER.seq, seen);
    seen = Atomics.load(c, HELPER.seq);
    const op = c[HELPER.op];
    if (op === HELPER.exit) return;
    try {
      entRows(op, c[HELPER.ctx] >>> 0, c[HELPER.share], c[HELPER.arg] >>> 0, c[HELPER.flag]);
      c[HELPER.status] = 0;
    } catch {
      c[HELPER.status] = 1;
    }
    Atomics.store(c, HELPER.done, seen);
    Atomics.notify(c, HELPER.done);
  }
}
