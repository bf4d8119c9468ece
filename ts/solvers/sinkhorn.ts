// Entropic OT (Sinkhorn), balanced and with KL-relaxed marginals. The solver owns the iteration; the
// engine (js / wasm / webgpu, see ts/entropic/) owns the n × m work.
import { OTError } from '../errors.js';
import type { CostInput } from '../geometry.js';
import type { BackendName, BackendOption, VectorLike } from '../types.js';
import { type MassOptions, balanceMasses, checkBudget, sum, toPotential } from '../validate.js';
import type { EngineProblem, EntropicCost, EntropicEngine } from '../entropic/engine.js';
import { createEngine, engineBackends } from '../entropic/select.js';
import { type IterationOptions, type LoopResult, type Prepared, chooseMethod, checkReg, checkThreads, dotFinite, epsSchedule, iterate, prepare } from '../entropic/problem.js';
import { type Coupling, DenseCoupling, LazyCoupling } from '../coupling.js';
import type { OTResult } from '../result.js';
import { defineSolver } from '../registry/define.js';
import { type Schema, num, object, oneOf, opt, required, vector } from '../registry/schema.js';
import { massOptions, maxBytesOption, workerOption } from '../registry/common.js';
import { pairEntries } from '../registry/estimate.js';
import { iterationSchema } from '../entropic/options.js';

/**
 * Options of {@link sinkhorn} (POT: the keyword arguments of `ot.sinkhorn` / `ot.sinkhorn2`; `numItermax` is
 * `maxIter`, `stopThr` is `tol`, `method='sinkhorn_log'` is `method: 'log'`, `ot.bregman.sinkhorn_epsilon_scaling`
 * is `epsScaling`).
 */
export interface SinkhornOptions extends IterationOptions, MassOptions {
  /** ε, the entropic regularization (in units of the cost). Required. */
  reg: number;
  /** 'scaling' (fast, overflows when reg ≪ cost scale), 'log' (stable), 'auto' (log when scale/reg > 50 or with epsScaling). */
  method?: 'scaling' | 'log' | 'auto';
  /**
   * How the plan is returned: true: dense (computed on the engine, n × m stored); false: lazy (from the
   * potentials, no n × m memory); 'auto' (default): dense when n·m ≤ 2^22, else lazy.
   */
  plan?: boolean | 'auto';
  /** Start from these potentials (e.g. the f, g of a previous solve). */
  init?: {
    /** Row potential f (length n), in cost units (f = reg·log u of the scaling form; POT: reg·log(u)). */
    f: VectorLike;
    /** Column potential g (length m), in cost units. */
    g: VectorLike;
  };
  /**
   * Force an engine: 'webgpu' (f32), 'wasm' (f64, SIMD, threads) or 'js' (f64). 'auto' (default) takes webgpu
   * for n·m ≥ 2^20 on a hardware adapter, else wasm, else js. A forced backend that is unavailable is
   * OTError('backend-unavailable'), never a silent switch.
   */
  backend?: BackendOption;
  /**
   * Memory budget in bytes for the buffers of this call (the n × m kernel of the scaling method, a dense
   * plan…); above it the call fails with OTError('too-large') before any work. Default 2 GiB ({@link DEFAULT_MAX_BYTES}).
   */
  maxBytes?: number;
  /**
   * Where the call runs: 'auto' (default) sends problems of 2^18 cost entries per pass and more (n·m; for the
   * divergence n·m + n² + m²) to a worker of the pool; see {@link WorkerOptions}.
   */
  worker?: 'auto' | boolean;
}

