// The webgpu (f32, WGSL) entropic engine against the js (f64) reference engine, on whatever adapter this
// machine has (lavapipe in CI). Without an adapter the file skips with a reason line, unless
// KANTOROVICH_REQUIRE_WEBGPU=1, where it fails.
//
// Tolerances (f32 vs f64). The engines run the same updates from the same start, so they track each other;
// the gap is f32 rounding of C, of the potentials and of the LSE sums. A plan entry depends on
// (f_i + g_j − C_ij)/ε, so potentials are compared in units of ε: |Δf|/ε ≤ POT_TOL. A relative error δ in
// (f + g − C)/ε is a relative error δ in P, so plan quantities (sums, products, the dense plan, ⟨P, C⟩) are
// compared relatively at PLAN_TOL ≈ POT_TOL, plus f32 accumulation over up to 300 terms. Observed on
// lavapipe at ε ≥ 0.02·scale: |Δf|/ε ≤ 5e-5, plan quantities ≤ 3e-5 relative; the bounds below leave a
// 10× margin or more. Small ε needs looser bounds (SMALL_REG_*).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OTError, Rng, costMatrix, pointCloud, sinkhorn, sinkhornUnbalanced } from 'kantorovich';
import { JsEntropicEngine } from '../ts/backends/js/entropic.js';
import type { EngineProblem, EntropicCost, EntropicEngine } from '../ts/entropic/engine.js';
import { gpuDevice } from '../ts/backends/webgpu.js';
import { WebGpuEntropicEngine } from '../gpu/entropic.js';
import { webgpuGate } from './helpers.js';

const POT_TOL = 5e-4;
const PLAN_TOL = 1e-3;
// At ε = 1e-3·scale the f32 rounding of (g_j − C_ij) is ~1e-4 ε per term and per iteration, and Sinkhorn
// contracts slowly there, so the potentials drift: observed 1.4e-3 ε, mostly a common shift of f against g
// (which leaves P unchanged; f_i + g_j differs by 7e-4 ε).
const SMALL_REG_POT_TOL = 1e-2;
const SMALL_REG_PLAN_TOL = 5e-3;
/** Worst observed errors per check, printed at the end with KANTOROVICH_TEST_VERBOSE=1 (to re-derive the tolerances). */
const worst = new Map<string, number>();
function note(kind: string, e: number): void {
  worst.set(kind, Math.max(worst.get(kind) ?? 0, e));
}

const { it } = await webgpuGate('webgpu-engine.test');

// ---- problems -----------------------------------------------------------------------------------------

function cloud(rng: Rng, n: number, d: number, shift = 0): Float64Array {
  return Float64Array.from({ length: n * d }, () => rng.uniform() + shift);
}

function weights(rng: Rng, n: number, zeros = false, mass = 1): Float64Array {
  const w = Float64Array.from({ length: n }, () => (zeros && rng.uniform() < 0.3 ? 0 : 0.2 + rng.uniform()));
  if (w.every((x) => x === 0)) w[0] = 1;
  const s = w.reduce((x, y) => x + y, 0);
  return w.map((x) => (mass * x) / s);
}

function denseOf(X: Float64Array, Y: Float64Array, n: number, m: number, d: number, power: number): Float64Array {
  const C = new Float64Array(n * m);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += (X[i * d + k] - Y[j * d + k]) ** 2;
      C[i * m + j] = power === 2 ? s : Math.pow(s, power / 2);
    }
  return C;
}

interface Spec {
  n: number;
  m: number;
  d?: number;
  power?: number;
  kind: 'dense' | 'points';
  method: 'scaling' | 'log';
  tau?: number;
  zeros?: boolean;
  seed?: number;
  shift?: number;
}

