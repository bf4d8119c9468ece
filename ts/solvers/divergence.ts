// Sinkhorn divergences between point clouds, with gradients (a loss for fitting and gradient flows).
import { type CostSpec, powerOfSquaredDistance } from '../costs.js';
import { pointCloud, type PointCloudGeometry } from '../geometry.js';
import type { BackendName, MatrixLike, VectorLike } from '../types.js';
import { type MassOptions, balanceMasses, checkBudget, toWeights } from '../validate.js';
import { OTError } from '../errors.js';
import { wasmUnavailableReason } from '../backends/wasm.js';
import { gpuDevice } from '../backends/webgpu.js';
import { MULTISCALE_MAX_SCALE, multiscaleDivergence, squaredDiameter } from '../entropic/multiscale.js';
import type { OTResult } from '../result.js';
import { defineSolver } from '../registry/define.js';
import { type Schema, anyOf, bool, num, object, oneOf, opt, required, vector } from '../registry/schema.js';
import { massOptions } from '../registry/common.js';
import { rowsOf } from '../registry/estimate.js';
import { engineBackends } from '../entropic/select.js';
import { dotFinite } from '../entropic/problem.js';
import type { EntropicEngine } from '../entropic/engine.js';
import { LogSumExp } from '../entropic/logsumexp.js';
import { type SinkhornOptions, type SinkhornResult, entropicResult, overflowMessage, setupEntropic, sinkhornSchema } from './sinkhorn.js';
import { type BatchProgress, solveBatch } from '../entropic/batch.js';
import { checkThreads } from '../entropic/problem.js';
import { type BatchResult, type CloudPair, aggregate, atProblem, listOf } from './batch.js';
import { progressOption } from '../registry/common.js';

/**
 * Options of {@link sinkhornDivergence}: the Sinkhorn options (reg, method, maxIter, tol, epsScaling, …)
 * without `plan` and `init`, plus the weights, the ground cost and the gradient switches (POT:
 * `ot.bregman.empirical_sinkhorn_divergence`'s `a`, `b`, `metric`, `reg`).
 */
export interface DivergenceOptions extends Omit<SinkhornOptions, 'plan' | 'init'> {
  /** Weights of the rows of X (length n, non-negative). Default uniform 1/n. */
  a?: VectorLike;
  /** Weights of the rows of Y (length m). Default uniform 1/m. */
  b?: VectorLike;
  /** The ground cost: 'sqeuclidean' ‖x − y‖² (default), 'euclidean' ‖x − y‖, or `{ p }` for ‖x − y‖^p (POT: metric). */
  cost?: CostSpec;
  /** Also return gradients w.r.t. the positions (gradX, gradY) and the weights (gradA, gradB). Default false. */
  gradient?: boolean;
  /**
   * true (default): the debiased S_ε = OT_ε(a, b) − ½ OT_ε(a, a) − ½ OT_ε(b, b). false: OT_ε(a, b) itself (one
   * solve instead of three), whose value is biased (OT_ε(a, a) > 0) but whose gradients are cheaper.
   */
  debias?: boolean;
  /**
   * How the three OT_ε terms are solved. 'dense': every pair of points at every pass, on the chosen engine (f64
   * on wasm and js). 'multiscale' (squared Euclidean cost, wasm — or WebGPU with `backend: 'webgpu'`; gradients only where
   * no weight is 0): coarse to fine with ε-scaling
   * on cluster centroids, then passes of a streamed f32 kernel that skip the cluster blocks whose plan mass is
   * provably below the budget (0.1·tol in all), reported as `droppedMass` (ts/entropic/multiscale.ts); `method`,
   * `epsScaling` and `checkEvery` do not apply, tol defaults to 1e-5, and the f32 kernel needs
   * diameter²/reg ≤ 10^4; its position gradients are f32 sums over the kept blocks (~1e-6 relative).
   * 'auto' (default): 'multiscale' where it applies and n·m > 2^26, else 'dense'.
   * (GeomLoss: backend 'multiscale'.)
   */
  strategy?: 'dense' | 'multiscale' | 'auto';
}

