// Many problems in one call (POT's ot.batch): sinkhornBatch, emdBatch, wasserstein1dBatch (sinkhornDivergenceBatch
// lives with the divergence, ts/solvers/divergence.ts). Each is a solver of its own in the registry (its own
// schema, work estimate and worker dispatch) whose result is a BatchResult: the per-problem results, their
// values as one array, and aggregate fields so that it is still an OTResult. Every problem is validated
// before any work; an error names the problem's index. The input side (an array of problems, or a packed
// B × n × m tensor with per-problem valid sizes) and the errors that name a problem are at the end.
import { OTError } from '../errors.js';
import type { BackendName, MatrixLike, VectorLike } from '../types.js';
import type { OTResult, SolveStatus } from '../result.js';
import { AUTO_THRESHOLD, defineSolver } from '../registry/define.js';
import { isInWorker, poolSize, runInWorker } from '../worker/pool.js';
import { type Schema, isPlainObject, opt } from '../registry/schema.js';
import { massOptions, progressOption } from '../registry/common.js';
import { pairEntries } from '../registry/estimate.js';
import { type CostInput, toGeometry } from '../geometry.js';
import { abortPoint, checkBudget, toVector, toWeights } from '../validate.js';
import { engineBackends } from '../entropic/select.js';
import { checkThreads } from '../entropic/problem.js';
import { type BatchProgress, solveBatch } from '../entropic/batch.js';
import { type SinkhornOptions, type SinkhornResult, entropicResult, overflowMessage, setupEntropic, sinkhornSchema } from './sinkhorn.js';
import { type EmdOptions, type EmdResult, emd } from './emd.js';
import { type Emd1dOptions, wasserstein1d } from './ot1d.js';
import { chooseBackend } from '../backends/select.js';

export type { BatchProgress } from '../entropic/batch.js';

/** The result of a batched call: one result per problem, in input order, and aggregates over them. */
export interface BatchResult<R> extends OTResult {
  /** Σ_q values[q]: the batch's total (a loss over the batch; divide by `values.length` for the mean). */
  value: number;
  /** Each problem's value (its result's `value`), in input order. */
  values: Float64Array;
  /** Each problem's full result, in input order (each with its own status, iterations and error). */
  results: R[];
  /** 'converged' / 'optimal' / 'closed-form' when every problem ended so; else 'max-iterations'. */
  status: SolveStatus;
  /** The most iterations any problem ran. */
  iterations: number;
  /** The largest stopping measure over the problems. */
  error: number;
  backend: BackendName;
  /** Threads that shared the batch. */
  threads: number;
}

/** The aggregate fields over per-problem results. */
export function aggregate<R extends OTResult>(results: R[], backend: BackendName, threads: number): BatchResult<R> {
  const values = Float64Array.from(results, (r) => r.value);
  const statuses = new Set(results.map((r) => r.status));
  return {
    value: values.reduce((s, v) => s + v, 0),
    values,
    results,
    status: statuses.size === 1 ? results[0].status : statuses.has('max-iterations') ? 'max-iterations' : results[0].status,
    iterations: results.reduce((s, r) => Math.max(s, r.iterations), 0),
    error: results.reduce((s, r) => Math.max(s, r.error), 0),
    backend,
    threads,
  };
}

const batchProgress = progressOption('{ solved, total, iterations, error, eps } after every round of convergence checks');
const eachProgress = progressOption('{ solved, total, iterations } after each problem');

/** The options of sinkhornBatch: those of `sinkhorn` (without `init`), shared by every problem. */
export interface SinkhornBatchOptions extends Omit<SinkhornOptions, 'init' | 'onProgress'> {
  /** After every round of checks: problems finished so far, of all, and the most iterations any has run. */
  onProgress?: (p: BatchProgress) => void;
}

/**
 * Balanced entropic OT for B independent problems in one call (POT: ot.batch / a loop of ot.sinkhorn2):
 * `problems` is an array of { a?, b?, M } (ragged sizes) or one packed B × n × m tensor with per-problem valid
 * sizes. Every problem runs the schedule its own `sinkhorn` call would (same options, same result to
 * rounding) with its own convergence; on wasm one call per round steps all problems still running, and the
 * threads take whole problems in turn.
 */
