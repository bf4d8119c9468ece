// Domain adaptation by entropic OT (POT 0.8.2: ot.da.SinkhornTransport, SinkhornLpl1Transport,
// UnbalancedSinkhornTransport): the couplings come from the Sinkhorn solvers of ts/solvers/sinkhorn.ts.
import { OTError } from '../errors.js';
import { DenseCoupling } from '../coupling.js';
import type { DenseMatrix } from '../types.js';
import { num, opt, validateOptions } from '../registry/schema.js';
import { sinkhorn, sinkhornUnbalanced } from '../solvers/sinkhorn.js';
import { type InnerEntropic, entropicOT } from '../solvers/inner.js';
import { dotFinite } from '../entropic/problem.js';
import { BaseTransport, type FitData, type Solved, type TransportOptions, blockInfinite, transportSchema } from './base.js';

/** The options of {@link SinkhornTransport}. */
export interface SinkhornTransportOptions extends TransportOptions {
  /** ε, the entropic regularization, in units of the (normalised) cost. Default 1. POT: reg_e. */
  reg?: number;
  /** Sinkhorn iterations at most. Default 1000. POT: max_iter. */
  maxIter?: number;
  /** Stop when Σ_i |(P1)_i − a_i| < tol (POT checks ‖Pᵀ1 − b‖₂). Default 1e-8 (POT's 10e-9). POT: tol. */
  tol?: number;
}

/** Options shared by the entropic estimators. */
export const entropicSchema = {
  ...transportSchema,
  reg: opt(num({ gt: 0 }), 'ε, the entropic regularization, in units of the (normalised) cost. POT: reg_e.', '1'),
  maxIter: opt(num({ integer: true, min: 0 }), 'Sinkhorn iterations at most. POT: max_iter.', '1000'),
  tol: opt(num({ min: 0 }), 'Stop when the marginal error falls below tol. POT: tol.', '1e-8'),
};

/**
 * Domain adaptation with the entropic OT plan (Cuturi 2013, Courty et al. 2017; POT: ot.da.SinkhornTransport).
 * `limitMax` defaults to Infinity (POT's): labelled pairs of different classes get no mass at all.
 *
 * @example
 * ```ts
 * const da = await new SinkhornTransport({ reg: 0.1, norm: 'max' }).fit(Xs, Xt);
 * const mapped = await da.transform(Xs);
 * ```
 */
export class SinkhornTransport extends BaseTransport {
  protected readonly name = 'SinkhornTransport';
  /** ε, the entropic regularization. */
  readonly reg: number;
  private readonly maxIter: number;
  private readonly tol: number;

  /** @throws {@link OTError} 'invalid-option' for an unknown option or a value out of range. */
  constructor(opts: SinkhornTransportOptions = {}) {
    validateOptions('SinkhornTransport', entropicSchema, opts);
    super(opts, Infinity);
    this.reg = opts.reg ?? 1;
    this.maxIter = opts.maxIter ?? 1000;
    this.tol = opts.tol ?? 1e-8;
  }

  protected async solve(a: Float64Array, b: Float64Array, C: DenseMatrix): Promise<Solved> {
    const M = { data: blockInfinite(C.data, this.reg), rows: C.rows, cols: C.cols };
    const r = await sinkhorn(a, b, M, { reg: this.reg, maxIter: this.maxIter, tol: this.tol });
    return { coupling: r.plan, result: r };
  }
}

// ---------------------------------------------------------------------------------------------------------
// SinkhornLpl1Transport

/** The options of {@link SinkhornLpl1Transport}. */
export interface SinkhornLpl1TransportOptions extends TransportOptions {
  /** ε, the entropic regularization, in units of the (normalised) cost. Default 1. POT: reg_e. */
  reg?: number;
  /** η, the weight of the class-based lp-l1 penalty Σ_j Σ_c ‖P_{I_c, j}‖_½ (I_c: source samples of class c). Default 0.1. POT: reg_cl. */
  regClass?: number;
  /** Majorisation-minimisation steps (each one Sinkhorn solve), all of them run. Default 10. POT: max_iter. */
  maxIter?: number;
  /** Sinkhorn iterations at most in each step. Default 200. POT: max_inner_iter. */
  maxInnerIter?: number;
  /** Each step's Sinkhorn stops when Σ_i |(P1)_i − a_i| < tol. Default 1e-8. POT: tol. */
  tol?: number;
}