/**
 * The result of {@link sinkhornDivergence}. Cost: three Sinkhorn solves (n × m, n × n, m × m) when debiased,
 * one without; the gradients add one pass over each plan.
 */
export interface DivergenceResult extends OTResult {
  /**
   * The debiased Sinkhorn divergence S_ε = OT_ε(a, b) − ½ OT_ε(a, a) − ½ OT_ε(b, b), where
   * OT_ε = min ⟨P, C⟩ + ε·KL(P | a ⊗ b) (OTT-JAX / GeomLoss). S_ε ≥ 0, S_ε(a, a) = 0.
   */
  value: number;
  /** POT's empirical_sinkhorn_divergence: ⟨P_ab, C⟩ − ½⟨P_aa, C⟩ − ½⟨P_bb, C⟩ (linear terms only). */
  linearValue: number;
  /** ∂value/∂X (n × d, row-major) and ∂value/∂Y (m × d), by the envelope theorem. */
  gradX?: Float64Array;
  /** ∂value/∂Y (m × d, row-major), with `gradient: true`. */
  gradY?: Float64Array;
  /** ∂value/∂a and ∂value/∂b (the dual potentials; meaningful along directions that keep the total mass). */
  gradA?: Float64Array;
  /** ∂value/∂b (length m), with `gradient: true`: the potential g̃ = g − ε·log b of the (a, b) solve, minus the (b, b) solve's when debiased. */
  gradB?: Float64Array;
  /** Iterations of the three solves together. */
  iterations: number;
  /** 'converged' when all three solves converged. */
  status: 'converged' | 'max-iterations';
  /** The largest of the three solves' stopping measures (marginal violation). */
  error: number;
  backend: BackendName;
  /** Which strategy solved it ('auto' resolved). */
  strategy: 'dense' | 'multiscale';
  /**
   * Multiscale only: the largest, over the three terms, of the bound on the plan mass in the skipped blocks, at
   * the returned potentials (Σ over skipped blocks of A_k·B_l·exp((max f + max g − min C)/ε)). The full plan's
   * marginal error is at most `error + droppedMass`, which is below tol when the status is 'converged'.
   */
  droppedMass?: number;
  /** Multiscale only: point pairs its kernel evaluated, all passes together (the dense strategy: n·m per half-iteration per term). */
  pairs?: number;
  /** Multiscale only: iterations on the cluster centroids (the ε schedule) before the passes over the points (`iterations`). */
  coarseIterations?: number;
}

/** The result when `gradient: true` was passed: the gradients are there. */
export type DivergenceGradientResult = DivergenceResult & Required<Pick<DivergenceResult, 'gradX' | 'gradY' | 'gradA' | 'gradB'>>;

interface Side {
  res: SinkhornResult;
  /** f̃ = f − ε log a: the potential of the KL(P | a ⊗ b) formulation, extended to zero weights. */
  fTilde: Float64Array;
  gTilde: Float64Array;
  /** Σ_j P_ij ∇₁c(x_i, y_j) (n × d), and Σ_i P_ij ∇₂c(x_i, y_j) (m × d), when gradients are asked for. */
  grad1?: Float64Array;
  grad2?: Float64Array;
}

/** The ground cost option of point-cloud calls. */
export const costOption = opt(
  anyOf(oneOf('sqeuclidean', 'euclidean'), object({ p: required(num({ gt: 0 }), 'The power of the Euclidean distance.') }, '{ p }')),
  "Ground cost: 'sqeuclidean' ‖x − y‖², 'euclidean' ‖x − y‖, or { p }: ‖x − y‖^p.",
  "'sqeuclidean'",
);

const divergenceRun = async (X: MatrixLike, Y: MatrixLike, opts: DivergenceOptions): Promise<DivergenceResult> => divergence(X, Y, opts);

/**
 * The debiased Sinkhorn divergence S_ε between two point clouds (OTT-JAX / GeomLoss; POT's
 * empirical_sinkhorn_divergence is `linearValue`), with gradients w.r.t. positions and weights on request.
 */
