// VertexProducts (ts/solvers/gromov-vertex.ts): the conditional gradient's h1 · Gc · h2ᵀ, updated by the rows of
// Gc that changed, must equal the product computed from scratch (plain loops) after every vertex of a sequence
// that changes no row, a few rows, and most rows; odd sizes, n ≠ m, dense and low-rank h1, the wasm and JS products.
import 'kantorovich'; // registers the wasm binary
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SparseCoupling } from '../ts/coupling.js';
import { Rng } from '../ts/rng.js';
import { matmulJs } from '../ts/linalg/dense.js';
import { wasmKernels } from '../ts/backends/wasm.js';
import { DenseStructure, type Gemm, SqEuclideanStructure, type StructureOp } from '../ts/solvers/gromov-structure.js';
import { VertexProducts } from '../ts/solvers/gromov-vertex.js';

/** h1 · G · h2ᵀ by the definition, with h1 and h2 read entry by entry through columnInto. */
function reference(h1: StructureOp, h2: StructureOp, G: Float64Array, n: number, m: number): Float64Array {
  const H1 = new Float64Array(n * n); // H1[i][k]
  const H2 = new Float64Array(m * m); // H2[j][l]
  const col = new Float64Array(Math.max(n, m));
  for (let k = 0; k < n; k++) {
    h1.columnInto(k, col);
    for (let i = 0; i < n; i++) H1[i * n + k] = col[i];
  }
  for (let l = 0; l < m; l++) {
    h2.columnInto(l, col);
    for (let j = 0; j < m; j++) H2[j * m + l] = col[j];
  }
  const R = new Float64Array(n * m);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) for (let l = 0; l < m; l++) s += H1[i * n + k] * G[k * m + l] * H2[j * m + l];
      R[i * m + j] = s;
    }
  return R;
}

/** A vertex-like plan: row i sends its mass to column σ(i) (and, for every third row, part of it to σ(i) + 1). */
function plan(sigma: Int32Array, n: number, m: number): SparseCoupling {
  const r: number[] = [];
  const c: number[] = [];
  const v: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 3 === 0) {
      r.push(i, i);
      c.push(sigma[i], (sigma[i] + 1) % m);
      v.push(0.6 / n, 0.4 / n);
    } else {
      r.push(i);
      c.push(sigma[i]);
      v.push(1 / n);
    }
  }
  return new SparseCoupling(n, m, Int32Array.from(r), Int32Array.from(c), Float64Array.from(v));
}

function dense(P: SparseCoupling, n: number, m: number): Float64Array {
  const G = new Float64Array(n * m);
  for (let t = 0; t < P.values.length; t++) G[P.rowIndex[t] * m + P.colIndex[t]] += P.values[t];
  return G;
}

test('incremental vertex products = h1 · Gc · h2ᵀ from scratch, through no, few and most rows changed', async () => {
  const k = await wasmKernels();
  const wasmGemm: Gemm = (A, B, r, kk, c, out = new Float64Array(r * c)) => {
    const mem = k.scope();
    try {
      const o = mem.alloc(r * c * 8);
      k.abi.tensorMatmul(0, mem.put(A.subarray(0, r * kk)), mem.put(B.subarray(0, kk * c)), r, kk, c, 0, 0, o);
      out.set(k.f64(o, r * c));
      return out;
    } finally {
      mem.release();
    }
  };
  const jsGemm: Gemm = (A, B, r, kk, c, out = new Float64Array(r * c)) => matmulJs(A, B, r, kk, c, out);
  const rng = new Rng(5);
  for (const [n, m] of [[13, 7], [17, 23], [40, 33]]) {
    const C1 = Float64Array.from({ length: n * n }, () => rng.uniform());
    const C2t = Float64Array.from({ length: m * m }, () => rng.uniform());
    const Z = Float64Array.from({ length: n * 3 }, () => rng.normal());
    for (const gemm of [wasmGemm, jsGemm]) {
      const sides: [string, StructureOp][] = [
        ['dense', new DenseStructure(n, C1, undefined, () => gemm)],
        ['low-rank', new SqEuclideanStructure(Z, 3, 1)],
      ];
      for (const [name, h1] of sides) {
        const h2 = new DenseStructure(m, undefined, C2t, () => gemm);
        const vp = new VertexProducts(h1, h2, n, m, gemm);
        const sigma = Int32Array.from({ length: n }, (_, i) => (i * 5 + 1) % m);
        // changes per step: all rows (the first vertex), none, 1, 3, most, 2
        for (const changes of [0, 0, 1, 3, Math.ceil(0.9 * n), 2]) {
          for (let c = 0; c < changes; c++) sigma[Math.floor(rng.uniform() * n)] = Math.floor(rng.uniform() * m);
          const P = plan(sigma, n, m);
          vp.update(P);
          const G = dense(P, n, m);
          assert.equal(Array.from(vp.Gc), Array.from(G), 'Gc is the vertex');
          const want = reference(h1, h2, G, n, m);
          let err = 0;
          let top = 0;
          for (let t = 0; t < n * m; t++) {
            err = Math.max(err, Math.abs(vp.Rc[t] - want[t]));
            top = Math.max(top, Math.abs(want[t]));
          }
          assert.ok(err <= 1e-13 * top, `${n} × ${m} ${name}, ${changes} rows changed: ${err} (scale ${top})`);
        }
      }
    }
  }
});

test.run();
