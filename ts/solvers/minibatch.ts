// Minibatch OT (Fatras et al. 2020, 2021): the average over random pairs of minibatches of the OT cost between them
// — an unbiased estimate of the expected minibatch loss, cheap at any n — with its gradient w.r.t. the points and,
// on request, the averaged (sparse) plan. Each batch is exact OT, entropic OT, or unbalanced entropic OT (JUMBOT).
// The batches are drawn first and solved in one batched call (emdBatch over the worker pool; sinkhornBatch on wasm
// threads or one WebGPU dispatch per iteration), so B small problems do not pay B calls' fixed costs.
import { OTError } from '../errors.js';
import { type Coupling, SparseCoupling } from '../coupling.js';
import { type CostSpec, powerOfSquaredDistance, toCost } from '../costs.js';
import { type PointCloudGeometry, pointCloud } from '../geometry.js';
import { Rng } from '../rng.js';
import type { BackendName, BackendOption, MatrixLike } from '../types.js';
import type { OTResult } from '../result.js';
import { abortPoint, checkAbort, toMatrix } from '../validate.js';
import { defineSolver } from '../registry/define.js';
import { bool, num, object, oneOf, opt, required } from '../registry/schema.js';
import { backendOption, progressOption, signalOption, workerOption } from '../registry/common.js';
import { numberOr } from '../registry/estimate.js';
import { costOption } from './divergence.js';
import { emdBatch, sinkhornBatch } from './batch.js';
import { sinkhornUnbalanced } from './sinkhorn.js';

/**
 * Options of {@link minibatchOT} (POT has no minibatch solver; the DeepJDOT/JUMBOT reference code draws batches
 * the same way). Cost: nBatches solves of batchSize × batchSize problems, whatever n and m.
 */
export interface MinibatchOptions {
  /** Points per minibatch (of X and of Y). Default 64 (capped at n and m). */
  batchSize?: number;
  /** Pairs of minibatches averaged. Default 10. */
  nBatches?: number;
  /** The OT problem of each pair: 'emd' (exact, default) or 'sinkhorn' (entropic; needs reg). */
  solver?: 'emd' | 'sinkhorn';
  /** ε of the entropic batches. */
  reg?: number;
  /** Unbalanced entropic batches (JUMBOT; needs solver 'sinkhorn'): ρ of the KL penalty on the marginals. */
  unbalanced?: {
    /** ρ, the strength of the KL penalty on each marginal of a batch (POT: reg_m of `ot.unbalanced.sinkhorn_unbalanced`). */
    regM: number;
  };
  /** The ground cost: 'sqeuclidean' ‖x − y‖² (default), 'euclidean' ‖x − y‖, or `{ p }` for ‖x − y‖^p. */
  cost?: CostSpec;
  /** Seed of the minibatch draws (each batch: distinct indices without replacement). Default 0. */
  seed?: number;
  /** Also return the averaged plan (sparse: at most nBatches · batch entries per batch pair). Default false. */
  plan?: boolean;
  /** Also return ∂value/∂X and ∂value/∂Y. Default false. */
  gradient?: boolean;
  /**
   * The backend of each batch's solve (passed on to emd, sinkhorn or sinkhornUnbalanced): exact batches run on
   * wasm; entropic ones on webgpu, wasm or js. 'auto' (default) as those solvers choose.
   */
  backend?: BackendOption;
  /** Each batch's iteration cap (pivots for 'emd', Sinkhorn iterations otherwise). Default: the solver's default (10^9 pivots, 1000 iterations). */
  maxIter?: number;
  /** Each entropic batch's tolerance on its convergence measure. Default: sinkhorn's (1e-9; 1e-5 on webgpu). */
  tol?: number;
  /** Aborts the call between minibatches: it rejects with OTError code 'aborted'. */
  signal?: AbortSignal;
  /** Called after each minibatch with the batches done and the total (`nBatches`). */
  onProgress?: (p: { done: number; total: number }) => void;
  /** Where the call runs: 'auto' (default) sends nBatches · batchSize² ≥ 2^18 to a worker; see {@link WorkerOptions}. */
  worker?: 'auto' | boolean;
}