/** The result of {@link sinkhorn} and {@link sinkhornUnbalanced} (POT: `ot.sinkhorn(..., log=True)`'s plan and log). */
export interface SinkhornResult extends OTResult {
  /** ⟨P, C⟩, the linear transport cost of the entropic plan (POT: ot.sinkhorn2). Same as `cost`. */
  value: number;
  /** ⟨P, C⟩, the same number as `value`. */
  cost: number;
  /**
   * The entropic objective in POT's convention: ⟨P, C⟩ + reg·Σ P_ij (log P_ij − 1) (plus, for unbalanced OT,
   * regM·(KL(P1 | a) + KL(Pᵀ1 | b)) with KL(x | y) = Σ x log(x/y) − x + y).
   */
  regValue: number;
  /** The plan: dense or lazy (see the `plan` option); the same operations either way. */
  plan: Coupling;
  /** Potentials with P_ij = exp((f_i + g_j − C_ij)/reg) (f = reg·log u of the scaling form); −∞ where a weight is 0. */
  potentials: {
    /** Row potential f (length n), in cost units: reg·log u (POT: log['log_u'] times reg in the log method). */
    f: Float64Array;
    /** Column potential g (length m), in cost units: reg·log v. */
    g: Float64Array;
  };
  status: 'converged' | 'max-iterations';
  /**
   * The stopping measure at return: Σ_i |(P1)_i − a_i| for balanced OT; for unbalanced OT the largest change
   * of f/reg, g/reg over the last `checkEvery` iterations.
   */
  error: number;
  /** The iteration that ran: 'scaling' (u, v multipliers on the kernel exp(−C/reg)) or 'log' (f, g by log-sum-exp), as `method: 'auto'` chose. */
  method: 'scaling' | 'log';
  backend: BackendName;
  /** Threads that shared the n × m work (the wasm engine's `threads` option; 1 elsewhere). */
  threads: number;
}

const AUTO_PLAN_ENTRIES = 2 ** 22;

/** The options of the Sinkhorn calls (the divergence shares most of them). */
export function sinkhornSchema(extra: Schema = {}): Schema {
  return {
    reg: required(num({ gt: 0 }), 'ε, the entropic regularization, in units of the cost (POT: reg).'),
    method: opt(oneOf('scaling', 'log', 'auto'), "'scaling' (fast, overflows when reg ≪ cost scale), 'log' (stable), 'auto' (log when scale/reg > 50 or with epsScaling).", "'auto'"),
    plan: opt(oneOf(true, false, 'auto'), "true: a dense plan; false: a lazy plan from the potentials (no n × m memory); 'auto': dense up to 2^22 entries.", "'auto'"),
    init: opt(object({ f: required(vector, 'Row potentials.'), g: required(vector, 'Column potentials.') }), 'Start from these potentials (e.g. the f, g of a previous solve).'),
    ...iterationSchema,
    maxBytes: maxBytesOption,
    worker: workerOption,
    ...extra,
  };
}

/**
 * Entropic OT between a and b for the cost M (POT: ot.sinkhorn, ot.sinkhorn2): a matrix, `costMatrix`, or
 * `pointCloud` (which runs online on engines that support it, never storing n × m). Converges when the
 * row-marginal L1 error < tol.
 */
export const sinkhorn = defineSolver({
  name: 'sinkhorn',
  summary: 'Entropic OT by Sinkhorn iterations (scaling or log domain, ε-scaling), on webgpu, wasm or js.',
  params: ['a', 'b', 'M'],
  options: sinkhornSchema(massOptions),
  backends: engineBackends,
  workEstimate: ([a, b, M]) => pairEntries(a, b, M),
  run: (a: VectorLike | undefined, b: VectorLike | undefined, M: CostInput, opts: SinkhornOptions): Promise<SinkhornResult> =>
    solveEntropic('sinkhorn', a, b, M, opts, undefined),
});

/**
 * Options of {@link sinkhornUnbalanced}: those of {@link SinkhornOptions} without the mass options, plus
 * `regM` (POT: `ot.unbalanced.sinkhorn_unbalanced`'s `reg_m`, with `div='kl'`).
 */
export interface UnbalancedOptions extends Omit<SinkhornOptions, keyof MassOptions> {
  /** ρ, the strength of the KL penalty on each marginal (ρ → ∞ recovers balanced OT; POT: reg_m). Required. */
  regM: number;
}

