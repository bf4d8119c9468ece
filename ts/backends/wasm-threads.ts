// Threads for the wasm entropic engine: the shared-memory build (build/kantorovich-mt.wasm, assembly/threads.ts)
// instantiated on this thread and in helper threads over ONE shared WebAssembly.Memory. The engine's state
// lives in that memory; this thread's instance runs the iteration and, at each pass over the n × m kernel,
// calls the `parallelRows` import, which hands each helper its share of the rows (`entRows`), runs share 0
// itself and waits for the others. A pass costs one wake-up and one join per helper (microseconds), so an
// iteration runs at the machine's memory bandwidth instead of one core's arithmetic.
//
// Needs what a blocking join needs: SharedArrayBuffer, a shared wasm memory, and a thread allowed to block
// (Node; in browsers only a cross-origin-isolated worker). bindings/ registers where the binary comes from
// and how a helper thread starts; without that, wasmThreadsUnavailableReason() says why and the engine runs
// on one thread.
import { OTError } from '../errors.js';
import { HELPER, SPIN_MS, type HelperInit } from './wasm-threads-helper.js';
import { type WasmExports, WasmKernels, type WasmSource, compileWasm, wasmAbort } from './wasm.js';

/** A started helper thread (ready to serve row shares). */
export interface HelperThread {
  terminate(): void;
}

export interface WasmThreadsPlatform {
  /** The shared-memory binary. */
  source: WasmSource;
  /** Threads a solve uses by default, this one included (1: none unless a call asks). */
  threads: number;
  /** Starts a thread running runHelper(init) (ts/backends/wasm-threads-helper.ts); resolves once it serves. */
  spawn(init: HelperInit): Promise<HelperThread>;
}

/** More shares than this buy nothing (a pass is bandwidth-bound well before). */
export const MAX_THREADS = 16;
/** A join that takes this long is a dead helper (a share of even the largest kernel takes well under a second). */
const JOIN_TIMEOUT_MS = 30_000;
/** Pages of 64 KiB: the most a wasm32 memory can hold (4 GiB), reserved but not committed. */
const MAX_PAGES = 65536;
/** asconfig.json's initialMemory of the threads target (enough for the binary's static data). */
const INITIAL_PAGES = 16;
/** Byte offset of the S_THREADS slot in an engine's context block (assembly/sinkhorn.ts). */
const THREADS_SLOT_BYTES = 33 * 8;
/**
 * A join is slow when it waits longer than this share of the caller's own share plus SLOW_JOIN_MS: the helpers
 * did not get a core in time (a machine busy with other work). Unloaded, a join waits for a wake-up and the
 * imbalance between shares, microseconds.
 */
const SLOW_JOIN_SHARE = 0.5;
const SLOW_JOIN_MS = 0.3;
/**
 * Slow joins decay by this factor a pass; past SLOW_SCORE (about 9 slow joins in a row) the passes run serially for
 * a while. V8's own background threads (GC, compilers) take a core for a few milliseconds now and then, which
 * makes one to three joins slow on an otherwise idle 2-core machine: a stretch of serial passes after those cost
 * more (30–50 % of a GW solve) than the waits did, so only a lasting run of slow joins counts as contention.
 */
const SLOW_DECAY = 0.9;
const SLOW_SCORE = 6;
/** How long the first serial stretch lasts; each further one doubles, up to SERIAL_MAX_MS. */
const SERIAL_MIN_MS = 50;
const SERIAL_MAX_MS = 2000;

let platform: WasmThreadsPlatform | undefined;
let runtime: Promise<ThreadedRuntime> | undefined;
/** The runtime `runtime` resolves to, once started. */
let latest: ThreadedRuntime | undefined;
/** Why the last start failed (a missing binary, a helper that would not start): no retry until re-registered. */
let failure: string | undefined;

/** Register the threads platform (bindings/node.ts does); undefined turns threading off. */
export function setWasmThreadsPlatform(p: WasmThreadsPlatform | undefined): void {
  void runtime?.then((r) => r.close(), () => undefined);
  platform = p;
  runtime = undefined;
  failure = undefined;
}

/**
 * Where the shared-memory binary comes from, for hosting it elsewhere (as setWasmSource does for the main one;
 * bindings/ points at build/kantorovich-mt.wasm). Helpers started before keep running the old one until dispose().
 */
export function setWasmThreadsSource(source: WasmSource): void {
  if (platform) platform = { ...platform, source };
  failure = undefined;
}

/** Threads a solve uses by default here (the core count): 1 when threading is unavailable. */
export function wasmThreadCount(): number {
  return wasmThreadsUnavailableReason() ? 1 : Math.max(1, Math.min(MAX_THREADS, Math.floor(platform!.threads)));
}

