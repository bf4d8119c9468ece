// OT losses as differentiable tensor ops: the value is computed by the library's solvers (on wasm, webgpu or js, in
// f64 on the CPU engines), and the gradient comes from the solution by the envelope theorem — the potentials and the
// plan of the optimum give ∂loss/∂positions and ∂loss/∂weights without differentiating through the iterations
// (Feydy et al. 2019; Peyré & Cuturi 2019, §9.1). The result is a scalar tensor on the inputs' engine whose backward
// rule multiplies the upstream gradient by those constants: first-order gradients are exact at the optimum (up to
// the solver's tolerance); gradients of gradients through a loss are not available (the constants do not depend on
// the graph), and a loss used inside `grad(..., { createGraph: true })` differentiates as a linear function.
import { OTError } from '../errors.js';
import type { CostSpec } from '../costs.js';
import type { BackendOption, MatrixLike, VectorLike } from '../types.js';
import { sinkhornDivergence, tildePotential } from '../solvers/divergence.js';
import { dotFinite } from '../entropic/problem.js';
import { emd } from '../solvers/emd.js';
import { emd1d } from '../solvers/ot1d.js';
import { sinkhorn, sinkhornUnbalanced } from '../solvers/sinkhorn.js';
import { costMatrix, pointCloud } from '../geometry.js';
import { randomDirections } from '../rng.js';
import { Tensor, makeOp, mul, tensor } from './tensor.js';
import { unrolledEntropic } from './unrolled.js';

/** Weights of a loss's measure: a tensor (then the loss is differentiable w.r.t. it) or plain numbers. */
export type LossWeights = Tensor | VectorLike;

/**
 * Options of {@link sinkhornLoss} and {@link entropicOTLoss}: those of `sinkhornDivergence` that a loss needs
 * (GeomLoss's SamplesLoss('sinkhorn'), whose cost for p = 2 is ½‖x − y‖²; POT: `ot.bregman.empirical_sinkhorn_divergence`).
 */
export interface EntropicLossOptions {
  /** ε, in units of the cost. Required. */
  reg: number;
  /** Weights of the rows of X / Y (default uniform); tensors get gradients. They must sum to the same mass. */
  a?: LossWeights;
  /** Weights of the rows of Y (length m; default uniform 1/m); a tensor gets ∂loss/∂b. */
  b?: LossWeights;
  /** The ground cost: 'sqeuclidean' ‖x − y‖² (default), 'euclidean' ‖x − y‖, or `{ p }` for ‖x − y‖^p. */
  cost?: CostSpec;
  /** The solver's backend ('auto': webgpu on a hardware adapter, else wasm). */
  backend?: BackendOption;
  /** Iteration cap of each Sinkhorn solve (POT: numItermax). Default 1000. */
  maxIter?: number;
  /** Tolerance on each solve's marginal violation (POT: stopThr). Default 1e-9 (1e-5 on webgpu). */
  tol?: number;
  /** 'scaling', 'log' or 'auto' (default: log when cost scale / reg > 50 or with epsScaling); see {@link SinkhornOptions.method}. */
  method?: 'scaling' | 'log' | 'auto';
  /** ε-scaling from the cost scale by factors of ½ (fewer iterations at small reg). Default false. */
  epsScaling?: boolean;
  /**
   * How the gradient is computed. 'envelope' (default): from the solver's optimum (no extra work; exact at
   * convergence). 'unrolled': autodiff through exactly `maxIter` (default 100) log-domain iterations written with
   * the tensor ops on the tensors' engine — the exact gradient of the truncated loss, whose value is then that of
   * the truncated iterations too; sqeuclidean cost only, O(maxIter · n · m) graph memory (small problems);
   * tol, method, epsScaling and backend do not apply.
   */
  gradient?: 'envelope' | 'unrolled';
}

function points(t: Tensor, name: string): Promise<Float64Array> {
  if (t.rank !== 2) throw new OTError('shape', `${name} must be a [n, d] tensor of points (got shape [${t.shape.join(', ')}]).`);
  return t.read();
}

