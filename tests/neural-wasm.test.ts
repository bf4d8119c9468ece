// The wasm tensor engine (ts/neural/wasm-engine.ts, assembly/tensor.ts) against the js engine (the oracle),
// through the one autodiff of ts/neural/tensor.ts, in both precisions: every op forward and backward on random
// inputs (broadcasting in every (m, rep) form and the js fallback), matmul at sizes that exercise the packing edges,
// the KC / NC blocking and the thin (unpacked) paths, second order (Hessian-vector products of an ICNN, ∇ₓ of an MLP differentiated w.r.t. its
// weights: the ICNN trainer's double backward), Adam, the ICNN projection, scoped disposal (no leaked storages),
// the errors, and trainICNNMap with backend 'wasm' against 'js' on a tiny seeded problem.
//
// Tolerances: |wasm − js| ≤ REL · max|js| entry by entry (helpers' closeArrays). f64: the kernels sum in another
// order (SIMD lanes, packed blocks) and exp is assembly/expf64.ts (≤ 1 ulp), so the gap is a few ulps times the
// sum lengths: 1e-12 leaves a wide margin (KANTOROVICH_TEST_VERBOSE=1 prints the worst seen: 1.5e-15 for op values,
// 6e-16 for second order, 2e-16 for the training run). f32: inputs rounded to f32 (6e-8 relative) and f32
// arithmetic through graphs a few ops deep: 1e-5 (worst seen 8e-7), 1e-4 for the second-order graphs and the
// projected ICNN steps (worst seen 4e-7).
import { execFileSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import 'kantorovich'; // registers the wasm binary
import { Rng } from '../ts/rng.js';
import * as T from '../ts/neural/tensor.js';
import { Tensor } from '../ts/neural/tensor.js';
import type { TensorEngine } from '../ts/neural/engine.js';
import { jsTensorEngine } from '../ts/neural/js-engine.js';
import { WasmTensorEngine, repeatForm, wasmTensorEngine } from '../ts/neural/wasm-engine.js';
import { tensorEngine } from '../ts/neural/engines.js';
import { ICNN, MLP } from '../ts/neural/models.js';
import { Adam } from '../ts/neural/optim.js';
import { gaussianBatchSampler, trainICNNMap } from '../ts/neural/icnn-map.js';
import { sample8Gaussians, sampleMoons, trainNOT } from '../ts/neural/index.js';
import { closeWasmThreads, wasmThreadsUnavailableReason } from '../ts/backends/wasm-threads.js';
import { expectOTError, randomArray } from './helpers.js';
import { type Input, errorTracker, on, randData } from './engine-compare.js';

const js = jsTensorEngine;
const engines: [WasmTensorEngine, number, number][] = [
  [await wasmTensorEngine('f64'), 1e-12, 1e-12],
  [await wasmTensorEngine('f32'), 1e-5, 1e-4],
];

const { close } = errorTracker(test, 'neural-wasm');

/**
 * Runs f on the js engine and on E from the same inputs, and the gradient of Σ f(xs) ⊙ R (R random, fixed) w.r.t.
 * every input; compares values and gradients.
 */
async function compareOp(E: WasmTensorEngine, rel: number, what: string, rng: Rng, inputs: Input[], f: (xs: Tensor[]) => Tensor): Promise<void> {
  const tag = `${E.precision} ${what}`;
  const xsJ = inputs.map((x) => on(js, x));
  const yJ = f(xsJ);
  const R = randData(rng, yJ.shape);
  const gJ = T.grad(T.sum(T.mul(yJ, on(js, R, false))), xsJ, { allowUnused: true });
  const xsW = inputs.map((x) => on(E, x));
  const yW = f(xsW);
  assert.equal(yW.shape, yJ.shape, `${tag}: shape`);
  assert.is(yW.engine, E, `${tag}: the result lives on the wasm engine`);
  const gW = T.grad(T.sum(T.mul(yW, on(E, R, false))), xsW, { allowUnused: true });
  close(await yW.read(), yJ.data, rel, `${tag}: value`, `${E.precision} op values`);
  for (let k = 0; k < inputs.length; k++) close(await gW[k].read(), gJ[k].data, rel, `${tag}: gradient ${k}`, `${E.precision} op gradients`);
}

function randShape(rng: Rng, rank: number, max = 5): number[] {
  return Array.from({ length: rank }, () => 1 + Math.floor(rng.uniform() * max));
}

/** A random shape that broadcasts with s: some dims set to 1, some leading dims dropped. */
function broadcastPartner(rng: Rng, s: number[]): number[] {
  const drop = Math.floor(rng.uniform() * (s.length + 1));
  return s.slice(drop).map((d) => (rng.uniform() < 0.4 ? 1 : d));
}

test('repeatForm: (m, rep) for contiguous kept dims, undefined when a stretched dim separates them', () => {
  assert.equal(repeatForm([3, 4], [3, 4]), { m: 12, rep: 1 });
  assert.equal(repeatForm([4], [3, 4]), { m: 4, rep: 1 });
  assert.equal(repeatForm([], [3, 4]), { m: 1, rep: 1 });
  assert.equal(repeatForm([3, 1], [3, 4]), { m: 3, rep: 4 });
  assert.equal(repeatForm([1, 3, 1], [2, 3, 5]), { m: 3, rep: 5 });
  assert.equal(repeatForm([3, 1, 4], [3, 1, 4]), { m: 12, rep: 1 });
  assert.is(repeatForm([2, 1, 4], [2, 3, 4]), undefined);
});

for (const [E, REL, REL2] of engines) {
  const p = E.precision;

  test(`${p}: binary ops with broadcasting equal the js engine (random shapes, values and gradients)`, async () => {
    const rng = new Rng(11);
    const ops: [string, (a: Tensor, b: Tensor) => Tensor][] = [
      ['add', T.add],
      ['sub', T.sub],
      ['mul', T.mul],
      ['div', T.div],
    ];
    for (const [name, op] of ops) {
      for (let trial = 0; trial < 10; trial++) {
        const sa = randShape(rng, 1 + Math.floor(rng.uniform() * 4));
        const sb = broadcastPartner(rng, sa);
        const [s1, s2] = trial % 2 === 0 ? [sa, sb] : [sb, sa];
        const a = randData(rng, s1);
        const b = name === 'div' ? randData(rng, s2, 0.5, 2) : randData(rng, s2);
        await compareOp(E, REL, `${name} [${s1}]·[${s2}]`, rng, [a, b], ([x, y]) => op(x, y));
      }
      // the trainers' shapes: bias rows, [n, 1] columns, long runs (SIMD bodies and tails)
      await compareOp(E, REL, `${name} [37, 65]·[65]`, rng, [randData(rng, [37, 65]), randData(rng, [65], 0.5, 2)], ([x, y]) => op(x, y));
      await compareOp(E, REL, `${name} [33, 1]·[33, 7]`, rng, [randData(rng, [33, 1]), randData(rng, [33, 7], 0.5, 2)], ([x, y]) => op(x, y));
      await compareOp(E, REL, `${name} [2, 1, 4]·[2, 3, 4] (js fallback)`, rng, [randData(rng, [2, 1, 4]), randData(rng, [2, 3, 4], 0.5, 2)], ([x, y]) => op(x, y));
    }
    await compareOp(E, REL, '1 − x', rng, [randData(rng, [3, 4])], ([x]) => T.sub(1, x));
  });

  test(`${p}: unary ops equal the js engine (values and gradients)`, async () => {
    const rng = new Rng(12);
    const ops: [string, (x: Tensor) => Tensor, number, number, number][] = [
      ['neg', T.neg, -2, 2, 0],
      ['scale', (x) => T.scale(x, -1.7), -2, 2, 0],
      ['square', T.square, -2, 2, 0],
      ['sqrt', T.sqrt, 0.2, 3, 0],
      ['exp', T.exp, -3, 3, 0],
      ['log', T.log, 0.2, 3, 0],
      ['relu', T.relu, -2, 2, 0.05],
      ['leakyRelu', (x) => T.leakyRelu(x, 0.2), -2, 2, 0.05],
      ['sigmoid', T.sigmoid, -8, 8, 0],
      ['softplus', T.softplus, -8, 8, 0],
      ['tanh', T.tanh, -4, 4, 0],
    ];
    for (const [name, op, lo, hi, away] of ops) {
      for (const shape of [[7], [3, 5], [2, 3, 4], [129]]) {
        await compareOp(E, REL, `${name} [${shape}]`, rng, [randData(rng, shape, lo, hi, away)], ([x]) => op(x));
      }
    }
    await compareOp(E, REL, 'softplus/sigmoid/tanh/exp tails', rng, [{ data: Float64Array.of(-90, -30, 30, 80, -700), shape: [5] }], ([x]) =>
      T.add(T.add(T.add(T.softplus(x), T.sigmoid(x)), T.tanh(x)), T.scale(T.exp(T.scale(x, 0.01)), 1)),
    );
  });

  test(`${p}: reductions, sumTo and broadcastTo equal the js engine`, async () => {
    const rng = new Rng(13);
    for (let trial = 0; trial < 12; trial++) {
      const s = randShape(rng, 1 + Math.floor(rng.uniform() * 3));
      const axis = Math.floor(rng.uniform() * s.length);
      const keep = trial % 2 === 0;
      await compareOp(E, REL, `sum axis ${axis} of [${s}]`, rng, [randData(rng, s)], ([x]) => T.sum(x, axis, keep));
      await compareOp(E, REL, `mean axis ${axis} of [${s}]`, rng, [randData(rng, s)], ([x]) => T.mean(x, axis, keep));
      await compareOp(E, REL, `sum of [${s}]`, rng, [randData(rng, s)], ([x]) => T.sum(x));
      const q = broadcastPartner(rng, s);
      await compareOp(E, REL, `sumTo [${s}] → [${q}]`, rng, [randData(rng, s)], ([x]) => T.sumTo(x, q));
      await compareOp(E, REL, `broadcastTo [${q}] → [${s}]`, rng, [randData(rng, q)], ([x]) => T.broadcastTo(x, s));
    }
    await compareOp(E, REL, 'mean of [1e5]', rng, [randData(rng, [100000])], ([x]) => T.mean(x));
    await compareOp(E, REL, 'sum axis 0 of [3000, 3]', rng, [randData(rng, [3000, 3])], ([x]) => T.sum(x, 0));
    await compareOp(E, REL, 'sum axis 1 of [4, 701]', rng, [randData(rng, [4, 701])], ([x]) => T.sum(x, 1, true));
    await compareOp(E, REL, 'sumTo [40, 30, 20] → [30, 1]', rng, [randData(rng, [40, 30, 20])], ([x]) => T.sumTo(x, [30, 1]));
    await compareOp(E, REL, 'sumTo [4, 3, 5] → [4, 1, 5] (js fallback)', rng, [randData(rng, [4, 3, 5])], ([x]) => T.sumTo(x, [4, 1, 5]));
  });

  test(`${p}: matmul (packed, register-tiled; every transpose and edge), linear, transpose, reshape, concat, sliceLast`, async () => {
    const rng = new Rng(14);
    for (const [m, k, n] of [
      [1, 1, 1],
      [5, 3, 2],
      [16, 16, 16],
      [37, 53, 19],
      [70, 2, 33],
      [67, 300, 9], // two KC blocks, two MC blocks, a partial panel
      [130, 257, 66],
      [33, 40, 300], // three NC column blocks
    ]) {
      await compareOp(E, REL, `matmul ${m}×${k}·${k}×${n}`, rng, [randData(rng, [m, k]), randData(rng, [k, n])], ([a, b]) => T.matmul(a, b));
      await compareOp(E, REL, `linear ${m}×${k}→${n}`, rng, [randData(rng, [m, k]), randData(rng, [k, n]), randData(rng, [n])], ([x, w, b]) => T.linear(x, w, b));
    }
    for (const [transA, transB] of [
      [true, false],
      [false, true],
      [true, true],
    ]) {
      const [m, k, n] = [21, 35, 18];
      const a = randData(rng, transA ? [k, m] : [m, k]);
      const b = randData(rng, transB ? [n, k] : [k, n]);
      await compareOp(E, REL, `matmul transA=${transA} transB=${transB}`, rng, [a, b], ([x, y]) => T.matmul(x, y, { transA, transB }));
    }
    // thin products (a side of 1 or 2: dot products, row sums, no packing), every transpose
    for (const [m, k, n] of [
      [1, 7, 9],
      [2, 37, 5],
      [9, 1, 6],
      [13, 2, 7],
      [11, 9, 1],
      [12, 33, 2],
      [40, 3, 2],
    ]) {
      for (const [transA, transB] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ]) {
        const a = randData(rng, transA ? [k, m] : [m, k]);
        const b = randData(rng, transB ? [n, k] : [k, n]);
        await compareOp(E, REL, `thin matmul ${m}×${k}·${k}×${n} transA=${transA} transB=${transB}`, rng, [a, b], ([x, y]) => T.matmul(x, y, { transA, transB }));
      }
      await compareOp(E, REL, `thin linear ${m}×${k}→${n}`, rng, [randData(rng, [m, k]), randData(rng, [k, n]), randData(rng, [n])], ([x, w, b]) => T.linear(x, w, b));
    }
    await compareOp(E, REL, 'linear, bias [1, n]', rng, [randData(rng, [9, 4]), randData(rng, [4, 5]), randData(rng, [1, 5])], ([x, w, b]) => T.linear(x, w, b));
    await compareOp(E, REL, 'transpose', rng, [randData(rng, [37, 19])], ([x]) => T.transpose(x));
    await compareOp(E, REL, 'reshape', rng, [randData(rng, [4, 6])], ([x]) => T.mul(T.reshape(x, [2, 12]), T.reshape(x, [2, 12])));
    await compareOp(E, REL, 'concat', rng, [randData(rng, [5, 2]), randData(rng, [5, 1]), randData(rng, [5, 3])], (xs) => T.square(T.concat(xs)));
    await compareOp(E, REL, 'sliceLast', rng, [randData(rng, [2, 3, 6])], ([x]) => T.mul(T.sliceLast(x, 1, 4), T.sliceLast(x, 3, 6)));
  });

  test(`${p}: second order: ICNN Hessian-vector products and the ICNN trainer's ∂(f(∇g))/∂θ_g equal js`, async () => {
    const rng = new Rng(15);
    const X = randData(rng, [40, 3]);
    const V = randData(rng, [40, 3]);
    const hvpOn = (En: TensorEngine) => {
      const net = new ICNN(3, [8, 8], { activation: 'softplus', quadratic: 0.5, seed: 3, engine: En });
      const x = on(En, X);
      const g = T.grad(T.sum(net.forward(x)), [x], { createGraph: true })[0];
      return { g, hv: T.grad(T.sum(T.mul(g, on(En, V, false))), [x])[0] };
    };
    const a = hvpOn(js);
    const b = hvpOn(E);
    close(await b.g.read(), a.g.data, REL2, 'ICNN ∇ₓg', `${p} second order`);
    close(await b.hv.read(), a.hv.data, REL2, 'ICNN Hessian-vector product', `${p} second order`);
    // the g step of trainICNNMap: loss = mean f(∇g(X)) − mean ⟨X, ∇g(X)⟩, differentiated w.r.t. g's weights
    const gStep = (En: TensorEngine) => {
      const g = new ICNN(2, [16, 16], { activation: 'softplus', quadraticForm: 2, seed: 4, engine: En });
      const f = new ICNN(2, [16, 16], { activation: 'softplus', quadraticForm: 2, seed: 5, engine: En });
      const x = on(En, X2, false);
      const Tm = g.grad(x, { createGraph: true });
      const loss = T.sub(T.mean(f.forward(Tm)), T.mean(T.sum(T.mul(x, Tm), 1)));
      return T.grad(loss, g.parameters(), { allowUnused: true });
    };
    const X2 = randData(rng, [64, 2]);
    const gj = gStep(js);
    const gw = gStep(E);
    for (let k = 0; k < gj.length; k++) close(await gw[k].read(), gj[k].data, REL2, `ICNN g-step gradient ${k}`, `${p} second order`);
  });

  test(`${p}: ∇ₓ of an MLP output differentiated w.r.t. the weights equals js`, async () => {
    const rng = new Rng(16);
    const X = randData(rng, [9, 2]);
    const Rr = randData(rng, [9, 2]);
    for (const activation of ['softplus', 'tanh', 'leakyRelu'] as const) {
      const mixed = (En: TensorEngine) => {
        const net = new MLP([2, 12, 12, 1], { activation, seed: 5, engine: En });
        const x = on(En, X);
        const gx = T.grad(T.sum(net.forward(x)), [x], { createGraph: true })[0];
        return T.grad(T.sum(T.mul(gx, on(En, Rr, false))), net.parameters(), { allowUnused: true });
      };
      const a = mixed(js);
      const b = mixed(E);
      for (let k = 0; k < a.length; k++) close(await b[k].read(), a[k].data, REL2, `${activation} MLP: ∂⟨∇ₓf, r⟩/∂θ_${k}`, `${p} second order`);
    }
  });

  test(`${p}: Adam takes the same steps as on js (with weight decay), ICNN projection keeps Wz ≥ 0`, async () => {
    const rng = new Rng(18);
    const P = randData(rng, [5, 7]);
    const Gs = Array.from({ length: 5 }, () => randData(rng, [5, 7], -3, 3));
    const run = async (En: TensorEngine) => {
      const q = on(En, P);
      const opt = new Adam([q], { lr: 0.05, beta1: 0.8, beta2: 0.95, weightDecay: 0.1 });
      for (const G of Gs) opt.step([on(En, G, false)]);
      return q.read();
    };
    close(await run(E), await run(js), REL, 'parameters after 5 Adam steps', `${p} adam`);

    const X = randData(rng, [32, 2]);
    const Rr = randData(rng, [32, 1]);
    const train = async (En: TensorEngine) => {
      const net = new ICNN(2, [8, 8], { activation: 'softplus', seed: 2, engine: En });
      const opt = new Adam(net.parameters(), { lr: 0.1 });
      const x = on(En, X, false);
      const r = on(En, Rr, false);
      let clamped = 0;
      for (let s = 0; s < 3; s++) {
        T.tidy(() => opt.step(T.grad(T.mean(T.mul(net.forward(x), r)), net.parameters())));
        if (s === 0) for (const w of net.wz) clamped += (await w.read()).filter((v) => v < 0).length;
        net.project();
      }
      return { wz: await Promise.all(net.wz.map((w) => w.read())), clamped };
    };
    const w = await train(E);
    const j = await train(js);
    assert.ok(w.clamped > 0, 'the unprojected step made some hidden weights negative (the test can fail)');
    for (const z of w.wz) assert.ok(z.every((v) => v >= 0), 'every hidden-to-hidden weight is >= 0 after project()');
    w.wz.forEach((z, k) => close(z, j.wz[k], REL2, `Wz${k} after 3 projected steps`, `${p} icnn steps`));
  });

  test(`${p}: tidy() per step keeps the live storages flat; dispose() frees; a disposed tensor is OTError('disposed')`, async () => {
    const rng = new Rng(20);
    const net = new MLP([2, 16, 1], { activation: 'softplus', seed: 1, engine: E });
    const opt = new Adam(net.parameters(), { lr: 1e-2 });
    const x = on(E, randData(rng, [64, 2]), false);
    const step = () =>
      T.tidy(() => {
        const xx = x.detach().requireGrad();
        const gx = T.grad(T.sum(net.forward(xx)), [xx], { createGraph: true })[0];
        opt.step(T.grad(T.mean(T.square(gx)), net.parameters(), { allowUnused: true }));
      });
    step();
    const after1 = E.stats();
    for (let i = 0; i < 5; i++) step();
    assert.equal(E.stats(), after1, 'no storage outlives its step');
    assert.ok(after1.liveStorages > 0, 'the parameters and moments are live');
    const t = on(E, randData(rng, [3]), false);
    assert.throws(() => t.data, (e: unknown) => (e as { code?: string }).code === 'invalid-option', 'data (sync) points to read()');
    const d = t.detach();
    t.dispose();
    assert.equal(Array.from(await d.read()).length, 3, 'a detached tensor keeps the shared storage');
    d.dispose();
    assert.equal(E.stats(), after1, 'the last release frees it');
    await expectOTError('disposed', () => t.read(), 'read after dispose');
    await expectOTError('disposed', async () => T.add(t, 1), 'an op on a disposed tensor');
    opt.dispose();
    net.dispose();
    x.dispose();
  });
}

