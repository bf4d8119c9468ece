// Agreement of the entropic solvers with POT 0.8.2 on committed fixtures (tests/fixtures/pot/entropic-*.json, made
// by generate_entropic.py there; its docstring states every convention). What is compared, and why:
//  * POT's references are run to stopThr = 1e-13 and checked against an even tighter rerun (plan drift < 1e-10),
//    so they are the unique entropic optimum, not an artefact of where POT stopped. We solve to tol = 1e-12 (or
//    an exact fixed point for free support) and compare with the optimum. Entropic plans, barycenters and
//    potentials are unique (potentials up to f + c, g − c in the balanced case), so they are compared entry by
//    entry, not only through the cost.
//  * Tolerance of plans and barycenters: 1e-8 of the largest entry. Sinkhorn is a contraction; stopping at a
//    marginal error δ ≤ 1e-12 leaves the iterate within δ/(1 − rate) of the fixed point, and the slowest
//    fixtures (reg = 4e-3 of max M: ~1000–2500 POT iterations for a 1e-13 decrease) have 1/(1 − rate) ≲ 1e3,
//    so ≲ 1e-9 relative; the reference's own drift is < 1e-10. A bug (wrong kernel orientation, entropy
//    convention, update order that changes the fixed point, a missing −1, a lost weight) moves entries by
//    ≫ 1e-6. Scalar values (costs, objectives) derive from the plan: 1e-8 relative, plus 1e-9 × cost scale
//    absolute for values near 0 (regCost can cross 0).
//  * Potentials: 1e-8 × (max M + reg) absolute after removing the free constant (their error is reg times the
//    log-plan error).
//  * Each Sinkhorn-type case runs on every entropic backend that is available ('js' always; 'wasm' when the
//    engine loads). 'webgpu' is f32 and is tested elsewhere. The entropic barycenters (fixed support and
//    convolutional) run on the same list ('js' / 'wasm'); free support has no backend option (exact wasm emd
//    inside), so it runs once.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  OTError,
  barycenter,
  convolutionalBarycenter,
  freeSupportBarycenter,
  pointCloud,
  sinkhorn,
  sinkhornDivergence,
  sinkhornUnbalanced,
  type BackendName,
  type CostSpec,
} from 'kantorovich';
import { close, closeArrays, flat, maxAbs, within } from './helpers.js';

const FIXTURES = new URL('../../tests/fixtures/pot/', import.meta.url);

function load<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as T;
}

interface SinkhornCase {
  name: string;
  n: number;
  m: number;
  a: number[];
  b: number[];
  M: number[][];
  maxM: number;
  X?: number[][];
  Y?: number[][];
  pointCost?: CostSpec;
  results: {
    reg: number;
    regOverMaxM: number;
    methods: ('sinkhorn' | 'sinkhorn_log')[];
    plan: number[][];
    cost: number;
    potObjective: number;
    regCost: number;
    f: (number | null)[];
    g: (number | null)[];
  }[];
}
interface UnbalancedCase {
  name: string;
  n: number;
  m: number;
  a: number[];
  b: number[];
  M: number[][];
  maxM: number;
  reg: number;
  X?: number[][];
  Y?: number[][];
  pointCost?: CostSpec;
  results: {
    regM: number;
    plan: number[][];
    cost: number;
    objective: number;
    rowSums: number[];
    colSums: number[];
    f: number[];
    g: number[];
  }[];
}
interface BarycenterCase {
  name: string;
  n: number;
  k: number;
  A: number[][];
  M: number[][];
  reg: number;
  weights: number[] | null;
  barycenter: number[];
}
interface ConvolutionalCase {
  name: string;
  height: number;
  width: number;
  k: number;
  reg: number;
  weights: number[] | null;
  A: number[][];
  barycenter: number[];
}
interface DivergenceCase {
  name: string;
  n: number;
  m: number;
  d: number;
  reg: number;
  X: number[][];
  Y: number[][];
  a: number[] | null;
  b: number[] | null;
  linearValue: number;
  potValue: number;
  potValueError: number;
  value: number;
  gradX: number[][];
  gradY: number[][];
  gradA: number[];
  gradB: number[];
}
interface FreeSupportCase {
  name: string;
  d: number;
  k: number;
  measures: { X: number[][]; a: number[] | null }[];
  weights: number[] | null;
  init: number[][];
  b: number[];
  X: number[][];
  iterations: number;
  XPotDefaults: number[][];
}

