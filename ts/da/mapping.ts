// Joint estimation of a coupling and a map that fits its barycentric projection (Perrot et al. 2016, "Mapping
// estimation for discrete optimal transport"; POT 0.8.2: ot.da.MappingTransport, joint_OT_mapping_linear and
// joint_OT_mapping_kernel). Block coordinate descent: the map by (kernel) ridge regression, the plan by POT's
// conditional gradient (cg.ts). The map extends to new points, unlike the barycentric map.
import { OTError } from '../errors.js';
import { DenseCoupling } from '../coupling.js';
import { costMatrix } from '../geometry.js';
import type { OTResult } from '../result.js';
import type { DenseMatrix, MatrixLike } from '../types.js';
import { bool, num, oneOf, opt, validateOptions } from '../registry/schema.js';
import { cholesky, choleskySolve } from '../linalg/symmetric.js';
import { matmulJs } from '../linalg/dense.js';
import { exactOT } from '../solvers/inner.js';
import { type FitArgs, fitData, toPoints } from './base.js';
import { conditionalGradient } from './cg.js';

/** The options of {@link MappingTransport}. */
export interface MappingTransportOptions {
  /** Weight of the OT term μ⟨G, M⟩ against the fit of the map (> 0). Default 1. POT: mu. */
  mu?: number;
  /** Ridge weight η of the map (‖L − I‖² linear, ‖L‖²_H kernel) (> 0). Default 0.001. POT: eta. */
  eta?: number;
  /** Add a constant offset to the map. Default false. POT: bias. */
  bias?: boolean;
  /** 'linear': x ↦ x·L; 'gaussian': x ↦ Σ_i k(x, xs_i) L_i with k = exp(−‖x − y‖² / (2σ²)). Default 'linear'. POT: kernel. */
  kernel?: 'linear' | 'gaussian';
  /** σ, the Gaussian kernel's bandwidth (> 0). Default 1. POT: sigma. */
  sigma?: number;
  /** Block coordinate descent steps at most. Default 100. POT: max_iter. */
  maxIter?: number;
  /** Stop when the loss changes by < tol relatively. Default 1e-5. POT: tol. */
  tol?: number;
  /** Conditional gradient steps per plan update. Default 10. POT: max_inner_iter. */
  maxInnerIter?: number;
  /** The conditional gradient stops when its objective changes by < innerTol relatively. Default 1e-6. POT: inner_tol. */
  innerTol?: number;
}

const schema = {
  mu: opt(num({ gt: 0 }), 'Weight of the OT term against the fit of the map. POT: mu.', '1'),
  eta: opt(num({ gt: 0 }), 'Ridge weight of the map. POT: eta.', '0.001'),
  bias: opt(bool, 'Add a constant offset to the map. POT: bias.', 'false'),
  kernel: opt(oneOf('linear', 'gaussian'), "'linear' (x·L) or 'gaussian' (Σ_i k(x, xs_i) L_i). POT: kernel.", "'linear'"),
  sigma: opt(num({ gt: 0 }), "Bandwidth of the 'gaussian' kernel. POT: sigma.", '1'),
  maxIter: opt(num({ integer: true, min: 0 }), 'Block coordinate descent steps at most. POT: max_iter.', '100'),
  tol: opt(num({ min: 0 }), 'Stop when the loss changes by < tol relatively. POT: tol.', '1e-5'),
  maxInnerIter: opt(num({ integer: true, min: 1 }), 'Conditional gradient steps per plan update. POT: max_inner_iter.', '10'),
  innerTol: opt(num({ min: 0 }), 'Conditional gradient stops when its objective changes by < innerTol relatively. POT: inner_tol.', '1e-6'),
};

/** What MappingTransport's fit reports: the loss after each block coordinate descent step (POT's log_['loss']). */
export interface MappingTransportResult extends OTResult {
  /** The final loss ‖K L − ns G Xt‖² + μ⟨G, M⟩ + η·(regulariser of L). */
  value: number;
  /** The loss at the start (after the first map fit) and after each step. */
  loss: number[];
  /** 'converged' when the relative change of the loss fell below tol, else 'max-iterations'. */
  status: 'converged' | 'max-iterations';
}