/** Why threads cannot run here, or undefined when they can (even on one core, when asked for). */
export function wasmThreadsUnavailableReason(): string | undefined {
  if (!platform) return 'no threads platform registered (bindings/ registers one in Node)';
  if (failure) return failure;
  if (!canBlock()) return 'this thread cannot block (no SharedArrayBuffer, shared wasm memory or Atomics.wait here)';
  return undefined;
}

/** canBlock's answer: a thread's ability to block does not change, and the probe (a shared memory) costs ~30 µs. */
let blocks: boolean | undefined;

/** Whether this thread may wait on shared memory (not a browser's main thread, not without isolation). */
function canBlock(): boolean {
  if (blocks === undefined) {
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
      new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
      blocks = true;
    } catch {
      blocks = false;
    }
  }
  return blocks;
}

/**
 * Stops this thread's helper threads (dispose() calls it); the next threaded solve starts new ones. A solve
 * still running on them rejects with 'aborted'.
 */
export async function closeWasmThreads(): Promise<void> {
  const rt = await runtime?.catch(() => undefined);
  runtime = undefined;
  rt?.close('wasm threads: closed by dispose().', 'aborted');
}

/** Bytes of the current threads runtime's shared memory (0 when there is none): tests check that it is released. */
export function wasmThreadsMemoryBytes(): number {
  return latest && latest.usable ? latest.kernels.memoryBytes : 0;
}

/** The runtime, with at least min(threads, MAX_THREADS) threads; rejects with 'backend-unavailable'. */
export async function wasmThreads(threads: number): Promise<ThreadedRuntime> {
  const why = wasmThreadsUnavailableReason();
  if (why) throw new OTError('backend-unavailable', `wasm threads: ${why}.`);
  const p = platform!;
  try {
    let rt = await runtime?.catch(() => undefined);
    if (!rt?.usable) {
      runtime = ThreadedRuntime.start(p); // a runtime closed by a failed helper is replaced here
      rt = await runtime;
    }
    await rt.grow(Math.min(MAX_THREADS, threads), p);
    return rt;
  } catch (e) {
    runtime = undefined;
    const err = e instanceof OTError ? e : new OTError('backend-unavailable', `wasm threads: could not start (${(e as Error).message}).`);
    failure = err.message;
    throw err;
  }
}

class ThreadedRuntime {
  readonly kernels: WasmKernels;
  private readonly helpers: { ctrl: Int32Array; thread: HelperThread }[] = [];
  private growing: Promise<void> = Promise.resolve();
  private broken: string | undefined;
  private brokenCode: 'worker-crashed' | 'aborted' = 'worker-crashed';
  // Contention: on a machine whose cores are busy, a helper may wait a scheduler quantum (milliseconds) for a
  // core, every pass, while this thread spins for it: 10–20× slower than one thread. After a run of slow joins
  // the passes run serially here (every share in turn, the same arithmetic, so the same results) for a stretch
  // that doubles while the contention lasts, then parallel again.
  private slowScore = 0;
  private serialUntil = 0;
  private serialMs = SERIAL_MIN_MS;
  /** Passes run serially because of contention (tests and reports read it). */
  serialPasses = 0;

  private constructor(
    private readonly module: WebAssembly.Module,
    private readonly memory: WebAssembly.Memory,
    exports: WasmExports,
  ) {
    this.kernels = new WasmKernels(exports);
  }