const sinkhornCases = load<{ cases: SinkhornCase[] }>('entropic-sinkhorn.json').cases;
const unbalancedCases = load<{ cases: UnbalancedCase[] }>('entropic-unbalanced.json').cases;
const barycenterCases = load<{ cases: BarycenterCase[] }>('entropic-barycenter.json').cases;
const convolutionalCases = load<{ cases: ConvolutionalCase[] }>('entropic-convolutional.json').cases;
const divergenceCases = load<{ cases: DivergenceCase[] }>('entropic-divergence.json').cases;
const freeSupportCases = load<{ cases: FreeSupportCase[] }>('entropic-free-support.json').cases;

// ------------------------------------------------------------------ backends

/**
 * The f64 entropic backends to run on: 'js' always; 'wasm' unless a forced solve rejects with
 * 'backend-unavailable' (or its engine module is not in this build). Any other failure keeps the backend in
 * the list, so that its tests fail loudly instead of being skipped.
 */
async function availableBackends(): Promise<BackendName[]> {
  const out: BackendName[] = [];
  for (const backend of ['js', 'wasm'] as const) {
    try {
      await sinkhorn([0.5, 0.5], [0.5, 0.5], [[0, 1], [1, 0]], { reg: 1, backend, maxIter: 10 });
      out.push(backend);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (e instanceof OTError && code === 'backend-unavailable') {
        console.log(`pot-entropic: skipping backend '${backend}': ${e.message}`);
      } else if (code === 'ERR_MODULE_NOT_FOUND' && backend !== 'js') {
        console.log(`pot-entropic: skipping backend '${backend}': its engine module is not in this build (${(e as Error).message.split('\n')[0]})`);
      } else {
        console.log(`pot-entropic: backend '${backend}' failed its probe (${String(e)}); its tests run and will fail`);
        out.push(backend);
      }
    }
  }
  return out;
}

const BACKENDS = await availableBackends();

// ------------------------------------------------------------------ helpers

/**
 * Balanced potentials are unique up to (f + c, g − c): remove c (the mean shift over finite entries) and
 * compare; null (−∞ in POT, zero weight) must be −∞ here too.
 */
function closePotentials(f: Float64Array, g: Float64Array, fRef: (number | null)[], gRef: (number | null)[], abs: number, what: string): void {
  let shift = 0;
  let count = 0;
  fRef.forEach((x, i) => {
    if (x !== null) (shift += f[i] - x), count++;
  });
  shift /= count;
  const check = (got: Float64Array, ref: (number | null)[], s: number, name: string) =>
    ref.forEach((x, i) => {
      if (x === null) assert.is(got[i], -Infinity, `${what}: ${name}[${i}] of a zero weight`);
      else close(got[i] - s, x, 0, abs, `${what}: ${name}[${i}] (shift ${shift.toExponential(3)} removed)`);
    });
  check(f, fRef, shift, 'f');
  check(g, gRef, -shift, 'g');
}

const TOL = 1e-12;
const MAX_ITER = 200000;
const PLAN_REL = 1e-8;

// ------------------------------------------------------------------ self-checks

test('entropic fixtures are present and cover the cases', () => {
  assert.ok(sinkhornCases.length >= 5 && unbalancedCases.length >= 2 && barycenterCases.length >= 3);
  assert.ok(convolutionalCases.length >= 2 && divergenceCases.length >= 3 && freeSupportCases.length >= 2);
  assert.ok(sinkhornCases.some((c) => c.n !== c.m) && sinkhornCases.some((c) => c.a.includes(0)));
  assert.ok(sinkhornCases.some((c) => c.results.some((r) => r.regOverMaxM < 0.01)), 'a small-reg case (log domain)');
  assert.ok(barycenterCases.some((c) => c.weights !== null) && convolutionalCases.some((c) => c.height !== c.width));
  assert.ok(BACKENDS.includes('js'), `backends: ${BACKENDS.join(', ')}`);
  console.log(`pot-entropic: entropic backends under test: ${BACKENDS.join(', ')}`);
});

