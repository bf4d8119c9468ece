// OT losses as tensor ops (ts/neural/losses.ts): every gradient against central differences of the loss itself,
// and against the solver's own divergence gradient; a few steps of a gradient flow decrease the divergence.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng, emd, sinkhorn, sinkhornUnbalanced, sinkhornDivergence, neural } from 'kantorovich';
import { uniforms, webgpuGate } from './helpers.js';

const gpu = await webgpuGate('losses.test');

const { tensor, parameter, grad, sinkhornLoss, entropicOTLoss, emdLoss, slicedLoss, costMatrixOTLoss, wassersteinLabelLoss, softmax, logSumExp, pairwiseSqDist } = neural;
type Tensor = InstanceType<typeof neural.Tensor>;

/** Central differences of an async scalar function of x's entries (x.data perturbed in place, restored). */
async function fdGrad(f: () => Promise<number>, x: Tensor, h: number): Promise<Float64Array> {
  const out = new Float64Array(x.size);
  for (let i = 0; i < x.size; i++) {
    const v = x.data[i];
    x.data[i] = v + h;
    const fp = await f();
    x.data[i] = v - h;
    const fm = await f();
    x.data[i] = v;
    out[i] = (fp - fm) / (2 * h);
  }
  return out;
}

function worst(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]) / (1e-3 + Math.abs(b[i])));
  return e;
}

const rng = new Rng(11);
const n = 7;
const m = 6;
const X = parameter(uniforms(rng, n * 2), [n, 2]);
const Y = parameter(uniforms(rng, m * 2, 0.3, 1.3), [m, 2]);
const tight = { reg: 0.3, tol: 1e-13, maxIter: 20000, backend: 'wasm' as const };

test('sinkhornLoss: value and gradients equal the solver, and central differences', async () => {
  const L = await sinkhornLoss(X, Y, tight);
  const ref = await sinkhornDivergence({ data: X.data, rows: n, cols: 2 }, { data: Y.data, rows: m, cols: 2 }, { ...tight, gradient: true });
  assert.ok(Math.abs(L.item() - ref.value) < 1e-15, 'value');
  const [gX, gY] = grad(L, [X, Y]);
  assert.ok(worst(gX.data, ref.gradX) < 1e-14, 'gradX = the divergence gradient');
  const f = async () => (await sinkhornLoss(X, Y, tight)).item();
  assert.ok(worst(gX.data, await fdGrad(f, X, 1e-5)) < 1e-6, 'gradX vs central differences');
  assert.ok(worst(gY.data, await fdGrad(f, Y, 1e-5)) < 1e-6, 'gradY vs central differences');
});

test('entropicOTLoss and the weight gradients along mass-preserving directions', async () => {
  const a = parameter(Float64Array.from({ length: n }, (_, i) => (1 + i) / ((n * (n + 1)) / 2)), [n]);
  const L = await entropicOTLoss(X, Y, { ...tight, a });
  const [gX, ga] = grad(L, [X, a]);
  const f = async () => (await entropicOTLoss(X, Y, { ...tight, a })).item();
  assert.ok(worst(gX.data, await fdGrad(f, X, 1e-5)) < 1e-6, 'gradX vs central differences');
  // the weights' gradient is defined up to a constant (the mass is fixed): test a direction summing to 0
  const dir = Float64Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 1 : -1) * (i + 1));
  let s = 0;
  for (const x of dir) s += x;
  for (let i = 0; i < n; i++) dir[i] -= s / n;
  const h = 1e-6;
  const at = async (t: number) => {
    const w = a.data.map((x, i) => x + t * dir[i]);
    // b rescales to a's mass: keep Σa fixed along dir, so the loss is a function of a alone
    return (await entropicOTLoss(X, Y, { ...tight, a: w })).item();
  };
  const fd = ((await at(h)) - (await at(-h))) / (2 * h);
  let an = 0;
  for (let i = 0; i < n; i++) an += ga.data[i] * dir[i];
  assert.ok(Math.abs(fd - an) < 1e-6 * (1 + Math.abs(fd)), `⟨∇a, δ⟩ = ${an} vs ${fd}`);
});