export const sinkhornBatch = defineSolver({
  name: 'sinkhornBatch',
  summary: 'Entropic OT for a batch of independent problems in one pass (per-problem convergence).',
  params: ['problems'],
  options: (() => {
    const { init: _init, ...base } = sinkhornSchema({ ...massOptions, onProgress: batchProgress });
    return base as Schema;
  })(),
  backends: engineBackends,
  workEstimate: ([problems]) => batchEntries(problems),
  run: async (problems: BatchInput, opts: SinkhornBatchOptions): Promise<BatchResult<SinkhornResult>> => {
    const name = 'sinkhornBatch';
    const list = unpackBatch(name, problems);
    const setups = list.map((p, q) => atProblem(name, q, () => setupEntropic(p.a, p.b, p.M, { ...opts, onProgress: undefined }, undefined)));
    // the kernels are held a chunk at a time (solveBatch); the dense plans of all problems are returned together
    checkBudget(setups.reduce((b, s) => b + (s.wantPlan ? s.n * s.m * 8 : 0), 0), `the ${setups.length} problems' dense plans (plan: false returns lazy ones)`, opts.maxBytes);
    const { results, backend, threads } = await solveBatch(
      name,
      setups.map((s) => s.engineProblem),
      setups.map((s) => s.schedule),
      { ...opts, threads: checkThreads(opts.threads) },
      (q) => overflowMessage(`${name}: problem ${q}`, setups[q]),
      (engine, q, loop) => entropicResult(engine, setups[q], loop),
    );
    return aggregate(results, backend, threads);
  },
});

/** Σ n·m over a batch input, from unvalidated input (never throws). */
function batchEntries(problems: unknown): number {
  if (Array.isArray(problems)) return problems.reduce((s: number, p) => s + (p && typeof p === 'object' ? pairEntries(p.a, p.b, p.M) : 0), 0);
  const shape = (problems as { shape?: unknown[] } | undefined)?.shape;
  return Array.isArray(shape) ? (Number(shape[0]) || 0) * (Number(shape[1]) || 0) * (Number(shape[2]) || 0) : 0;
}

/** The options of emdBatch: those of `emd` (without `warmStart`), shared by every problem. */
export interface EmdBatchOptions extends Omit<EmdOptions, 'warmStart' | 'onProgress'> {
  /** After each problem: { solved, total, iterations } (iterations: pivots of the last problem). */
  onProgress?: (p: BatchProgress) => void;
}

/**
 * Exact OT (network simplex) for B independent problems in one call (POT: a loop of ot.emd2): the same inputs
 * as sinkhornBatch; each result is what `emd` returns for that problem (plan, duals, certificate). All problems
 * are validated first; then, under `worker: 'auto'`, a batch of 2^18 cost entries or more is shared between this
 * thread and the workers of the pool (runs of about equal work), else solved here one problem after another.
 */
export const emdBatch = defineSolver({
  name: 'emdBatch',
  summary: 'Exact OT (network simplex) for a batch of independent problems in one call.',
  params: ['problems'],
  options: (() => {
    const { warmStart: _w, ...base } = emd.descriptor.options;
    return { ...base, onProgress: eachProgress } as Schema;
  })(),
  backends: ['wasm'],
  // 0: under worker 'auto' the batch stays on this thread and shares its problems with the pool itself (overPool)
  workEstimate: () => 0,
  run: async (problems: BatchInput, opts: EmdBatchOptions): Promise<BatchResult<EmdResult>> => {
    const name = 'emdBatch';
    const list = unpackBatch(name, problems);
    // shapes, finiteness and weights of every problem before the first pivot
    list.forEach((p, q) =>
      atProblem(name, q, () => {
        const g = toGeometry(p.M, opts.maxBytes);
        toWeights('a', p.a, g.rows);
        toWeights('b', p.b, g.cols);
      }),
    );
    const one = { ...opts, onProgress: undefined, worker: false as const };
    const solveRange = async (part: BatchProblem[], offset: number, done: () => number): Promise<EmdResult[]> => {
      const out: EmdResult[] = [];
      for (let q = 0; q < part.length; q++) {
        await abortPoint(opts.signal, () => `after ${done()} of ${list.length} problems`);
        try {
          out.push(await emd.descriptor.run(part[q].a, part[q].b, part[q].M, one));
        } catch (e) {
          throw problemError(name, q + offset, e);
        }
        opts.onProgress?.({ solved: done() + 1, total: list.length, iterations: out[q].iterations });
      }
      return out;
    };
    const { results, shares } = await overPool(name, list, opts, solveRange, (p) => pairEntries(p.a, p.b, p.M));
    return aggregate(results, 'wasm', shares);
  },
});

