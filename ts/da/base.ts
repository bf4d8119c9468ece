// What every coupling-based domain-adaptation estimator shares (POT 0.8.2's ot.da.BaseTransport): the inputs'
// checks, the label-aware and normalised cost, the barycentric map of the fitted coupling, its nearest-neighbour
// extension to new points, and label propagation. An estimator only says how it computes its coupling.
import { OTError } from '../errors.js';
import type { Coupling } from '../coupling.js';
import { type CostSpec, toCost } from '../costs.js';
import { costMatrix } from '../geometry.js';
import type { OTResult } from '../result.js';
import type { DenseMatrix, MatrixLike, VectorLike } from '../types.js';
import { toMatrix } from '../validate.js';
import { type Check, type OptionSpec, oneOf, opt } from '../registry/schema.js';
import { costOption } from '../solvers/divergence.js';

/** How the cost matrix is rescaled before solving (POT's `norm`, ot.utils.cost_normalization). */
export type CostNormalization = 'median' | 'max' | 'log' | 'loglog';

/** The options every coupling-based estimator takes. */
export interface TransportOptions {
  /** The ground cost between source and target samples. Default 'sqeuclidean' (‖x − y‖²). POT: metric. */
  cost?: CostSpec;
  /**
   * Rescale the cost matrix C before solving: 'median' C / median(C), 'max' C / max(C), 'log' log(1 + C),
   * 'loglog' log(1 + log(1 + C)). Default none. POT: norm.
   */
  norm?: CostNormalization;
  /**
   * Semi-supervised mode (when `fit` gets both ys and yt): a labelled source sample and a labelled target sample of
   * different classes get the cost limitMax · max(C) (after `norm`); Infinity forbids the pair. The default depends
   * on the estimator, as in POT. POT: limit_max.
   */
  limitMax?: number;
}

/** A number > 0, Infinity included (limitMax: Infinity forbids a pair outright). */
const positiveOrInfinity: Check = {
  type: 'a number > 0 (Infinity allowed)',
  invalid: [NaN, 0, -1, 'abc', null],
  kind: 'number',
  check(v, path) {
    if (typeof v !== 'number' || !(v > 0)) throw new OTError('invalid-option', `${path} must be a number > 0 (Infinity allowed) (got ${String(v)}).`);
  },
};

/** The option schema of TransportOptions (each estimator adds its own). */
export const transportSchema: Record<string, OptionSpec> = {
  cost: costOption,
  norm: opt(oneOf('median', 'max', 'log', 'loglog'), "Rescale the cost matrix: 'median', 'max', 'log' (log(1 + C)), 'loglog'. POT: norm.", 'none'),
  limitMax: opt(positiveOrInfinity, 'Cost of a labelled pair of different classes, in units of max(C); Infinity forbids it. POT: limit_max.'),
};

/** The arguments of fit: (Xs, Xt) or POT's order (Xs, ys, Xt, yt?), ys and yt optional (undefined or null). */
export type FitArgs = [Xs: MatrixLike, Xt: MatrixLike] | [Xs: MatrixLike, ys: VectorLike | null | undefined, Xt: MatrixLike, yt?: VectorLike | null];

/** The checked inputs of a fit. */
export interface FitData {
  /** Source samples, ns × d. */
  xs: DenseMatrix;
  /** Target samples, nt × d. */
  xt: DenseMatrix;
  /** Source labels (length ns), if given. */
  ys?: Float64Array;
  /** Target labels (length nt, −1: unlabelled), if given. */
  yt?: Float64Array;
}

/** Checks fit's arguments (before any work): shapes, finiteness, label lengths. */
export function fitData(name: string, args: readonly unknown[]): FitData {
  if (args.length < 2 || args.length > 4) {
    throw new OTError('shape', `${name}.fit takes (Xs, Xt) or (Xs, ys, Xt, yt?); got ${args.length} arguments.`);
  }
  const [Xs, ys, Xt, yt] = args.length === 2 ? [args[0], undefined, args[1], undefined] : args;
  const xs = toMatrix('Xs', Xs as MatrixLike);
  const xt = toMatrix('Xt', Xt as MatrixLike);
  if (xs.cols !== xt.cols) throw new OTError('shape', `Xs has ${xs.cols} features per sample but Xt has ${xt.cols}; both domains must live in the same space.`);
  return { xs, xt, ys: toLabels('ys', ys, xs.rows), yt: toLabels('yt', yt, xt.rows) };
}