test('emdLoss and slicedLoss: gradients vs central differences (generic points: unique plans)', async () => {
  const E = await emdLoss(X, Y);
  const [eX, eY] = grad(E, [X, Y]);
  const fe = async () => (await emdLoss(X, Y)).item();
  assert.ok(worst(eX.data, await fdGrad(fe, X, 1e-7)) < 1e-5, 'emd gradX');
  assert.ok(worst(eY.data, await fdGrad(fe, Y, 1e-7)) < 1e-5, 'emd gradY');
  const S = await slicedLoss(X, Y, { nProjections: 20, seed: 3 });
  const [sX] = grad(S, [X]);
  const fs = async () => (await slicedLoss(X, Y, { nProjections: 20, seed: 3 })).item();
  assert.ok(worst(sX.data, await fdGrad(fs, X, 1e-7)) < 1e-5, 'sliced gradX');
});

test('a loss composes with the graph: chain rule through a map of the points', async () => {
  // Z = 2·X: ∂L(Z)/∂X = 2 ∂L/∂Z
  const Z = neural.scale(X, 2);
  const L = await sinkhornLoss(Z, Y, tight);
  const [gX] = grad(L, [X]);
  const Zc = tensor(Z.data.slice(), [n, 2]).requireGrad();
  const [gZ] = grad(await sinkhornLoss(Zc, Y, tight), [Zc]);
  assert.ok(worst(gX.data, gZ.data.map((v) => 2 * v)) < 1e-12);
});

test('gradient flow: 20 steps of descent on sinkhornLoss move X toward Y', async () => {
  const P = parameter(uniforms(new Rng(5), 40 * 2), [40, 2]);
  const Q = tensor(uniforms(new Rng(6), 40 * 2, 2, 3), [40, 2]);
  const first = (await sinkhornLoss(P, Q, { reg: 0.05 })).item();
  let last = first;
  for (let k = 0; k < 20; k++) {
    const L = await sinkhornLoss(P, Q, { reg: 0.05 });
    last = L.item();
    const [g] = grad(L, [P]);
    // the gradient of S_ε w.r.t. a point carries its weight 1/n: step n·lr so each point moves at rate lr
    for (let i = 0; i < P.size; i++) P.data[i] -= 40 * 0.2 * g.data[i];
  }
  assert.ok(last < first * 0.2, `S_ε ${first} → ${last}`);
});

test('costMatrixOTLoss: value ⟨P*, C⟩, gradient P* = ∂(optimal objective)/∂C (central differences)', async () => {
  const C = parameter(uniforms(new Rng(8), 5 * 4, 0, 2), [5, 4]);
  const M = () => ({ data: C.data, rows: 5, cols: 4 });
  // exact: the optimal cost is piecewise linear in C, with slope P* where the plan is unique (generic C)
  const E = await costMatrixOTLoss(C);
  const ref = await emd(undefined, undefined, M());
  assert.ok(Math.abs(E.item() - ref.value) < 1e-14, 'exact value');
  const [gE] = grad(E, [C]);
  assert.ok(worst(gE.data, await fdGrad(async () => (await emd(undefined, undefined, M())).value, C, 1e-7)) < 1e-6, 'exact: P* vs FD');
  // entropic and unbalanced: P* is the gradient of the regularised objective (regValue), not of ⟨P, C⟩
  const opts = { reg: 0.2, tol: 1e-13, maxIter: 100000, backend: 'wasm' as const };
  const S = await costMatrixOTLoss(C, opts);
  const [gS] = grad(S, [C]);
  const sk = await sinkhorn(undefined, undefined, M(), { ...opts, plan: true });
  assert.ok(Math.abs(S.item() - sk.value) < 1e-12, 'entropic value = ⟨P, C⟩');
  assert.ok(worst(gS.data, await fdGrad(async () => (await sinkhorn(undefined, undefined, M(), opts)).regValue, C, 1e-5)) < 1e-6, 'entropic vs FD');
  const U = await costMatrixOTLoss(C, { ...opts, unbalanced: { regM: 0.5 } });
  const [gU] = grad(U, [C]);
  const fdU = await fdGrad(async () => (await sinkhornUnbalanced(undefined, undefined, M(), { ...opts, regM: 0.5 })).regValue, C, 1e-5);
  assert.ok(worst(gU.data, fdU) < 1e-6, 'unbalanced vs FD');
  let mass = 0;
  for (const v of gU.data) mass += v;
  assert.ok(Math.abs(mass - 1) > 0.01, `the unbalanced plan's mass is free (${mass})`);
});

