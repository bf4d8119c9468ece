// Domain adaptation by exact OT (POT 0.8.2: ot.da.EMDTransport): the coupling is emd's optimal plan between the
// uniform weights of the two samples for the (normalised, label-aware) cost.
import { OTError } from '../errors.js';
import type { DenseMatrix } from '../types.js';
import { num, opt, validateOptions } from '../registry/schema.js';
import { emd } from '../solvers/emd.js';
import { BaseTransport, type Solved, type TransportOptions, transportSchema } from './base.js';

/** The options of {@link EMDTransport}. */
export interface EMDTransportOptions extends TransportOptions {
  /** Pivot limit of the network simplex. Default 100000 (POT's max_iter). */
  maxIter?: number;
}

const schema = { ...transportSchema, maxIter: opt(num({ integer: true, min: 0 }), 'Pivot limit of the network simplex. POT: max_iter.', '100000') };

/**
 * Domain adaptation with the exact OT plan (Courty et al. 2017; POT: ot.da.EMDTransport). `limitMax` defaults to
 * 10 (POT's) and must be finite here: the network simplex needs finite costs.
 *
 * @example
 * ```ts
 * const da = await new EMDTransport().fit(Xs, Xt);
 * const mapped = await da.transform(Xs);        // barycentric map of the plan; new points: nearest neighbour's move
 * ```
 */
export class EMDTransport extends BaseTransport {
  protected readonly name = 'EMDTransport';
  private readonly maxIter: number;

  /** @throws {@link OTError} 'invalid-option' for an unknown option or a value out of range. */
  constructor(opts: EMDTransportOptions = {}) {
    validateOptions('EMDTransport', schema, opts);
    super(opts, 10);
    if (this.base.limitMax === Infinity) {
      throw new OTError('invalid-option', 'EMDTransport: limitMax must be finite (the network simplex needs finite costs); POT uses 10.');
    }
    this.maxIter = opts.maxIter ?? 100000;
  }

  protected async solve(a: Float64Array, b: Float64Array, C: DenseMatrix): Promise<Solved> {
    const r = await emd(a, b, C, { maxIter: this.maxIter });
    return { coupling: r.plan, result: r };
  }
}
