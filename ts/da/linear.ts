// Domain adaptation by the Gaussian (linear) OT map (POT 0.8.2: ot.da.LinearTransport): the map between the
// Gaussians fitted to the two samples, from linearMap (ts/solvers/gaussian.ts, POT's OT_mapping_linear), and its
// inverse. No coupling: every point, training or new, maps by the same affine function.
import { OTError } from '../errors.js';
import type { DenseMatrix, MatrixLike } from '../types.js';
import { bool, num, opt, validateOptions } from '../registry/schema.js';
import { symFunction } from '../linalg/symmetric.js';
import { type LinearMapResult, linearMap } from '../solvers/gaussian.js';
import { type FitArgs, fitData, toPoints } from './base.js';

/** The options of {@link LinearTransport}. */
export interface LinearTransportOptions {
  /** Added to both covariance diagonals. Default 1e-8 (POT's LinearTransport; linearMap's own default is 1e-6). POT: reg. */
  reg?: number;
  /** Estimate an affine map (centre the samples); false: linear through the origin. Default true. POT: bias. */
  bias?: boolean;
}

const schema = {
  reg: opt(num({ min: 0 }), 'Added to both covariance diagonals. POT: reg.', '1e-8'),
  bias: opt(bool, 'Estimate an affine map (centre the samples); false: linear through the origin. POT: bias.', 'true'),
};

/** X·A + b for the rows of X. */
function affine(X: DenseMatrix, A: Float64Array, b: Float64Array): DenseMatrix {
  const d = X.cols;
  const out = new Float64Array(X.rows * d);
  for (let i = 0; i < X.rows; i++) {
    for (let j = 0; j < d; j++) {
      let s = b[j];
      for (let k = 0; k < d; k++) s += X.data[i * d + k] * A[k * d + j];
      out[i * d + j] = s;
    }
  }
  return { data: out, rows: X.rows, cols: d };
}

/** The fitted maps. */
interface Fitted {
  result: LinearMapResult;
  A1: Float64Array;
  B1: Float64Array;
}

/**
 * Domain adaptation with the closed-form OT map between the Gaussian approximations N(μs, Σs), N(μt, Σt) of the
 * two samples (Knott & Smith 1984; POT: ot.da.LinearTransport): x ↦ x·A + B, and the inverse x ↦ x·A⁻¹ − B·A⁻¹.
 * `fit(Xs, Xt)` or `fit(Xs, ys, Xt, yt)` (labels are checked and ignored, as in POT).
 *
 * @example
 * ```ts
 * const da = await new LinearTransport().fit(Xs, Xt);
 * const mapped = await da.transform(newSourcePoints);   // any points: the map is global
 * ```
 */
export class LinearTransport {
  private fitted?: Fitted;
  private readonly reg: number;
  private readonly bias: boolean;

  /** @throws {@link OTError} 'invalid-option' for an unknown option or a value out of range. */
  constructor(opts: LinearTransportOptions = {}) {
    validateOptions('LinearTransport', schema, opts);
    this.reg = opts.reg ?? 1e-8;
    this.bias = opts.bias ?? true;
  }

  /** Estimate the map from source samples Xs (ns × d) and target samples Xt (nt × d). Resolves to the estimator. */
  async fit(...args: FitArgs): Promise<this> {
    const { xs, xt } = fitData('LinearTransport', args);
    const result = await linearMap(xs, xt, { reg: this.reg, bias: this.bias });
    const d = xs.cols;
    // A is symmetric positive definite (a product of covariance square roots): its inverse from its eigen-decomposition
    const A1 = symFunction(result.A.data, d, (l) => 1 / l);
    const B1 = new Float64Array(d);
    for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) B1[j] -= result.b[k] * A1[k * d + j];
    this.fitted = { result, A1, B1 };
    return this;
  }

  private state(what: string): Fitted {
    if (!this.fitted) throw new OTError('not-fitted', `LinearTransport.${what}: call fit(Xs, Xt) first.`);
    return this.fitted;
  }

  /** The map's matrix (d × d, symmetric): a source row x maps to x·A + B. POT: A_. */
  get A(): DenseMatrix {
    return this.state('A').result.A;
  }

  /** The map's offset (length d). POT: B_. */
  get B(): Float64Array {
    return this.state('B').result.b;
  }

  /** linearMap's result for the fit: the covariances Cs, Ct and W2² between the two Gaussians. POT: log_. */
  get result(): LinearMapResult {
    return this.state('result').result;
  }

  /** Map source samples (m × d) to the target domain: x·A + B. POT: transform. */
  async transform(Xs: MatrixLike): Promise<DenseMatrix> {
    const f = this.state('transform');
    return affine(toPoints('Xs', Xs, f.result.A.cols), f.result.A.data, f.result.b);
  }

  /** Map target samples (m × d) to the source domain: x·A⁻¹ − B·A⁻¹. POT: inverse_transform. */
  async inverseTransform(Xt: MatrixLike): Promise<DenseMatrix> {
    const f = this.state('inverseTransform');
    return affine(toPoints('Xt', Xt, f.result.A.cols), f.A1, f.B1);
  }

  /** `fit` then `transform` of the source samples. POT: fit_transform. */
  async fitTransform(...args: FitArgs): Promise<DenseMatrix> {
    await this.fit(...args);
    return this.transform(args[0]);
  }
}