const lpl1Schema = {
  ...transportSchema,
  reg: entropicSchema.reg,
  regClass: opt(num({ min: 0 }), 'η, the weight of the class-based lp-l1 penalty. POT: reg_cl.', '0.1'),
  maxIter: opt(num({ integer: true, min: 1 }), 'Majorisation-minimisation steps, each one Sinkhorn solve (all are run). POT: max_iter.', '10'),
  maxInnerIter: opt(num({ integer: true, min: 0 }), 'Sinkhorn iterations at most in each step. POT: max_inner_iter.', '200'),
  tol: opt(num({ min: 0 }), "Each step's Sinkhorn stops when the marginal error falls below tol. POT: tol.", '1e-8'),
};

/** The exponent p of the lp-l1 penalty and the ε that keeps its majorant finite at 0 (POT's constants). */
const P = 0.5;
const EPS = 1e-3;

/**
 * Domain adaptation with the class-regularised entropic plan (Courty et al. 2017, "Optimal Transport for Domain
 * Adaptation"; POT: ot.da.SinkhornLpl1Transport / sinkhorn_lpl1_mm): min ⟨P, C⟩ + reg·Σ P log P + η·Σ_j Σ_c
 * (Σ_{i ∈ I_c} P_ij)^½, which pushes each target sample to receive mass from one class only. Majorisation-
 * minimisation: each step solves Sinkhorn for C + η·W with W_ij = ½ (Σ_{i' ∈ I_c(i)} P_i'j + 10⁻³)^−½ of the previous
 * plan. Needs the source labels: fit(Xs, ys, Xt, yt?). `limitMax` defaults to Infinity (POT's).
 */
export class SinkhornLpl1Transport extends BaseTransport {
  protected readonly name = 'SinkhornLpl1Transport';
  /** ε, the entropic regularization. */
  readonly reg: number;
  /** η, the weight of the class penalty. */
  readonly regClass: number;
  private readonly maxIter: number;
  private readonly maxInnerIter: number;
  private readonly tol: number;

  /** @throws {@link OTError} 'invalid-option' for an unknown option or a value out of range. */
  constructor(opts: SinkhornLpl1TransportOptions = {}) {
    validateOptions('SinkhornLpl1Transport', lpl1Schema, opts);
    super(opts, Infinity);
    this.reg = opts.reg ?? 1;
    this.regClass = opts.regClass ?? 0.1;
    this.maxIter = opts.maxIter ?? 10;
    this.maxInnerIter = opts.maxInnerIter ?? 200;
    this.tol = opts.tol ?? 1e-8;
  }

  protected override checkFit(data: FitData): void {
    if (!data.ys) throw new OTError('shape', 'SinkhornLpl1Transport.fit needs the source labels: fit(Xs, ys, Xt) or fit(Xs, ys, Xt, yt).');
  }