/**
 * Unbalanced entropic OT with KL-relaxed marginals (Chizat et al. 2018; POT's sinkhorn_unbalanced):
 * u = (a / Kv)^{ρ/(ρ+ε)}. Masses of a and b may differ. Converges when max |Δf|, |Δg| / reg < tol
 * between checks.
 */
export const sinkhornUnbalanced = defineSolver({
  name: 'sinkhornUnbalanced',
  summary: 'Unbalanced entropic OT with KL-relaxed marginals (masses may differ).',
  params: ['a', 'b', 'M'],
  options: sinkhornSchema({ regM: required(num({ gt: 0 }), 'ρ, the strength of the KL penalty on each marginal (POT: reg_m).') }),
  backends: engineBackends,
  workEstimate: ([a, b, M]) => pairEntries(a, b, M),
  run: (a: VectorLike | undefined, b: VectorLike | undefined, M: CostInput, opts: UnbalancedOptions): Promise<SinkhornResult> =>
    solveEntropic('sinkhornUnbalanced', a, b, M, opts, checkReg('regM', opts.regM)),
});

/** A validated entropic problem, ready for an engine (one solve, or one problem of a batch). */
export interface EntropicSetup {
  p: Prepared;
  n: number;
  m: number;
  reg: number;
  regM: number | undefined;
  /** b after balanceMasses (balanced OT) or as given (unbalanced). */
  wb: Float64Array;
  method: 'scaling' | 'log';
  wantPlan: boolean;
  schedule: number[];
  init: { f: Float64Array; g: Float64Array } | undefined;
  engineProblem: EngineProblem<EntropicCost>;
}

/** Validates one problem's data against the options (before any engine exists). */
export function setupEntropic(
  a: VectorLike | undefined,
  b: VectorLike | undefined,
  M: CostInput,
  opts: SinkhornOptions | UnbalancedOptions,
  regM: number | undefined,
): EntropicSetup {
  const reg = checkReg('reg', opts?.reg);
  const p = prepare(a, b, M, opts.maxBytes);
  const n = p.geom.rows;
  const m = p.geom.cols;
  const wb = regM === undefined ? balanceMasses(p.a, p.b, opts as MassOptions) : p.b;
  const scale = () => p.scale;
  const method = chooseMethod(opts.method, scale, reg, !!opts.epsScaling);
  if (method === 'scaling') checkBudget(n * m * 8, `the ${n} × ${m} kernel of the scaling method`, opts.maxBytes);
  const wantPlan = opts.plan === 'auto' || opts.plan === undefined ? n * m <= AUTO_PLAN_ENTRIES : opts.plan;
  if (wantPlan) checkBudget(n * m * 8, `the dense ${n} × ${m} plan`, opts.maxBytes);
  let init: { f: Float64Array; g: Float64Array } | undefined;
  if (opts.init) {
    init = { f: toPotential('init.f', opts.init.f), g: toPotential('init.g', opts.init.g) };
    if (init.f.length !== n || init.g.length !== m) {
      throw new OTError('shape', `init has f of length ${init.f.length} and g of length ${init.g.length}; the problem is ${n} × ${m}.`);
    }
  }
  const schedule = epsSchedule(reg, scale, opts.epsScaling);
  if (method === 'scaling' && schedule.length > 1) {
    throw new OTError('invalid-option', "epsScaling needs method 'log' (or 'auto' at small reg): annealing exists to reach a reg where scaling overflows.");
  }
  const tau = regM === undefined ? 1 : regM / (regM + reg);
  const threads = checkThreads(opts.threads);
  const engineProblem: EngineProblem<EntropicCost> = { cost: p.cost, a: p.a, b: wb, method, tauA: tau, tauB: tau, threads, maxBytes: opts.maxBytes };
  return { p, n, m, reg, regM, wb, method, wantPlan, schedule, init, engineProblem };
}