test('wassersteinLabelLoss: value = OT_ε of each row (1D clouds, one-hot closed form); gradient through softmax vs FD', async () => {
  const K = 5;
  const N = 3;
  // labels at positions 0..K−1, ground metric (k − l)²: OT_ε between label histograms is OT_ε between 1D clouds
  const M = { data: Float64Array.from({ length: K * K }, (_, i) => (Math.floor(i / K) - (i % K)) ** 2), rows: K, cols: K };
  const Z = parameter(uniforms(new Rng(3), N * K, -1, 1), [N, K]);
  const T = new Float64Array(N * K);
  T.set([0.1, 0.6, 0.2, 0.05, 0.05], 0);
  T.set([0, 0, 0, 1, 0], K); // one-hot
  T.set([0.3, 0, 0.4, 0, 0.3], 2 * K);
  const opts = { reg: 0.5, tol: 1e-13, maxIter: 100000 };
  const L = await wassersteinLabelLoss(softmax(Z), T, M, opts);
  const p = softmax(Z).data;
  const pos = { data: Float64Array.from({ length: K }, (_, k) => k), rows: K, cols: 1 };
  let ref = 0;
  for (let r = 0; r < N; r++) {
    const d = await sinkhornDivergence(pos, pos, { ...opts, a: p.slice(r * K, r * K + K), b: T.slice(r * K, r * K + K), debias: false });
    ref += d.value / N;
  }
  assert.ok(Math.abs(L.item() - ref) < 1e-10, `value ${L.item()} vs ${ref}`);
  // one-hot target δ_t: the only coupling is a ⊗ δ_t, KL = 0, so OT_ε = Σ_k a_k M_kt
  const one = await wassersteinLabelLoss(tensor(p.slice(K, 2 * K), [1, K]), T.slice(K, 2 * K), M, opts);
  let closed = 0;
  for (let k = 0; k < K; k++) closed += p[K + k] * (k - 3) ** 2;
  assert.ok(Math.abs(one.item() - closed) < 1e-10, `one-hot ${one.item()} vs ${closed}`);
  const [gZ] = grad(L, [Z]);
  const f = async () => (await wassersteinLabelLoss(softmax(Z), T, M, opts)).item();
  assert.ok(worst(gZ.data, await fdGrad(f, Z, 1e-5)) < 1e-6, 'd/dlogits vs central differences');
  // the gradient w.r.t. the histograms is centred: each row sums to 0
  const P = tensor(p, [N, K]).requireGrad();
  const [gP] = grad(await wassersteinLabelLoss(P, T, M, opts), [P]);
  for (let r = 0; r < N; r++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += gP.data[r * K + k];
    assert.ok(Math.abs(s) < 1e-14, `row ${r} sums to ${s}`);
  }
});