/**
 * Problems of an exact batch shared with the worker pool (the network simplex has no threads of its own): under
 * `worker: 'auto'` (the batch's own dispatch keeps it here: its work estimate is 0), a batch of at least 2^18 cost
 * entries in all is cut into (pool size + 1) runs of about equal work; this thread solves the first, each worker
 * one other (as an emdBatch call of its own). Results keep the input order; an error names the problem's index in
 * the whole batch.
 */
async function overPool<R>(
  name: string,
  list: BatchProblem[],
  opts: { worker?: 'auto' | boolean; signal?: AbortSignal },
  solveRange: (part: BatchProblem[], offset: number, done: () => number) => Promise<R[]>,
  work: (p: BatchProblem) => number,
): Promise<{ results: R[]; shares: number }> {
  let solved = 0;
  const done = () => solved;
  const count = (r: R[]) => ((solved += r.length), r);
  const w = list.map(work);
  const total = w.reduce((s, x) => s + x, 0);
  const S = opts.worker === 'auto' || opts.worker === undefined ? Math.min(list.length, poolSize() + 1) : 1;
  if (S < 2 || isInWorker() || total < AUTO_THRESHOLD) return { results: await solveRange(list, 0, done), shares: 1 };
  const cuts = [0];
  for (let q = 0, acc = 0; q < list.length && cuts.length < S; q++) {
    acc += w[q];
    if (acc >= (total * cuts.length) / S) cuts.push(q + 1);
  }
  cuts.push(list.length);
  const { signal: _s, onProgress: _p, ...plain } = opts as Record<string, unknown>;
  const parts = cuts.slice(0, -1).map((start, s) => ({ start, part: list.slice(start, cuts[s + 1]) })).filter((x) => x.part.length > 0);
  const runs = parts.map(({ start, part }, s) =>
    s === 0
      ? solveRange(part, start, done).then(count)
      : runInWorker(name, [part, { ...plain, worker: false }], { signal: opts.signal })
          .then((r) => count((r as BatchResult<R>).results))
          .catch((e) => {
            // the worker's own message names the problem within its run: name it within the whole batch
            if (e instanceof OTError) {
              const m = /problem (\d+): /.exec(e.message);
              if (m) throw new OTError(e.code, e.message.replace(`problem ${m[1]}: `, `problem ${Number(m[1]) + start}: `));
            }
            throw e;
          }),
  );
  const results = await Promise.all(runs);
  return { results: results.flat(), shares: parts.length };
}

/** The options of wasserstein1dBatch: those of `wasserstein1d`, shared by every pair (weights go in the pairs). */
export interface Wasserstein1dBatchOptions extends Omit<Emd1dOptions, 'a' | 'b' | 'onProgress'> {
  /** After each problem: { solved, total, iterations: 0 }. */
  onProgress?: (p: BatchProgress) => void;
}

/** The result of wasserstein1dBatch: W_p of each pair (as wasserstein1d returns it), and their sum. */
export type Wasserstein1dBatchResult = BatchResult<{
  /** W_p of the pair. */
  value: number;
  /** Always 'optimal' (sorting). */
  status: 'optimal';
}> & {
  /** Always 'optimal' (sorting). */
  status: 'optimal';
};

/**
 * The 1D p-Wasserstein distance W_p (as `wasserstein1d`) for B pairs of samples { x, y, a?, b? } in one call
 * (POT: ot.wasserstein_1d over a batch of columns, which returns W_p^p). Sizes may differ between pairs.
 */