async function weights(w: LossWeights | undefined, n: number, name: string): Promise<Float64Array | undefined> {
  if (w === undefined) return undefined;
  const v = w instanceof Tensor ? await w.read() : Float64Array.from(w as ArrayLike<number>);
  if (v.length !== n) throw new OTError('shape', `${name} has ${v.length} weights for ${n} points.`);
  return v;
}

/** The loss node: value, and ∂value/∂ each differentiable input as constants (same shapes). */
function lossNode(op: string, value: number, inputs: [Tensor | undefined, Float64Array | undefined][]): Tensor {
  const parents: Tensor[] = [];
  const grads: Float64Array[] = [];
  for (const [t, g] of inputs) {
    if (t instanceof Tensor && g) {
      parents.push(t);
      grads.push(g);
    }
  }
  if (parents.length === 0) return tensor([value], [], inputs.find(([t]) => t instanceof Tensor)?.[0]?.engine);
  return makeOp(op, Float64Array.of(value), [], parents, (g, needs) =>
    parents.map((p, k) => (needs[k] ? mul(g, tensor(grads[k], p.shape, p.engine)) : null)),
  );
}

async function entropic(op: string, X: Tensor, Y: Tensor, opts: EntropicLossOptions, debias: boolean): Promise<Tensor> {
  if (opts.gradient === 'unrolled') return unrolledEntropic(X, Y, opts, debias);
  if (opts.gradient !== undefined && opts.gradient !== 'envelope') {
    throw new OTError('invalid-option', `gradient must be 'envelope' or 'unrolled' (got ${JSON.stringify(opts.gradient)}).`);
  }
  const [x, y] = await Promise.all([points(X, 'X'), points(Y, 'Y')]);
  const n = X.shape[0];
  const m = Y.shape[0];
  const d = X.shape[1];
  const [a, b] = await Promise.all([weights(opts.a, n, 'a'), weights(opts.b, m, 'b')]);
  const r = await sinkhornDivergence({ data: x, rows: n, cols: d }, { data: y, rows: m, cols: Y.shape[1] }, {
    reg: opts.reg,
    a,
    b,
    cost: opts.cost,
    backend: opts.backend,
    maxIter: opts.maxIter,
    tol: opts.tol,
    method: opts.method,
    epsScaling: opts.epsScaling,
    gradient: true,
    debias,
    worker: false,
  });
  return lossNode(op, r.value, [
    [X, r.gradX],
    [Y, r.gradY],
    [opts.a instanceof Tensor ? opts.a : undefined, r.gradA],
    [opts.b instanceof Tensor ? opts.b : undefined, r.gradB],
  ]);
}

/**
 * The debiased Sinkhorn divergence S_ε(X, Y) = OT_ε(a, b) − ½OT_ε(a, a) − ½OT_ε(b, b) as a scalar tensor, with
 * gradients w.r.t. the points X, Y (n × d, m × d tensors) and, when they are tensors, the weights a, b
 * (GeomLoss's SamplesLoss('sinkhorn'), OTT's sinkhorn_divergence). S_ε ≥ 0 and = 0 for equal measures.
 */
export function sinkhornLoss(X: Tensor, Y: Tensor, opts: EntropicLossOptions): Promise<Tensor> {
  return entropic('sinkhornLoss', X, Y, opts, true);
}

/** The entropic OT value OT_ε(a, b) = min ⟨P, C⟩ + ε·KL(P | a ⊗ b) as a scalar tensor (biased: OT_ε(a, a) > 0). */
export function entropicOTLoss(X: Tensor, Y: Tensor, opts: EntropicLossOptions): Promise<Tensor> {
  return entropic('entropicOTLoss', X, Y, opts, false);
}

/** Options of {@link emdLoss} (POT: `ot.emd2`'s a, b and `ot.dist`'s metric). */
export interface EmdLossOptions {
  /** Weights of the rows of X (length n; default uniform 1/n); a tensor gets ∂loss/∂a = the dual potential u. */
  a?: LossWeights;
  /** Weights of the rows of Y (length m; default uniform 1/m; same total mass as a); a tensor gets ∂loss/∂b = v. */
  b?: LossWeights;
  /** The ground cost: 'sqeuclidean' ‖x − y‖² (default), 'euclidean' ‖x − y‖, or `{ p }` for ‖x − y‖^p. */
  cost?: CostSpec;
}