function makeProblem(s: Spec): EngineProblem & { scale: number } {
  const rng = new Rng(s.seed ?? 1);
  const d = s.d ?? 2;
  const power = s.power ?? 2;
  const X = cloud(rng, s.n, d, s.shift ?? 0);
  const Y = cloud(rng, s.m, d, (s.shift ?? 0) + 0.1);
  const a = weights(rng, s.n, s.zeros);
  const b = weights(rng, s.m, s.zeros, s.tau !== undefined && s.tau < 1 ? 1.7 : 1);
  const C = denseOf(X, Y, s.n, s.m, d, power);
  const scale = C.reduce((x, y) => Math.max(x, y), 0);
  const cost: EntropicCost = s.kind === 'dense' ? { kind: 'dense', C, n: s.n, m: s.m } : { kind: 'points', X, Y, n: s.n, m: s.m, d, power };
  return { cost, a, b, method: s.method, tauA: s.tau ?? 1, tauB: s.tau ?? 1, scale };
}

async function gpuEngine(p: EngineProblem): Promise<WebGpuEntropicEngine> {
  return WebGpuEntropicEngine.create(await gpuDevice(), p);
}

// ---- comparisons --------------------------------------------------------------------------------------

function maxAbs(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s = Math.max(s, Math.abs(x[i]));
  return s;
}

/** max |got − want| / max |want| (arrays of the same shape, all finite). */
function relMax(got: ArrayLike<number>, want: ArrayLike<number>, what: string): number {
  assert.is(got.length, want.length, `${what}: length`);
  let e = 0;
  for (let i = 0; i < got.length; i++) {
    assert.ok(Number.isFinite(got[i]), `${what}[${i}] = ${got[i]} is not finite`);
    e = Math.max(e, Math.abs(got[i] - want[i]));
  }
  return e / Math.max(maxAbs(want), 1e-300);
}

function closeArr(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  const e = relMax(got, want, what);
  note(what.replace(/^.*? (\S+)( \(k = \d\))?$/, '$1'), e);
  assert.ok(e <= tol, `${what}: relative error ${e.toExponential(2)} > ${tol}`);
}

function closeNum(got: number, want: number, tol: number, what: string): void {
  const e = Math.abs(got - want) / Math.max(Math.abs(want), 1e-300);
  note(what.replace(/^.* /, ''), e);
  assert.ok(Number.isFinite(got) && e <= tol, `${what}: got ${got}, want ${want} (relative error ${e.toExponential(2)} > ${tol})`);
}

/** Potentials in units of ε; −∞ exactly where the reference has −∞. */
function closePot(got: Float64Array, want: Float64Array, eps: number, what: string, tol = POT_TOL): void {
  assert.is(got.length, want.length, `${what}: length`);
  let e = 0;
  for (let i = 0; i < got.length; i++) {
    if (want[i] === -Infinity) {
      assert.is(got[i], -Infinity, `${what}[${i}]: want −∞, got ${got[i]}`);
      continue;
    }
    assert.ok(Number.isFinite(got[i]), `${what}[${i}] = ${got[i]} is not finite`);
    e = Math.max(e, Math.abs(got[i] - want[i]) / eps);
  }
  note(`potential${what.startsWith('small reg') ? ' (small reg)' : ''}`, e);
  assert.ok(e <= tol, `${what}: |Δ|/ε = ${e.toExponential(2)} > ${tol}`);
}

function randomV(rows: number, k: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: rows * k }, () => rng.uniform() * 2 - 1);
}

/** Everything an engine answers, compared: potentials, stats, marginal error, P·V, Pᵀ·V, the dense plan. */
async function compareAll(gpu: EntropicEngine, js: EntropicEngine, eps: number, what: string, potTol = POT_TOL, planTol = PLAN_TOL): Promise<void> {
  const pg = await gpu.potentials();
  const pj = await js.potentials();
  closePot(pg.f, pj.f, eps, `${what} f`, potTol);
  closePot(pg.g, pj.g, eps, `${what} g`, potTol);
  const sg = await gpu.stats();
  const sj = await js.stats();
  closeArr(sg.rowSums, sj.rowSums, planTol, `${what} rowSums`);
  closeArr(sg.colSums, sj.colSums, planTol, `${what} colSums`);
  closeNum(sg.transportCost, sj.transportCost, planTol, `${what} transportCost`);
  // the marginal error is a difference: compare it on the scale of the mass
  const mg = await gpu.marginalError();
  const mj = await js.marginalError();
  const mass = sj.rowSums.reduce((x, y) => x + y, 0);
  assert.ok(Number.isFinite(mg) && Math.abs(mg - mj) <= planTol * mass, `${what} marginalError ${mg} vs ${mj}`);
  assert.is((await gpu.planApply(new Float64Array(0), 0, false)).length, 0, `${what} P·V with k = 0`);
  for (const k of [1, 3, 4, 5]) {
    const V = randomV(gpu.m, k, 10 + k);
    closeArr(await gpu.planApply(V, k, false), await js.planApply(V, k, false), planTol, `${what} P·V (k = ${k})`);
    const W = randomV(gpu.n, k, 20 + k);
    closeArr(await gpu.planApply(W, k, true), await js.planApply(W, k, true), planTol, `${what} Pᵀ·V (k = ${k})`);
  }
  closeArr(await gpu.densePlan(), await js.densePlan(), planTol, `${what} densePlan`);
}

