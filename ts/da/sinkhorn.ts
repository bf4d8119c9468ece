// Domain adaptation by entropic OT (POT 0.8.2: ot.da.SinkhornTransport, SinkhornLpl1Transport,
// UnbalancedSinkhornTransport): the coupling comes from the sinkhorn solvers of ts/solvers/sinkhorn.ts.
import type { Coupling } from '../coupling.js';
import type { OTResult } from '../result.js';
import type { DenseMatrix } from '../types.js';
import { num, opt, validateOptions } from '../registry/schema.js';
import { sinkhorn } from '../solvers/sinkhorn.js';
import { BaseTransport, type TransportOptions, blockInfinite, transportSchema } from './base.js';

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

  protected async solve(a: Float64Array, b: Float64Array, C: DenseMatrix): Promise<{ coupling: Coupling; result: OTResult }> {
    const M = { data: blockInfinite(C.data, this.reg), rows: C.rows, cols: C.cols };
    const r = await sinkhorn(a, b, M, { reg: this.reg, maxIter: this.maxIter, tol: this.tol });
    return { coupling: r.plan, result: r };
  }
}