test("sinkhornLoss gradient 'unrolled': exact for the truncated loss (FD), equal to the envelope at convergence", async () => {
  // 5 iterations: far from converged, so the unrolled gradient differs from the envelope's but matches its own FD
  const few = { reg: 0.3, gradient: 'unrolled' as const, maxIter: 5 };
  const a = parameter(Float64Array.from({ length: n }, (_, i) => (1 + i) / ((n * (n + 1)) / 2)), [n]);
  const L = await sinkhornLoss(X, Y, { ...few, a });
  const [gX, gY, ga] = grad(L, [X, Y, a]);
  const f = async () => (await sinkhornLoss(X, Y, { ...few, a })).item();
  assert.ok(worst(gX.data, await fdGrad(f, X, 1e-5)) < 1e-7, 'unrolled gradX vs central differences');
  assert.ok(worst(gY.data, await fdGrad(f, Y, 1e-5)) < 1e-7, 'unrolled gradY vs central differences');
  assert.ok(worst(ga.data, await fdGrad(f, a, 1e-6)) < 1e-6, 'unrolled grad a vs central differences (any direction)');
  const env = await sinkhornLoss(X, Y, { ...tight, a: a.data });
  const [eX] = grad(env, [X]);
  assert.ok(worst(gX.data, eX.data) > 1e-4, 'after 5 iterations the two gradients differ');
  // converged: 400 iterations at ε = 0.3 on unit-scale points
  const U = await sinkhornLoss(X, Y, { reg: 0.3, gradient: 'unrolled', maxIter: 400 });
  const E = await sinkhornLoss(X, Y, tight);
  assert.ok(Math.abs(U.item() - E.item()) < 1e-10 * (1 + E.item()), `values ${U.item()} vs ${E.item()}`);
  const [uX, uY] = grad(U, [X, Y]);
  const [vX, vY] = grad(E, [X, Y]);
  assert.ok(worst(uX.data, vX.data) < 1e-8, 'gradX unrolled = envelope at convergence');
  assert.ok(worst(uY.data, vY.data) < 1e-8, 'gradY unrolled = envelope at convergence');
  const O = await entropicOTLoss(X, Y, { reg: 0.3, gradient: 'unrolled', maxIter: 400 });
  assert.ok(Math.abs(O.item() - (await entropicOTLoss(X, Y, tight)).item()) < 1e-10, 'OT_ε value');
  let code = '';
  try {
    await sinkhornLoss(X, Y, { reg: 0.3, gradient: 'unrolled', cost: 'euclidean' });
  } catch (e) {
    code = (e as { code: string }).code;
  }
  assert.is(code, 'invalid-option');
});

test('functional: logSumExp is stable at ±1000 and differentiates (both axes); pairwiseSqDist = brute force', async () => {
  const A = parameter([1000, 999, -1000, 0.5, -Infinity, 2], [2, 3]);
  const rows = logSumExp(A, 1).data;
  assert.ok(Math.abs(rows[0] - (1000 + Math.log(1 + Math.exp(-1) + Math.exp(-2000)))) < 1e-12, `row 0: ${rows[0]}`);
  assert.ok(Math.abs(rows[1] - (2 + Math.log(1 + Math.exp(0.5 - 2)))) < 1e-12, `row 1 (a −∞ entry): ${rows[1]}`);
  const B = parameter(uniforms(new Rng(4), 12, -3, 3), [3, 4]);
  for (const axis of [0, 1] as const) {
    const err = neural.gradCheck(([x]) => logSumExp(x, axis), [B], (shape) => tensor(uniforms(new Rng(5), shape.reduce((p, q) => p * q, 1)), shape));
    assert.ok(err < 1e-8, `axis ${axis}: ${err}`);
  }
  const D = pairwiseSqDist(X, Y).data;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      const ref = (X.data[2 * i] - Y.data[2 * j]) ** 2 + (X.data[2 * i + 1] - Y.data[2 * j + 1]) ** 2;
      assert.ok(Math.abs(D[i * m + j] - ref) < 1e-12, `D[${i}, ${j}]`);
    }
});

test('bad input: a loss on a non-matrix tensor is OTError shape', async () => {
  let code = '';
  try {
    await sinkhornLoss(tensor([1, 2, 3], [3]), Y, tight);
  } catch (e) {
    code = (e as { code: string }).code;
  }
  assert.is(code, 'shape');
});

