// The worker pool: lazily started workers (as many as the platform says: cores − 1, at least 1), one call
// per worker at a time, a FIFO queue, abort, crash recovery and dispose(). Environment-agnostic: how a
// worker is spawned is registered by bindings/ (setWorkerPlatform), as setWasmSource / setGpuProvider do.
import * as Comlink from 'comlink';
import { OTError } from '../errors.js';
import { type SolverName, type WorkerApi, decode, encodeArgs, installErrorTransfer } from './protocol.js';
import type { ProgressMessage } from './serve.js';
import { wasmModule } from '../backends/wasm.js';
import { closeWasmThreads } from '../backends/wasm-threads.js';

/** One spawned worker as the platform glue hands it over. */
export interface WorkerHandle {
  /** The comlink endpoint of the worker (nodeEndpoint(worker) in Node, the Worker itself in browsers). */
  endpoint: Comlink.Endpoint;
  /** Keep the process alive while a call runs (Node); unref when idle so an idle pool never holds it. */
  ref(): void;
  unref(): void;
  /** Hard stop. The pool only calls it after shutdown() answered, or on a worker with no GPU work. */
  terminate(): void | Promise<unknown>;
  /** Called once when the worker dies or raises an uncaught error (the reason, for the error message). */
  onExit(cb: (reason: string) => void): void;
}

export interface WorkerPlatform {
  spawn(): WorkerHandle;
  /** Pool size: the cores minus one (the calling thread), at least 1. */
  size: number;
}

/** How long an aborted call may take to stop by itself before its worker is replaced (the call rejects then). */
export const ABORT_GRACE_MS = 500;
let abortGraceMs = ABORT_GRACE_MS;
let holdProgress = false;
/** How long dispose() waits for a worker's shutdown() answer (longer when it holds a GPU device). */
const SHUTDOWN_MS = 1000;
const SHUTDOWN_GPU_MS = 10000;

let platform: WorkerPlatform | undefined;
let inWorker = false;

/** bindings/ registers how to spawn a worker here. */
export function setWorkerPlatform(p: WorkerPlatform | undefined): void {
  platform = p;
}

/** Why workers could not start here (the first failure); cleared by dispose(), which lets them be tried again. */
let startFailure: string | undefined;

/** Whether offloading is possible from this thread (a platform is registered, we are not a worker, and workers start). */
export function workersAvailable(): boolean {
  return !!platform && !inWorker && !startFailure;
}

/** Workers the pool may hold (0 without a platform): a batch splits its problems into this many shares plus one. */
export function poolSize(): number {
  return workersAvailable() ? platform!.size : 0;
}

/** Why calls cannot go to a worker from this thread, or undefined when they can. 'auto' calls then run in-process. */
export function workersUnavailableReason(): string | undefined {
  if (inWorker) return 'this is a worker of the pool (calls in it run in-process)';
  if (!platform) return 'no worker platform is registered (import the package entry, kantorovich)';
  return startFailure;
}

/** Set inside a worker: solvers there always run in-process (no recursion). */
export function markInWorker(): void {
  inWorker = true;
}

export function isInWorker(): boolean {
  return inWorker;
}

interface Job {
  id: number;
  solver: SolverName;
  payload: unknown;
  transfer: ArrayBuffer[];
  signal?: AbortSignal;
  onProgress?: (p: unknown) => void;
  resolve(v: unknown): void;
  reject(e: unknown): void;
  /** 'auto' calls: how to run in-process when no worker can start. */
  fallback?: () => Promise<unknown>;
  settled: boolean;
  /** Whether the payload went to a worker (before that, a worker's death puts the job back in the queue). */
  dispatched?: boolean;
  port?: MessagePort;
  /** Resolves when the worker's end-of-progress marker has arrived (all reports delivered). */
  progressEnd?: Promise<void>;
  endProgress?: () => void;
  /** Test hook (holdProgress): reports held back until the result has arrived, the worst legal order. */
  held?: ProgressMessage[];
  release?: () => void;
  graceTimer?: ReturnType<typeof setTimeout>;
  detach?: () => void;
}

type State = 'idle' | 'busy' | 'retiring' | 'closing' | 'dead';

interface PoolWorker {
  handle: WorkerHandle;
  remote: Comlink.Remote<WorkerApi>;
  flags: Int32Array;
  shared: boolean;
  ready: Promise<void>;
  /** Where the worker's wasm came from: this thread's compiled module, or the worker's own default. */
  wasmFrom?: 'pool' | 'default';
  state: State;
  /** Whether init() answered: a worker that dies before that could not start (see startFailed). */
  started?: boolean;
  job?: Job;
}