/** The Gaussian kernel exp(−‖x − y‖² / (2σ²)) between the rows of X and Y (POT: ot.utils.kernel). */
function gaussianKernel(X: DenseMatrix, Y: DenseMatrix, sigma: number): DenseMatrix {
  const D = costMatrix(X, Y).dense();
  for (let t = 0; t < D.data.length; t++) D.data[t] = Math.exp(-D.data[t] / (2 * sigma * sigma));
  return D;
}

/** The features the map acts on: X itself (linear) or its kernel against the training samples, with a column of ones when bias. */
function features(X: DenseMatrix, xs: DenseMatrix, kernel: 'linear' | 'gaussian', sigma: number, bias: boolean): DenseMatrix {
  const base = kernel === 'gaussian' ? gaussianKernel(X, xs, sigma) : X;
  if (!bias) return base;
  const c = base.cols + 1;
  const data = new Float64Array(X.rows * c);
  for (let i = 0; i < X.rows; i++) {
    data.set(base.data.subarray(i * base.cols, (i + 1) * base.cols), i * c);
    data[i * c + c - 1] = 1;
  }
  return { data, rows: X.rows, cols: c };
}

/** Aᵀ B for A (r × p), B (r × q). */
function tmul(A: DenseMatrix, B: DenseMatrix): Float64Array {
  const out = new Float64Array(A.cols * B.cols);
  for (let i = 0; i < A.rows; i++)
    for (let p = 0; p < A.cols; p++) {
      const x = A.data[i * A.cols + p];
      if (x !== 0) for (let q = 0; q < B.cols; q++) out[p * B.cols + q] += x * B.data[i * B.cols + q];
    }
  return out;
}

/** The fitted state. */
interface Fitted {
  xs: DenseMatrix;
  xt: DenseMatrix;
  coupling: DenseCoupling;
  /** d × d (+1 row with bias) for 'linear'; ns × d (+1 row with bias) for 'gaussian'. */
  mapping: DenseMatrix;
  result: MappingTransportResult;
}

/**
 * Domain adaptation by a map learned jointly with the coupling (Perrot et al. 2016; POT: ot.da.MappingTransport):
 * min over G (marginals uniform) and L of ‖K L − ns·G·Xt‖² + μ⟨G, M⟩ + η·R(L), with M = ns·‖xs_i − xt_j‖², K the
 * source samples (linear) or their Gaussian kernel matrix, R(L) = ‖L − I‖² (linear) or tr(Lᵀ K L) (kernel ridge).
 * The training samples map by the coupling's barycentric map; any other point x by the learned map, x·L or
 * k(x, Xs)·L. There is no inverse map (POT has none). `fit(Xs, Xt)` or `fit(Xs, ys, Xt, yt)` (labels ignored).
 *
 * @example
 * ```ts
 * const da = await new MappingTransport({ kernel: 'gaussian', sigma: 1, eta: 1e-2 }).fit(Xs, Xt);
 * const mapped = await da.transform(newSourcePoints);
 * ```
 */
export class MappingTransport {
  private fitted?: Fitted;
  private readonly o: Required<MappingTransportOptions>;

  /** @throws {@link OTError} 'invalid-option' for an unknown option or a value out of range. */
  constructor(opts: MappingTransportOptions = {}) {
    validateOptions('MappingTransport', schema, opts);
    this.o = {
      mu: opts.mu ?? 1,
      eta: opts.eta ?? 0.001,
      bias: opts.bias ?? false,
      kernel: opts.kernel ?? 'linear',
      sigma: opts.sigma ?? 1,
      maxIter: opts.maxIter ?? 100,
      tol: opts.tol ?? 1e-5,
      maxInnerIter: opts.maxInnerIter ?? 10,
      innerTol: opts.innerTol ?? 1e-6,
    };
  }