test('tolerance helpers reject a 1e-7 relative error', () => {
  assert.not.ok(within(1 + 1e-7, 1, 1e-8, 0));
  assert.not.ok(within(NaN, 1, 1e-8, 0));
  // (uvu's assert.throws rethrows assertion errors, so catch them by hand)
  const fails = (f: () => void) => {
    try {
      f();
    } catch {
      return true;
    }
    return false;
  };
  assert.ok(fails(() => closeArrays([1, 2 + 1e-7], [1, 2], 1e-8, 'x')));
  assert.ok(fails(() => closeArrays([1, NaN], [1, 2], 1e-8, 'x')));
  assert.ok(fails(() => closePotentials(Float64Array.of(1, 2), Float64Array.of(3), [1, 2.5], [3], 1e-8, 'x')));
  assert.ok(fails(() => closePotentials(Float64Array.of(1, 2), Float64Array.of(3), [1, null], [3], 1e-8, 'x')));
  assert.not.ok(fails(() => closeArrays([1, 2 + 1e-9], [1, 2], 1e-8, 'x')));
  // a constant shift of the potentials (f + c, g − c) is not an error
  assert.not.ok(fails(() => closePotentials(Float64Array.of(1.5, 2.5), Float64Array.of(2.5), [1, 2], [3], 1e-12, 'x')));
});

// ------------------------------------------------------------------ balanced sinkhorn

for (const c of sinkhornCases) {
  test(`sinkhorn matches ot.sinkhorn (sinkhorn / sinkhorn_log): ${c.name} (${c.n}×${c.m})`, async () => {
    const M = flat(c.M);
    for (const res of c.results) {
      // POT's 'sinkhorn' is our 'scaling', 'sinkhorn_log' our 'log'. Both of ours solve the same problem, so
      // scaling also runs where POT only ran the log domain, as long as exp(−M/reg) stays far from underflow.
      const methods: ('scaling' | 'log')[] = res.regOverMaxM >= 0.01 || res.methods.includes('sinkhorn') ? ['scaling', 'log'] : ['log'];
      const ref = flat(res.plan).data;
      for (const backend of BACKENDS) {
        for (const method of methods) {
          const what = `${c.name} reg=${res.reg.toPrecision(4)} (${res.regOverMaxM} max M) ${method} on ${backend}`;
          const r = await sinkhorn(c.a, c.b, M, { reg: res.reg, method, tol: TOL, maxIter: MAX_ITER, backend, plan: true });
          assert.ok((r.status === 'converged'), `${what}: not converged after ${r.iterations} iterations (error ${r.error})`);
          assert.is(r.backend, backend, `${what}: backend`);
          assert.is(r.method, method, `${what}: method`);
          closeArrays(r.plan!.toDense(), ref, PLAN_REL, `${what}: plan vs POT`);
          close(r.cost, res.cost, 1e-8, 1e-9 * c.maxM, `${what}: cost vs ⟨P, M⟩ (ot.sinkhorn2)`);
          // our regCost = ⟨P,M⟩ + reg Σ P(log P − 1) = POT's documented objective ⟨P,M⟩ + reg Σ P log P − reg
          close(r.regValue, res.regCost, 1e-8, 1e-9 * (c.maxM + res.reg), `${what}: regCost`);
          close(r.regValue + res.reg, res.potObjective, 1e-8, 1e-9 * (c.maxM + res.reg), `${what}: regCost + reg vs POT's objective`);
          closePotentials(r.potentials.f, r.potentials.g, res.f, res.g, 1e-8 * (c.maxM + res.reg), what);
        }
      }
    }
  });
}

for (const c of sinkhornCases.filter((x) => x.X !== undefined)) {
  test(`sinkhorn on a point cloud matches POT: ${c.name}`, async () => {
    // POT builds M as ‖x‖² + ‖y‖² − 2⟨x, y⟩, we difference coordinates: the costs differ by roundoff
    // (~1e-16 × scale), which moves the plan by ~1e-16 × scale / reg ≪ 1e-8.
    const res = c.results[0];
    for (const backend of BACKENDS) {
      const what = `${c.name} reg=${res.reg.toPrecision(4)} pointCloud on ${backend}`;
      const r = await sinkhorn(c.a, c.b, pointCloud(c.X!, c.Y!, { cost: c.pointCost }), { reg: res.reg, method: 'log', tol: TOL, maxIter: MAX_ITER, backend, plan: true });
      assert.ok((r.status === 'converged'), `${what}: converged`);
      closeArrays(r.plan!.toDense(), flat(res.plan).data, PLAN_REL, `${what}: plan`);
      close(r.cost, res.cost, 1e-8, 1e-9 * c.maxM, `${what}: cost`);
    }
  });
}