test('engine choice: wasm is forced by name, mixing engines is an error, unknown names are invalid-option', async () => {
  const E = await tensorEngine('wasm');
  assert.instance(E, WasmTensorEngine);
  assert.is((E as WasmTensorEngine).precision, 'f64');
  await expectOTError('invalid-option', async () => T.add(T.tensor([1], [1], E), T.tensor([1], [1])), 'mixing js and wasm');
  await expectOTError('invalid-option', () => tensorEngine('wasm64' as 'wasm'), 'unknown backend');
});

test("without a wasm binary: a forced 'wasm' is OTError('backend-unavailable') before any work; the default falls back to js", () => {
  // a fresh process that imports the neural modules without the package entry, so no wasm source is registered
  const url = (m: string) => new URL(m, import.meta.url).href;
  const script = `
    const { tensorEngine } = await import(${JSON.stringify(url('../ts/neural/engines.js'))});
    const { trainICNNMap, gaussianBatchSampler } = await import(${JSON.stringify(url('../ts/neural/icnn-map.js'))});
    const out = {};
    try { await tensorEngine('wasm'); } catch (e) { out.engine = e.code; }
    out.dflt = (await tensorEngine()).name;
    let draws = 0;
    const s = gaussianBatchSampler([0], [1]);
    try { await trainICNNMap((n, r) => (draws++, s(n, r)), s, { backend: 'wasm' }); } catch (e) { out.train = e.code; }
    out.draws = draws;
    console.log(JSON.stringify(out));`;
  const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim().split('\n').pop()!);
  assert.equal(out, { engine: 'backend-unavailable', dflt: 'js', train: 'backend-unavailable', draws: 0 });
});

