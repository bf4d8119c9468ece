// The k × k matrix of distances between many measures (histograms on one support, point clouds, 1D samples):
// the k(k − 1)/2 pairs i < j solved once each (symmetry), as one batch where the method has one (emd, sinkhorn,
// the divergence with its k self terms shared), and mirrored.
import { OTError } from '../errors.js';
import type { BackendName, MatrixLike, VectorLike } from '../types.js';
import type { OTResult, SolveStatus } from '../result.js';
import { defineSolver } from '../registry/define.js';
import { matrix, num, oneOf, opt, required } from '../registry/schema.js';
import { backendOption, maxBytesOption, progressOption, signalOption, threadsOption, workerOption } from '../registry/common.js';
import { isPlainObject } from '../registry/schema.js';
import { rowsOf } from '../registry/estimate.js';
import { type CostSpec } from '../costs.js';
import { pointCloud } from '../geometry.js';
import { abortPoint, toMatrix, toVector, toWeights } from '../validate.js';
import { chooseBackend } from '../backends/select.js';
import type { BatchProgress } from '../entropic/batch.js';
import { engineBackends } from '../entropic/select.js';
import { costOption, divergenceMatrix } from './divergence.js';
import { type BatchProblem, atProblem, emdBatch, sinkhornBatch } from './batch.js';
import { slicedWasserstein } from './sliced.js';
import { wasserstein1d } from './ot1d.js';

/** A measure: a histogram (with the `M` option), a point cloud (rows are points), 1D samples, or any of them with weights. */
export type Measure =
  | VectorLike
  | MatrixLike
  | {
      /** The histogram, cloud or samples. */
      X: MatrixLike | VectorLike;
      /** Weights of the points or samples (default uniform). */
      w?: VectorLike;
    };

/** The options of pairwiseDistances (each method reads the ones it names). */
export interface PairwiseOptions {
  /**
   * What each entry is. 'emd': the exact OT cost ⟨P*, C⟩ (POT: ot.emd2); 'sinkhorn': ⟨P_ε, C⟩ of the entropic
   * plan (POT: ot.sinkhorn2; its diagonal is not 0); 'divergence': the debiased S_ε of point clouds; 'sliced': the
   * sliced W_p of point clouds (the same directions for every pair); 'w1d': the 1D W_p of samples.
   */
  method: 'emd' | 'sinkhorn' | 'divergence' | 'sliced' | 'w1d';
  /** emd / sinkhorn: the n × n cost of the histograms' common support; without it the measures are point clouds and the cost is `cost` between their points. */
  M?: MatrixLike;
  /** ε, the entropic regularization (sinkhorn, divergence; required there). */
  reg?: number;
  /** Ground cost between points (emd / sinkhorn without M, divergence). Default 'sqeuclidean'. */
  cost?: CostSpec;
  /** sliced, w1d: the order p of W_p. Default 2 (sliced), 1 (w1d). */
  p?: number;
  /** sliced: random directions (POT: n_projections). Default 50. */
  nProjections?: number;
  /** sliced: seed of the directions. Default 0. */
  seed?: number;
  /** sinkhorn, divergence, emd: the iteration (pivot) cap. */
  maxIter?: number;
  /** sinkhorn, divergence: the stopping tolerance. */
  tol?: number;
  /** wasm: threads that share the batch ('auto': every core, from 2^18 entries in all). */
  threads?: number | 'auto';
  /** Force a backend; 'auto' (default) picks the first available (webgpu only when forced for the batches). */
  backend?: 'auto' | 'webgpu' | 'wasm' | 'js';
  /** Memory budget in bytes (default 2 GiB). */
  maxBytes?: number;
  /** Abort the call: it rejects with OTError('aborted'). */
  signal?: AbortSignal;
  /** { done, total } pairs solved (or OT_ε terms for the divergence: k self terms plus the pairs), as they finish. */
  onProgress?: (p: { done: number; total: number }) => void;
  /** Run in a worker of the pool: 'auto' (default) for large matrices, true always, false never. */
  worker?: 'auto' | boolean;
}

/** The k × k matrix and the usual result fields (status, iterations, error: the worst over the solves). */
export interface PairwiseResult extends OTResult {
  /** The k × k matrix, row-major: D[i·k + j] between measures i and j (symmetric; 0 on the diagonal except for 'sinkhorn'). */
  D: Float64Array;
  /** k. */
  k: number;
  /** Σ_{i<j} D_ij. */
  value: number;
  /** 'optimal' (emd, w1d), 'closed-form' (sliced), 'converged' / 'max-iterations' (entropic: every solve converged or not). */
  status: SolveStatus;
  backend: BackendName;
}