// ------------------------------------------------------------------ unbalanced

for (const c of unbalancedCases) {
  test(`sinkhornUnbalanced matches ot.unbalanced.sinkhorn_unbalanced: ${c.name} (${c.n}×${c.m}, reg ${c.reg.toPrecision(4)})`, async () => {
    const M = flat(c.M);
    for (const res of c.results) {
      const ref = flat(res.plan).data;
      for (const backend of BACKENDS) {
        for (const method of ['scaling', 'log'] as const) {
          const what = `${c.name} regM=${res.regM} ${method} on ${backend}`;
          const r = await sinkhornUnbalanced(c.a, c.b, M, { reg: c.reg, regM: res.regM, method, tol: TOL, maxIter: MAX_ITER, backend, plan: true });
          assert.ok((r.status === 'converged'), `${what}: not converged after ${r.iterations} iterations`);
          assert.is(r.backend, backend);
          closeArrays(r.plan!.toDense(), ref, PLAN_REL, `${what}: plan vs POT`);
          close(r.cost, res.cost, 1e-8, 1e-9 * c.maxM, `${what}: cost vs sinkhorn_unbalanced2`);
          // regCost = ⟨P,M⟩ + reg Σ P(log P − 1) + regM (KL(P1|a) + KL(Pᵀ1|b)), the objective whose KKT
          // conditions POT's fixed point satisfies (checked by the generator)
          close(r.regValue, res.objective, 1e-8, 1e-9 * (c.maxM + c.reg), `${what}: regCost vs the unbalanced objective`);
          // unbalanced potentials are unique (no free constant)
          for (let i = 0; i < c.n; i++) close(r.potentials.f[i], res.f[i], 0, 1e-8 * (c.maxM + c.reg), `${what}: f[${i}]`);
          for (let j = 0; j < c.m; j++) close(r.potentials.g[j], res.g[j], 0, 1e-8 * (c.maxM + c.reg), `${what}: g[${j}]`);
          // the plan's marginals (not a, b: they are only penalized)
          const P = r.plan!.toDense();
          const rows = Array.from({ length: c.n }, (_, i) => P.subarray(i * c.m, (i + 1) * c.m).reduce((s, x) => s + x, 0));
          closeArrays(rows, res.rowSums, PLAN_REL, `${what}: row sums`);
        }
      }
    }
  });
}

// ------------------------------------------------------------------ divergence

for (const c of divergenceCases) {
  test(`sinkhornDivergence.linearValue matches ot.bregman.empirical_sinkhorn_divergence: ${c.name}`, async () => {
    for (const backend of BACKENDS) {
      const what = `${c.name} on ${backend}`;
      const r = await sinkhornDivergence(c.X, c.Y, {
        a: c.a ?? undefined,
        b: c.b ?? undefined,
        reg: c.reg,
        cost: 'sqeuclidean',
        tol: TOL,
        maxIter: MAX_ITER,
        backend,
        gradient: true,
      });
      assert.is(r.status, 'converged', `${what}: converged`);
      assert.is(r.backend, backend);
      // linearValue is POT's formula ⟨P_ab,C⟩ − ½⟨P_aa,C⟩ − ½⟨P_bb,C⟩ from plans solved to 1e-13 (the fixture's
      // linearValue). POT's function itself stops its inner solves at 1e-9 and clips at 0: `potValue` is only
      // as accurate as `potValueError`, so it is compared with that allowance.
      close(r.linearValue, c.linearValue, 1e-8, 1e-10, `${what}: linearValue`);
      close(Math.max(0, r.linearValue), c.potValue, 0, 2 * c.potValueError + 1e-12, `${what}: max(0, linearValue) vs POT's function output`);
      // value: the debiased S_ε with KL(P | a⊗b) terms, computed by the generator from the same tight plans
      close(r.value, c.value, 1e-8, 1e-10, `${what}: value (debiased S_ε)`);
      // gradients of value (envelope theorem; checked by finite differences in the generator)
      closeArrays(r.gradX!, flat(c.gradX).data, 1e-7, `${what}: gradX`);
      closeArrays(r.gradY!, flat(c.gradY).data, 1e-7, `${what}: gradY`);
      const centered = (x: Float64Array) => {
        const mean = x.reduce((s, v) => s + v, 0) / x.length;
        return x.map((v) => v - mean);
      };
      closeArrays(centered(r.gradA!), c.gradA, 1e-7, `${what}: gradA (centered)`);
      closeArrays(centered(r.gradB!), c.gradB, 1e-7, `${what}: gradB (centered)`);
    }
  });
}

