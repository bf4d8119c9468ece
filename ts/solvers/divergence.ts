// Sinkhorn divergences between point clouds, with gradients (a loss for fitting and gradient flows).
import { type CostSpec, powerOfSquaredDistance } from '../costs.js';
import { pointCloud, type PointCloudGeometry } from '../geometry.js';
import type { BackendName, MatrixLike, VectorLike } from '../types.js';
import { checkBudget, toWeights } from '../validate.js';
import type { OTResult } from '../result.js';
import { defineSolver } from '../registry/define.js';
import { anyOf, bool, num, object, oneOf, opt, required, vector } from '../registry/schema.js';
import { massOptions } from '../registry/common.js';
import { rowsOf } from '../registry/estimate.js';
import { engineBackends } from '../entropic/select.js';
import { dotFinite } from '../entropic/problem.js';
import type { EntropicEngine } from '../entropic/engine.js';
import { LogSumExp } from '../entropic/logsumexp.js';
import { type SinkhornOptions, type SinkhornResult, sinkhornSchema, solveEntropic } from './sinkhorn.js';

export interface DivergenceOptions extends Omit<SinkhornOptions, 'plan' | 'init'> {
  a?: VectorLike;
  b?: VectorLike;
  cost?: CostSpec;
  /** Also return gradients w.r.t. the positions (gradX, gradY) and the weights (gradA, gradB). Default false. */
  gradient?: boolean;
  /**
   * true (default): the debiased S_ε = OT_ε(a, b) − ½ OT_ε(a, a) − ½ OT_ε(b, b). false: OT_ε(a, b) itself (one
   * solve instead of three), whose value is biased (OT_ε(a, a) > 0) but whose gradients are cheaper.
   */
  debias?: boolean;
}

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
  gradY?: Float64Array;
  /** ∂value/∂a and ∂value/∂b (the dual potentials; meaningful along directions that keep the total mass). */
  gradA?: Float64Array;
  gradB?: Float64Array;
  /** Iterations of the three solves together. */
  iterations: number;
  /** 'converged' when all three solves converged. */
  status: 'converged' | 'max-iterations';
  /** The largest of the three solves' stopping measures (marginal violation). */
  error: number;
  backend: BackendName;
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

async function divergence(X: MatrixLike, Y: MatrixLike, opts: DivergenceOptions): Promise<DivergenceResult> {
  const gXY = pointCloud(X, Y, { cost: opts?.cost, maxBytes: opts?.maxBytes });
  const a = toWeights('a', opts.a, gXY.rows);
  const b = toWeights('b', opts.b, gXY.cols);
  const grad = opts.gradient === true;
  if (grad && gXY.cost.power !== 2) {
    const n = Math.max(gXY.rows, gXY.cols);
    checkBudget(n * n * 8, `the dense plans that gradients for cost ${gXY.cost.name} need`, opts.maxBytes);
  }
  const ab = await side(gXY, a, b, opts, grad);
  const ot = (s: Side, wa: Float64Array, wb: Float64Array) => dotFinite(wa, s.fTilde) + dotFinite(wb, s.gTilde);
  if (opts.debias === false) {
    // OT_ε(a, b) alone: its gradients are the ab side's
    const plain: DivergenceResult = {
      value: ot(ab, a, b),
      linearValue: ab.res.cost,
      iterations: ab.res.iterations,
      status: ab.res.status,
      error: ab.res.error,
      backend: ab.res.backend,
      threads: ab.res.threads,
    };
    if (grad) Object.assign(plain, { gradX: ab.grad1, gradY: ab.grad2, gradA: ab.fTilde, gradB: ab.gTilde });
    return plain;
  }
  const aa = await side(pointCloud(X, X, { cost: opts.cost, maxBytes: opts.maxBytes }), a, a, opts, grad);
  const bb = await side(pointCloud(Y, Y, { cost: opts.cost, maxBytes: opts.maxBytes }), b, b, opts, grad);
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
    threads: ab.res.threads,
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

async function side(geom: PointCloudGeometry, a: Float64Array, b: Float64Array, opts: DivergenceOptions, grad: boolean): Promise<Side> {
  let grad1: Float64Array | undefined;
  let grad2: Float64Array | undefined;
  const res = await solveEntropic('sinkhornDivergence', a, b, geom, { ...opts, plan: false }, undefined, async (engine) => {
    if (grad) [grad1, grad2] = await costGradients(engine, geom);
  });
  const eps = opts.reg;
  const { f, g } = res.potentials;
  const fTilde = tildePotential(f, a, g, b, geom, eps, false);
  const gTilde = tildePotential(g, b, f, a, geom, eps, true);
  return { res, fTilde, gTilde, grad1, grad2 };
}

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
