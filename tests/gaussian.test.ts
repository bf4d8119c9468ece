// Gaussian closed forms (ts/solvers/gaussian.ts) against tests/fixtures/pot/families-gaussian.json
// (generate_families.py: scipy sqrtm closed forms, POT 0.8.2 ot.da.OT_mapping_linear).
// Tolerances: W2² and the barycenter objective 1e-9 relative (+1e-12 absolute; 1e-6 absolute with a singular
// covariance, where every f64 method loses √eps); map entries 1e-8 of max|A| (1e-6 with a singular target)
// (d = 16 at condition 100: two square roots and an inverse square root amplify rounding by ~cond);
// OT_mapping_linear A, b and the mapped points 1e-8 relative to their scale; barycenter covariance 1e-9.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gaussianW2, linearMap, gaussianBarycenter } from '../ts/solvers/gaussian.js';
import { buresMap, buresWasserstein2, randomSPD } from '../ts/neural/gaussian.js';
import { symEig, symEigJacobi } from '../ts/linalg/symmetric.js';
import { close, expectOTError, flat } from './helpers.js';
import { wasmKernels } from '../ts/backends/wasm.js';

const FIX = JSON.parse(readFileSync(new URL('../../tests/fixtures/pot/families-gaussian.json', import.meta.url), 'utf8'));

function maxAbsOf(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}
function closeArrays(got: ArrayLike<number>, want: ArrayLike<number>, rel: number, what: string): void {
  assert.is(got.length, want.length, `${what}: length`);
  const scale = Math.max(maxAbsOf(want), 1e-300);
  for (let i = 0; i < want.length; i++) close(got[i], want[i], 0, rel * scale, `${what}[${i}]`);
}

test('gaussianW2 matches the closed form (scipy sqrtm) on the fixtures', async () => {
  for (const c of FIX.w2) {
    const r = await gaussianW2({ mean: c.m1, cov: c.S1 }, { mean: c.m2, cov: c.S2 });
    // a singular covariance puts zero eigenvalues under a square root: any f64 method loses √eps there
    // (an eigenvalue off by 1e-16·‖X‖ moves its root by 1e-8·√‖X‖), so those cases get 1e-6 absolute
    close(r.value, c.value, 1e-9, c.name.includes('singular') ? 1e-6 : 1e-12, `${c.name} value`);
    assert.is(r.status, 'closed-form');
    assert.is(r.iterations, 0);
    const mapTol = c.name.includes('singular') ? 1e-6 : 1e-8;
    closeArrays(r.map!.A.data, flat(c.A).data, mapTol, `${c.name} A`);
    closeArrays(r.map!.b, c.b, mapTol, `${c.name} b`);
    // the neural helpers share the definition
    if (!c.name.includes('singular')) close(buresWasserstein2({ mean: c.m1, cov: c.S1 }, { mean: c.m2, cov: c.S2 }), c.value, 1e-12, 1e-14, `${c.name} neural`);
  }
});

test('gaussianW2: the map pushes the source moments to the target ones', async () => {
  const c = FIX.w2[1];
  const d = c.d;
  const r = await gaussianW2({ mean: c.m1, cov: c.S1 }, { mean: c.m2, cov: c.S2 });
  const A = r.map!.A.data;
  const S1 = flat(c.S1).data;
  // A S1 A = S2
  const AS = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) for (let j = 0; j < d; j++) AS[i * d + j] += A[i * d + k] * S1[k * d + j];
  const ASA = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) for (let j = 0; j < d; j++) ASA[i * d + j] += AS[i * d + k] * A[k * d + j];
  closeArrays(ASA, flat(c.S2).data, 1e-10, 'A S1 A');
  // A m1 + b = m2
  for (let i = 0; i < d; i++) {
    let s = r.map!.b[i];
    for (let j = 0; j < d; j++) s += A[i * d + j] * c.m1[j];
    close(s, c.m2[i], 1e-12, 1e-12, `T(m1)[${i}]`);
  }
  const nm = buresMap({ mean: c.m1, cov: c.S1 }, { mean: c.m2, cov: c.S2 });
  // one definition (buresCore): the solver runs its eigen-decompositions and products in wasm, the neural helper
  // (synchronous) in JS, so they agree to rounding rather than to the bit
  closeArrays(nm.A, A, 1e-13, 'neural buresMap A');
});