/** The result of {@link minibatchOT}: the averaged minibatch loss, and on request its gradients and averaged plan. */
export interface MinibatchResult extends OTResult {
  /** (1/B) Σ_batches ⟨P_k, C_k⟩: the minibatch OT loss (each batch's linear cost; uniform weights 1/batch). */
  value: number;
  /** The averaged plan (1/B) Σ_k P_k on the full n × m index set, when asked for. */
  plan?: SparseCoupling;
  /** ∂value/∂X (n × d) and ∂value/∂Y (m × d) with each batch's plan held fixed (as DeepJDOT and JUMBOT do). */
  gradX?: Float64Array;
  /** ∂value/∂Y (m × d, row-major) with each batch's plan held fixed, with `gradient: true`; zero for points never drawn. */
  gradY?: Float64Array;
  /** 'optimal' (every batch exact), 'converged' (every entropic batch converged) or 'max-iterations'. */
  status: 'optimal' | 'converged' | 'max-iterations';
  /** Iterations (pivots) of all batches together. */
  iterations: number;
  /** The largest stopping measure over the batches. */
  error: number;
  backend: BackendName;
}

/** k distinct indices of [0, n) (a partial Fisher–Yates shuffle of `perm`, which it reorders). */
function draw(rng: Rng, perm: Int32Array, k: number): Int32Array {
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng.uniform() * (perm.length - i));
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm.slice(0, k);
}

function gather(P: Float64Array, idx: Int32Array, d: number): Float64Array {
  const out = new Float64Array(idx.length * d);
  for (let k = 0; k < idx.length; k++) out.set(P.subarray(idx[k] * d, idx[k] * d + d), k * d);
  return out;
}

async function minibatchRun(X: MatrixLike, Y: MatrixLike, opts: MinibatchOptions = {}): Promise<MinibatchResult> {
  const Xm = toMatrix('X', X);
  const Ym = toMatrix('Y', Y);
  const d = Xm.cols;
  if (Ym.cols !== d) throw new OTError('shape', `X has dimension ${d} but Y has ${Ym.cols}; both clouds must live in the same space.`);
  const solver = opts.solver ?? 'emd';
  if (solver === 'sinkhorn' && opts.reg === undefined) throw new OTError('invalid-option', "minibatchOT: solver 'sinkhorn' needs reg (ε).");
  if (solver === 'emd' && (opts.reg !== undefined || opts.unbalanced)) {
    throw new OTError('invalid-option', "minibatchOT: reg and unbalanced apply to solver 'sinkhorn'; the exact batches take neither.");
  }
  const n = Xm.rows;
  const m = Ym.rows;
  const bx = Math.min(opts.batchSize ?? 64, n);
  const by = Math.min(opts.batchSize ?? 64, m);
  const B = opts.nBatches ?? 10;
  const cost = toCost(opts.cost);
  checkAbort(opts.signal);
  const rng = new Rng(opts.seed ?? 0);
  const permX = Int32Array.from({ length: n }, (_, i) => i);
  const permY = Int32Array.from({ length: m }, (_, j) => j);
  const gradX = opts.gradient ? new Float64Array(n * d) : undefined;
  const gradY = opts.gradient ? new Float64Array(m * d) : undefined;
  const planMass = opts.plan ? new Map<number, number>() : undefined;
  let value = 0;
  let iterations = 0;
  let error = 0;
  let allDone = true;
  let backend: BackendName = 'wasm';
  // every pair of minibatches first (the seeded draws), then all their problems in one batched call
  const draws = Array.from({ length: B }, () => {
    const ix = draw(rng, permX, bx);
    const iy = draw(rng, permY, by);
    return { ix, iy, xs: gather(Xm.data, ix, d), ys: gather(Ym.data, iy, d) };
  });
  const geoms = draws.map(({ xs, ys }) => pointCloud({ data: xs, rows: bx, cols: d }, { data: ys, rows: by, cols: d }, { cost: opts.cost }));
  const solved = await solveMinibatches(solver, geoms, opts);
  for (let k = 0; k < B; k++) {
    const { ix, iy, xs, ys } = draws[k];
    const r = solved.results[k];
    value += r.value / B;
    iterations += r.iterations;
    error = Math.max(error, r.error);
    allDone &&= r.status === 'optimal' || r.status === 'converged';
    backend = r.backend;
    for (const [i, j, mass] of r.plan.entries()) {
      const gi = ix[i];
      const gj = iy[j];
      if (planMass) {
        const key = gi * m + gj;
        planMass.set(key, (planMass.get(key) ?? 0) + mass / B);
      }
      if (gradX && gradY) {
        let sq = 0;
        for (let t = 0; t < d; t++) sq += (xs[i * d + t] - ys[j * d + t]) ** 2;
        if (sq === 0) continue;
        // ∇ₓ‖x − y‖^p = p‖x − y‖^{p−2}(x − y), weighted by the batch's plan entry
        const w = (mass * cost.power * powerOfSquaredDistance(sq, cost.power)) / sq / B;
        for (let t = 0; t < d; t++) {
          const diff = xs[i * d + t] - ys[j * d + t];
          gradX[gi * d + t] += w * diff;
          gradY[gj * d + t] -= w * diff;
        }
      }
    }
  }
  let plan: SparseCoupling | undefined;
  if (planMass) {
    const keys = [...planMass.keys()].sort((p, q) => p - q);
    plan = new SparseCoupling(
      n,
      m,
      Int32Array.from(keys, (key) => Math.floor(key / m)),
      Int32Array.from(keys, (key) => key % m),
      Float64Array.from(keys, (key) => planMass.get(key)!),
    );
  }
  const status = !allDone ? 'max-iterations' : solver === 'emd' ? 'optimal' : 'converged';
  return { value, plan, gradX, gradY, status, iterations, error, backend, threads: solved.threads };
}