/**
 * The exact OT cost ⟨P*, C(X, Y)⟩ as a scalar tensor; its gradient holds the optimal plan P* fixed (a subgradient,
 * the gradient wherever the optimal plan is unique), and w.r.t. tensor weights it is the dual potentials (u, v).
 */
export async function emdLoss(X: Tensor, Y: Tensor, opts: EmdLossOptions = {}): Promise<Tensor> {
  const [x, y] = await Promise.all([points(X, 'X'), points(Y, 'Y')]);
  const n = X.shape[0];
  const m = Y.shape[0];
  const d = X.shape[1];
  if (Y.shape[1] !== d) throw new OTError('shape', `X has dimension ${d} but Y has ${Y.shape[1]}.`);
  const [a, b] = await Promise.all([weights(opts.a, n, 'a'), weights(opts.b, m, 'b')]);
  const geom = pointCloud({ data: x, rows: n, cols: d }, { data: y, rows: m, cols: d }, { cost: opts.cost });
  const r = await emd(a, b, geom, { worker: false });
  const p = geom.cost.power;
  const gX = new Float64Array(n * d);
  const gY = new Float64Array(m * d);
  for (const [i, j, mass] of r.plan.entries()) {
    let sq = 0;
    for (let t = 0; t < d; t++) sq += (x[i * d + t] - y[j * d + t]) ** 2;
    if (sq === 0) continue; // the subgradient 0 at x = y
    // ∇ₓ‖x − y‖^p = p‖x − y‖^{p−2}(x − y)
    const w = mass * p * Math.pow(sq, p / 2 - 1);
    for (let t = 0; t < d; t++) {
      const diff = x[i * d + t] - y[j * d + t];
      gX[i * d + t] += w * diff;
      gY[j * d + t] -= w * diff;
    }
  }
  return lossNode('emdLoss', r.value, [
    [X, gX],
    [Y, gY],
    [opts.a instanceof Tensor ? opts.a : undefined, r.potentials.u],
    [opts.b instanceof Tensor ? opts.b : undefined, r.potentials.v],
  ]);
}

/** Options of {@link slicedLoss} (POT: `ot.sliced_wasserstein_distance`'s p, n_projections, seed, projections). */
export interface SlicedLossOptions {
  /** Order p ≥ 1 of the ground cost |·|^p. Default 2. */
  p?: number;
  /** Random directions (default 50), seeded by `seed` (default 0); or `projections` (k × d, one per row). */
  nProjections?: number;
  /** Seed of the random directions (randomDirections(nProjections, d, seed)). Default 0. */
  seed?: number;
  /** The directions, k × d row-major, one unit vector per row (POT's are d × k: transpose), used as given. */
  projections?: Float64Array;
}

/**
 * The sliced cost (1/K) Σ_k W_p^p(θ_k·X, θ_k·Y) (uniform weights) as a scalar tensor — SW_p^p, which is smooth
 * where the 1D matchings are unique; the gradient holds each direction's monotone plan fixed.
 */