/** Class labels as numbers (−1: unlabelled, for target samples), one per sample; null/undefined: none. */
export function toLabels(name: string, y: unknown, n: number): Float64Array | undefined {
  if (y === undefined || y === null) return undefined;
  if (typeof (y as ArrayLike<number>).length !== 'number' || typeof y === 'string') {
    throw new OTError('shape', `${name} must be an array of class labels (numbers), one per sample.`);
  }
  const v = y as ArrayLike<unknown>;
  if (v.length !== n) throw new OTError('shape', `${name} has ${v.length} labels but there are ${n} samples.`);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = v[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new OTError('nan', `${name}[${i}] is ${String(x)}; labels must be finite numbers (−1: unlabelled).`);
    out[i] = x;
  }
  return out;
}

/** Median of all entries (the mean of the two middle ones for an even count, as numpy's). */
function median(x: Float64Array): number {
  const s = Float64Array.from(x).sort();
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : 0.5 * (s[h - 1] + s[h]);
}

/** ot.utils.cost_normalization, in place. */
export function normalizeCost(C: Float64Array, norm: CostNormalization | undefined): void {
  if (norm === undefined) return;
  if (norm === 'median' || norm === 'max') {
    let s = norm === 'median' ? median(C) : 0;
    if (norm === 'max') for (let k = 0; k < C.length; k++) s = Math.max(s, C[k]);
    if (!(s > 0)) throw new OTError('invalid-option', `norm: '${norm}' divides the costs by their ${norm}, which is ${s}; use another norm or none.`);
    for (let k = 0; k < C.length; k++) C[k] /= s;
  } else if (norm === 'log') {
    for (let k = 0; k < C.length; k++) C[k] = Math.log1p(C[k]);
  } else {
    for (let k = 0; k < C.length; k++) C[k] = Math.log1p(Math.log1p(C[k]));
  }
}

/**
 * POT's semi-supervised cost (BaseTransport.fit): C_ij = limitMax · max(C) for every source sample i labelled c'
 * and target sample j labelled c ≠ c' (neither −1), where c is a class that occurs in ys (POT loops over those).
 * In place; Infinity stays Infinity.
 */
export function applyLabels(C: Float64Array, ys: Float64Array, yt: Float64Array, limitMax: number): void {
  const nt = yt.length;
  let max = -Infinity;
  for (let k = 0; k < C.length; k++) max = Math.max(max, C[k]);
  const limit = limitMax === Infinity ? Infinity : limitMax * max;
  const sourceClasses = new Set(ys);
  for (let i = 0; i < ys.length; i++) {
    if (ys[i] === -1) continue;
    for (let j = 0; j < nt; j++) if (yt[j] !== -1 && yt[j] !== ys[i] && sourceClasses.has(yt[j])) C[i * nt + j] = limit;
  }
}

/**
 * For the entropic solvers, which need finite costs: Infinity → a finite cost whose kernel entries are exactly 0
 * in f64, as exp(−∞) is. Potentials never exceed the finite costs' range by more than O(reg·log n), so
 * 3·max|C| + 800·reg puts every forbidden entry below e^−745, the smallest f64. Returns C itself when finite.
 */
export function blockInfinite(C: Float64Array, reg: number): Float64Array {
  let max = 0;
  let blocked = false;
  for (let k = 0; k < C.length; k++) {
    if (C[k] === Infinity) blocked = true;
    else max = Math.max(max, Math.abs(C[k]));
  }
  if (!blocked) return C;
  const big = 3 * max + 800 * reg;
  return C.map((c) => (c === Infinity ? big : c));
}

/** The samples as a copy (the estimator keeps its training data; the caller may reuse its arrays). */
function own(X: DenseMatrix): DenseMatrix {
  return { data: Float64Array.from(X.data), rows: X.rows, cols: X.cols };
}

/** Same shape and the same values: the training samples themselves (POT: nx.array_equal). */
function sameSamples(X: DenseMatrix, Y: DenseMatrix): boolean {
  if (X.rows !== Y.rows || X.cols !== Y.cols) return false;
  for (let k = 0; k < X.data.length; k++) if (X.data[k] !== Y.data[k]) return false;
  return true;
}

/**
 * Rows of P·Y divided by the row sums of P (POT: transp = coupling / coupling.sum(1); nan → 0, so a row of zero mass
 * maps to the origin). `P` is given by its products: apply(V, k) = P·V.
 */
function barycentric(apply: (V: Float64Array, k: number) => Float64Array, n: number, Y: DenseMatrix): DenseMatrix {
  const d = Y.cols;
  const PY = apply(Y.data, d);
  const mass = apply(new Float64Array(Y.rows).fill(1), 1);
  for (let i = 0; i < n; i++) {
    const s = mass[i];
    for (let k = 0; k < d; k++) {
      const v = PY[i * d + k] / s;
      PY[i * d + k] = Number.isFinite(v) ? v : 0;
    }
  }
  return { data: PY, rows: n, cols: d };
}

