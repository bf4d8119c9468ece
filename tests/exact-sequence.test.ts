// ExactSequence (ts/solvers/exact-sequence.ts), the conditional gradient's exact linear steps: each solve equals a
// fresh emd (value and plan), from emd's starting keys or from given ones; for a cost f_i + g_j − x_i·y_j the keys
// x, y start the simplex at the optimum (no pivot: the comonotone coupling), and a later solve restarts from the
// previous basis.
import 'kantorovich'; // registers the wasm binary
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from '../ts/rng.js';
import { wasmKernels } from '../ts/backends/wasm.js';
import { ExactSequence } from '../ts/solvers/exact-sequence.js';
import { exactOT } from '../ts/solvers/inner.js';
import type { SparseCoupling } from '../ts/coupling.js';

function weights(rng: Rng, n: number): Float64Array {
  const w = Float64Array.from({ length: n }, () => 0.2 + rng.uniform());
  const s = w.reduce((x, y) => x + y, 0);
  return w.map((x) => x / s);
}

function cost(P: SparseCoupling, M: Float64Array, m: number): number {
  let s = 0;
  for (let t = 0; t < P.values.length; t++) s += P.values[t] * M[P.rowIndex[t] * m + P.colIndex[t]];
  return s;
}

test('keys x, y for a cost f_i + g_j − x_i·y_j: optimal without a pivot; later solves = emd', async () => {
  const k = await wasmKernels();
  const rng = new Rng(17);
  for (const [n, m, uniform] of [[29, 29, true], [23, 31, false], [40, 17, false]] as const) {
    const a = uniform ? new Float64Array(n).fill(1 / n) : weights(rng, n);
    const b = uniform ? new Float64Array(m).fill(1 / m) : weights(rng, m);
    const x = Float64Array.from({ length: n }, () => rng.normal());
    const y = Float64Array.from({ length: m }, () => rng.normal());
    const f = Float64Array.from({ length: n }, () => rng.uniform());
    const g = Float64Array.from({ length: m }, () => rng.uniform());
    const M1 = new Float64Array(n * m);
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) M1[i * m + j] = f[i] + g[j] - x[i] * y[j];
    const M2 = M1.map((v) => v + 0.3 * rng.uniform());
    for (const withKeys of [true, false]) {
      const seq = ExactSequence.create(k, a, b)!;
      try {
        const tag = `${n} × ${m}${withKeys ? ', keys x, y' : ''}`;
        for (const [step, M] of [M1, M2].entries()) {
          const r = await seq.solve(M, undefined, undefined, step === 0 && withKeys ? [x, y] : undefined);
          const ref = await exactOT(a, b, { data: M, rows: n, cols: m });
          const v = cost(r.plan, M, m);
          assert.ok(Math.abs(v - ref.value) <= 1e-12 * Math.max(1, Math.abs(ref.value)), `${tag}, step ${step}: ${v} vs emd ${ref.value}`);
          if (step === 0 && withKeys) assert.is(r.iterations, 0, `${tag}: the staircase over x, y is optimal`);
          if (step === 0 && !withKeys) assert.ok(r.iterations > 0, `${tag}: emd's keys need pivots (the check above can fail)`);
        }
      } finally {
        seq.free();
      }
    }
  }
});

test.run();