// ------------------------------------------------------------------ barycenters

for (const c of barycenterCases) {
  test(`barycenter matches ot.bregman.barycenter: ${c.name} (n ${c.n}, k ${c.k}, reg ${c.reg})`, async () => {
    // A is k × n here (one histogram per row). The reference is POT's sinkhorn_log barycenter: POT 0.8.2's
    // method 'sinkhorn' is wrong with non-uniform weights (see generate_entropic.py, barycenter_case).
    // POT's sinkhorn_log adds 1e-15 to A (mass 1 + n·1e-15 at the end); ours is normalized: ≪ 1e-8.
    for (const backend of BACKENDS) {
      for (const method of ['scaling', 'log'] as const) {
        const what = `${c.name} ${method} on ${backend}`;
        const r = await barycenter(c.A, c.M, { reg: c.reg, weights: c.weights ?? undefined, method, tol: TOL, maxIter: MAX_ITER, backend: backend as 'js' | 'wasm' });
        assert.is(r.backend, backend, `${what}: backend`);
        assert.ok((r.status === 'converged'), `${what}: not converged after ${r.iterations} iterations (error ${r.error})`);
        closeArrays(r.barycenter, c.barycenter, PLAN_REL, `${what}: barycenter vs POT`);
      }
    }
  });
}

for (const c of convolutionalCases) {
  test(`convolutionalBarycenter matches ot.bregman.convolutional_barycenter2d: ${c.name} (${c.height}×${c.width})`, async () => {
    // Non-square grid (height ≠ width): a swapped axis or a kernel on pixel indices instead of [0,1]
    // coordinates moves mass by far more than the tolerance.
    for (const backend of BACKENDS) {
      const what = `${c.name} on ${backend}`;
      const opts = { height: c.height, width: c.width, reg: c.reg, weights: c.weights ?? undefined, tol: TOL, maxIter: MAX_ITER, backend: backend as 'js' | 'wasm' };
      const r = await convolutionalBarycenter(c.A, opts);
      assert.is(r.backend, backend, `${what}: backend`);
      assert.ok((r.status === 'converged'), `${what}: not converged after ${r.iterations} iterations (error ${r.error})`);
      closeArrays(r.barycenter, c.barycenter, PLAN_REL, `${what}: barycenter vs POT`);
    }
  });
}

for (const c of freeSupportCases) {
  test(`freeSupportBarycenter matches ot.lp.free_support_barycenter: ${c.name}`, async () => {
    const measures = c.measures.map((mu) => ({ X: mu.X, a: mu.a ?? undefined }));
    const weights = c.weights ?? undefined;
    // tol 0: run to the exact fixed point, as the fixture. Every emd plan on the way is unique (checked by the
    // generator), so the trajectory is POT's; positions differ only by roundoff of the barycentric means.
    const r = await freeSupportBarycenter(measures, { init: c.init, weights, tol: 0, maxIter: 1000 });
    assert.ok((r.status === 'converged') && r.error === 0, `${c.name}: displacement ${r.error} after ${r.iterations}`);
    assert.is(r.iterations, c.iterations, `${c.name}: iterations to the fixed point (POT: ${c.iterations})`);
    const scale = Math.max(1, maxAbs(flat(c.X).data));
    closeArrays(r.X.data, flat(c.X).data, 1e-12 * scale / maxAbs(flat(c.X).data), `${c.name}: support vs POT`);
    // POT's defaults (stopThr 1e-7, numItermax 100) are ours (tol, maxIter)
    const d = await freeSupportBarycenter(measures, { init: c.init, weights });
    closeArrays(d.X.data, flat(c.XPotDefaults).data, 1e-12 * scale / maxAbs(flat(c.XPotDefaults).data), `${c.name}: support with default options vs POT's defaults`);
  });
}

test.run();
