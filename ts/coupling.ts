/** A transport plan stored sparsely as (row, col, mass) triplets; exact solvers have at most n + m − 1 of them. */
export class Coupling {
  /**
   * @param rows n, the number of sources
   * @param cols m, the number of targets
   * @param rowIndex the source i of each non-zero
   * @param colIndex the target j of each non-zero
   * @param values the mass P_ij moved from i to j, for each non-zero
   */
  constructor(
    readonly rows: number,
    readonly cols: number,
    readonly rowIndex: Int32Array,
    readonly colIndex: Int32Array,
    readonly values: Float64Array,
  ) {}

  /** The number of stored (non-zero) entries. */
  get nnz(): number {
    return this.values.length;
  }

  /** The plan as a row-major n × m Float64Array. */
  toDense(): Float64Array {
    const out = new Float64Array(this.rows * this.cols);
    for (let k = 0; k < this.values.length; k++) out[this.rowIndex[k] * this.cols + this.colIndex[k]] += this.values[k];
    return out;
  }

  /** The non-zeros as [i, j, mass] triplets. */
  *entries(): IterableIterator<[number, number, number]> {
    for (let k = 0; k < this.values.length; k++) yield [this.rowIndex[k], this.colIndex[k], this.values[k]];
  }

  /** Σ_j P_ij (the first marginal). */
  rowSums(): Float64Array {
    const out = new Float64Array(this.rows);
    for (let k = 0; k < this.values.length; k++) out[this.rowIndex[k]] += this.values[k];
    return out;
  }

  /** Σ_i P_ij (the second marginal). */
  colSums(): Float64Array {
    const out = new Float64Array(this.cols);
    for (let k = 0; k < this.values.length; k++) out[this.colIndex[k]] += this.values[k];
    return out;
  }
}