/**
 * The minibatches' OT problems in one batched call: emdBatch (shared with the worker pool) or sinkhornBatch (one
 * wasm call per round for all problems, threads taking whole problems; one WebGPU dispatch per iteration on a
 * GPU); unbalanced batches one sinkhornUnbalanced call each.
 */
async function solveMinibatches(
  solver: 'emd' | 'sinkhorn',
  geoms: PointCloudGeometry[],
  opts: MinibatchOptions,
): Promise<{ results: { value: number; iterations: number; error: number; status: string; backend: BackendName; plan: Coupling }[]; threads: number }> {
  const B = geoms.length;
  const onProgress = opts.onProgress ? (p: { solved: number }) => opts.onProgress!({ done: p.solved, total: B }) : undefined;
  const problems = geoms.map((M) => ({ M }));
  if (solver === 'emd') {
    const r = await emdBatch(problems, { backend: opts.backend as 'wasm' | 'auto' | undefined, maxIter: opts.maxIter, signal: opts.signal, onProgress });
    return { results: r.results, threads: r.threads };
  }
  const common = { backend: opts.backend, maxIter: opts.maxIter, tol: opts.tol, worker: false as const, reg: opts.reg!, plan: true as const };
  if (!opts.unbalanced) {
    const r = await sinkhornBatch(problems, { ...common, signal: opts.signal, onProgress });
    return { results: r.results, threads: r.threads };
  }
  const results = [];
  for (let k = 0; k < B; k++) {
    results.push(await sinkhornUnbalanced(undefined, undefined, geoms[k], { ...common, regM: opts.unbalanced.regM }));
    opts.onProgress?.({ done: k + 1, total: B });
    await abortPoint(opts.signal, () => `after ${k + 1} of ${B} minibatches`);
  }
  return { results, threads: 1 };
}

/**
 * Minibatch OT between two point clouds (Fatras et al. 2020): the mean over `nBatches` seeded pairs of minibatches
 * of the OT cost between them (exact, entropic, or unbalanced entropic as in JUMBOT), with gradients w.r.t. the
 * points and the averaged plan on request.
 */
export const minibatchOT = defineSolver({
  name: 'minibatchOT',
  summary: 'Minibatch OT: the seeded average of exact or entropic OT between random minibatches, with gradients.',
  params: ['X', 'Y'],
  options: {
    batchSize: opt(num({ integer: true, min: 1 }), 'Points per minibatch of X and of Y (capped at n, m).', '64'),
    nBatches: opt(num({ integer: true, min: 1 }), 'Pairs of minibatches averaged.', '10'),
    solver: opt(oneOf('emd', 'sinkhorn'), "Each batch's problem: exact OT or entropic OT (needs reg).", "'emd'"),
    reg: opt(num({ gt: 0 }), "ε of the entropic batches (solver 'sinkhorn')."),
    unbalanced: opt(object({ regM: required(num({ gt: 0 }), 'ρ, the KL penalty on the marginals.') }), 'Unbalanced entropic batches (JUMBOT).'),
    cost: costOption,
    seed: opt(num({ integer: true, min: 0 }), 'Seed of the minibatch draws.', '0'),
    plan: opt(bool, 'Also return the averaged sparse plan.', 'false'),
    gradient: opt(bool, 'Also return gradX and gradY (each batch plan held fixed).', 'false'),
    maxIter: opt(num({ integer: true, min: 0 }), "Each batch's iteration (pivot) cap.", 'the solver default'),
    tol: opt(num({ min: 0 }), "Each entropic batch's tolerance.", 'the solver default'),
    backend: backendOption(['webgpu', 'wasm', 'js']),
    signal: signalOption,
    onProgress: progressOption('{ done, total } minibatches'),
    worker: workerOption,
  },
  backends: ['wasm', 'js', 'webgpu'],
  workEstimate: ([, , o]) => {
    const opts = (o ?? {}) as MinibatchOptions;
    const b = numberOr(opts.batchSize, 64);
    return numberOr(opts.nBatches, 10) * b * b;
  },
  run: minibatchRun,
});