export const wasserstein1dBatch = defineSolver({
  name: 'wasserstein1dBatch',
  summary: 'The 1D distance W_p for a batch of pairs of samples in one call.',
  params: ['pairs'],
  options: (() => {
    const { a: _a, b: _b, ...base } = wasserstein1d.descriptor.options;
    return { ...base, onProgress: eachProgress } as Schema;
  })(),
  backends: ['wasm', 'js'],
  workEstimate: ([pairs]) => (Array.isArray(pairs) ? pairs.reduce((s: number, p) => s + (p && typeof p === 'object' ? ((p.x?.length ?? 0) + (p.y?.length ?? 0)) / 4 : 0), 0) : 0),
  run: async (pairs: readonly SamplePair[], opts: Wasserstein1dBatchOptions): Promise<Wasserstein1dBatchResult> => {
    const name = 'wasserstein1dBatch';
    const list = listOf<SamplePair>(name, 'pairs { x, y, a?, b? }', pairs);
    list.forEach((p, q) =>
      atProblem(name, q, () => {
        const x = toVector('x', p.x);
        const y = toVector('y', p.y);
        toWeights('a', p.a as VectorLike | undefined, x.length);
        toWeights('b', p.b as VectorLike | undefined, y.length);
      }),
    );
    const backend = (await chooseBackend(name, ['wasm', 'js'], opts.backend)).name as 'wasm' | 'js';
    const results: { value: number; status: 'optimal'; iterations: number; error: number; backend: BackendName; threads: number }[] = [];
    for (let q = 0; q < list.length; q++) {
      await abortPoint(opts.signal, () => `after ${q} of ${list.length} pairs`);
      const p = list[q];
      let value: number;
      try {
        value = await wasserstein1d.descriptor.run(p.x, p.y, { ...opts, backend, a: p.a, b: p.b, onProgress: undefined, worker: false });
      } catch (e) {
        throw problemError(name, q, e);
      }
      results.push({ value, status: 'optimal', iterations: 0, error: 0, backend, threads: 1 });
      opts.onProgress?.({ solved: q + 1, total: list.length, iterations: 0 });
    }
    if (results.length === 0) throw new OTError('shape', `${name}: no pairs.`);
    return aggregate(results, results[0].backend, 1) as Wasserstein1dBatchResult;
  },
});

// ---- the input side ------------------------------------------------------------------------------------------

/** One transport problem of a batch: weights (default uniform) and a cost (matrix or geometry). */
export interface BatchProblem {
  /** Row weights (default uniform 1/n). */
  a?: VectorLike;
  /** Column weights (default uniform 1/m). */
  b?: VectorLike;
  /** The cost: a matrix, `costMatrix(...)` or `pointCloud(...)`. */
  M: CostInput;
}

/**
 * B problems packed as one padded tensor (POT's ot.batch layout): `costs` is B × n × m row-major, `a` B × n and
 * `b` B × m (default uniform over each problem's valid entries). `rows[q]` × `cols[q]` (default n × m) is the
 * valid leading block of problem q; entries outside it are padding and are never read.
 */
export interface PackedBatch {
  /** B × n × m costs, row-major per problem, problem after problem. */
  costs: ArrayLike<number>;
  /** [B, n, m]. */
  shape: readonly [number, number, number];
  /** B × n row weights (default uniform over each problem's valid rows). */
  a?: ArrayLike<number>;
  /** B × m column weights (default uniform over each problem's valid columns). */
  b?: ArrayLike<number>;
  /** Valid rows of each problem (the padding mask of the rows), each in 1 … n. */
  rows?: ArrayLike<number>;
  /** Valid columns of each problem, each in 1 … m. */
  cols?: ArrayLike<number>;
}

/** What the batched cost solvers take: an array of problems, or one packed tensor. */
export type BatchInput = readonly BatchProblem[] | PackedBatch;

/** A pair of point clouds of a batch (sinkhornDivergenceBatch): rows are points; weights default uniform. */
export interface CloudPair {
  /** The first cloud, n × d. */
  X: MatrixLike;
  /** The second cloud, m × d. */
  Y: MatrixLike;
  /** Weights of X's points (default uniform; a zero masks a padded point). */
  a?: VectorLike;
  /** Weights of Y's points (default uniform). */
  b?: VectorLike;
}