  /** Learn the coupling and the map from source samples Xs (ns × d) and target samples Xt (nt × d). Resolves to the estimator. */
  async fit(...args: FitArgs): Promise<this> {
    const { xs, xt } = fitData('MappingTransport', args);
    const { mu, eta, bias, kernel, sigma, maxIter, tol, maxInnerIter, innerTol } = this.o;
    const ns = xs.rows;
    const nt = xt.rows;
    const d = xt.cols;
    const K1 = features(xs, xs, kernel, sigma, bias); // ns × p
    const p = K1.cols;
    // the normal equations (A + η R) L = rhs(G) and the regulariser's matrix R (POT's Id / Kp / K) and offset L0 (I0)
    const A = new Float64Array(p * p);
    const R = new Float64Array(p * p);
    const L0 = new Float64Array(p * d);
    if (kernel === 'linear') {
      A.set(tmul(K1, K1));
      for (let k = 0; k < d; k++) (R[k * p + k] = 1), (L0[k * d + k] = 1); // the offset row (bias) is not penalised
    } else if (!bias) {
      A.set(K1.data); // kernel ridge: (K + η I) L = ns G Xt
      for (let k = 0; k < p; k++) R[k * p + k] = 1;
    } else {
      A.set(tmul(K1, K1)); // (K1ᵀ K1 + η Kp) L = K1ᵀ ns G Xt, Kp = [[K, 0], [0, 1]]
      for (let i = 0; i < ns; i++) R.set(K1.data.subarray(i * p, i * p + ns), i * p);
      R[p * p - 1] = 1;
    }
    const lhs = A.map((x, t) => x + eta * R[t]);
    const chol = cholesky('the normal equations of the map', lhs, p, 'numerical');
    const a = new Float64Array(ns).fill(1 / ns);
    const b = new Float64Array(nt).fill(1 / nt);
    const M = costMatrix(xs, xt).dense();
    for (let t = 0; t < M.data.length; t++) M.data[t] *= ns;

    const nsGXt = (G: Float64Array) => {
      const out = matmulJs(G, xt.data, ns, nt, d, new Float64Array(ns * d));
      for (let t = 0; t < out.length; t++) out[t] *= ns;
      return out;
    };
    const solveL = (G: Float64Array) => {
      const target = { data: nsGXt(G), rows: ns, cols: d };
      // linear: K1ᵀ target + η I0; kernel without bias: the target itself; kernel with bias: K1ᵀ target
      const rhs = kernel === 'gaussian' && !bias ? target.data : tmul(K1, target);
      if (kernel === 'linear') for (let t = 0; t < rhs.length; t++) rhs[t] += eta * L0[t];
      return choleskySolve(chol, rhs, p, d);
    };
    const residual = (KL: Float64Array, G: Float64Array) => {
      const r = nsGXt(G);
      for (let t = 0; t < r.length; t++) r[t] = KL[t] - r[t];
      return r;
    };
    const loss = (L: Float64Array, G: Float64Array) => {
      const KL = matmulJs(K1.data, L, ns, p, d, new Float64Array(ns * d));
      let fit = 0;
      for (const r of residual(KL, G)) fit += r * r;
      let ot = 0;
      for (let t = 0; t < G.length; t++) ot += G[t] * M.data[t];
      let reg = 0;
      if (kernel === 'linear') {
        for (let k = 0; k < d; k++) for (let j = 0; j < d; j++) reg += (L[k * d + j] - L0[k * d + j]) ** 2; // sel(L − I0): offset row left out
      } else {
        // tr(Lᵀ Kreg L), Kreg = K without bias (the normal equations use I there), Kp with it
        const RL = matmulJs(bias ? R : K1.data, L, p, p, d, new Float64Array(p * d));
        for (let t = 0; t < RL.length; t++) reg += L[t] * RL[t];
      }
      return fit + mu * ot + eta * reg;
    };

    let G = (await exactOT(a, b, M)).plan.toDense();
    let L = solveL(G);
    const losses = [loss(L, G)];
    let converged = false;
    let steps = 0;
    while (steps < maxIter) {
      steps++;
      const KL = matmulJs(K1.data, L, ns, p, d, new Float64Array(ns * d));
      const smooth = {
        f: (g: Float64Array) => {
          let s = 0;
          for (const r of residual(KL, g)) s += r * r;
          return s;
        },
        // −2 ns (K L − ns G Xt) Xtᵀ
        df: (g: Float64Array) => {
          const r = residual(KL, g);
          const out = new Float64Array(ns * nt);
          for (let i = 0; i < ns; i++)
            for (let j = 0; j < nt; j++) {
              let s = 0;
              for (let k = 0; k < d; k++) s += r[i * d + k] * xt.data[j * d + k];
              out[i * nt + j] = -2 * ns * s;
            }
          return out;
        },
      };
      G = await conditionalGradient(a, b, M, 1 / mu, smooth, G, maxInnerIter, innerTol);
      L = solveL(G);
      losses.push(loss(L, G));
      const [prev, cur] = losses.slice(-2);
      if (Math.abs(cur - prev) / Math.abs(prev) < tol) {
        converged = true;
        break;
      }
    }
    const result: MappingTransportResult = {
      value: losses[losses.length - 1],
      loss: losses,
      status: converged ? 'converged' : 'max-iterations',
      iterations: steps,
      error: losses.length > 1 ? Math.abs(losses[losses.length - 1] - losses[losses.length - 2]) / Math.abs(losses[losses.length - 2]) : 0,
      backend: 'wasm',
      threads: 1,
    };
    this.fitted = {
      xs: { data: Float64Array.from(xs.data), rows: ns, cols: d },
      xt: { data: Float64Array.from(xt.data), rows: nt, cols: d },
      coupling: new DenseCoupling(ns, nt, G),
      mapping: { data: L, rows: p, cols: d },
      result,
    };
    return this;
  }

