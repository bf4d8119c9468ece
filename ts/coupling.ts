// Transport plans. Every solver that has a plan returns a Coupling: sparse (exact solvers: at most n + m − 1
// triplets), dense (n × m stored), or lazy (entropic plans from their potentials and the geometry: nothing
// n × m is stored unless toDense() is asked for). The operations are the same on all three.
import { OTError } from './errors.js';

/**
 * A transport plan P (n × m): P_ij is the mass moved from source i to target j. POT returns the plan as a
 * dense array (`ot.emd`, `ot.sinkhorn`); here it is one of three storages with the same operations:
 * {@link SparseCoupling} (exact solvers), {@link DenseCoupling}, {@link LazyCoupling} (entropic plans from
 * their potentials, like OTT-JAX's lazy plans and POT 0.9's `LazyTensor`).
 */
export abstract class Coupling {
  constructor(
    /** n, the number of sources (rows of P; the length of a). */
    readonly rows: number,
    /** m, the number of targets (columns of P; the length of b). */
    readonly cols: number,
  ) {}

  /** 'sparse' | 'dense' | 'lazy': how the plan is held (the operations are the same). */
  abstract readonly kind: 'sparse' | 'dense' | 'lazy';

  /** P_ij. */
  abstract at(i: number, j: number): number;

  /** P·V for V (m × k, row-major; k = 1 for a vector): n × k. */
  abstract apply(V: ArrayLike<number>, k?: number): Float64Array;

  /** Pᵀ·V for V (n × k, row-major): m × k. */
  abstract applyTranspose(V: ArrayLike<number>, k?: number): Float64Array;

  /** The non-zeros as [i, j, mass] (every entry of a dense or lazy plan, zeros skipped). */
  abstract entries(): IterableIterator<[number, number, number]>;

  /** The plan as a row-major n × m Float64Array (a lazy plan computes it; mind the memory). */
  toDense(): Float64Array {
    const out = new Float64Array(this.rows * this.cols);
    for (const [i, j, p] of this.entries()) out[i * this.cols + j] += p;
    return out;
  }

  /** P·1 (n) and Pᵀ·1 (m): the plan's row and column sums, to compare with a and b. Cost: two products, see {@link apply}. */
  marginals(): {
    /** P·1, the row sums (length n). */
    a: Float64Array;
    /** Pᵀ·1, the column sums (length m). */
    b: Float64Array;
  } {
    return { a: this.apply(new Float64Array(this.cols).fill(1)), b: this.applyTranspose(new Float64Array(this.rows).fill(1)) };
  }

  /**
   * For subclasses: throws OTError('shape') unless V holds len × k entries with k a positive integer.
   * @param what the calling method's name, for the message
   */
  protected checkOperand(V: ArrayLike<number>, k: number, len: number, what: string): void {
    if (!Number.isInteger(k) || k < 1 || V == null || V.length !== len * k) {
      throw new OTError('shape', `${what}: V must have ${len} × ${k} entries (got ${V?.length}).`);
    }
  }
}

/**
 * A plan stored as (row, col, mass) triplets (COO): what the exact solvers return (a basic solution of the
 * network simplex has at most n + m − 1 non-zeros). Products cost O(nnz·k); {@link at} scans the triplets, O(nnz).
 */
export class SparseCoupling extends Coupling {
  readonly kind = 'sparse' as const;
  constructor(
    rows: number,
    cols: number,
    /** Row index i of each non-zero (length nnz). */
    readonly rowIndex: Int32Array,
    /** Column index j of each non-zero (length nnz). */
    readonly colIndex: Int32Array,
    /** The mass P_ij of each non-zero (length nnz; a repeated (i, j) pair adds up). */
    readonly values: Float64Array,
  ) {
    super(rows, cols);
  }

  /** The number of stored triplets. */
  get nnz(): number {
    return this.values.length;
  }

  /** P_ij, summed over the triplets at (i, j): O(nnz). */
  at(i: number, j: number): number {
    let s = 0;
    for (let t = 0; t < this.values.length; t++) if (this.rowIndex[t] === i && this.colIndex[t] === j) s += this.values[t];
    return s;
  }

  *entries(): IterableIterator<[number, number, number]> {
    for (let t = 0; t < this.values.length; t++) yield [this.rowIndex[t], this.colIndex[t], this.values[t]];
  }

  apply(V: ArrayLike<number>, k = 1): Float64Array {
    this.checkOperand(V, k, this.cols, 'apply');
    const out = new Float64Array(this.rows * k);
    for (let t = 0; t < this.values.length; t++) {
      const i = this.rowIndex[t] * k;
      const j = this.colIndex[t] * k;
      const p = this.values[t];
      for (let c = 0; c < k; c++) out[i + c] += p * V[j + c];
    }
    return out;
  }