  static async start(p: WasmThreadsPlatform): Promise<ThreadedRuntime> {
    const module = await compileWasm(await p.source());
    const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared: true });
    let rt: ThreadedRuntime | undefined;
    const instance = await WebAssembly.instantiate(module, {
      env: {
        memory,
        abort: wasmAbort,
        parallelRows: (op: number, ctx: number, arg: number, flag: number) => rt!.parallelRows(op, ctx >>> 0, arg >>> 0, flag),
      },
    });
    rt = new ThreadedRuntime(module, memory, instance.exports as unknown as WasmExports);
    const started = rt;
    // a shared memory never shrinks: once a large solve freed everything, the runtime and its helpers go, and
    // the next threaded solve starts afresh (wasm.ts WASM_RETAIN_BYTES)
    rt.kernels.onIdle = () => {
      if (latest === started) {
        runtime = undefined;
        latest = undefined;
      }
      started.close('wasm threads: retired after a large solve, to release its memory.', 'aborted');
    };
    latest = rt;
    return rt;
  }

  get usable(): boolean {
    return !this.broken;
  }

  /** Threads available (this one included). */
  get threads(): number {
    return this.helpers.length + 1;
  }

  /** Starts helpers until there are `threads` threads. */
  grow(threads: number, p: WasmThreadsPlatform): Promise<void> {
    this.growing = this.growing.then(async () => {
      while (this.threads < threads) {
        const ctrl = new Int32Array(new SharedArrayBuffer(HELPER.size * 4));
        const thread = await p.spawn({ module: this.module, memory: this.memory, ctrl: ctrl.buffer as SharedArrayBuffer });
        this.helpers.push({ ctrl, thread });
      }
    });
    return this.growing;
  }

  /** Runs the next passes serially for `ms` (as contention does). */
  serializeFor(ms: number): void {
    this.serialUntil = performance.now() + ms;
  }

  /**
   * The `parallelRows` import: helpers 1 … S_THREADS − 1 get their shares, this thread runs share 0, then joins;
   * under contention (see slowScore) this thread runs every share, the last one first so that share 0, which
   * rebinds this instance's state, runs last as it does in parallel.
   */
  private parallelRows(op: number, ctx: number, arg: number, flag: number): void {
    if (this.broken) throw new OTError(this.brokenCode, this.broken);
    const shares = new Float64Array(this.memory.buffer, ctx + THREADS_SLOT_BYTES, 1)[0];
    const entRows = this.kernels.exports.entRows as (op: number, ctx: number, t: number, arg: number, flag: number) => void;
    if (shares > 1 && performance.now() < this.serialUntil) {
      for (let t = shares - 1; t >= 0; t--) entRows(op, ctx, t, arg, flag);
      this.serialPasses++;
      return;
    }
    const used = this.helpers.slice(0, shares - 1);
    used.forEach(({ ctrl }, i) => {
      ctrl[HELPER.op] = op;
      ctrl[HELPER.ctx] = ctx;
      ctrl[HELPER.arg] = arg;
      ctrl[HELPER.flag] = flag;
      ctrl[HELPER.share] = i + 1;
      Atomics.add(ctrl, HELPER.seq, 1);
      Atomics.notify(ctrl, HELPER.seq);
    });
    const start = performance.now();
    entRows(op, ctx, 0, arg, flag);
    const own = performance.now();
    for (const { ctrl } of used) {
      const seq = Atomics.load(ctrl, HELPER.seq);
      const joined = performance.now();
      while (Atomics.load(ctrl, HELPER.done) !== seq && performance.now() - joined < SPIN_MS);
      const deadline = Date.now() + JOIN_TIMEOUT_MS;
      for (let done = Atomics.load(ctrl, HELPER.done); done !== seq; done = Atomics.load(ctrl, HELPER.done)) {
        if (Date.now() > deadline) this.fail(`a helper thread gave no result for ${JOIN_TIMEOUT_MS / 1000} s`);
        Atomics.wait(ctrl, HELPER.done, done, 1000);
      }
      if (ctrl[HELPER.status] !== 0) this.fail('a helper thread failed on its rows');
    }
    if (used.length) this.observeJoin(own - start, performance.now() - own);
  }

  /** Scores a join (ms of this thread's share, ms waited for the helpers); a run of slow ones starts a serial stretch. */
  private observeJoin(share: number, wait: number): void {
    const slow = wait > SLOW_JOIN_SHARE * share + SLOW_JOIN_MS;
    this.slowScore = this.slowScore * SLOW_DECAY + (slow ? 1 : 0);
    if (this.slowScore > SLOW_SCORE) {
      this.serializeFor(this.serialMs);
      this.serialMs = Math.min(SERIAL_MAX_MS, 2 * this.serialMs);
      this.slowScore = 0;
    } else if (this.slowScore < 0.1) {
      this.serialMs = SERIAL_MIN_MS; // the contention is over
    }
  }

  private fail(why: string): never {
    this.close(`wasm threads: ${why}; the next solve starts fresh threads.`);
    throw new OTError('worker-crashed', this.broken!);
  }

  /** Stops the helpers; the next wasmThreads() starts a fresh runtime. */
  close(reason = 'wasm threads: closed.', code: 'worker-crashed' | 'aborted' = 'worker-crashed'): void {
    if (this.broken) return;
    this.broken = reason;
    this.brokenCode = code;
    for (const { ctrl, thread } of this.helpers) {
      ctrl[HELPER.op] = HELPER.exit;
      Atomics.add(ctrl, HELPER.seq, 1);
      Atomics.notify(ctrl, HELPER.seq);
      thread.terminate();
    }
  }
}

export type { ThreadedRuntime };