let workers: PoolWorker[] = [];
/** Workers taken out of the pool that still finish a call (GPU work in flight: never terminated mid-call). */
const retiring = new Set<PoolWorker>();
const queue: Job[] = [];
let nextId = 1;
const stats = { spawned: 0, crashed: 0, replaced: 0, calls: 0 };

const hasShared = (): boolean =>
  typeof SharedArrayBuffer !== 'undefined' && (typeof (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== 'boolean' || (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true);

function spawn(): PoolWorker {
  if (!platform) throw new OTError('backend-unavailable', 'No worker platform is registered: import the package entry (kantorovich) or pass { worker: false }.');
  installErrorTransfer();
  const handle = platform.spawn();
  const shared = hasShared();
  const flags = new Int32Array(shared ? new SharedArrayBuffer(8) : new ArrayBuffer(8));
  const remote = Comlink.wrap<WorkerApi>(handle.endpoint);
  const w: PoolWorker = { handle, remote, flags, shared, state: 'idle', ready: Promise.resolve() };
  // the worker runs this thread's compiled wasm (whatever setWasmSource chose here), or its default binary
  w.ready = wasmModule()
    .then((mod) => remote.init(shared ? (flags.buffer as SharedArrayBuffer) : undefined, mod))
    .then((from) => {
      w.wasmFrom = from;
      w.started = true;
    });
  w.ready.catch(() => {});
  handle.unref();
  handle.onExit((reason) => onWorkerExit(w, reason));
  stats.spawned++;
  return w;
}

function gpuInUse(w: PoolWorker): boolean {
  // Without shared memory we cannot know: assume a GPU only where the worker could have one in Node (Dawn);
  // in browsers terminating a worker mid-dispatch is safe, and there is no SharedArrayBuffer there unless
  // the page is cross-origin isolated.
  return w.shared ? Atomics.load(w.flags, 1) === 1 : false;
}

function onWorkerExit(w: PoolWorker, reason: string): void {
  const was = w.state;
  w.state = 'dead';
  workers = workers.filter((x) => x !== w);
  retiring.delete(w);
  if (was === 'closing' || was === 'dead') return;
  stats.crashed++;
  const job = w.job;
  w.job = undefined;
  if (!w.started) {
    if (job && !job.settled) queue.unshift(job);
    return startFailed(`a worker ${reason} before it started`);
  }
  if (job && !job.dispatched && !job.settled) queue.unshift(job);
  else if (job) settle(job, () => job.reject(new OTError('worker-crashed', `${job.solver}: its worker ${reason} during the call; the pool has replaced it. Retry, or pass { worker: false } to run in-process.`)));
  pump();
}

/**
 * Take a worker out of the pool as crashed (its call rejects with 'worker-crashed') and stop it. One whose GPU
 * flag is set is never terminated outright (Dawn would abort the whole process): it is drained by shutdown()
 * first, and only then terminated (close()).
 */
function kill(w: PoolWorker, reason: string): void {
  if (w.state === 'dead' || w.state === 'closing') return;
  const gpu = gpuInUse(w);
  stats.crashed++;
  workers = workers.filter((x) => x !== w);
  const job = w.job;
  w.job = undefined;
  if (job && !job.dispatched && !job.settled) queue.unshift(job);
  else if (job) settle(job, () => job.reject(new OTError('worker-crashed', `${job.solver}: its worker ${reason} during the call; the pool has replaced it. Retry, or pass { worker: false } to run in-process.`)));
  if (gpu) void close(w);
  else {
    w.state = 'dead';
    void w.handle.terminate();
  }
  pump();
}

/**
 * Workers cannot start here (a spawn that throws, a worker that dies before init answers): remember why,
 * run the queued 'auto' calls in-process and reject the { worker: true } ones with 'backend-unavailable'.
 */
function startFailed(reason: string): void {
  startFailure = reason;
  for (const job of queue.splice(0)) {
    if (job.fallback) {
      const run = job.fallback;
      job.detach?.();
      job.detach = undefined;
      run().then(
        (v) => settle(job, () => job.resolve(v)),
        (e) => settle(job, () => job.reject(e)),
      );
    } else settle(job, () => job.reject(unavailable(job.solver)));
  }
}

function unavailable(solver: string): OTError {
  return new OTError('backend-unavailable', `${solver}: { worker: true } but no worker can start here: ${startFailure}. Pass { worker: false } (or 'auto') to run in-process.`);
}

function settle(job: Job, fn: () => void): void {
  if (job.graceTimer) clearTimeout(job.graceTimer);
  job.graceTimer = undefined;
  if (job.port) {
    job.port.close();
    job.port = undefined;
  }
  job.endProgress?.();
  job.detach?.();
  job.detach = undefined;
  if (job.settled) return;
  job.settled = true;
  fn();
}

function pump(): void {
  while (queue.length > 0) {
    let w = workers.find((x) => x.state === 'idle');
    if (!w) {
      if (!platform || workers.length >= platform.size) return;
      try {
        w = spawn();
      } catch (e) {
        return startFailed(`a worker could not be spawned (${(e as Error)?.message ?? String(e)})`);
      }
      workers.push(w);
    }
    start(w, queue.shift()!);
  }
}

function start(w: PoolWorker, job: Job): void {
  w.state = 'busy';
  w.job = job;
  w.handle.ref();
  Atomics.store(w.flags, 0, 0);
  const after = (fn: () => void) => () => {
    if (job.held) job.release?.();
    if (job.progressEnd && !job.settled) void job.progressEnd.then(() => finish(w, job, fn));
    else finish(w, job, fn);
  };
  // abort() of no call is a round trip that proves the worker alive before the payload (transferred, so
  // gone from this thread) is sent: a worker that died idle, its exit not yet seen, costs a retry elsewhere
  // (onWorkerExit puts an undispatched job back), not the call.
  w.ready
    .then(() => w.remote.abort(-1))
    .then(() => {
      if (job.settled || w.job !== job) return SKIPPED;
      job.dispatched = true;
      stats.calls++;
      return w.remote.run(job.id, job.solver, Comlink.transfer(job.payload, job.transfer), openProgress(job));
    })
    .then(
      (r) => (r === SKIPPED ? finish(w, job, () => {}) : after(() => job.resolve(decode(r)))()),
      (e) => {
        if (!w.started && !job.dispatched && !job.settled && w.state === 'busy') {
          // init() failed: this worker never served; the job goes back and workers are off here
          w.job = undefined;
          w.state = 'dead';
          workers = workers.filter((x) => x !== w);
          void w.handle.terminate();
          queue.unshift(job);
          return startFailed(`a worker failed to start (${(e as Error)?.message ?? String(e)})`);
        }
        after(() => job.reject(e))();
      },
    );
}

const SKIPPED = Symbol('skipped');

/** The worker's end of a progress port for the job, or undefined when it has no onProgress. */
function openProgress(job: Job): MessagePort | undefined {
  if (!job.onProgress) return undefined;
  // Raw messages on a port of its own: reports arrive in order, and the end marker (posted by the worker
  // before its result) tells that the last one has been delivered; the call settles only after it.
  const ch = new MessageChannel();
  const cb = job.onProgress;
  const port = ch.port1;
  job.progressEnd = new Promise<void>((resolve) => {
    job.endProgress = resolve;
    const handle = (m: ProgressMessage) => {
      if ('end' in m) return resolve();
      if (job.settled) return;
      try {
        cb(m.p);
      } catch {
        /* a throwing callback must not break the call */
      }
    };
    port.onmessage = (ev: MessageEvent<ProgressMessage>) => {
      if (job.held) job.held.push(ev.data);
      else handle(ev.data);
    };
    job.release = () =>
      // a task later: the reports land after the result has been handled
      setTimeout(() => {
        const held = job.held ?? [];
        job.held = undefined;
        for (const m of held) handle(m);
      }, 0);
    if (holdProgress) job.held = [];
  });
  job.port = port;
  return Comlink.transfer(ch.port2, [ch.port2 as unknown as Transferable]);
}

function finish(w: PoolWorker, job: Job, fn: () => void): void {
  settle(job, fn);
  if (w.job === job) w.job = undefined;
  if (w.state === 'busy') {
    w.state = 'idle';
    if (queue.length === 0) w.handle.unref();
    pump();
  } else if (w.state === 'retiring') {
    // its call has ended: now it can be stopped safely
    void close(w);
  }
}

function onAbort(job: Job): void {
  const qi = queue.indexOf(job);
  if (qi >= 0) {
    queue.splice(qi, 1);
    settle(job, () => job.reject(new OTError('aborted', `${job.solver} was aborted before it started.`)));
    return;
  }
  const w = workers.find((x) => x.job === job) ?? [...retiring].find((x) => x.job === job);
  if (!w || job.settled) return;
  if (!job.dispatched) {
    // still on its liveness round trip: start() sees it settled and hands the worker back
    settle(job, () => job.reject(new OTError('aborted', `${job.solver} was aborted before it started.`)));
    return;
  }
  // The flag is read by the solver's own abort checks (emd every 20000 pivots, Sinkhorn every checkEvery
  // iterations) even when the worker's event loop is busy; the message covers non-shared memory.
  Atomics.store(w.flags, 0, 1);
  w.remote.abort(job.id).catch(() => {});
  job.graceTimer = setTimeout(() => {
    if (job.settled || w.job !== job) return;
    stats.replaced++;
    const gpu = gpuInUse(w);
    settle(job, () =>
      job.reject(new OTError('aborted', `${job.solver} was aborted; its worker did not stop within ${abortGraceMs} ms and ${gpu ? 'is retired once its GPU work ends' : 'was replaced'}.`)),
    );
    workers = workers.filter((x) => x !== w);
    if (gpu) {
      // Dawn: terminating a worker with GPU work in flight kills the process; let the call end first.
      w.state = 'retiring';
      retiring.add(w);
    } else {
      w.state = 'dead';
      void w.handle.terminate();
    }
    pump();
  }, abortGraceMs);
}

/** Run one solver call in a worker of the pool. */
export function runInWorker(
  solver: SolverName,
  args: unknown[],
  opts: { signal?: AbortSignal; onProgress?: (p: unknown) => void; fallback?: () => Promise<unknown> },
): Promise<unknown> {
  if (opts.signal?.aborted) return Promise.reject(new OTError('aborted', `${solver} was aborted before it started.`));
  if (startFailure && platform && !inWorker) return opts.fallback ? opts.fallback() : Promise.reject(unavailable(solver));
  if (!workersAvailable()) {
    return Promise.reject(new OTError('backend-unavailable', `${solver}: { worker: true } but no worker platform is registered here (import the package entry 'kantorovich', or pass { worker: false }).`));
  }
  const { payload, transfer } = encodeArgs(solver, args);
  return new Promise((resolve, reject) => {
    const job: Job = { id: nextId++, solver, payload, transfer, signal: opts.signal, onProgress: opts.onProgress, fallback: opts.fallback, resolve, reject, settled: false };
    if (opts.signal) {
      const signal = opts.signal;
      const listener = () => onAbort(job);
      signal.addEventListener('abort', listener, { once: true });
      job.detach = () => signal.removeEventListener('abort', listener);
    }
    queue.push(job);
    pump();
  });
}

async function close(w: PoolWorker): Promise<void> {
  const gpu = gpuInUse(w);
  w.state = 'closing';
  let timer: ReturnType<typeof setTimeout> | undefined;
  const answered = await Promise.race([
    w.remote.shutdown().then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), gpu ? SHUTDOWN_GPU_MS : SHUTDOWN_MS))),
  ]);
  if (timer) clearTimeout(timer);
  retiring.delete(w);
  if (answered || !gpu) {
    w.state = 'dead';
    await w.handle.terminate();
  } else {
    // never terminate a worker whose GPU work may be in flight; unreferenced, it no longer holds the process
    w.handle.unref();
  }
}

