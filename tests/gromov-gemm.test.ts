// SolveGemm (ts/solvers/gromov-gemm.ts): GW's products with the structure matrices kept in wasm memory, and the
// chained h1 · P · h2ᵀ, against plain loops on odd sizes (n ≠ m, sizes below and above the wasm threshold), with
// kept and unkept operands, and after release().
import 'kantorovich'; // registers the wasm binary
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from '../ts/rng.js';
import { wasmKernels } from '../ts/backends/wasm.js';
import { SolveGemm } from '../ts/solvers/gromov-gemm.js';

function naive(A: Float64Array, B: Float64Array, r: number, k: number, c: number): Float64Array {
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++)
    for (let j = 0; j < c; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += A[i * k + p] * B[p * c + j];
      out[i * c + j] = s;
    }
  return out;
}

function close(x: Float64Array, y: Float64Array, what: string): void {
  assert.is(x.length, y.length, what);
  let err = 0;
  let top = 0;
  for (let t = 0; t < x.length; t++) {
    err = Math.max(err, Math.abs(x[t] - y[t]));
    top = Math.max(top, Math.abs(y[t]));
  }
  assert.ok(err <= 1e-14 * top, `${what}: ${err} (scale ${top})`);
}

test('gemm and chain = plain loops: kept and unkept operands, wasm and JS sizes, after release', async () => {
  const rng = new Rng(9);
  const w = await wasmKernels();
  for (const [n, m] of [[3, 5], [17, 9], [31, 45], [70, 61]]) {
    const H1 = Float64Array.from({ length: n * n }, () => rng.uniform());
    const H2t = Float64Array.from({ length: m * m }, () => rng.normal());
    const P = Float64Array.from({ length: n * m }, () => rng.uniform());
    const want = naive(naive(H1, P, n, n, m), H2t, n, m, m);
    for (const kernels of [w, undefined]) {
      const g = new SolveGemm(kernels);
      const tag = `${n} × ${m} ${kernels ? 'wasm' : 'js'}`;
      close(g.gemm(H1, P, n, n, m), naive(H1, P, n, n, m), `${tag} gemm`);
      g.keep(H1);
      g.keep(H2t);
      g.keep(H2t); // twice: no second copy, same answer
      close(g.gemm(P, H2t, n, m, m), naive(P, H2t, n, m, m), `${tag} gemm, kept operand`);
      const out = new Float64Array(n * m);
      const chained = g.chain(H1, P, H2t, n, m, out);
      if (kernels && n * m * Math.min(n, m) >= 4096) {
        assert.ok(chained === out, `${tag}: chained into out`);
        close(out, want, `${tag} chain`);
      } else assert.is(chained, undefined, `${tag}: small or JS products are left to the caller`);
      // a longer buffer than the product: only the first r·k entries are the operand
      const Plong = new Float64Array(n * m + 7);
      Plong.set(P);
      close(g.gemm(H1, Plong, n, n, m), naive(H1, P, n, n, m), `${tag} gemm, longer operand`);
      g.release();
      close(g.gemm(H1, P, n, n, m), naive(H1, P, n, n, m), `${tag} gemm after release`);
    }
  }
});

test.run();