/** The message of a non-finite convergence measure. */
export function overflowMessage(solver: string, s: EntropicSetup): string {
  return s.method === 'scaling'
    ? `${solver}: the scaling iteration overflowed at reg = ${s.reg} (cost scale ${s.p.scale.toPrecision(3)}); use method: 'log' or 'auto'.`
    : `${solver}: the log-domain iteration produced a non-finite value at reg = ${s.reg}; this is a bug, please report it.`;
}

/** The result of a finished iteration, read from the engine (which the caller still owns). */
export async function entropicResult(engine: EntropicEngine, s: EntropicSetup, loop: LoopResult): Promise<SinkhornResult> {
  const { reg, regM, n, m } = s;
  const { f, g } = await engine.potentials();
  const stats = await engine.stats();
  const mass = sum(stats.rowSums);
  // reg·Σ P(log P − 1) = Σ_i f_i r_i + Σ_j g_j c_j − ⟨P, C⟩ − reg·ΣP, with log P = (f + g − C)/reg
  const entropic = dotFinite(stats.rowSums, f) + dotFinite(stats.colSums, g) - stats.transportCost - reg * mass;
  let regCost = stats.transportCost + entropic;
  if (regM !== undefined) regCost += regM * (kl(stats.rowSums, s.p.a) + kl(stats.colSums, s.wb));
  return {
    value: stats.transportCost,
    cost: stats.transportCost,
    regValue: regCost,
    plan: s.wantPlan ? new DenseCoupling(n, m, await engine.densePlan()) : new LazyCoupling(s.p.geom, f, g, reg),
    potentials: { f, g },
    status: loop.converged ? 'converged' : 'max-iterations',
    iterations: loop.iterations,
    error: loop.error,
    method: s.method,
    backend: engine.backend,
    threads: engine.threads ?? 1,
  };
}

/** The solve of sinkhorn and sinkhornUnbalanced (batches: ts/entropic/batch.ts, with the same setup and result). */
export async function solveEntropic(
  solver: string,
  a: VectorLike | undefined,
  b: VectorLike | undefined,
  M: CostInput,
  opts: SinkhornOptions | UnbalancedOptions,
  regM: number | undefined,
): Promise<SinkhornResult> {
  const s = setupEntropic(a, b, M, opts, regM);
  const engine = await createEngine(solver, s.engineProblem, opts.backend);
  try {
    if (s.init) await engine.setPotentials(s.init.f, s.init.g);
    const measure = regM === undefined ? () => engine.marginalError() : potentialChange(engine, s.reg);
    const loop = await iterate(engine, s.schedule, opts, measure, () => overflowMessage(solver, s), regM === undefined);
    return await entropicResult(engine, s, loop);
  } finally {
    engine.dispose();
  }
}

/** Convergence measure of unbalanced OT: the largest change of f/reg and g/reg since the last check. */
function potentialChange(engine: EntropicEngine, reg: number): () => Promise<number> {
  let prev: { f: Float64Array; g: Float64Array } | undefined;
  return async () => {
    const cur = await engine.potentials();
    let change = Number.MAX_VALUE; // no previous check yet: not converged, but finite
    if (prev) {
      change = 0;
      for (const [x, y] of [
        [cur.f, prev.f],
        [cur.g, prev.g],
      ] as const)
        for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) change = Math.max(change, Math.abs(x[i] - y[i]) / reg);
    }
    for (const x of [cur.f, cur.g]) for (let i = 0; i < x.length; i++) if (Number.isNaN(x[i]) || x[i] === Infinity) return NaN;
    prev = cur;
    return change;
  };
}

/** Generalized KL(x | y) = Σ x log(x/y) − x + y. */
function kl(x: Float64Array, y: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] > 0 ? x[i] * Math.log(x[i] / y[i]) : 0) - x[i] + y[i];
  return s;
}