/** Run both engines through the same ε schedule (iterations per stage) and compare after each stage. */
async function runBoth(p: EngineProblem, schedule: [eps: number, iters: number][], what: string): Promise<{ gpu: EntropicEngine; js: EntropicEngine }> {
  const gpu = await gpuEngine(p);
  const js = new JsEntropicEngine(p);
  try {
    for (const [eps, iters] of schedule) {
      await gpu.setEps(eps);
      await js.setEps(eps);
      await gpu.iterate(iters);
      await js.iterate(iters);
      await compareAll(gpu, js, eps, `${what} ε=${eps}`);
    }
  } catch (e) {
    gpu.dispose();
    throw e;
  }
  return { gpu, js };
}

// ---- engine tests -------------------------------------------------------------------------------------

it('engine, log method, dense cost: balanced and unbalanced, odd sizes, vs js', async () => {
  for (const [n, m] of [
    [1, 1],
    [7, 5],
    [37, 53],
    [130, 67],
  ]) {
    for (const tau of [1, 0.6]) {
      const p = makeProblem({ n, m, kind: 'dense', method: 'log', tau, seed: n + m });
      const eps = 0.05 * p.scale || 0.05;
      const { gpu } = await runBoth(p, [[eps, 30]], `log dense ${n}×${m} τ=${tau}`);
      assert.is(gpu.backend, 'webgpu');
      gpu.dispose();
    }
  }
});

it('engine, scaling method, dense and points, balanced and unbalanced, vs js', async () => {
  for (const kind of ['dense', 'points'] as const) {
    for (const tau of [1, 0.5]) {
      const p = makeProblem({ n: 70, m: 45, kind, method: 'scaling', tau, seed: 3 });
      const { gpu } = await runBoth(p, [[0.05 * p.scale, 40]], `scaling ${kind} τ=${tau}`);
      gpu.dispose();
    }
  }
});

it('engine, log method, online point clouds: vs js, d ∈ {1, 3, 5}, power 1, 1.5, 2, far from the origin, unbalanced', async () => {
  for (const [d, power, shift, tau] of [
    [1, 2, 0, 1],
    [3, 1, 0, 0.6],
    [5, 2, 0, 1],
    [2, 1.5, 0, 1],
    [2, 2, 100, 0.8],
  ]) {
    const p = makeProblem({ n: 150, m: 90, d, power, kind: 'points', method: 'log', seed: d * 7 + power, shift, tau });
    const { gpu } = await runBoth(p, [[0.05 * p.scale, 25]], `points d=${d} p=${power} shift=${shift} τ=${tau}`);
    gpu.dispose();
  }
});