/**
 * Distances between every two of k measures as a k × k matrix (symmetry used: each pair solved once), with
 * progress. POT: a double loop of ot.emd2 / ot.sinkhorn2 / ot.sliced_wasserstein_distance.
 */
export const pairwiseDistances = defineSolver({
  name: 'pairwiseDistances',
  summary: 'The k × k matrix of W / S_ε / sliced / 1D distances between many measures, each pair solved once.',
  params: ['measures'],
  options: {
    method: required(oneOf('emd', 'sinkhorn', 'divergence', 'sliced', 'w1d'), "What each entry is: 'emd', 'sinkhorn' (⟨P_ε, C⟩), 'divergence' (S_ε), 'sliced' (SW_p), 'w1d' (1D W_p)."),
    M: opt(matrix, 'emd / sinkhorn: the cost of the histograms’ common support (without it: point clouds and `cost`).'),
    reg: opt(num({ gt: 0 }), 'ε (sinkhorn, divergence: required).'),
    cost: costOption,
    p: opt(num({ min: 1 }), 'sliced, w1d: the order of W_p.', '2 (sliced), 1 (w1d)'),
    nProjections: opt(num({ integer: true, min: 1 }), 'sliced: random directions (POT: n_projections).', '50'),
    seed: opt(num({ integer: true, min: 0 }), 'sliced: seed of the directions.', '0'),
    maxIter: opt(num({ integer: true, min: 0 }), 'sinkhorn, divergence, emd: iteration (pivot) cap.', '1000 (entropic), 10^9 (emd)'),
    tol: opt(num({ min: 0 }), 'sinkhorn, divergence: stopping tolerance.', '1e-9 (f64), 1e-5 (webgpu)'),
    threads: threadsOption,
    backend: backendOption(['webgpu', 'wasm', 'js']),
    maxBytes: maxBytesOption,
    signal: signalOption,
    onProgress: progressOption('{ done, total } pairs (divergence: OT_ε terms) as they finish'),
    worker: workerOption,
  },
  backends: () => [...new Set<BackendName>([...engineBackends(), 'wasm', 'js'])],
  workEstimate: ([measures]) => {
    if (!Array.isArray(measures)) return 0;
    const k = measures.length;
    const n = rowsOf(isPlainObject(measures[0]) && 'X' in measures[0] ? measures[0].X : measures[0]) || 1;
    return ((k * (k - 1)) / 2) * n * n;
  },
  run: async (measures: readonly Measure[], opts: PairwiseOptions): Promise<PairwiseResult> => pairwise(measures, opts),
});

const NAME = 'pairwiseDistances';

function split(m: Measure): { X: MatrixLike | VectorLike; w?: VectorLike } {
  return isPlainObject(m) && 'X' in m ? (m as { X: MatrixLike | VectorLike; w?: VectorLike }) : { X: m as MatrixLike };
}

/** Every measure's shape, finiteness and weights, before any pair is solved; errors name the measure. */
function validateMeasures(list: { X: MatrixLike | VectorLike; w?: VectorLike }[], opts: PairwiseOptions): void {
  const n = opts.M !== undefined && (opts.method === 'emd' || opts.method === 'sinkhorn') ? toMatrix('M', opts.M, opts.maxBytes).rows : -1;
  list.forEach((m, i) => {
    try {
      if (n >= 0) toWeights('histogram', m.X as VectorLike, n);
      else if (opts.method === 'w1d') toWeights('w', m.w, toVector('x', m.X as VectorLike).length);
      else toWeights('w', m.w, toMatrix('X', m.X as MatrixLike, opts.maxBytes).rows);
    } catch (e) {
      if (!(e instanceof OTError)) throw e;
      throw new OTError(e.code, `${NAME}: measure ${i}: ${e.message}`);
    }
  });
}