test('gaussianW2: 1D and commuting closed forms; W2(μ, μ) = 0', async () => {
  const r = await gaussianW2({ mean: [1], cov: [[4]] }, { mean: [3], cov: [[9]] });
  close(r.value, 4 + (2 - 3) ** 2, 1e-14, 1e-14, '1D value');
  close(r.map!.A.data[0], 1.5, 1e-14, 0, '1D slope');
  close(r.map!.b[0], 3 - 1.5, 1e-14, 1e-14, '1D intercept');
  const same = await gaussianW2({ mean: [0, 1], cov: [[2, 0.5], [0.5, 1]] }, { mean: [0, 1], cov: [[2, 0.5], [0.5, 1]] });
  close(same.value, 0, 0, 1e-14, 'W2(μ, μ)');
  // singular source: the value exists, the map does not
  const sing = { mean: [0, 0], cov: [[1, 1], [1, 1]] };
  const v = await gaussianW2(sing, { mean: [0, 0], cov: [[1, 0], [0, 1]] }, { map: false });
  // tr(S1) + tr(S2) − 2 tr((S1^½ S2 S1^½)^½) = 2 + 2 − 2·√2
  close(v.value, 4 - 2 * Math.SQRT2, 1e-12, 1e-14, 'singular source value');
  assert.is(v.map, undefined);
  await expectOTError('invalid-option', () => gaussianW2(sing, { mean: [0, 0], cov: [[1, 0], [0, 1]] }), 'singular source with a map');
});

test('gaussianW2: bad input fails before any work', async () => {
  const g = { mean: [0, 0], cov: [[1, 0], [0, 1]] };
  await expectOTError('shape', () => gaussianW2(g, { mean: [0, 0, 0], cov: [[1, 0], [0, 1]] }), 'dimension mismatch');
  await expectOTError('shape', () => gaussianW2(g, { mean: [0, 0], cov: [[1, 0, 0], [0, 1, 0]] }), 'non-square cov');
  await expectOTError('nan', () => gaussianW2(g, { mean: [NaN, 0], cov: [[1, 0], [0, 1]] }), 'NaN mean');
  await expectOTError('invalid-option', () => gaussianW2(g, { mean: [0, 0], cov: [[1, 0.5], [0, 1]] }), 'non-symmetric');
  await expectOTError('invalid-option', () => gaussianW2(g, { mean: [0, 0], cov: [[1, 2], [2, 1]] }), 'indefinite');
  await expectOTError('shape', () => gaussianW2(g, undefined as never), 'missing target');
  await expectOTError('invalid-option', () => gaussianW2(g, g, { maps: true } as never), 'unknown option');
});

test('linearMap matches POT ot.da.OT_mapping_linear', async () => {
  for (const c of FIX.linearMap) {
    const r = await linearMap(c.Xs, c.Xt, { reg: c.reg, bias: c.bias, ws: c.ws, wt: c.wt });
    closeArrays(r.A.data, flat(c.A).data, 1e-8, `${c.name} A`);
    closeArrays(r.b, c.b, 1e-8, `${c.name} b`);
    const X = flat(c.Xs);
    const d = X.cols;
    const mapped = new Float64Array(X.rows * d);
    for (let i = 0; i < X.rows; i++)
      for (let j = 0; j < d; j++) {
        let s = r.b[j];
        for (let k = 0; k < d; k++) s += X.data[i * d + k] * r.A.data[k * d + j];
        mapped[i * d + j] = s;
      }
    closeArrays(mapped, flat(c.mapped).data, 1e-8, `${c.name} mapped`);
    assert.ok(r.value >= 0);
  }
  await expectOTError('shape', () => linearMap([[0, 1]], [[0, 1, 2]]), 'dimension mismatch');
  await expectOTError('negative', () => linearMap([[0, 1], [1, 2]], [[0, 1], [2, 2]], { ws: [1, -1] }), 'negative weight');
  await expectOTError('shape', () => linearMap([[0, 1], [1, 2]], [[0, 1], [2, 2]], { wt: [1, 1, 1] }), 'weights length');
  await expectOTError('invalid-option', () => linearMap([[0, 1], [1, 2]], [[0, 1], [2, 2]], { reg: -1 }), 'negative reg');
  await expectOTError('invalid-option', () => linearMap([[0, 1], [1, 2]], [[0, 1], [2, 2]], { reg: 0 }), 'singular source covariance');
});