/**
 * End every worker: pending and queued calls reject with 'aborted', each worker is asked to stop (its
 * solve aborted, its GPU device destroyed) and then terminated; so are this thread's wasm helper threads.
 * Both start again on the next call that needs them.
 * In Node the process can exit by itself afterwards.
 */
export async function dispose(): Promise<void> {
  const all = [...workers, ...retiring];
  workers = [];
  startFailure = undefined;
  for (const job of queue.splice(0)) settle(job, () => job.reject(new OTError('aborted', `${job.solver} was aborted: dispose() ended the worker pool.`)));
  for (const w of all) {
    const job = w.job;
    if (job) {
      Atomics.store(w.flags, 0, 1);
      w.remote.abort(job.id).catch(() => {});
      settle(job, () => job.reject(new OTError('aborted', `${job.solver} was aborted: dispose() ended the worker pool.`)));
    }
  }
  await Promise.all([...all.map((w) => (w.state === 'dead' ? undefined : close(w))), closeWasmThreads()]);
}

/** Test and diagnostics hooks (not a stable API). */
export const poolInternals = {
  stats: () => ({ ...stats, live: workers.length, retiring: retiring.size, size: platform?.size ?? 0, queued: queue.length }),
  /** Where each live worker's wasm came from ('pool': this thread's compiled module). */
  wasmSources: () => workers.map((w) => w.wasmFrom),
  /** Make every live worker crash: 'exit' ends it from inside, 'throw' raises an uncaught error, 'terminate' kills it from outside. */
  crash(mode: 'exit' | 'throw' | 'terminate'): void {
    for (const w of [...workers]) {
      if (mode === 'terminate') kill(w, 'was terminated');
      else w.remote.crash(mode).catch(() => {});
    }
  },
  /** Deliver each call's progress reports only once its result has arrived (tests: the worst interleaving). */
  holdProgress(on: boolean): void {
    holdProgress = on;
  },
  /** Change the abort grace period (tests); returns the previous one. */
  setAbortGrace(ms: number): number {
    const old = abortGraceMs;
    abortGraceMs = ms;
    return old;
  },
};