it('engine, online point clouds never store n × m, and equal dense mode on the same clouds', async () => {
  const n = 300;
  const m = 280;
  const pts = makeProblem({ n, m, d: 3, kind: 'points', method: 'log', seed: 5 });
  const c = pts.cost as Extract<EntropicCost, { kind: 'points' }>;
  const dense: EngineProblem = { ...pts, cost: { kind: 'dense', C: denseOf(c.X, c.Y, n, m, c.d, c.power), n, m } };
  const eps = 0.02 * pts.scale;
  const ge = await gpuEngine(pts);
  const gd = await gpuEngine(dense);
  try {
    const bytes = (e: WebGpuEntropicEngine) => e.gpuBytes;
    assert.ok(bytes(ge) < (n * m * 4) / 10, `online engine holds ${bytes(ge)} bytes of buffers for a ${n} × ${m} problem`);
    assert.ok(bytes(gd) >= n * m * 4, 'the dense engine holds the cost matrix');
    for (const e of [ge, gd]) {
      await e.setEps(eps);
      await e.iterate(40);
    }
    const a = await ge.potentials();
    const b = await gd.potentials();
    closePot(a.f, b.f, eps, 'online vs dense f');
    closePot(a.g, b.g, eps, 'online vs dense g');
    const sa = await ge.stats();
    const sb = await gd.stats();
    closeArr(sa.rowSums, sb.rowSums, PLAN_TOL, 'online vs dense rowSums');
    closeNum(sa.transportCost, sb.transportCost, PLAN_TOL, 'online vs dense cost');
    const V = randomV(m, 2, 1);
    closeArr(await ge.planApply(V, 2, false), await gd.planApply(V, 2, false), PLAN_TOL, 'online vs dense P·V');
    closeArr(await ge.densePlan(), await gd.densePlan(), PLAN_TOL, 'online vs dense plan');
  } finally {
    ge.dispose();
    gd.dispose();
  }
});

it('engine, zero weights: −∞ potentials, zero plan rows/columns, no NaN (both methods, both costs)', async () => {
  for (const method of ['log', 'scaling'] as const) {
    for (const kind of ['dense', 'points'] as const) {
      const p = makeProblem({ n: 40, m: 33, kind, method, zeros: true, seed: 9 });
      assert.ok(p.a.some((x) => x === 0) && p.b.some((x) => x === 0));
      const { gpu } = await runBoth(p, [[0.05 * p.scale, 30]], `zeros ${method} ${kind}`);
      const P = await gpu.densePlan();
      for (let i = 0; i < p.a.length; i++) if (p.a[i] === 0) for (let j = 0; j < 33; j++) assert.is(P[i * 33 + j], 0);
      const { f, g } = await gpu.potentials();
      assert.ok([...f, ...g].every((x) => !Number.isNaN(x)));
      gpu.dispose();
    }
  }
});

it('engine, small reg in log mode (1e-3 of the cost scale): finite, marginals converge, vs js', async () => {
  for (const kind of ['dense', 'points'] as const) {
    const p = makeProblem({ n: 60, m: 50, kind, method: 'log', seed: 11 });
    const reg = 1e-3 * p.scale;
    // ε-scaling down to reg, then refine
    const schedule: [number, number][] = [];
    for (let e = p.scale; e > reg; e /= 2) schedule.push([e, 10]);
    schedule.push([reg, 100]);
    const gpu = await gpuEngine(p);
    const js = new JsEntropicEngine(p);
    try {
      for (const [eps, k] of schedule) {
        await gpu.setEps(eps);
        await js.setEps(eps);
        await gpu.iterate(k);
        await js.iterate(k);
      }
      const { f, g } = await gpu.potentials();
      assert.ok([...f, ...g].every(Number.isFinite), 'finite potentials');
      const P = await gpu.densePlan();
      assert.ok(P.every(Number.isFinite), 'finite plan');
      await compareAll(gpu, js, reg, `small reg ${kind}`, SMALL_REG_POT_TOL, SMALL_REG_PLAN_TOL);
      const err = await gpu.marginalError();
      assert.ok(err < 0.05, `marginal error ${err}`);
    } finally {
      gpu.dispose();
    }
  }
});

it('engine, setEps mid-run (ε-scaling) and setPotentials, both methods', async () => {
  for (const method of ['log', 'scaling'] as const) {
    const p = makeProblem({ n: 50, m: 64, kind: 'dense', method, seed: 13 });
    const s = p.scale;
    const { gpu, js } = await runBoth(
      p,
      [
        [0.5 * s, 10],
        [0.2 * s, 10],
        [0.05 * s, 20],
      ],
      `setEps ${method}`,
    );
    // warm start from given potentials, then keep iterating
    const f = Float64Array.from({ length: p.a.length }, (_, i) => 0.01 * s * Math.sin(i));
    const g = Float64Array.from({ length: p.b.length }, (_, j) => 0.01 * s * Math.cos(j));
    await gpu.setPotentials(f, g);
    await js.setPotentials(f, g);
    await compareAll(gpu, js, 0.05 * s, `setPotentials ${method} (before iterating)`);
    await gpu.iterate(5);
    await js.iterate(5);
    await compareAll(gpu, js, 0.05 * s, `setPotentials ${method} (after iterating)`);
    gpu.dispose();
  }
});