  protected async solve(a: Float64Array, b: Float64Array, C: DenseMatrix, ys: Float64Array | undefined): Promise<Solved> {
    const ns = C.rows;
    const nt = C.cols;
    // the classes as POT groups them: every distinct value of ys, −1 included
    const ids = new Map<number, number>();
    const classOf = Int32Array.from(ys!, (y) => ids.get(y) ?? (ids.set(y, ids.size), ids.size - 1));
    const k = ids.size;
    const W = new Float64Array(ns * nt);
    const Mreg = new Float64Array(ns * nt);
    const colMass = new Float64Array(k * nt);
    let inner: InnerEntropic | undefined;
    for (let step = 0; step < this.maxIter; step++) {
      for (let t = 0; t < Mreg.length; t++) Mreg[t] = C.data[t] + this.regClass * W[t];
      inner = await entropicOT(a, b, { data: blockInfinite(Mreg, this.reg), rows: ns, cols: nt }, this.reg, undefined, this.maxInnerIter, this.tol);
      // majorant of the concave penalty at the new plan: W_ij = p (Σ_{i' ∈ class(i)} P_i'j + ε)^(p − 1)
      colMass.fill(0);
      for (let i = 0; i < ns; i++) for (let j = 0; j < nt; j++) colMass[classOf[i] * nt + j] += inner.plan[i * nt + j];
      for (let t = 0; t < colMass.length; t++) colMass[t] = P * (colMass[t] + EPS) ** (P - 1);
      for (let i = 0; i < ns; i++) W.set(colMass.subarray(classOf[i] * nt, (classOf[i] + 1) * nt), i * nt);
    }
    const plan = inner!.plan;
    return {
      coupling: new DenseCoupling(ns, nt, plan),
      result: {
        value: dotFinite(plan, C.data),
        status: inner!.converged ? 'converged' : 'max-iterations',
        iterations: this.maxIter,
        error: inner!.error,
        backend: inner!.backend,
        threads: inner!.threads,
      },
    };
  }
}

// ---------------------------------------------------------------------------------------------------------
// UnbalancedTransport

/** The options of {@link UnbalancedTransport}. */
export interface UnbalancedTransportOptions extends TransportOptions {
  /** ε, the entropic regularization, in units of the (normalised) cost. Default 1. POT: reg_e. */
  reg?: number;
  /** ρ, the strength of the KL penalty on each marginal. Default 0.1. POT: reg_m. */
  regM?: number;
  /**
   * Sinkhorn iterations at most. Default 1000 (POT's default, 10, stops far from convergence, and its start
   * differs from ours, so only converged plans agree). POT: max_iter.
   */
  maxIter?: number;
  /** Stop when the potentials change by less than tol·reg between checks. Default 1e-9. POT: tol. */
  tol?: number;
}

const unbalancedSchema = {
  ...entropicSchema,
  regM: opt(num({ gt: 0 }), 'ρ, the strength of the KL penalty on each marginal. POT: reg_m.', '0.1'),
  tol: opt(num({ min: 0 }), 'Stop when the potentials change by less than tol·reg between checks. POT: tol.', '1e-9'),
};

/**
 * Domain adaptation with the unbalanced entropic plan (KL-relaxed marginals, Chizat et al. 2018; POT:
 * ot.da.UnbalancedSinkhornTransport, sinkhorn_unbalanced): source samples in regions the target does not cover keep
 * less mass. `limitMax` defaults to 10 (POT's).
 */
export class UnbalancedTransport extends BaseTransport {
  protected readonly name = 'UnbalancedTransport';
  /** ε, the entropic regularization. */
  readonly reg: number;
  /** ρ, the marginal penalty. */
  readonly regM: number;
  private readonly maxIter: number;
  private readonly tol: number;

  /** @throws {@link OTError} 'invalid-option' for an unknown option or a value out of range. */
  constructor(opts: UnbalancedTransportOptions = {}) {
    validateOptions('UnbalancedTransport', unbalancedSchema, opts);
    super(opts, 10);
    this.reg = opts.reg ?? 1;
    this.regM = opts.regM ?? 0.1;
    this.maxIter = opts.maxIter ?? 1000;
    this.tol = opts.tol ?? 1e-9;
  }

  protected async solve(a: Float64Array, b: Float64Array, C: DenseMatrix): Promise<Solved> {
    const M = { data: blockInfinite(C.data, this.reg), rows: C.rows, cols: C.cols };
    const r = await sinkhornUnbalanced(a, b, M, { reg: this.reg, regM: this.regM, maxIter: this.maxIter, tol: this.tol });
    return { coupling: r.plan, result: r };
  }
}