export const sinkhornDivergence = defineSolver({
  name: 'sinkhornDivergence',
  summary: 'The debiased Sinkhorn divergence S_ε between point clouds, with gradients.',
  params: ['X', 'Y'],
  options: (() => {
    const { plan: _plan, init: _init, ...base } = sinkhornSchema({
      ...massOptions,
      a: opt(vector, 'Weights of the rows of X.', 'uniform'),
      b: opt(vector, 'Weights of the rows of Y.', 'uniform'),
      cost: costOption,
      gradient: opt(bool, 'Also return gradX, gradY (positions) and gradA, gradB (weights).', 'false'),
      debias: opt(bool, 'false: return OT_ε(a, b) itself (not debiased), with its gradients; linearValue is then ⟨P, C⟩.', 'true'),
      strategy: opt(
        oneOf('dense', 'multiscale', 'auto'),
        "'dense': all pairs every pass; 'multiscale': coarse to fine, f32 streamed kernel, negligible cluster blocks skipped (sqeuclidean, wasm or backend 'webgpu', gradients where no weight is 0; droppedMass bounds what was skipped); 'auto': multiscale (wasm) where it applies above n·m = 2^26.",
        "'auto'",
      ),
    });
    return base;
  })(),
  backends: engineBackends,
  workEstimate: ([X, Y]) => {
    const n = rowsOf(X);
    const m = rowsOf(Y);
    return n * m + n * n + m * m;
  },
  run: divergenceRun as {
    (X: MatrixLike, Y: MatrixLike, opts: DivergenceOptions & { gradient: true }): Promise<DivergenceGradientResult>;
    (X: MatrixLike, Y: MatrixLike, opts: DivergenceOptions): Promise<DivergenceResult>;
  },
});

/** 'auto' picks multiscale from this many point pairs (n·m), where it applies. */
const MULTISCALE_FROM = 2 ** 26;

async function divergence(X: MatrixLike, Y: MatrixLike, opts: DivergenceOptions): Promise<DivergenceResult> {
  if (opts.strategy !== 'dense') {
    const ms = await maybeMultiscale(X, Y, opts);
    if (ms) return ms;
  }
  const { onProgress, strategy: _s, ...rest } = opts;
  const progress = onProgress && ((p: BatchProgress) => onProgress({ iterations: p.iterations, error: p.error ?? NaN, eps: p.eps ?? opts.reg }));
  const [r] = await divergences('sinkhornDivergence', [{ X, Y, a: opts.a, b: opts.b }], { ...rest, onProgress: progress }, false);
  return r;
}

/** Why the multiscale strategy cannot serve these options, or undefined when it can. */
function multiscaleUnfit(power: number, opts: DivergenceOptions, gradientOfZeroWeights: boolean): string | undefined {
  if (power !== 2) return 'it needs the squared Euclidean cost';
  // the multiscale solve leaves zero-weight points out; their ∂/∂a (the potential's extension) would need a pass of their own
  if (gradientOfZeroWeights) return 'it returns no gradients for weights that are 0';
  if (opts.backend === 'webgpu') return undefined;
  if (opts.backend !== undefined && opts.backend !== 'auto' && opts.backend !== 'wasm') return `it runs on wasm or webgpu, not ${opts.backend}`;
  const why = wasmUnavailableReason();
  if (why) return `wasm is unavailable (${why})`;
  return undefined;
}

/**
 * The multiscale solve when the strategy asks for it or 'auto' picks it (ts/entropic/multiscale.ts), else
 * undefined (the dense path runs). A forced 'multiscale' that cannot apply is an 'invalid-option' error.
 */