it('engine options: transposed copy, tiny workgroups (grids spill into y, tiles of 1 point)', async () => {
  const cases: [Spec, { transposed?: boolean; workgroupSize?: number }][] = [
    [{ n: 45, m: 38, kind: 'dense', method: 'log', tau: 0.7 }, { transposed: true }],
    [{ n: 45, m: 38, kind: 'dense', method: 'scaling' }, { transposed: true, workgroupSize: 16 }],
    [{ n: 300, m: 240, kind: 'points', method: 'scaling' }, { workgroupSize: 1 }],
    [{ n: 70, m: 50, kind: 'points', method: 'log', zeros: true }, { workgroupSize: 1 }],
  ];
  for (const [spec, opts] of cases) {
    const p = makeProblem(spec);
    const gpu = await WebGpuEntropicEngine.create(await gpuDevice(), p, opts);
    const js = new JsEntropicEngine(p);
    try {
      const eps = 0.05 * p.scale;
      for (const e of [gpu, js]) {
        await e.setEps(eps);
        await e.iterate(10);
      }
      await compareAll(gpu, js, eps, `options ${JSON.stringify(opts)} ${spec.kind} ${spec.method}`);
    } finally {
      gpu.dispose();
    }
  }
});

it('engine, stats of a converged balanced plan: marginals and cost', async () => {
  const p = makeProblem({ n: 80, m: 60, kind: 'points', method: 'log', seed: 17 });
  const gpu = await gpuEngine(p);
  try {
    await gpu.setEps(0.05 * p.scale);
    await gpu.iterate(300);
    const st = await gpu.stats();
    closeArr(st.rowSums, p.a, 1e-3, 'row sums = a');
    closeArr(st.colSums, p.b, 1e-3, 'col sums = b');
    assert.ok(st.transportCost > 0 && st.transportCost < p.scale);
    assert.ok((await gpu.marginalError()) < 1e-3);
  } finally {
    gpu.dispose();
  }
});

// ---- the public API -----------------------------------------------------------------------------------

it("public sinkhorn / sinkhornUnbalanced with backend 'webgpu' vs 'js'", async () => {
  const rng = new Rng(21);
  const n = 90;
  const m = 70;
  const X = { data: cloud(rng, n, 2), rows: n, cols: 2 };
  const Y = { data: cloud(rng, m, 2, 0.2), rows: m, cols: 2 };
  const a = weights(rng, n);
  const b = weights(rng, m);
  for (const geom of [costMatrix(X, Y), pointCloud(X, Y)]) {
    for (const method of ['log', 'scaling'] as const) {
      const opts = { reg: 0.05, method, tol: 1e-5, maxIter: 2000 };
      const w = await sinkhorn(a, b, geom, { ...opts, backend: 'webgpu' });
      const j = await sinkhorn(a, b, geom, { ...opts, backend: 'js' });
      const what = `sinkhorn ${geom.kind} ${method}`;
      assert.is(w.backend, 'webgpu');
      assert.ok((w.status === 'converged'), `${what} converged (error ${w.error})`);
      closeNum(w.cost, j.cost, PLAN_TOL, `${what} cost`);
      closeNum(w.regValue, j.regValue, PLAN_TOL, `${what} regCost`);
      closeArr(w.plan!.toDense(), j.plan!.toDense(), 1e-2, `${what} plan`);
    }
  }
  const bm = b.map((x) => 1.5 * x);
  for (const method of ['log', 'scaling'] as const) {
    const u = { reg: 0.05, regM: 0.5, tol: 1e-5, maxIter: 2000, method };
    const w = await sinkhornUnbalanced(a, bm, pointCloud(X, Y), { ...u, backend: 'webgpu' });
    const j = await sinkhornUnbalanced(a, bm, pointCloud(X, Y), { ...u, backend: 'js' });
    assert.ok((w.status === 'converged'), `unbalanced ${method} converged`);
    closeNum(w.cost, j.cost, PLAN_TOL, `unbalanced ${method} cost`);
    closeNum(w.regValue, j.regValue, PLAN_TOL, `unbalanced ${method} regCost`);
  }
  // ε-scaling to a small reg in the log domain, online point clouds
  const e = await sinkhorn(a, b, pointCloud(X, Y), { reg: 2e-3, method: 'log', epsScaling: true, tol: 1e-4, maxIter: 3000, backend: 'webgpu' });
  assert.ok((e.status === 'converged') && [...e.potentials.f, ...e.potentials.g].every(Number.isFinite), `small reg: converged ${(e.status === 'converged')}, error ${e.error}`);
});