  applyTranspose(V: ArrayLike<number>, k = 1): Float64Array {
    this.checkOperand(V, k, this.rows, 'applyTranspose');
    const out = new Float64Array(this.cols * k);
    for (let t = 0; t < this.values.length; t++) {
      const i = this.rowIndex[t] * k;
      const j = this.colIndex[t] * k;
      const p = this.values[t];
      for (let c = 0; c < k; c++) out[j + c] += p * V[i + c];
    }
    return out;
  }
}

/** Shared by the dense and lazy plans: P·V and Pᵀ·V over entries computed row by row. */
abstract class RowCoupling extends Coupling {
  /** Row i of P into `out` (length m). */
  protected abstract row(i: number, out: Float64Array): void;

  at(i: number, j: number): number {
    const r = new Float64Array(this.cols);
    this.row(i, r);
    return r[j];
  }

  *entries(): IterableIterator<[number, number, number]> {
    const r = new Float64Array(this.cols);
    for (let i = 0; i < this.rows; i++) {
      this.row(i, r);
      for (let j = 0; j < this.cols; j++) if (r[j] !== 0) yield [i, j, r[j]];
    }
  }

  apply(V: ArrayLike<number>, k = 1): Float64Array {
    this.checkOperand(V, k, this.cols, 'apply');
    const out = new Float64Array(this.rows * k);
    const r = new Float64Array(this.cols);
    for (let i = 0; i < this.rows; i++) {
      this.row(i, r);
      for (let j = 0; j < this.cols; j++) {
        const p = r[j];
        if (p !== 0) for (let c = 0; c < k; c++) out[i * k + c] += p * V[j * k + c];
      }
    }
    return out;
  }

  applyTranspose(V: ArrayLike<number>, k = 1): Float64Array {
    this.checkOperand(V, k, this.rows, 'applyTranspose');
    const out = new Float64Array(this.cols * k);
    const r = new Float64Array(this.cols);
    for (let i = 0; i < this.rows; i++) {
      this.row(i, r);
      for (let j = 0; j < this.cols; j++) {
        const p = r[j];
        if (p !== 0) for (let c = 0; c < k; c++) out[j * k + c] += p * V[i * k + c];
      }
    }
    return out;
  }

  override toDense(): Float64Array {
    const out = new Float64Array(this.rows * this.cols);
    for (let i = 0; i < this.rows; i++) this.row(i, out.subarray(i * this.cols, (i + 1) * this.cols));
    return out;
  }
}

/** A plan stored n × m, row-major (8·n·m bytes). Products cost O(n·m·k). */
export class DenseCoupling extends RowCoupling {
  readonly kind = 'dense' as const;
  constructor(
    rows: number,
    cols: number,
    /** P, row-major n × m: P_ij = data[i·m + j] (no copy of the solver's buffer). */
    readonly data: Float64Array,
  ) {
    super(rows, cols);
  }

  protected row(i: number, out: Float64Array): void {
    out.set(this.data.subarray(i * this.cols, (i + 1) * this.cols));
  }

  /** P_ij = data[i·m + j]: O(1). */
  override at(i: number, j: number): number {
    return this.data[i * this.cols + j];
  }

  /** A copy of {@link data} (row-major n × m). */
  override toDense(): Float64Array {
    return this.data.slice();
  }
}

/** The cost side a lazy plan needs: C_ij by rows (geometries provide it). */
export interface CostRows {
  /** n, the number of rows of the cost matrix. */
  readonly rows: number;
  /** m, the number of columns. */
  readonly cols: number;
  /** Row i of the cost matrix into `out` (length cols). */
  costRow(i: number, out: Float64Array): void;
}

/**
 * The entropic plan P_ij = exp((f_i + g_j − C_ij)/ε) from its potentials and the geometry: every operation
 * recomputes the entries it needs (O(n·m) per product, no n × m memory). {@link at} computes row i: O(m).
 */
export class LazyCoupling extends RowCoupling {
  readonly kind = 'lazy' as const;
  constructor(
    /** The geometry whose cost rows C_i· the plan recomputes (a cost matrix or two point clouds). */
    readonly cost: CostRows,
    /** The source potential f (length n), in cost units; −∞ where a_i = 0. */
    readonly f: Float64Array,
    /** The target potential g (length m), in cost units; −∞ where b_j = 0. */
    readonly g: Float64Array,
    /** The entropic regularization ε (the solver's `reg`), in cost units. */
    readonly eps: number,
  ) {
    super(cost.rows, cost.cols);
  }

  protected row(i: number, out: Float64Array): void {
    this.cost.costRow(i, out);
    const fi = this.f[i];
    for (let j = 0; j < this.cols; j++) {
      // −∞ potentials (zero weights) give exp(−∞) = 0
      out[j] = Math.exp((fi + this.g[j] - out[j]) / this.eps);
    }
  }
}