async function maybeMultiscale(X: MatrixLike, Y: MatrixLike, opts: DivergenceOptions): Promise<DivergenceResult | undefined> {
  const forced = opts.strategy === 'multiscale';
  if (!forced && rowsOf(X) * rowsOf(Y) <= MULTISCALE_FROM) return undefined; // (before validating: the dense path does)
  const geom = pointCloud(X, Y, { cost: opts.cost, maxBytes: opts.maxBytes });
  const { rows: n, cols: m, dim: d } = geom;
  const a = toWeights('a', opts.a, n);
  const b0 = toWeights('b', opts.b, m);
  const b = balanceMasses(a, b0, opts as MassOptions);
  const why = multiscaleUnfit(geom.cost.power, opts, opts.gradient === true && (a.some((x) => x === 0) || b.some((x) => x === 0)));
  if (why) {
    if (forced) throw new OTError('invalid-option', `strategy 'multiscale': ${why}; use strategy 'dense' (or 'auto').`);
    return undefined;
  }
  // points of zero weight carry no mass and change no potential of the others: leave them out
  const keep = (w: Float64Array, P: Float64Array) => {
    const idx = [...w.keys()].filter((i) => w[i] > 0);
    const Q = new Float64Array(idx.length * d);
    idx.forEach((i, k) => Q.set(P.subarray(i * d, i * d + d), k * d));
    return { P: Q, w: Float64Array.from(idx, (i) => w[i]) };
  };
  const xs = keep(a, geom.X.data);
  const ys = keep(b, geom.Y.data);
  if (!forced && squaredDiameter(xs.P, ys.P, d) / opts.reg > MULTISCALE_MAX_SCALE) return undefined;
  // a forced webgpu without a device fails here (backend-unavailable), before the clustering
  if (opts.backend === 'webgpu') await gpuDevice();
  const r = await multiscaleDivergence(xs.P, ys.P, d, xs.w, ys.w, {
    reg: opts.reg,
    backend: opts.backend === 'webgpu' ? 'webgpu' : 'wasm',
    tol: opts.tol ?? 1e-5,
    maxIter: opts.maxIter ?? 1000,
    threads: checkThreads(opts.threads),
    debias: opts.debias !== false,
    gradient: opts.gradient === true,
    signal: opts.signal,
    maxBytes: opts.maxBytes,
    onProgress: opts.onProgress,
  });
  return {
    value: r.value,
    linearValue: r.linearValue,
    iterations: r.iterations,
    status: r.converged ? 'converged' : 'max-iterations',
    error: r.error,
    backend: r.backend,
    threads: r.threads,
    strategy: 'multiscale',
    droppedMass: r.droppedMass,
    coarseIterations: r.coarseIterations,
    pairs: r.pairs,
    // (no zero weights when gradients are asked for: the kept points are all of them, in order)
    ...(opts.gradient ? { gradX: r.gradX, gradY: r.gradY, gradA: r.gradA, gradB: r.gradB } : {}),
  };
}

/** One OT_ε problem of a divergence: the geometry and both weights. */
interface Term {
  geom: PointCloudGeometry;
  a: Float64Array;
  b: Float64Array;
}

/**
 * The divergences of several pairs in ONE entropic loop: every pair's OT_ε(a, b) and, debiased, its OT_ε(a, a)
 * and OT_ε(b, b) are problems of one batch (ts/entropic/batch.ts), iterated together round by round (as
 * GeomLoss iterates the xy, xx, yy potentials together), each with the schedule and stopping rule its own
 * solve would have, so the values are those of three separate solves. `named`: errors name the pair.
 */
async function divergences(
  solver: string,
  pairs: readonly CloudPair[],
  opts: Omit<DivergenceOptions, 'onProgress'> & { onProgress?: (p: BatchProgress) => void },
  named: boolean,
): Promise<DivergenceResult[]> {
  const grad = opts.gradient === true;
  const debias = opts.debias !== false;
  const at = <T>(q: number, fn: () => T): T => (named ? atProblem(solver, q, fn) : fn());
  const terms: Term[] = [];
  pairs.forEach((pair, q) =>
    at(q, () => {
      const gXY = pointCloud(pair.X, pair.Y, { cost: opts.cost, maxBytes: opts.maxBytes });
      const a = toWeights('a', pair.a, gXY.rows);
      const b = toWeights('b', pair.b, gXY.cols);
      if (grad && gXY.cost.power !== 2) {
        const n = Math.max(gXY.rows, gXY.cols);
        checkBudget(n * n * 8, `the dense plans that gradients for cost ${gXY.cost.name} need`, opts.maxBytes);
      }
      terms.push({ geom: gXY, a, b });
      if (debias) {
        terms.push({ geom: pointCloud(pair.X, pair.X, { cost: opts.cost, maxBytes: opts.maxBytes }), a, b: a });
        terms.push({ geom: pointCloud(pair.Y, pair.Y, { cost: opts.cost, maxBytes: opts.maxBytes }), a: b, b });
      }
    }),
  );
  const per = debias ? 3 : 1;
  const solveOpts = { ...opts, plan: false as const, onProgress: undefined };
  const setups = terms.map((t, k) => at(Math.floor(k / per), () => setupEntropic(t.a, t.b, t.geom, solveOpts, undefined)));
  const { results: sides, threads } = await solveBatch(
    solver,
    setups.map((s) => s.engineProblem),
    setups.map((s) => s.schedule),
    { ...opts, threads: checkThreads(opts.threads) },
    (k) => overflowMessage(named ? `${solver}: problem ${Math.floor(k / per)}` : solver, setups[k]),
    async (engine, k, loop) => {
      const res = await entropicResult(engine, setups[k], loop);
      const [grad1, grad2] = grad ? await costGradients(engine, terms[k].geom) : [];
      return tilde(res, terms[k], opts.reg, grad1, grad2);
    },
  );
  return pairs.map((_, q) => {
    const [ab, aa, bb] = sides.slice(q * per, q * per + per);
    const { a, b } = terms[q * per];
    return combine(ab, aa, bb, a, b, grad, threads);
  });
}

