// The conditional gradient's side of Gromov–Wasserstein (gromov.ts): each linear step's vertex Gc and its product
// h1 · Gc · h2ᵀ, updated by the rows that changed since the previous vertex.
import type { SparseCoupling } from '../coupling.js';
import { DenseStructure, type Gemm, type StructureOp } from './gromov-structure.js';

/**
 * The conditional gradient's vertices Gc (dense) and their products Rc = h1 · Gc · h2ᵀ, through X = Gc · h2ᵀ.
 * Consecutive vertices share most rows (each linear step restarts the simplex from the previous basis; at
 * n = 300 the later steps change 5–150 of the 300 rows), and a row of X depends on that row of Gc only, so when
 * few rows I change, Rc += h1[:, I] · ΔX[I, :]: an n × |I| × m product instead of n × n × m. Dense h1 only (a
 * low-rank h1 applies in O(nm·d) anyway); a full product when most rows change (the first steps).
 */
export class VertexProducts {
  /** The current vertex and its product. */
  Gc: Float64Array;
  readonly Rc: Float64Array;
  private next: Float64Array;
  private readonly X: Float64Array;
  private readonly col: Float64Array;
  /** Changed rows: their order in the update (−1: unchanged), and the rows in order. */
  private readonly pos: Int32Array;
  private readonly rows: Int32Array;
  /** Whether h1 is dense (the row updates pay off), and their buffers, grown to the most rows changed so far. */
  private readonly incremental: boolean;
  private A = new Float64Array(0);
  private B = new Float64Array(0);
  private dR = new Float64Array(0);
  private full = true;
  /** The vertices in Gc and in `next` (their entries are the only non-zeros there). */
  private previous: SparseCoupling | undefined;
  private older: SparseCoupling | undefined;

  constructor(
    private readonly h1: StructureOp,
    private readonly h2: StructureOp,
    private readonly n: number,
    private readonly m: number,
    private readonly gemm: Gemm,
  ) {
    this.Gc = new Float64Array(n * m);
    this.next = new Float64Array(n * m);
    this.X = new Float64Array(n * m);
    this.Rc = new Float64Array(n * m);
    this.col = new Float64Array(Math.max(n, m));
    this.pos = new Int32Array(n);
    this.rows = new Int32Array(n);
    this.incremental = h1 instanceof DenseStructure;
  }

  /** Gc ← the vertex P (sparse, ≤ n + m − 1 entries), Rc ← its product. */
  update(P: SparseCoupling): void {
    const { n, m, h1, h2, X, col, pos, rows } = this;
    // `next` holds the vertex before the previous one: clear its entries only (not n × m), then write P
    const G = this.next;
    if (this.older) clearEntries(G, this.older, m);
    else G.fill(0);
    const { rowIndex, colIndex, values } = P;
    for (let t = 0; t < values.length; t++) G[rowIndex[t] * m + colIndex[t]] += values[t];
    // the rows that differ from the previous vertex: both are 0 off their entries, so compare there only
    const old = this.Gc;
    pos.fill(-1);
    let c = 0;
    for (const Q of this.previous ? [P, this.previous] : [P]) {
      for (let t = 0; t < Q.values.length; t++) {
        const i = Q.rowIndex[t];
        const at = i * m + Q.colIndex[t];
        if (pos[i] < 0 && G[at] !== old[at]) {
          pos[i] = c;
          rows[c++] = i;
        }
      }
    }
    this.next = old;
    this.Gc = G;
    this.older = this.previous;
    this.previous = P;
    if (this.full || c > 0.75 * n || !this.incremental) {
      // X = Gc · h2ᵀ by columns of h2 (one per entry of P), then Rc = h1 · X
      X.fill(0);
      for (let t = 0; t < values.length; t++) {
        const xo = rowIndex[t] * m;
        const v = values[t];
        h2.columnInto(colIndex[t], col);
        for (let j = 0; j < m; j++) X[xo + j] += v * col[j];
      }
      h1.left(X, m, this.Rc);
      this.full = false;
      return;
    }
    if (c === 0) return;
    // B = the new rows I of X (row t: row rows[t]), then ΔX[I, :] = B − X[I, :] and X[I, :] ← the new rows
    if (this.B.length < c * m) {
      this.A = new Float64Array(n * c);
      this.B = new Float64Array(c * m);
    }
    if (this.dR.length === 0) this.dR = new Float64Array(n * m);
    const { A, B, dR, Rc } = this;
    B.fill(0, 0, c * m);
    for (let t = 0; t < values.length; t++) {
      const r = pos[rowIndex[t]];
      if (r < 0) continue;
      const bo = r * m;
      const v = values[t];
      h2.columnInto(colIndex[t], col);
      for (let j = 0; j < m; j++) B[bo + j] += v * col[j];
    }
    for (let r = 0; r < c; r++) {
      const bo = r * m;
      const xo = rows[r] * m;
      for (let j = 0; j < m; j++) {
        const x = B[bo + j];
        B[bo + j] = x - X[xo + j];
        X[xo + j] = x;
      }
    }
    // A = h1[:, I] (n × c), then Rc += A · ΔX[I, :]
    for (let r = 0; r < c; r++) {
      h1.columnInto(rows[r], col);
      for (let i = 0; i < n; i++) A[i * c + r] = col[i];
    }
    this.gemm(A, B, n, c, m, dR);
    for (let t = 0; t < n * m; t++) Rc[t] += dR[t];
  }
}

/** G[i][j] ← 0 at the entries of P. */
function clearEntries(G: Float64Array, P: SparseCoupling, m: number): void {
  const { rowIndex, colIndex } = P;
  for (let t = 0; t < rowIndex.length; t++) G[rowIndex[t] * m + colIndex[t]] = 0;
}