test('the trainers default to the wasm engine where it loads', async () => {
  assert.is((await tensorEngine()).name, 'wasm');
});

test("trainICNNMap with backend 'wasm' gives the js result on a tiny seeded problem (f64)", async () => {
  const opts = { hidden: [8, 8], batchSize: 32, iterations: 6, innerSteps: 2, seed: 3 };
  const P = gaussianBatchSampler([0, 0], [
    [1, 0.3],
    [0.3, 0.5],
  ]);
  const Q = gaussianBatchSampler([1, -1], [
    [0.6, 0],
    [0, 1.4],
  ]);
  const rj = await trainICNNMap(P, Q, { ...opts, backend: 'js' });
  const E = (await wasmTensorEngine('f64')) as WasmTensorEngine;
  const before = E.stats();
  const rw = await trainICNNMap(P, Q, { ...opts, backend: 'wasm', threads: 1 });
  assert.equal(E.stats(), before, 'training leaves no storage behind on the wasm engine');
  assert.is(rw.g.engine, jsTensorEngine, 'the trained network comes back on the js engine');
  const lj = rj.history.map((h) => h.loss);
  const lw = rw.history.map((h) => h.loss);
  close(lw, lj, 1e-10, 'the objective at every step', 'f64 training');
  const X = { data: Float64Array.from(randomArray(new Rng(9), [20, 2])), rows: 20, cols: 2 };
  close(rw.map(X).data, rj.map(X).data, 1e-10, 'the trained map at fresh points', 'f64 training');
  rw.g.parameters().forEach((t, k) => close(t.data, rj.g.parameters()[k].data, 1e-10, `g parameter ${k}`, 'f64 training'));
});