/** The divergence of one pair from its solved terms (aa, bb undefined when not debiased). */
function combine(ab: Side, aa: Side | undefined, bb: Side | undefined, a: Float64Array, b: Float64Array, grad: boolean, threads: number): DivergenceResult {
  const ot = (s: Side, wa: Float64Array, wb: Float64Array) => dotFinite(wa, s.fTilde) + dotFinite(wb, s.gTilde);
  if (!aa || !bb) {
    // OT_ε(a, b) alone: its gradients are the ab side's
    const plain: DivergenceResult = {
      value: ot(ab, a, b),
      linearValue: ab.res.cost,
      iterations: ab.res.iterations,
      status: ab.res.status,
      error: ab.res.error,
      backend: ab.res.backend,
      threads: Math.max(threads, ab.res.threads),
      strategy: 'dense',
    };
    if (grad) Object.assign(plain, { gradX: ab.grad1, gradY: ab.grad2, gradA: ab.fTilde, gradB: ab.gTilde });
    return plain;
  }
  // S_ε ≥ 0 exactly (Feydy et al. 2019, Thm 1). The sums are f64 on the host, but the potentials carry the
  // engine's error (its tolerance, and f32 rounding on webgpu: ~1e-7 of the cost scale), which is all there is
  // of S_ε for nearly equal clouds: −2e-9 came out at n = 200, δ = 1e-4. A value below 0 is within that error
  // of the true one, and 0 is the nearest value S_ε can take.
  const value = Math.max(0, ot(ab, a, b) - 0.5 * ot(aa, a, a) - 0.5 * ot(bb, b, b));
  const linearValue = ab.res.cost - 0.5 * aa.res.cost - 0.5 * bb.res.cost;
  const out: DivergenceResult = {
    value,
    linearValue,
    iterations: ab.res.iterations + aa.res.iterations + bb.res.iterations,
    status: [ab, aa, bb].every((s) => s.res.status === 'converged') ? 'converged' : 'max-iterations',
    error: Math.max(ab.res.error, aa.res.error, bb.res.error),
    backend: ab.res.backend,
    threads: Math.max(threads, ab.res.threads),
    strategy: 'dense',
  };
  if (grad) {
    // The self terms enter with ½ but depend on the points through both slots: ½·2 = 1.
    out.gradX = ab.grad1!.map((x, k) => x - aa.grad1![k]);
    out.gradY = ab.grad2!.map((x, k) => x - bb.grad1![k]);
    out.gradA = ab.fTilde.map((x, i) => x - aa.fTilde[i]);
    out.gradB = ab.gTilde.map((x, j) => x - bb.fTilde[j]);
  }
  return out;
}

function tilde(res: SinkhornResult, t: Term, eps: number, grad1: Float64Array | undefined, grad2: Float64Array | undefined): Side {
  const { f, g } = res.potentials;
  const fTilde = tildePotential(f, t.a, g, t.b, t.geom, eps, false);
  const gTilde = tildePotential(g, t.b, f, t.a, t.geom, eps, true);
  return { res, fTilde, gTilde, grad1, grad2 };
}

