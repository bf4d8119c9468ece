// A solver is one descriptor (name, option schema, backends, work estimate, run); `defineSolver` turns it
// into the public function: one validation pass of the options from the schema, then the call runs
// in-process or in a worker of the pool (the `worker` option and the work estimate decide), and nothing but
// an OTError ever leaves it. The registry (ts/solvers/index.ts) lists the public functions; the worker
// dispatches by name from the same list.
import { OTError } from '../errors.js';
import type { BackendName } from '../types.js';
import { isInWorker, runInWorker, workersAvailable } from '../worker/pool.js';
import { type Schema, validateOptions } from './schema.js';

/** Work estimates at or above this go to a worker under `worker: 'auto'` (2^18 cost entries per pass). */
export const AUTO_THRESHOLD = 2 ** 18;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyRun = (...args: any[]) => Promise<unknown>;

export interface SolverDescriptor<F extends AnyRun = AnyRun> {
  /** The public name (also the worker's dispatch key and the CLI's subcommand base). */
  readonly name: string;
  /** One line for docs and `backends()`. */
  readonly summary: string;
  /** The positional parameters' names; the options object comes after them. */
  readonly params: readonly string[];
  /** Every option the solver takes, `worker` included. */
  readonly options: Schema;
  /** The backends it implements (a function where they depend on what is registered, e.g. entropic engines). */
  readonly backends: readonly BackendName[] | (() => readonly BackendName[]);
  /** Cost entries one pass touches (drives `worker: 'auto'`); computed from unvalidated input, never throws. */
  workEstimate(args: Parameters<F>): number;
  /** The in-process solve; its options have passed the schema. */
  readonly run: F;
  /**
   * Calls whose arguments or results are not plain data (the neural trainers: functions, models):
   * why a call cannot cross to a worker (undefined when it can), and how its result crosses.
   */
  readonly crossing?: {
    reason(args: Parameters<F>): string | undefined;
    toPlain(result: Awaited<ReturnType<F>>): unknown;
    fromPlain(plain: unknown): Awaited<ReturnType<F>>;
  };
}

/** The `worker` option every solver takes (see the README's "Workers"). */
export interface WorkerOptions {
  /**
   * Where the call runs. 'auto' (default): in a worker of the pool when the work estimate reaches 2^18 cost
   * entries per pass (e.g. emd/sinkhorn from 512 × 512), in-process otherwise (a worker round trip costs
   * about a millisecond). true: always in a worker. false: always in-process. Inside a worker calls always
   * run in-process.
   */
  worker?: 'auto' | boolean;
}

/** A public solver function: the run function's signature, with the descriptor attached. */
export type SolverFunction<F extends AnyRun> = F & { readonly descriptor: SolverDescriptor<F> };

export function backendsOf(d: SolverDescriptor): readonly BackendName[] {
  return typeof d.backends === 'function' ? d.backends() : d.backends;
}

/** Counts of the validation passes and dispatches (the registry test asserts that bad options stop first). */
export const dispatchCounters = { validated: 0, dispatched: 0 };

/** Anything a run throws that is not an OTError is a broken invariant: report it as one, with its cause. */
export function asOTError(solver: string, e: unknown): OTError {
  if (e instanceof OTError) return e;
  const err = e as { name?: string; message?: string } | undefined;
  const out = new OTError('internal', `${solver}: unexpected ${err?.name ?? 'error'}: ${err?.message ?? String(e)}. This is a bug in kantorovich; please report it.`);
  (out as { cause?: unknown }).cause = e;
  return out;
}

/** Validate a call's options and its `backend`, before any allocation, upload or worker message. */
export function checkCall(d: SolverDescriptor, opts: unknown): Record<string, unknown> {
  dispatchCounters.validated++;
  const o = validateOptions(d.name, d.options, opts);
  const backend = o.backend;
  if (backend !== undefined && backend !== 'auto' && !backendsOf(d).includes(backend as BackendName)) {
    throw new OTError('backend-unavailable', `${d.name} has no '${String(backend)}' backend; it runs on: ${backendsOf(d).join(', ')}.`);
  }
  return o;
}

export function defineSolver<F extends AnyRun>(d: SolverDescriptor<F>): SolverFunction<F> {
  const at = d.params.length;
  const fn = function (this: unknown, ...args: unknown[]): Promise<unknown> {
    let list: unknown[];
    let opts: Record<string, unknown>;
    try {
      opts = checkCall(d, args[at]);
      list = args.slice(0, at);
      while (list.length < at) list.push(undefined);
      list.push(opts);
    } catch (e) {
      return Promise.reject(asOTError(d.name, e));
    }
    return dispatch(d, list, opts);
  };
  Object.defineProperty(fn, 'name', { value: d.name });
  Object.defineProperty(fn, 'descriptor', { value: d, enumerable: false });
  return fn as unknown as SolverFunction<F>;
}

/** Where the call runs: in-process, or in the pool (options validated; `list` has the options last). */
async function dispatch(d: SolverDescriptor, list: unknown[], opts: Record<string, unknown>): Promise<unknown> {
  const where = opts.worker ?? 'auto';
  const args = list as never;
  let offload = false;
  if (!isInWorker() && where !== false) {
    const why = d.crossing?.reason(args);
    if (where === true) {
      if (why) throw new OTError('invalid-option', `${d.name}: { worker: true } but ${why}`);
      offload = true;
    } else offload = !why && workersAvailable() && safeEstimate(d, args) >= AUTO_THRESHOLD;
  }
  dispatchCounters.dispatched++;
  try {
    if (!offload) return await d.run(...(list as never[]));
    const local = { signal: opts.signal as AbortSignal | undefined, onProgress: opts.onProgress as ((p: unknown) => void) | undefined };
    const r = await runInWorker(d.name as never, list, local);
    return d.crossing ? d.crossing.fromPlain(r) : r;
  } catch (e) {
    throw asOTError(d.name, e);
  }
}

function safeEstimate(d: SolverDescriptor, args: never): number {
  try {
    const w = d.workEstimate(args);
    return Number.isFinite(w) ? w : 0;
  } catch {
    return 0;
  }
}