test('threads: trainNOT with its products split between 2 threads equals 1 thread bit for bit (f32 and f64), leaves no storage, and outlives dispose()', async () => {
  const why = wasmThreadsUnavailableReason();
  if (why) {
    console.log(`  skipped: threaded tensor engine (${why})`);
    return;
  }
  // batch 128 × width 64: the hidden layers' products (128 · 64 · 64 = 2^19 multiply-adds) split, the thin ones do not
  const opts = { hiddenT: [64, 64], hiddenF: [64, 64], batchSize: 128, innerSteps: 2, iterations: 3, seed: 5 };
  const eight = (n: number, rng: Rng) => sample8Gaussians(n, { seed: rng });
  const moons = (n: number, rng: Rng) => sampleMoons(n, { seed: rng });
  const X = { data: Float64Array.from(randomArray(new Rng(2), [50, 2])), rows: 50, cols: 2 };
  for (const precision of ['f32', 'f64'] as const) {
    const E1 = await wasmTensorEngine(precision, 1);
    const E2 = await wasmTensorEngine(precision, 2);
    assert.is(E1.threads, 1);
    assert.is(E2.threads, 2, `${precision}: two threads`);
    const [split, before] = [E2.splitProducts, E2.stats()];
    const one = await trainNOT(eight, moons, { ...opts, precision, threads: 1 });
    const two = await trainNOT(eight, moons, { ...opts, precision, threads: 2 });
    assert.ok(E2.splitProducts > split, `${precision}: products were split (${E2.splitProducts - split})`);
    assert.equal(E2.stats(), before, `${precision}: no storage left on the threaded engine`);
    assert.equal(two.history, one.history, `${precision}: the same losses at every step`);
    assert.equal(two.map(X).data, one.map(X).data, `${precision}: the same map`);
  }
  // dispose() closes the runtime: an engine made on it keeps working on one thread, and the next one gets new threads
  const old = await wasmTensorEngine('f32', 2);
  const A = T.tensor(randomArray(new Rng(3), [64, 64]), [64, 64], old);
  const want = Array.from(await T.matmul(A, A).read());
  await closeWasmThreads();
  const split = old.splitProducts;
  assert.equal(Array.from(await T.matmul(A, A).read()), want, 'the product after the runtime closed');
  assert.is(old.splitProducts, split, 'no split on a closed runtime');
  A.dispose();
  const fresh = await wasmTensorEngine('f32', 2);
  assert.ok(fresh !== old && fresh.threads === 2, 'a fresh runtime, a fresh engine');
});

test.run();