/** The options of sinkhornDivergenceBatch: those of `sinkhornDivergence`, shared by every pair (weights go in the pairs). */
export interface DivergenceBatchOptions extends Omit<DivergenceOptions, 'a' | 'b' | 'onProgress' | 'strategy'> {
  /** After every round of checks: { solved, total, iterations, error, eps } over the batch's OT_ε terms (3 per pair when debiased). */
  onProgress?: (p: BatchProgress) => void;
}

/**
 * The Sinkhorn divergence (as `sinkhornDivergence`) of B pairs of point clouds { X, Y, a?, b? } in one call:
 * all 3B OT_ε terms in one batched loop (per-term convergence; on wasm the threads take whole terms in turn).
 * Sizes and dimensions may differ between pairs; a zero weight masks a padded point.
 */
export const sinkhornDivergenceBatch = defineSolver({
  name: 'sinkhornDivergenceBatch',
  summary: 'The Sinkhorn divergence S_ε for a batch of pairs of point clouds, in one loop.',
  params: ['pairs'],
  options: (() => {
    // (strategy: the batch's terms share one batched dense loop; a large pair is a sinkhornDivergence call of its own)
    const { a: _a, b: _b, strategy: _s, ...base } = sinkhornDivergence.descriptor.options;
    return { ...base, onProgress: progressOption('{ solved, total, iterations, error, eps } after every round of convergence checks') } as Schema;
  })(),
  backends: engineBackends,
  workEstimate: ([pairs]) =>
    Array.isArray(pairs)
      ? pairs.reduce((s: number, p) => {
          const n = rowsOf(p?.X);
          const m = rowsOf(p?.Y);
          return s + n * m + n * n + m * m;
        }, 0)
      : 0,
  run: async (pairs: readonly CloudPair[], opts: DivergenceBatchOptions): Promise<BatchResult<DivergenceResult>> => {
    const solver = 'sinkhornDivergenceBatch';
    const list = listOf<CloudPair>(solver, 'pairs { X, Y, a?, b? }', pairs);
    const results = await divergences(solver, list, opts, true);
    return aggregate(results, results[0].backend, results.reduce((t, r) => Math.max(t, r.threads), 1));
  },
});

/**
 * f̃_i = f_i − ε log a_i where a_i > 0; where a_i = 0, the extension −ε·LSE_j((g_j − C_ij)/ε) (what the
 * f-update would give), so that gradients w.r.t. zero weights are defined. f̃ is the potential of the KL(P | a ⊗ b)
 * form of entropic OT, ∂OT_ε/∂a (up to a constant along the simplex); `cols` reads the geometry transposed (g̃).
 */
export function tildePotential(
  f: Float64Array,
  a: Float64Array,
  g: Float64Array,
  b: Float64Array,
  geom: { costAt(i: number, j: number): number },
  eps: number,
  cols: boolean,
): Float64Array {
  return f.map((fi, i) => {
    if (a[i] > 0) return fi - eps * Math.log(a[i]);
    const lse = new LogSumExp();
    for (let j = 0; j < g.length; j++) if (b[j] > 0) lse.add((g[j] - (cols ? geom.costAt(j, i) : geom.costAt(i, j))) / eps);
    return -eps * lse.value();
  });
}