/**
 * Out-of-sample points (Ferradans et al. 2014, as POT): each point x moves as its nearest training sample (squared
 * Euclidean distance, first on ties) does: x + (T(x_k) − x_k).
 */
function extend(X: DenseMatrix, train: DenseMatrix, mapped: DenseMatrix): DenseMatrix {
  const d = X.cols;
  const out = new Float64Array(X.rows * d);
  for (let i = 0; i < X.rows; i++) {
    let best = 0;
    let bestD = Infinity;
    for (let k = 0; k < train.rows; k++) {
      let s = 0;
      for (let t = 0; t < d; t++) {
        const u = X.data[i * d + t] - train.data[k * d + t];
        s += u * u;
      }
      if (s < bestD) (bestD = s), (best = k);
    }
    for (let t = 0; t < d; t++) out[i * d + t] = mapped.data[best * d + t] + X.data[i * d + t] - train.data[best * d + t];
  }
  return { data: out, rows: X.rows, cols: d };
}

/** The points to map, checked against the training dimension. */
export function toPoints(name: string, X: MatrixLike, d: number): DenseMatrix {
  const M = toMatrix(name, X);
  if (M.cols !== d) throw new OTError('shape', `${name} has ${M.cols} features per sample but the estimator was fitted on ${d}.`);
  return M;
}

/** The sorted distinct labels and, per sample, the index of its label among them. */
function classesOf(y: Float64Array): { classes: number[]; index: Int32Array } {
  const classes = [...new Set(y)].sort((p, q) => p - q);
  const pos = new Map(classes.map((c, k) => [c, k]));
  return { classes, index: Int32Array.from(y, (c) => pos.get(c)!) };
}

/** Soft labels: one row per sample, one column per class (`classes`, ascending). */
export interface SoftLabels extends DenseMatrix {
  /** The class of each column, ascending (POT orders them the same way, from the smallest label). */
  classes: number[];
}

/** The options of a coupling-based estimator once defaults are applied. */
export interface TransportSettings {
  /** The ground cost. */
  cost: CostSpec;
  /** The cost normalisation, if any. */
  norm?: CostNormalization;
  /** The cost of labelled pairs of different classes, in units of max(C). */
  limitMax: number;
}

/** What an estimator's solve gives back: its coupling and the solver's result. */
export interface Solved {
  /** The plan between the source and the target samples (ns × nt). */
  coupling: Coupling;
  /** The solver's result (iterations, status, error, value…). */
  result: OTResult;
}

/** The fitted state of a coupling-based estimator. */
interface Fitted {
  xs: DenseMatrix;
  xt: DenseMatrix;
  coupling: Coupling;
  cost: DenseMatrix;
}

/**
 * The shared part of the coupling-based estimators (POT: ot.da.BaseTransport): `fit` builds the cost (the ground
 * cost, `norm`, the labels' `limitMax`), the uniform weights and the coupling; `transform` maps source samples
 * by the barycentric map of the coupling, and new samples by their nearest training sample's displacement.
 */
export abstract class BaseTransport {
  /** The fitted state; undefined before fit. */
  private fitted?: Fitted;
  private mapped?: DenseMatrix;
  private inverseMapped?: DenseMatrix;
  /** The options as given (checked by the constructor). */
  protected readonly base: TransportSettings;
  /** The estimator's name in messages. */
  protected abstract readonly name: string;
  /** The solver's full result for the last fit (iterations, status, error, value…): POT's log_. */
  result?: OTResult;

  protected constructor(opts: TransportOptions, defaultLimitMax: number) {
    toCost(opts.cost); // throws invalid-option early (the schema checked its shape)
    this.base = { cost: opts.cost ?? 'sqeuclidean', norm: opts.norm, limitMax: opts.limitMax ?? defaultLimitMax };
  }

  /** How this estimator turns the uniform weights and the cost into a coupling. */
  protected abstract solve(a: Float64Array, b: Float64Array, C: DenseMatrix, ys: Float64Array | undefined): Promise<Solved>;

  /** Checks specific to the estimator (e.g. required source labels), before any work. */
  protected checkFit(_data: FitData): void {}