test('on wasm tensors (f64): the value and gradients of the js engine', async () => {
  const E = await neural.tensorEngine('wasm');
  const Xw = tensor(X.data, [n, 2], E).requireGrad();
  const Yw = tensor(Y.data, [m, 2], E);
  const L = await sinkhornLoss(Xw, Yw, tight);
  const Lj = await sinkhornLoss(X, Y, tight);
  assert.is(L.engine, E, 'the loss lives on the inputs engine');
  assert.ok(Math.abs((await L.itemAsync()) - Lj.item()) <= 1e-12 * Math.abs(Lj.item()), 'value');
  const [g] = grad(L, [Xw]);
  const [gj] = grad(Lj, [X]);
  assert.ok(worst(await g.read(), gj.data) < 1e-12, 'gradX through the wasm graph');
});

test('bad input: costMatrixOTLoss and wassersteinLabelLoss shapes and options are OTErrors', async () => {
  const codeOf = async (f: () => Promise<unknown>) => {
    try {
      await f();
    } catch (e) {
      return (e as { code: string }).code;
    }
    return 'none';
  };
  const C = tensor(uniforms(new Rng(1), 6), [2, 3]);
  assert.is(await codeOf(() => costMatrixOTLoss(tensor([1, 2, 3], [3]))), 'shape');
  assert.is(await codeOf(() => costMatrixOTLoss(C, { unbalanced: { regM: 1 } })), 'invalid-option');
  const M = { data: new Float64Array(9), rows: 3, cols: 3 };
  const P = tensor([0.2, 0.3, 0.5], [1, 3]);
  assert.is(await codeOf(() => wassersteinLabelLoss(P, [1, 0], M, { reg: 0.1 })), 'shape');
  assert.is(await codeOf(() => wassersteinLabelLoss(P, [1, 0, 0], { data: new Float64Array(4), rows: 2, cols: 2 }, { reg: 0.1 })), 'shape');
  assert.is(await codeOf(() => sinkhornLoss(X, Y, { reg: 0.1, gradient: 'fancy' as 'unrolled' })), 'invalid-option');
});

gpu.it('on webgpu tensors: the same value and gradients as on js (the solver runs in f64 on wasm)', async () => {
  const E = await neural.tensorEngine('webgpu');
  const Xg = tensor(X.data, [n, 2], E).requireGrad();
  const Yg = tensor(Y.data, [m, 2], E);
  const L = await sinkhornLoss(Xg, Yg, tight);
  const Lj = await sinkhornLoss(X, Y, tight);
  assert.ok(Math.abs((await L.itemAsync()) - Lj.item()) < 1e-6 * Math.abs(Lj.item()) + 1e-9, 'value (f32 round trip of the points)');
  const [g] = grad(L, [Xg]);
  const [gj] = grad(Lj, [X]);
  assert.ok(worst(await g.read(), gj.data) < 1e-4, 'gradX through the webgpu graph');
});

gpu.it("gradient 'unrolled' on webgpu tensors (f32, logSumExp's mean shift): the js engine's value and gradients", async () => {
  const E = await neural.tensorEngine('webgpu');
  const Xg = tensor(X.data, [n, 2], E).requireGrad();
  const Yg = tensor(Y.data, [m, 2], E);
  const opts = { reg: 0.3, gradient: 'unrolled' as const, maxIter: 20 };
  const L = await sinkhornLoss(Xg, Yg, opts);
  const Lj = await sinkhornLoss(X, Y, opts);
  assert.ok(Math.abs((await L.itemAsync()) - Lj.item()) < 1e-4 * Math.abs(Lj.item()) + 1e-6, `value ${await L.itemAsync()} vs ${Lj.item()}`);
  const [g] = grad(L, [Xg]);
  const [gj] = grad(Lj, [X]);
  assert.ok(worst(await g.read(), gj.data) < 1e-3, 'gradX through the unrolled webgpu graph');
});

test.run();