/** Σ_j P_ij ∇₁c(x_i, y_j) and Σ_i P_ij ∇₂c(x_i, y_j) for c = ‖x − y‖^p. */
async function costGradients(engine: EntropicEngine, geom: PointCloudGeometry): Promise<[Float64Array, Float64Array]> {
  const { rows: n, cols: m, dim: d } = geom;
  const X = geom.X.data;
  const Y = geom.Y.data;
  const g1 = new Float64Array(n * d);
  const g2 = new Float64Array(m * d);
  if (geom.cost.power === 2) {
    // ∇₁‖x − y‖² = 2(x − y): Σ_j P_ij 2(x_i − y_j) = 2(r_i x_i − (P Y)_i), all on the engine
    const PY = await engine.planApply(Float64Array.from(Y), d, false);
    const PtX = await engine.planApply(Float64Array.from(X), d, true);
    const { rowSums, colSums } = await engine.stats();
    for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) g1[i * d + t] = 2 * (rowSums[i] * X[i * d + t] - PY[i * d + t]);
    for (let j = 0; j < m; j++) for (let t = 0; t < d; t++) g2[j * d + t] = 2 * (colSums[j] * Y[j * d + t] - PtX[j * d + t]);
    return [g1, g2];
  }
  const P = await engine.densePlan();
  const p = geom.cost.power;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      const pij = P[i * m + j];
      if (pij === 0) continue;
      let sq = 0;
      for (let t = 0; t < d; t++) sq += (X[i * d + t] - Y[j * d + t]) ** 2;
      if (sq === 0) continue; // the subgradient 0 at x = y (p ≤ 1)
      // ∇₁‖x − y‖^p = p‖x − y‖^{p−2}(x − y)
      const w = (pij * p * powerOfSquaredDistance(sq, p)) / sq;
      for (let t = 0; t < d; t++) {
        const diff = X[i * d + t] - Y[j * d + t];
        g1[i * d + t] += w * diff;
        g2[j * d + t] -= w * diff;
      }
    }
  return [g1, g2];
}

/**
 * S_ε between every two of k clouds (pairwiseDistances): the k self terms OT_ε(a_i, a_i) once and the
 * k(k − 1)/2 cross terms OT_ε(a_i, a_j), i < j, in one batch (3k(k − 1)/2 solves if each pair were a divergence
 * of its own). Returns the k × k matrix (symmetric, zero diagonal) and the batch's backend and threads.
 */
export async function divergenceMatrix(
  solver: string,
  clouds: readonly { X: MatrixLike; a?: VectorLike }[],
  opts: Omit<DivergenceOptions, 'onProgress' | 'a' | 'b' | 'gradient' | 'debias'> & { onProgress?: (p: BatchProgress) => void },
): Promise<{ D: Float64Array; backend: BackendName; threads: number; iterations: number; error: number; converged: boolean }> {
  const k = clouds.length;
  const w: Float64Array[] = [];
  const terms: Term[] = [];
  const index: [number, number][] = [];
  const add = (i: number, j: number) =>
    atProblem(solver, i === j ? i : j, () => {
      const geom = pointCloud(clouds[i].X, clouds[j].X, { cost: opts.cost, maxBytes: opts.maxBytes });
      if (i === j) w[i] = toWeights('a', clouds[i].a, geom.rows);
      terms.push({ geom, a: w[i], b: w[j] });
      index.push([i, j]);
    });
  for (let i = 0; i < k; i++) add(i, i);
  for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) add(i, j);
  const solveOpts = { ...opts, plan: false as const, onProgress: undefined };
  const setups = terms.map((t, q) => atProblem(solver, index[q][1], () => setupEntropic(t.a, t.b, t.geom, solveOpts, undefined)));
  const { results, backend, threads } = await solveBatch(
    solver,
    setups.map((s) => s.engineProblem),
    setups.map((s) => s.schedule),
    { ...opts, threads: checkThreads(opts.threads) },
    (q) => overflowMessage(`${solver}: pair (${index[q][0]}, ${index[q][1]})`, setups[q]),
    async (engine, q, loop) => tilde(await entropicResult(engine, setups[q], loop), terms[q], opts.reg, undefined, undefined),
  );
  const ot = results.map((s, q) => dotFinite(terms[q].a, s.fTilde) + dotFinite(terms[q].b, s.gTilde));
  const D = new Float64Array(k * k);
  for (let q = k; q < terms.length; q++) {
    const [i, j] = index[q];
    D[i * k + j] = D[j * k + i] = Math.max(0, ot[q] - 0.5 * ot[i] - 0.5 * ot[j]); // as combine(): S_ε ≥ 0
  }
  return {
    D,
    backend,
    threads,
    iterations: results.reduce((s, r) => Math.max(s, r.res.iterations), 0),
    error: results.reduce((s, r) => Math.max(s, r.res.error), 0),
    converged: results.every((r) => r.res.status === 'converged'),
  };
}