  /**
   * Fit the coupling between source samples Xs (ns × d, one per row) and target samples Xt (nt × d): `fit(Xs, Xt)`,
   * or in POT's order `fit(Xs, ys, Xt, yt?)` with source labels ys and target labels yt (−1: unlabelled). With
   * both, labelled pairs of different classes cost limitMax · max(C). Weights are uniform (POT's
   * distribution_estimation_uniform). Resolves to the estimator itself.
   */
  async fit(...args: FitArgs): Promise<this> {
    const data = fitData(this.name, args);
    this.checkFit(data);
    const { xs, xt, ys, yt } = data;
    const C = costMatrix(xs, xt, { cost: this.base.cost }).dense();
    normalizeCost(C.data, this.base.norm);
    if (ys && yt) applyLabels(C.data, ys, yt, this.base.limitMax);
    const a = new Float64Array(xs.rows).fill(1 / xs.rows);
    const b = new Float64Array(xt.rows).fill(1 / xt.rows);
    const { coupling, result } = await this.solve(a, b, C, ys);
    this.fitted = { xs: own(xs), xt: own(xt), coupling, cost: C };
    this.result = result;
    this.mapped = this.inverseMapped = undefined;
    return this;
  }

  private state(what: string): Fitted {
    if (!this.fitted) throw new OTError('not-fitted', `${this.name}.${what}: call fit(Xs, Xt) (or fit(Xs, ys, Xt, yt)) first.`);
    return this.fitted;
  }

  /** The fitted coupling (ns × nt; POT: coupling_): sparse for EMD, dense for the entropic estimators. */
  get coupling(): Coupling {
    return this.state('coupling').coupling;
  }

  /** The cost matrix the coupling was solved for (ns × nt, after `norm` and the labels; POT: cost_). */
  get cost(): DenseMatrix {
    return this.state('cost').cost;
  }

  /**
   * Map source samples to the target domain: the training samples by the barycentric map
   * (P·Xt) / (P·1) (a row of zero mass maps to 0, as POT's nan → 0), any other Xs (m × d) by the displacement of
   * its nearest training sample. POT: transform.
   */
  async transform(Xs: MatrixLike): Promise<DenseMatrix> {
    const f = this.state('transform');
    const X = toPoints('Xs', Xs, f.xs.cols);
    this.mapped ??= barycentric((V, k) => f.coupling.apply(V, k), f.xs.rows, f.xt);
    return sameSamples(X, f.xs) ? own(this.mapped) : extend(X, f.xs, this.mapped);
  }

  /** Map target samples to the source domain, as `transform` with the coupling transposed. POT: inverse_transform. */
  async inverseTransform(Xt: MatrixLike): Promise<DenseMatrix> {
    const f = this.state('inverseTransform');
    const X = toPoints('Xt', Xt, f.xt.cols);
    this.inverseMapped ??= barycentric((V, k) => f.coupling.applyTranspose(V, k), f.xt.rows, f.xs);
    return sameSamples(X, f.xt) ? own(this.inverseMapped) : extend(X, f.xt, this.inverseMapped);
  }

  /** `fit` then `transform` of the training source samples. POT: fit_transform. */
  async fitTransform(...args: FitArgs): Promise<DenseMatrix> {
    await this.fit(...args);
    return this.transform(this.fitted!.xs);
  }

  /**
   * Soft target labels from source labels ys (length ns): row j is Σ_i P_ij e(ys_i) / Σ_i P_ij (nt × classes, a
   * class per column in ascending order; POT: transform_labels, which expects labels 0, 1, …).
   */
  transformLabels(ys: VectorLike): SoftLabels {
    const f = this.state('transformLabels');
    return propagate(f.coupling, toLabels('ys', ys, f.xs.rows)!, true);
  }

  /** Soft source labels from target labels yt (length nt): ns × classes. POT: inverse_transform_labels. */
  inverseTransformLabels(yt: VectorLike): SoftLabels {
    const f = this.state('inverseTransformLabels');
    return propagate(f.coupling, toLabels('yt', yt, f.xt.rows)!, false);
  }
}

/** Label propagation through the coupling, normalised per receiving sample (nan → 0 as POT). */
function propagate(P: Coupling, y: Float64Array, forward: boolean): SoftLabels {
  const { classes, index } = classesOf(y);
  const k = classes.length;
  const n = forward ? P.cols : P.rows;
  const out = new Float64Array(n * k);
  const mass = new Float64Array(n);
  for (const [i, j, p] of P.entries()) {
    const [from, to] = forward ? [i, j] : [j, i];
    out[to * k + index[from]] += p;
    mass[to] += p;
  }
  for (let t = 0; t < n; t++) for (let c = 0; c < k; c++) {
    const v = out[t * k + c] / mass[t];
    out[t * k + c] = Number.isFinite(v) ? v : 0;
  }
  return { data: out, rows: n, cols: k, classes };
}