async function pairwise(measures: readonly Measure[], opts: PairwiseOptions): Promise<PairwiseResult> {
  if (!Array.isArray(measures) || measures.length < 1) throw new OTError('shape', `${NAME}: expected a non-empty array of measures.`);
  const k = measures.length;
  const list = measures.map(split);
  validateMeasures(list, opts);
  const pairs: [number, number][] = [];
  for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) pairs.push([i, j]);
  const D = new Float64Array(k * k);
  const put = (q: number, v: number) => {
    const [i, j] = pairs[q];
    D[i * k + j] = D[j * k + i] = v;
  };
  const report = (done: number, total: number) => opts.onProgress?.({ done, total });
  const needReg = () => {
    if (opts.reg === undefined) throw new OTError('invalid-option', `${NAME}.reg is required for method '${opts.method}'.`);
    return opts.reg;
  };
  const common = { backend: opts.backend, maxBytes: opts.maxBytes, signal: opts.signal, worker: false as const };
  const finish = (status: SolveStatus, backend: BackendName, threads: number, iterations: number, error: number): PairwiseResult => {
    let value = 0;
    for (const [i, j] of pairs) value += D[i * k + j];
    return { D, k, value, status, iterations, error, backend, threads };
  };

  if (opts.method === 'divergence') {
    const reg = needReg();
    const r = await divergenceMatrix(NAME, list.map((m) => ({ X: m.X as MatrixLike, a: m.w })), {
      ...common,
      reg,
      cost: opts.cost,
      maxIter: opts.maxIter,
      tol: opts.tol,
      threads: opts.threads,
      onProgress: (p: BatchProgress) => report(p.solved, p.total),
    });
    D.set(r.D);
    return finish(r.converged ? 'converged' : 'max-iterations', r.backend, r.threads, r.iterations, r.error);
  }

  if (opts.method === 'emd' || opts.method === 'sinkhorn') {
    // histograms on the support of M, or clouds with the cost between their points
    const problem = (i: number, j: number): BatchProblem =>
      atProblem(NAME, j, () =>
        opts.M !== undefined
          ? { a: list[i].X as VectorLike, b: list[j].X as VectorLike, M: opts.M }
          : { a: list[i].w, b: list[j].w, M: pointCloud(list[i].X as MatrixLike, list[j].X as MatrixLike, { cost: opts.cost, maxBytes: opts.maxBytes }) },
      );
    const withDiagonal = opts.method === 'sinkhorn';
    const all = pairs.map(([i, j]) => problem(i, j));
    if (withDiagonal) for (let i = 0; i < k; i++) all.push(problem(i, i));
    const progress = (p: BatchProgress) => report(p.solved, p.total);
    const r =
      opts.method === 'emd'
        ? await emdBatch.descriptor.run(all, { ...common, backend: undefined, maxIter: opts.maxIter, onProgress: progress })
        : await sinkhornBatch.descriptor.run(all, { ...common, reg: needReg(), maxIter: opts.maxIter, tol: opts.tol, threads: opts.threads, plan: false, onProgress: progress });
    pairs.forEach((_, q) => put(q, r.values[q]));
    if (withDiagonal) for (let i = 0; i < k; i++) D[i * k + i] = r.values[pairs.length + i];
    return finish(r.status, r.backend, r.threads, r.iterations, r.error);
  }

  // sliced, w1d: closed forms, one call per pair
  let backend: BackendName = opts.method === 'w1d' ? (await chooseBackend(NAME, ['wasm', 'js'], opts.backend)).name : 'wasm';
  for (let q = 0; q < pairs.length; q++) {
    await abortPoint(opts.signal, () => `after ${q} of ${pairs.length} pairs`);
    const [i, j] = pairs[q];
    try {
      if (opts.method === 'sliced') {
        const r = await slicedWasserstein.descriptor.run(list[i].X as MatrixLike, list[j].X as MatrixLike, {
          ...common,
          backend: opts.backend === 'webgpu' ? undefined : opts.backend,
          a: list[i].w,
          b: list[j].w,
          p: opts.p,
          nProjections: opts.nProjections,
          seed: opts.seed,
        });
        backend = r.backend;
        put(q, r.value);
      } else {
        const w = await wasserstein1d.descriptor.run(list[i].X as VectorLike, list[j].X as VectorLike, {
          ...common,
          backend: backend as 'wasm' | 'js',
          a: list[i].w,
          b: list[j].w,
          p: opts.p,
        });
        put(q, w);
      }
    } catch (e) {
      const err = e instanceof OTError ? new OTError(e.code, `${NAME}: pair (${i}, ${j}): ${e.message}`) : e;
      throw err;
    }
    report(q + 1, pairs.length);
  }
  return finish(opts.method === 'sliced' ? 'closed-form' : 'optimal', backend, 1, 0, 0);
}