  private state(what: string): Fitted {
    if (!this.fitted) throw new OTError('not-fitted', `MappingTransport.${what}: call fit(Xs, Xt) first.`);
    return this.fitted;
  }

  /** The fitted coupling (ns × nt). POT: coupling_. */
  get coupling(): DenseCoupling {
    return this.state('coupling').coupling;
  }

  /** The learned map L: d × d ('linear') or ns × d ('gaussian'), one more row (the offset) with bias. POT: mapping_. */
  get mapping(): DenseMatrix {
    return this.state('mapping').mapping;
  }

  /** The loss history and how the descent ended. POT: log_. */
  get result(): MappingTransportResult {
    return this.state('result').result;
  }

  /**
   * Map source samples to the target domain: the training samples by the coupling's barycentric map (as POT), any
   * other points by the learned map. POT: transform.
   */
  async transform(Xs: MatrixLike): Promise<DenseMatrix> {
    const f = this.state('transform');
    const X = toPoints('Xs', Xs, f.xs.cols);
    const d = f.xs.cols;
    if (X.rows === f.xs.rows && X.data.every((v, t) => v === f.xs.data[t])) {
      const PY = f.coupling.apply(f.xt.data, d);
      const mass = f.coupling.apply(new Float64Array(f.xt.rows).fill(1), 1);
      return { data: PY.map((v, t) => (Number.isFinite(v / mass[Math.floor(t / d)]) ? v / mass[Math.floor(t / d)] : 0)), rows: X.rows, cols: d };
    }
    const F = features(X, f.xs, this.o.kernel, this.o.sigma, this.o.bias);
    return { data: matmulJs(F.data, f.mapping.data, X.rows, F.cols, d, new Float64Array(X.rows * d)), rows: X.rows, cols: d };
  }

  /** `fit` then `transform` of the source samples. POT: fit_transform (BaseEstimator's). */
  async fitTransform(...args: FitArgs): Promise<DenseMatrix> {
    await this.fit(...args);
    return this.transform(args[0]);
  }
}