export async function slicedLoss(X: Tensor, Y: Tensor, opts: SlicedLossOptions = {}): Promise<Tensor> {
  const [x, y] = await Promise.all([points(X, 'X'), points(Y, 'Y')]);
  const n = X.shape[0];
  const m = Y.shape[0];
  const d = X.shape[1];
  if (Y.shape[1] !== d) throw new OTError('shape', `X has dimension ${d} but Y has ${Y.shape[1]}.`);
  const p = opts.p ?? 2;
  if (!(p >= 1) || !Number.isFinite(p)) throw new OTError('invalid-option', `slicedLoss: p must be a finite number ≥ 1 (got ${p}).`);
  const K = opts.projections ? opts.projections.length / d : (opts.nProjections ?? 50);
  if (!Number.isInteger(K) || K < 1) throw new OTError('invalid-option', `slicedLoss: need at least one direction of dimension ${d}.`);
  const dirs = opts.projections ?? randomDirections(K, d, opts.seed ?? 0);
  const gX = new Float64Array(n * d);
  const gY = new Float64Array(m * d);
  const u = new Float64Array(n);
  const v = new Float64Array(m);
  let total = 0;
  for (let k = 0; k < K; k++) {
    const th = dirs.subarray(k * d, k * d + d);
    for (let i = 0; i < n; i++) u[i] = dotRow(x, i, th, d);
    for (let j = 0; j < m; j++) v[j] = dotRow(y, j, th, d);
    const r = await emd1d(u, v, { p, worker: false });
    total += r.value;
    for (const [i, j, mass] of r.plan.entries()) {
      const diff = u[i] - v[j];
      if (diff === 0) continue;
      // ∂|u − v|^p/∂u = p|u − v|^{p−1} sign(u − v), then ∂u/∂x = θ
      const w = (mass * p * Math.pow(Math.abs(diff), p - 1) * Math.sign(diff)) / K;
      for (let t = 0; t < d; t++) {
        gX[i * d + t] += w * th[t];
        gY[j * d + t] -= w * th[t];
      }
    }
  }
  return lossNode('slicedLoss', total / K, [
    [X, gX],
    [Y, gY],
  ]);
}

function dotRow(P: Float64Array, i: number, th: Float64Array, d: number): number {
  let s = 0;
  for (let t = 0; t < d; t++) s += P[i * d + t] * th[t];
  return s;
}

/** Options of {@link costMatrixOTLoss}: the kind of OT problem (exact, entropic, unbalanced) and the solver's limits. */
export interface CostMatrixLossOptions {
  /** ε of entropic OT, in units of the cost; omitted: exact OT (the network simplex). */
  reg?: number;
  /** KL-relaxed marginals (unbalanced entropic OT, JUMBOT; needs reg). */
  unbalanced?: {
    /** ρ, the strength of the KL penalty on each marginal (POT: reg_m). */
    regM: number;
  };
  /** Weights of the rows of C (default uniform 1/n). */
  a?: VectorLike;
  /** Weights of the columns of C (default uniform 1/m). */
  b?: VectorLike;
  /** The solver's backend (default 'auto'). */
  backend?: BackendOption;
  /** The solver's iteration (pivot) cap (default: the solver's). */
  maxIter?: number;
  /** The entropic solver's tolerance (default: the solver's). */
  tol?: number;
}

/**
 * ⟨P*, C⟩ for a cost-matrix tensor C (n × m): P* is the optimal plan for the costs' current values — exact,
 * entropic (`reg`) or unbalanced entropic (`reg` + `unbalanced`) — and the gradient holds it fixed, ∂/∂C = P*.
 * This is the loss of DeepJDOT (Damodaran et al. 2018) and JUMBOT (Fatras et al. 2021), where C is built in the
 * graph from features and predictions, so the gradient flows into the networks through C. For exact OT, P* is
 * the gradient of the optimal cost (a subgradient where P* is not unique); for entropic OT it is the gradient of
 * the regularised objective (envelope theorem), while the value reported is the linear cost ⟨P*, C⟩ (POT's
 * sinkhorn2).
 */
export async function costMatrixOTLoss(C: Tensor, opts: CostMatrixLossOptions = {}): Promise<Tensor> {
  if (C.rank !== 2) throw new OTError('shape', `C must be an [n, m] cost-matrix tensor (got shape [${C.shape.join(', ')}]).`);
  if (opts.unbalanced && opts.reg === undefined) throw new OTError('invalid-option', 'costMatrixOTLoss: unbalanced needs reg (ε).');
  const [n, m] = C.shape;
  const M = { data: await C.read(), rows: n, cols: m };
  const { a, b, backend, maxIter, tol } = opts;
  let plan: Float64Array;
  if (opts.reg === undefined) {
    plan = (await emd(a, b, M, { backend: backend as 'wasm' | 'auto' | undefined, maxIter, worker: false })).plan.toDense();
  } else {
    const common = { reg: opts.reg, backend, maxIter, tol, plan: true, worker: false } as const;
    const r = opts.unbalanced
      ? await sinkhornUnbalanced(a, b, M, { ...common, regM: opts.unbalanced.regM })
      : await sinkhorn(a, b, M, common);
    plan = r.plan.toDense();
  }
  let value = 0;
  for (let k = 0; k < plan.length; k++) if (plan[k] !== 0) value += plan[k] * M.data[k];
  return lossNode('costMatrixOTLoss', value, [[C, plan]]);
}