it('a dense cost with a large constant (C + 1e5) keeps its f32 accuracy on balanced problems (the engine stores C − min C)', async () => {
  const rng = new Rng(23);
  const n = 60;
  const m = 50;
  const X = { data: cloud(rng, n, 2), rows: n, cols: 2 };
  const Y = { data: cloud(rng, m, 2, 0.2), rows: m, cols: 2 };
  const a = weights(rng, n);
  const b = weights(rng, m);
  const C = costMatrix(X, Y).M.data;
  // In f32, 1e5 + c keeps c to ~0.008: at reg 0.05 that alone would be a ~15 % error in the plan.
  const shifted = { data: C.map((c) => c + 1e5), rows: n, cols: m };
  const opts = { reg: 0.05, method: 'log' as const, tol: 1e-5, maxIter: 2000 };
  const w = await sinkhorn(a, b, shifted, { ...opts, backend: 'webgpu' });
  const j = await sinkhorn(a, b, shifted, { ...opts, backend: 'js' });
  assert.ok((w.status === 'converged'), `converged (error ${w.error})`);
  closeArr(w.plan!.toDense(), j.plan!.toDense(), 1e-2, 'offset plan');
  closeNum(w.cost, j.cost, PLAN_TOL, 'offset cost');
  // the potentials come back in the caller's coordinates: P_ij = exp((f_i + g_j − C_ij)/ε)
  let worst = 0;
  for (let i = 0; i < n; i++)
    for (let k = 0; k < m; k++) {
      const p = Math.exp((w.potentials.f[i] + w.potentials.g[k] - shifted.data[i * m + k]) / opts.reg);
      worst = Math.max(worst, Math.abs(p - w.plan!.toDense()[i * m + k]));
    }
  assert.ok(worst <= 1e-2 * maxAbs(w.plan!.toDense()), `plan from the returned potentials differs by ${worst}`);
});

// ---- device loss --------------------------------------------------------------------------------------

async function codeOf(f: () => Promise<unknown>): Promise<string> {
  try {
    await f();
  } catch (e) {
    assert.instance(e, OTError, String(e));
    return (e as OTError).code;
  }
  return 'none';
}

it('setCost keeps f, g (across the stored cost\'s new offset) and rebuilds the kernel: = a fresh engine with setPotentials', async () => {
  const device = await gpuDevice();
  for (const method of ['scaling', 'log'] as const) {
    const p1 = makeProblem({ n: 23, m: 17, kind: 'dense', method, seed: 5 });
    const p2 = makeProblem({ n: 23, m: 17, kind: 'dense', method, seed: 6 });
    // a second cost whose minimum differs from the first's: the f32 offsets differ
    const C2 = (p2.cost as { C: Float64Array }).C.map((c) => c + 0.3);
    const eps = 0.1 * p1.scale;
    const e1 = await WebGpuEntropicEngine.create(device, p1);
    const e2 = await WebGpuEntropicEngine.create(device, { ...p1, cost: { kind: 'dense', C: C2, n: 23, m: 17 } });
    try {
      await e1.setEps(eps);
      await e1.iterate(7);
      const { f, g } = await e1.potentials();
      await e1.setCost(C2);
      const kept = await e1.potentials();
      assert.ok(Math.max(...f.map((x, i) => Math.abs(x - kept.f[i]))) <= 1e-6 * (1 + Math.max(...f.map(Math.abs))), `${method}: f kept across the offset`);
      await e2.setEps(eps);
      await e2.setPotentials(f, g);
      for (const e of [e1, e2]) await e.iterate(5);
      const [q1, q2] = [await e1.densePlan(), await e2.densePlan()];
      const top = Math.max(...q2);
      assert.ok(Math.max(...q1.map((x, i) => Math.abs(x - q2[i]))) <= PLAN_TOL * top, `${method}: plans after setCost and on a fresh engine`);
    } finally {
      e1.dispose();
      e2.dispose();
    }
  }
});