test('gaussianBarycenter matches the fixed point (numpy) on the fixtures', async () => {
  for (const c of FIX.barycenter) {
    const gs = c.means.map((m: number[], k: number) => ({ mean: m, cov: c.covs[k] }));
    const r = await gaussianBarycenter(gs, { weights: c.weights });
    assert.is(r.status, 'converged');
    closeArrays(r.mean, c.mean, 1e-12, `${c.name} mean`);
    closeArrays(r.cov.data, flat(c.cov).data, 1e-9, `${c.name} cov`);
    close(r.value, c.value, 1e-9, 1e-12, `${c.name} value`);
  }
});

test('gaussianBarycenter: 1D closed form (σ = Σ w σ_k) and bad input', async () => {
  const r = await gaussianBarycenter([{ mean: [0], cov: [[1]] }, { mean: [4], cov: [[9]] }], { weights: [0.25, 0.75] });
  close(r.mean[0], 3, 1e-14, 0, 'mean');
  close(r.cov.data[0], (0.25 * 1 + 0.75 * 3) ** 2, 1e-12, 0, 'variance');
  await expectOTError('empty', () => gaussianBarycenter([]), 'no Gaussians');
  await expectOTError('shape', () => gaussianBarycenter([{ mean: [0], cov: [[1]] }, { mean: [0, 1], cov: [[1, 0], [0, 1]] }]), 'mixed dims');
  await expectOTError('shape', () => gaussianBarycenter([{ mean: [0], cov: [[1]] }], { weights: [1, 2] }), 'weights length');
  await expectOTError('invalid-option', () => gaussianBarycenter([{ mean: [0], cov: [[-1]] }]), 'negative variance');
});

test('symEig (QL in JS and in wasm, Jacobi-refined when ill-conditioned) agrees with plain Jacobi and reconstructs S', async () => {
  const w = await wasmKernels();
  for (const [d, cond, seed] of [[5, 10, 1], [17, 1e3, 2], [40, 1e12, 3], [64, 100, 4], [65, 1e4, 5]] as const) {
    const S = randomSPD(d, { cond, seed });
    const j = symEigJacobi(S, d);
    for (const [where, q] of [['js', symEig(S, d)], ['wasm', symEig(S, d, w)]] as const) {
      for (let k = 0; k < d; k++) close(q.values[k], j.values[k], 1e-9, 1e-14 * j.values[d - 1], `${where} d ${d} cond ${cond} λ${k}`);
      let err = 0;
      let orth = 0;
      for (let r = 0; r < d; r++)
        for (let c = 0; c < d; c++) {
          let x = 0;
          let o = 0;
          for (let k = 0; k < d; k++) {
            x += q.vectors[r * d + k] * q.values[k] * q.vectors[c * d + k];
            o += q.vectors[k * d + r] * q.vectors[k * d + c];
          }
          err = Math.max(err, Math.abs(x - S[r * d + c]));
          orth = Math.max(orth, Math.abs(o - (r === c ? 1 : 0)));
        }
      assert.ok(err < 1e-12 * j.values[d - 1], `${where} d ${d}: reconstruction error ${err}`);
      assert.ok(orth < 1e-12, `${where} d ${d}: VᵀV − I = ${orth}`);
    }
  }
});

test.run();