/** A pair of 1D samples of a batch (wasserstein1dBatch). */
export interface SamplePair {
  /** The first samples. */
  x: VectorLike;
  /** The second samples. */
  y: VectorLike;
  /** Weights of x (default uniform). */
  a?: VectorLike;
  /** Weights of y (default uniform). */
  b?: VectorLike;
}

/** Runs `fn` for problem q; an OTError it throws gets "problem q: " in front (same code), anything else passes. */
export function atProblem<T>(solver: string, q: number, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw problemError(solver, q, e);
  }
}

export function problemError(solver: string, q: number, e: unknown): unknown {
  if (!(e instanceof OTError) || e.message.startsWith(`${solver}: problem `)) return e;
  const out = new OTError(e.code, `${solver}: problem ${q}: ${e.message}`);
  (out as { cause?: unknown }).cause = e;
  return out;
}

/** The list of a batch (at least one problem), each entry an object. */
export function listOf<T>(solver: string, what: string, x: unknown): T[] {
  if (!Array.isArray(x) || x.length === 0) throw new OTError('shape', `${solver}: expected a non-empty array of ${what} (got ${describe(x)}).`);
  x.forEach((p, q) => {
    if (!isPlainObject(p)) throw new OTError('shape', `${solver}: problem ${q}: expected ${what.replace(/s$/, '')} object (got ${describe(p)}).`);
  });
  return x as T[];
}

function describe(x: unknown): string {
  return x === null ? 'null' : Array.isArray(x) ? `an array of ${x.length}` : typeof x;
}

function isPacked(x: unknown): x is PackedBatch {
  return isPlainObject(x) && 'costs' in x && 'shape' in x;
}

/** The problems of a batch input, packed tensors unpacked (views where a problem is the whole n × m block). */
export function unpackBatch(solver: string, input: unknown): BatchProblem[] {
  if (!isPacked(input)) {
    const list = listOf<BatchProblem>(solver, 'problems { a?, b?, M }', input);
    list.forEach((p, q) => {
      if (p.M === undefined) throw new OTError('shape', `${solver}: problem ${q}: the cost M is missing.`);
    });
    return list;
  }
  const { costs, shape } = input;
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((s) => Number.isInteger(s) && s >= 1)) {
    throw new OTError('shape', `${solver}: shape must be [B, n, m] of positive integers (got ${JSON.stringify(shape)}).`);
  }
  const [B, n, m] = shape;
  const check = (name: string, x: ArrayLike<number> | undefined, len: number) => {
    if (x !== undefined && (x == null || x.length !== len)) {
      throw new OTError('shape', `${solver}: ${name} has ${x?.length} entries; shape [${B}, ${n}, ${m}] needs ${len}.`);
    }
  };
  check('costs', costs, B * n * m);
  check('a', input.a, B * n);
  check('b', input.b, B * m);
  check('rows', input.rows, B);
  check('cols', input.cols, B);
  const C = costs instanceof Float64Array ? costs : Float64Array.from(costs);
  const out: BatchProblem[] = [];
  for (let q = 0; q < B; q++) {
    const r = input.rows ? input.rows[q] : n;
    const c = input.cols ? input.cols[q] : m;
    if (!Number.isInteger(r) || r < 1 || r > n || !Number.isInteger(c) || c < 1 || c > m) {
      throw new OTError('shape', `${solver}: problem ${q}: its valid block ${r} × ${c} must lie within 1 … ${n} × 1 … ${m}.`);
    }
    let data: Float64Array;
    if (c === m) data = C.subarray(q * n * m, q * n * m + r * m);
    else {
      data = new Float64Array(r * c);
      for (let i = 0; i < r; i++) data.set(C.subarray(q * n * m + i * m, q * n * m + i * m + c), i * c);
    }
    const slice = (x: ArrayLike<number> | undefined, at: number, len: number) =>
      x === undefined ? undefined : x instanceof Float64Array ? x.subarray(at, at + len) : Array.prototype.slice.call(x, at, at + len);
    out.push({ a: slice(input.a, q * n, r), b: slice(input.b, q * m, c), M: { data, rows: r, cols: c } });
  }
  return out;
}