it('device loss: an engine whose device is destroyed rejects with device-lost; the next solve gets a fresh device', async () => {
  const p = makeProblem({ n: 40, m: 30, kind: 'points', method: 'log', seed: 23 });
  const gpu = await gpuEngine(p);
  await gpu.setEps(0.1);
  await gpu.iterate(5);
  (await gpuDevice()).destroy();
  assert.is(await codeOf(() => gpu.iterate(5)), 'device-lost');
  assert.is(await codeOf(() => gpu.potentials()), 'device-lost');
  gpu.dispose();
  const fresh = await gpuEngine(p);
  await fresh.setEps(0.1);
  await fresh.iterate(5);
  assert.ok((await fresh.potentials()).f.every(Number.isFinite));
  fresh.dispose();
});

it('device loss during and right before a public solve: device-lost, then the next call works', async () => {
  const rng = new Rng(29);
  const X = { data: cloud(rng, 60, 2), rows: 60, cols: 2 };
  const Y = { data: cloud(rng, 50, 2), rows: 50, cols: 2 };
  const geom = pointCloud(X, Y);
  // during: destroy the device from the progress callback, after the first convergence check
  const device = await gpuDevice();
  let calls = 0;
  const during = await codeOf(() =>
    sinkhorn(undefined, undefined, geom, {
      reg: 1e-3,
      method: 'log',
      tol: 0,
      maxIter: 100000,
      backend: 'webgpu',
      onProgress: () => {
        if (++calls === 1) device.destroy();
      },
    }),
  );
  assert.is(during, 'device-lost');
  const ok = await sinkhorn(undefined, undefined, geom, { reg: 0.05, method: 'log', tol: 1e-5, backend: 'webgpu' });
  assert.is(ok.backend, 'webgpu');
  assert.ok((ok.status === 'converged'));
  // right before: destroyed synchronously before the call starts. Whether the call still sees the old device
  // depends on when Dawn delivers the loss; it either rejects with device-lost or (loss already noticed) runs
  // on a fresh device and is right — never a silent wrong answer.
  const ref = await sinkhorn(undefined, undefined, geom, { reg: 0.05, method: 'log', tol: 1e-5, backend: 'js' });
  (await gpuDevice()).destroy();
  let before: Awaited<ReturnType<typeof sinkhorn>> | undefined;
  const code = await codeOf(async () => (before = await sinkhorn(undefined, undefined, geom, { reg: 0.05, method: 'log', tol: 1e-5, backend: 'webgpu' })));
  if (code === 'none') closeNum(before!.cost, ref.cost, PLAN_TOL, 'solve right after a loss');
  else assert.is(code, 'device-lost');
  // an engine created on the destroyed device itself rejects
  const dead = await gpuDevice();
  dead.destroy();
  const p = makeProblem({ n: 20, m: 10, kind: 'dense', method: 'log' });
  assert.is(await codeOf(() => WebGpuEntropicEngine.create(dead, p)), 'device-lost');
  const again = await sinkhorn(undefined, undefined, geom, { reg: 0.05, method: 'scaling', tol: 1e-5, backend: 'webgpu' });
  assert.ok((again.status === 'converged'));
});

if (process.env.KANTOROVICH_TEST_VERBOSE === '1') {
  test('(worst observed errors)', () => {
    for (const [k, e] of [...worst].sort()) console.log(`  ${k}: ${e.toExponential(2)}`);
  });
}

test.run();