/** Options of {@link wassersteinLabelLoss}: ε and the per-row Sinkhorn solves' settings. */
export interface LabelLossOptions {
  /** ε, in units of the ground metric M. Required. */
  reg: number;
  /** The solver's backend (default 'auto'). */
  backend?: BackendOption;
  /** Iteration cap of each row's Sinkhorn solve (default: sinkhorn's). */
  maxIter?: number;
  /** Tolerance of each row's Sinkhorn solve (the row-marginal L1 error; default: sinkhorn's). */
  tol?: number;
}

/**
 * The Wasserstein loss between label histograms (Frogner et al. 2015): for predictions `pred` (N × K, rows on the
 * simplex, e.g. a softmax) and targets `target` (N × K histograms; one-hot rows are fine), the mean over rows of the
 * entropic OT_ε(pred_i, target_i) = min ⟨P, M⟩ + ε·KL(P | pred_i ⊗ target_i) for a ground metric M (K × K) between
 * the labels, which makes a near miss (a neighbouring label under M) cheaper than a far one — cross-entropy does not
 * see M. The gradient w.r.t. pred_i is the dual potential f̃_i / N, centred (Σ_k = 0: the tangent of the simplex,
 * as Frogner et al. use it; a softmax before the loss ignores constants anyway); a target tensor that requires grad
 * gets g̃ likewise. One Sinkhorn solve per row (f64, log domain on wasm by default).
 */
export async function wassersteinLabelLoss(pred: Tensor, target: Tensor | VectorLike, M: MatrixLike, opts: LabelLossOptions): Promise<Tensor> {
  if (pred.rank !== 2) throw new OTError('shape', `pred must be an [N, K] tensor of histograms (got shape [${pred.shape.join(', ')}]).`);
  const [N, K] = pred.shape;
  const P = await pred.read();
  const T = target instanceof Tensor ? await target.read() : Float64Array.from(target as ArrayLike<number>);
  if (T.length !== N * K) throw new OTError('shape', `target has ${T.length} entries for ${N} rows of ${K} labels.`);
  const geom = costMatrix(M);
  if (geom.rows !== K || geom.cols !== K) throw new OTError('shape', `M is ${geom.rows} × ${geom.cols} for ${K} labels.`);
  const gP = new Float64Array(N * K);
  const gT = new Float64Array(N * K);
  let value = 0;
  for (let r = 0; r < N; r++) {
    const a = P.slice(r * K, r * K + K);
    const b = T.slice(r * K, r * K + K);
    const res = await sinkhorn(a, b, geom, { reg: opts.reg, method: 'log', backend: opts.backend, maxIter: opts.maxIter, tol: opts.tol, plan: false, worker: false });
    const { f, g } = res.potentials;
    const ft = tildePotential(f, a, g, b, geom, opts.reg, false);
    const gt = tildePotential(g, b, f, a, geom, opts.reg, true);
    value += (dotFinite(a, ft) + dotFinite(b, gt)) / N;
    centre(ft, gP, r * K, N);
    centre(gt, gT, r * K, N);
  }
  return lossNode('wassersteinLabelLoss', value, [
    [pred, gP],
    [target instanceof Tensor ? target : undefined, gT],
  ]);
}

/** out[off + k] = (v_k − mean v) / N. */
function centre(v: Float64Array, out: Float64Array, off: number, N: number): void {
  let s = 0;
  for (const x of v) s += x;
  for (let k = 0; k < v.length; k++) out[off + k] = (v[k] - s / v.length) / N;
}
