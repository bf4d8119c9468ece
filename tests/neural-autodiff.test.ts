// The CPU neural-OT tensor engine (ts/neural/tensor.ts): every op's gradient against central finite differences
// (random shapes, NumPy broadcasting), second order by double backward (Hessian-vector products against finite
// differences of gradients, closed-form second derivatives of softplus / sigmoid / tanh / leaky relu, mixed
// derivatives ∂_W⟨∇ₓf, r⟩), graph semantics (accumulation, pruning, noGrad, createGraph, unused inputs), a
// negative control (a deliberately wrong backward rule is caught), and Adam (exact first steps with bias
// correction; convergence on a convex quadratic).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from '../ts/rng.js';
import { OTError } from '../ts/errors.js';
import * as T from '../ts/neural/tensor.js';
import { Tensor } from '../ts/neural/tensor.js';
import { gradCheck, hvp, maxScaledError } from '../ts/neural/gradcheck.js';
import { Adam } from '../ts/neural/optim.js';
import { randomArray } from './helpers.js';

const TOL = 1e-7;

function rand(rng: Rng, shape: number[], lo = -1, hi = 1, awayFromZero = 0): Tensor {
  return new Tensor(randomArray(rng, shape, lo, hi, awayFromZero), shape).requireGrad();
}

function cot(rng: Rng): (shape: number[]) => Tensor {
  return (shape) => {
    const t = rand(rng, shape);
    t.requiresGrad = false;
    return t;
  };
}

function randShape(rng: Rng, rank: number): number[] {
  return Array.from({ length: rank }, () => 1 + Math.floor(rng.uniform() * 4));
}

/** A random shape that broadcasts with s: some dims set to 1, some leading dims dropped. */
function broadcastPartner(rng: Rng, s: number[]): number[] {
  const drop = Math.floor(rng.uniform() * (s.length + 1));
  return s.slice(drop).map((d) => (rng.uniform() < 0.4 ? 1 : d));
}

test('binary ops with broadcasting: gradients match finite differences (random shapes)', () => {
  const rng = new Rng(1);
  const ops: [string, (a: Tensor, b: Tensor) => Tensor, boolean][] = [
    ['add', T.add, false],
    ['sub', T.sub, false],
    ['mul', T.mul, false],
    ['div', T.div, true],
  ];
  for (const [name, op, positiveB] of ops) {
    for (let trial = 0; trial < 12; trial++) {
      const sa = randShape(rng, 1 + Math.floor(rng.uniform() * 3));
      const sb = broadcastPartner(rng, sa);
      const [s1, s2] = trial % 2 === 0 ? [sa, sb] : [sb, sa];
      const a = rand(rng, s1);
      const b = positiveB ? rand(rng, s2, 0.5, 2) : rand(rng, s2);
      const e = gradCheck(([x, y]) => op(x, y), [a, b], cot(rng));
      assert.ok(e < TOL, `${name} [${s1}] ∘ [${s2}]: error ${e}`);
    }
  }
  // explicit cases: bias over rows, outer broadcast, scalar tensor, numbers
  const checks: [string, () => number][] = [
    ['row bias', () => gradCheck(([x, y]) => T.add(x, y), [rand(rng, [3, 4]), rand(rng, [4])], cot(rng))],
    ['outer', () => gradCheck(([x, y]) => T.mul(x, y), [rand(rng, [3, 1]), rand(rng, [1, 4])], cot(rng))],
    ['scalar', () => gradCheck(([x, y]) => T.mul(x, y), [rand(rng, []), rand(rng, [2, 3])], cot(rng))],
    ['number lhs', () => gradCheck(([x]) => T.sub(2, T.div(3, x)), [rand(rng, [2, 3], 0.5, 2)], cot(rng))],
  ];
  for (const [what, run] of checks) {
    const e = run();
    assert.ok(e < TOL, `${what}: ${e}`);
  }
  assert.equal(T.add(T.tensor([[1, 2, 3]]), T.tensor([10, 20, 30])).toArray(), [11, 22, 33]);
  assert.equal(T.mul(T.tensor([1, 2], [2, 1]), T.tensor([1, 10, 100], [1, 3])).toArray(), [1, 10, 100, 2, 20, 200]);
  assert.throws(() => T.add(T.zeros([2, 3]), T.zeros([2])), (e: unknown) => e instanceof OTError && e.code === 'shape');
});

test('unary ops: gradients match finite differences', () => {
  const rng = new Rng(2);
  const ops: [string, (x: Tensor) => Tensor, number, number][] = [
    ['neg', T.neg, -2, 2],
    ['scale', (x) => T.scale(x, -1.7), -2, 2],
    ['square', T.square, -2, 2],
    ['sqrt', T.sqrt, 0.3, 3],
    ['exp', T.exp, -2, 2],
    ['log', T.log, 0.3, 3],
    ['relu', T.relu, -2, 2],
    ['leakyRelu', (x) => T.leakyRelu(x, 0.2), -2, 2],
    ['softplus', T.softplus, -4, 4],
    ['sigmoid', T.sigmoid, -4, 4],
    ['tanh', T.tanh, -2, 2],
  ];
  for (const [name, op, lo, hi] of ops) {
    for (let trial = 0; trial < 3; trial++) {
      const x = rand(rng, randShape(rng, 1 + trial), lo, hi, 0.01);
      const e = gradCheck(([a]) => op(a), [x], cot(rng));
      assert.ok(e < TOL, `${name}: ${e}`);
    }
  }
  // forward values
  assert.equal(T.leakyRelu(T.tensor([-2, 3]), 0.1).toArray(), [-0.2, 3]);
  assert.equal(T.relu(T.tensor([-2, 3])).toArray(), [0, 3]);
  const sp = T.softplus(T.tensor([-800, 0, 800])).toArray();
  assert.ok(sp[0] >= 0 && sp[0] < 1e-300 && Math.abs(sp[1] - Math.LN2) < 1e-15 && sp[2] === 800, `softplus stable: ${sp}`);
  const sg = T.sigmoid(T.tensor([-800, 0, 800])).toArray();
  assert.equal(sg, [0, 0.5, 1]);
});

test('matmul, linear, transpose, reshape, broadcastTo, sumTo: gradients match finite differences', () => {
  const rng = new Rng(3);
  for (let trial = 0; trial < 6; trial++) {
    const [m, k, n] = randShape(rng, 3);
    let e = gradCheck(([a, b]) => T.matmul(a, b), [rand(rng, [m, k]), rand(rng, [k, n])], cot(rng));
    assert.ok(e < TOL, `matmul ${m}x${k}x${n}: ${e}`);
    e = gradCheck(([x, w, b]) => T.linear(x, w, b), [rand(rng, [m, k]), rand(rng, [k, n]), rand(rng, [n])], cot(rng));
    assert.ok(e < TOL, `linear: ${e}`);
    e = gradCheck(([x, w, b]) => T.linear(x, w, b), [rand(rng, [m, k]), rand(rng, [k, n]), rand(rng, [1, n])], cot(rng));
    assert.ok(e < TOL, `linear, bias [1, n]: ${e}`);
    for (const [transA, transB] of [[true, false], [false, true], [true, true]]) {
      const a = rand(rng, transA ? [k, m] : [m, k]);
      const b = rand(rng, transB ? [n, k] : [k, n]);
      e = gradCheck(([x, y]) => T.matmul(x, y, { transA, transB }), [a, b], cot(rng));
      assert.ok(e < TOL, `matmul transA=${transA} transB=${transB}: ${e}`);
      // the value is the product of the explicit transposes
      const want = T.matmul(transA ? T.transpose(a) : a, transB ? T.transpose(b) : b).toArray();
      assert.ok(maxScaledError(T.matmul(a, b, { transA, transB }).toArray(), want) < 1e-14, 'flags = explicit transposes');
      // second order: ∂/∂a of ⟨∂/∂b ⟨op(a)op(b), R⟩, S⟩ — rules of rules, against differences of gradients
      const R = cot(rng)([m, n]);
      const S = cot(rng)(b.shape);
      const f = (x: Tensor) =>
        T.enableGrad(() => T.sum(T.mul(T.grad(T.sum(T.mul(T.matmul(x, b, { transA, transB }), R)), [b], { createGraph: true })[0], S)));
      e = gradCheck(([x]) => f(x), [a], () => T.tensor(1));
      assert.ok(e < TOL, `matmul flags, second order: ${e}`);
    }
    e = gradCheck(([a]) => T.transpose(a), [rand(rng, [m, k])], cot(rng));
    assert.ok(e < TOL, `transpose: ${e}`);
    e = gradCheck(([a]) => T.reshape(a, [k * m]), [rand(rng, [m, k])], cot(rng));
    assert.ok(e < TOL, `reshape: ${e}`);
    e = gradCheck(([a]) => T.broadcastTo(a, [n, m, k]), [rand(rng, [m, 1])], cot(rng));
    assert.ok(e < TOL, `broadcastTo: ${e}`);
    e = gradCheck(([a]) => T.sumTo(a, [1, k]), [rand(rng, [n, m, k])], cot(rng));
    assert.ok(e < TOL, `sumTo: ${e}`);
  }
  assert.equal(T.matmul(T.tensor([[1, 2], [3, 4]]), T.tensor([[5], [6]])).toArray(), [17, 39]);
  assert.equal(T.transpose(T.tensor([[1, 2, 3], [4, 5, 6]])).shape, [3, 2]);
  assert.equal(T.transpose(T.tensor([[1, 2, 3], [4, 5, 6]])).toArray(), [1, 4, 2, 5, 3, 6]);
  assert.throws(() => T.matmul(T.zeros([2, 3]), T.zeros([2, 3])), (e: unknown) => e instanceof OTError && e.code === 'shape');
});

test('sum / mean (all, per axis, keepdims), concat and sliceLast: values and gradients', () => {
  const rng = new Rng(4);
  const x = T.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  assert.equal(T.sum(x).shape, []);
  assert.is(T.sum(x).item(), 21);
  assert.equal(T.sum(x, 0).toArray(), [5, 7, 9]);
  assert.equal(T.sum(x, 1).toArray(), [6, 15]);
  assert.equal(T.sum(x, -1, true).shape, [2, 1]);
  assert.equal(T.mean(x, 0).toArray(), [2.5, 3.5, 4.5]);
  assert.is(T.mean(x).item(), 3.5);
  assert.equal(T.concat([x, T.tensor([[7], [8]])]).toArray(), [1, 2, 3, 7, 4, 5, 6, 8]);
  assert.equal(T.sliceLast(x, 1, 3).toArray(), [2, 3, 5, 6]);
  for (let trial = 0; trial < 4; trial++) {
    const s = randShape(rng, 3);
    for (const axis of [undefined, 0, 1, 2, -1]) {
      for (const keep of [false, true]) {
        let e = gradCheck(([a]) => T.sum(a, axis, keep), [rand(rng, s)], cot(rng));
        assert.ok(e < TOL, `sum axis ${axis} keep ${keep}: ${e}`);
        e = gradCheck(([a]) => T.mean(a, axis, keep), [rand(rng, s)], cot(rng));
        assert.ok(e < TOL, `mean axis ${axis} keep ${keep}: ${e}`);
      }
    }
    const lead = s.slice(0, 2);
    let e = gradCheck(([a, b, c]) => T.concat([a, b, c]), [rand(rng, [...lead, 1]), rand(rng, [...lead, 3]), rand(rng, [...lead, 2])], cot(rng));
    assert.ok(e < TOL, `concat: ${e}`);
    e = gradCheck(([a]) => T.sliceLast(a, 1, 3), [rand(rng, [...lead, 4])], cot(rng));
    assert.ok(e < TOL, `sliceLast: ${e}`);
  }
});

test('second order: Hessian-vector products of composite functions match finite differences of gradients', () => {
  const rng = new Rng(5);
  const W1 = rand(rng, [3, 5]);
  const b1 = rand(rng, [5]);
  const W2 = rand(rng, [5, 2]);
  const c = rand(rng, [2]);
  const fns: [string, (x: Tensor) => Tensor, number, number][] = [
    ['softplus MLP', (x) => T.sum(T.matmul(T.softplus(T.linear(x, W1, b1)), W2)), -1, 1],
    ['tanh/sigmoid', (x) => T.sum(T.mul(T.tanh(T.matmul(x, W1)), T.sigmoid(T.linear(x, W1, b1)))), -1, 1],
    ['exp/log/sqrt/div', (x) => T.sum(T.div(T.log(T.add(T.exp(x), 1)), T.sqrt(T.add(T.square(x), 0.5)))), -1, 1],
    ['leaky + square', (x) => T.mean(T.square(T.leakyRelu(T.linear(x, W1, b1), 0.3))), -1, 1],
    ['concat/slice/transpose', (x) => T.sum(T.square(T.matmul(T.transpose(T.concat([x, T.sliceLast(x, 0, 2)])), T.softplus(x)))), -1, 1],
    ['broadcast + mean over axis', (x) => T.sum(T.exp(T.mean(T.mul(T.softplus(T.linear(x, W1, b1)), T.sum(x, 1, true)), 0))), -1, 1],
    ['norm-like', (x) => T.sum(T.sqrt(T.add(T.sum(T.square(T.sub(T.matmul(T.softplus(T.linear(x, W1, b1)), W2), c)), 1), 1e-3))), -1, 1],
  ];
  for (const [name, f, lo, hi] of fns) {
    for (let trial = 0; trial < 3; trial++) {
      const x = rand(rng, [4, 3], lo, hi);
      const v = rand(rng, [4, 3]);
      v.requiresGrad = false;
      const { autodiff, numeric } = hvp(f, x, v);
      const e = maxScaledError(autodiff, numeric);
      assert.ok(e < 1e-6, `${name}: HVP error ${e}`);
      assert.ok(autodiff.some((a) => Math.abs(a) > 1e-6) || name.startsWith('leaky'), `${name}: HVP is not trivially zero`);
    }
  }
});

test('second derivatives of activations equal their closed forms (diagonal Hessians by double backward)', () => {
  const xs = [-3, -1, -0.2, 0.3, 1.5, 4];
  const x = T.tensor(xs).requireGrad();
  const second = (f: (x: Tensor) => Tensor) => {
    const g = T.grad(T.sum(f(x)), [x], { createGraph: true })[0];
    return T.grad(T.sum(g), [x])[0].toArray();
  };
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const close = (got: number[], want: number[], what: string) =>
    got.forEach((gv, i) => assert.ok(Math.abs(gv - want[i]) < 1e-14, `${what}[${i}]: ${gv} vs ${want[i]}`));
  close(second(T.softplus), xs.map((v) => sig(v) * (1 - sig(v))), 'softplus″');
  close(second(T.sigmoid), xs.map((v) => sig(v) * (1 - sig(v)) * (1 - 2 * sig(v))), 'sigmoid″');
  close(second(T.tanh), xs.map((v) => -2 * Math.tanh(v) * (1 - Math.tanh(v) ** 2)), 'tanh″');
  close(second((t) => T.leakyRelu(t, 0.2)), xs.map(() => 0), 'leakyRelu″');
  close(second(T.exp), xs.map(Math.exp), 'exp″');
  close(second(T.square), xs.map(() => 2), 'square″');
  // third order through softplus: d³/dx³ = σ(1−σ)(1−2σ)
  const g1 = T.grad(T.sum(T.softplus(x)), [x], { createGraph: true })[0];
  const g2 = T.grad(T.sum(g1), [x], { createGraph: true })[0];
  const g3 = T.grad(T.sum(g2), [x])[0].toArray();
  close(g3, xs.map((v) => sig(v) * (1 - sig(v)) * (1 - 2 * sig(v))), 'softplus‴');
});

test('mixed second order: ∂/∂W of a loss containing ∇ₓf matches finite differences', () => {
  const rng = new Rng(6);
  const W = rand(rng, [3, 4]);
  const b = rand(rng, [4]);
  const u = rand(rng, [4, 1]);
  const y = rand(rng, [5, 3]);
  y.requiresGrad = false;
  const x = rand(rng, [5, 3]);
  x.requiresGrad = false;
  // f(x) = Σ softplus(xW + b)·u, T = ∇ₓf, loss = mean ‖T − y‖² + mean ⟨T, x⟩²
  const loss = () =>
    T.enableGrad(() => {
      const xin = x.detach().requireGrad();
      const f = T.sum(T.matmul(T.softplus(T.linear(xin, W, b)), u));
      const Tx = T.grad(f, [xin], { createGraph: true })[0];
      return T.add(T.mean(T.sum(T.square(T.sub(Tx, y)), 1)), T.mean(T.square(T.sum(T.mul(Tx, x), 1))));
    });
  const analytic = T.grad(loss(), [W, b, u]);
  [W, b, u].forEach((p, i) => {
    const num = new Float64Array(p.size);
    for (let j = 0; j < p.size; j++) {
      const v = p.data[j];
      p.data[j] = v + 1e-5;
      const lp = loss().item();
      p.data[j] = v - 1e-5;
      const lm = loss().item();
      p.data[j] = v;
      num[j] = (lp - lm) / 2e-5;
    }
    const e = maxScaledError(analytic[i].data, num);
    assert.ok(e < 1e-7, `param ${i}: ${e}`);
  });
});

test('negative control: a wrong backward rule is caught by the finite-difference check', () => {
  const rng = new Rng(7);
  // y = x³ with a rule of 2x² (should be 3x²)
  const cube = (x: Tensor) => T.makeOp('cube', x.data.map((v) => v ** 3), x.shape, [x], (g) => [T.mul(g, T.scale(T.square(x), 2))]);
  const e = gradCheck(([a]) => cube(a), [rand(rng, [3, 2], 0.5, 1.5)], cot(rng));
  assert.ok(e > 1e-2, `the check must fail on a wrong rule (error ${e})`);
  // a rule that is right to first order but not differentiable (raw constants) gives a wrong HVP
  const frozen = (x: Tensor) =>
    T.makeOp('cube', x.data.map((v) => v ** 3), x.shape, [x], (g) => [T.mul(g, new Tensor(x.data.map((v) => 3 * v * v), x.shape))]);
  const x = rand(rng, [2, 2], 0.5, 1.5);
  const ok1 = gradCheck(([a]) => frozen(a), [x], cot(rng));
  assert.ok(ok1 < TOL, `first order is right: ${ok1}`);
  const v = rand(rng, [2, 2]);
  const { autodiff, numeric } = hvp((t) => T.sum(frozen(t)), x, v);
  assert.ok(maxScaledError(autodiff, numeric) > 1e-2, 'a non-differentiable rule must fail the HVP check');
});

test('graph semantics: accumulation, unused inputs, createGraph, noGrad, intermediate inputs', () => {
  const x = T.tensor([1, -2, 3]).requireGrad();
  // x used several times: d/dx Σ (x·x + x + x) = 2x + 2
  const [g] = T.grad(T.sum(T.add(T.add(T.mul(x, x), x), x)), [x]);
  assert.equal(g.toArray(), [4, -2, 8]);
  assert.is(g.requiresGrad, false, 'createGraph false gives a constant');
  assert.is(g.backwardFn, null);
  const [g2] = T.grad(T.sum(T.mul(x, x)), [x], { createGraph: true });
  assert.is(g2.requiresGrad, true, 'createGraph true gives a graph node');
  // unused input
  const z = T.tensor([5]).requireGrad();
  assert.throws(() => T.grad(T.sum(x), [z]), (e: unknown) => e instanceof OTError && e.code === 'invalid-option');
  assert.equal(T.grad(T.sum(x), [z], { allowUnused: true })[0].toArray(), [0]);
  // gradOutput
  assert.equal(T.grad(T.scale(x, 2), [x], { gradOutput: T.tensor([1, 0, -1]) })[0].toArray(), [2, 0, -2]);
  // noGrad: nothing recorded; enableGrad inside noGrad records again
  const y = T.noGrad(() => T.mul(x, x));
  assert.is(y.requiresGrad, false);
  assert.is(y.parents.length, 0);
  assert.is(T.isGradEnabled(), true);
  const inner = T.noGrad(() => T.enableGrad(() => T.mul(x, x)));
  assert.is(inner.requiresGrad, true);
  // gradient w.r.t. an intermediate node (all its consumers accounted for)
  const h = T.exp(x);
  const out = T.sum(T.add(T.mul(h, h), h));
  const [gh] = T.grad(out, [h]);
  gh.toArray().forEach((v, i) => assert.ok(Math.abs(v - (2 * Math.exp(x.data[i]) + 1)) < 1e-12));
  // pruning: weights are not differentiated when only ∇ₓ is asked for (their rule is never called)
  let called = 0;
  const spy = T.makeOp('spy', Float64Array.of(1), [1], [T.tensor([1]).requireGrad()], (gg) => {
    called++;
    return [gg];
  });
  T.grad(T.sum(T.add(T.mul(x, spy), 0)), [x]);
  assert.is(called, 0, 'a branch that does not lead to the inputs is not visited');
});

test('Adam: first steps match the bias-corrected formula exactly', () => {
  const p = T.tensor([1, -1, 0.5]).requireGrad();
  const opt = new Adam([p], { lr: 0.1 });
  opt.step([T.tensor([2, -0.5, 0])]);
  // step 1: m̂ = g, v̂ = g² → Δ = −lr·g/(|g| + ε)
  const want1 = [1 - 0.1 * (2 / (2 + 1e-8)), -1 + 0.1 * (0.5 / (0.5 + 1e-8)), 0.5];
  p.toArray().forEach((v, i) => assert.ok(Math.abs(v - want1[i]) < 1e-15, `step1[${i}] ${v} vs ${want1[i]}`));
  opt.step([T.tensor([1, 1, 1])]);
  const g1 = [2, -0.5, 0];
  const want2 = want1.map((w, i) => {
    const m = 0.9 * 0.1 * g1[i] + 0.1 * 1;
    const v = 0.999 * 0.001 * g1[i] ** 2 + 0.001 * 1;
    return w - (0.1 * (m / (1 - 0.81))) / (Math.sqrt(v / (1 - 0.999 ** 2)) + 1e-8);
  });
  p.toArray().forEach((v, i) => assert.ok(Math.abs(v - want2[i]) < 1e-14, `step2[${i}] ${v} vs ${want2[i]}`));
  assert.is(opt.steps, 2);
  assert.throws(() => opt.step([]), (e: unknown) => e instanceof OTError && e.code === 'shape');
  // lrScale: the second parameter steps as an Adam of lr 0.3 would, the first as lr 0.1
  const [a, b, c] = [T.tensor([1, -1]).requireGrad(), T.tensor([0.5, 2]).requireGrad(), T.tensor([0.5, 2]).requireGrad()];
  const scaled = new Adam([a, b], { lr: 0.1, lrScale: [1, 3] });
  const alone = new Adam([c], { lr: 0.1 * 3 });
  for (const g of [[0.7, -2], [1.5, 0.25]]) {
    scaled.step([T.tensor([0.2, 0.1]), T.tensor(g)]);
    alone.step([T.tensor(g)]);
  }
  assert.equal(b.toArray(), c.toArray());
  assert.ok(Math.abs(a.toArray()[0] - (1 - 0.2)) < 1e-6, 'two steps of ~lr on a constant gradient');
  for (const lrScale of [[1], [1, 0], [1, NaN]]) {
    assert.throws(() => new Adam([a, b], { lrScale }), (e: unknown) => e instanceof OTError && e.code === 'invalid-option');
  }
});

test('Adam converges on an ill-conditioned convex quadratic', () => {
  const rng = new Rng(8);
  const d = 6;
  const B = rand(rng, [d, d]);
  B.requiresGrad = false;
  // A = BᵀB + 0.1 I (SPD), minimiser c
  const A = T.noGrad(() => T.add(T.matmul(T.transpose(B), B), T.scale(new Tensor(Float64Array.from({ length: d * d }, (_, i) => (i % (d + 1) === 0 ? 1 : 0)), [d, d]), 0.1)));
  const c = rand(rng, [1, d], -2, 2);
  c.requiresGrad = false;
  const p = T.zeros([1, d]).requireGrad();
  const f = () => {
    const r = T.sub(p, c);
    return T.scale(T.sum(T.mul(T.matmul(r, A), r)), 0.5);
  };
  const f0 = T.noGrad(f).item();
  const opt = new Adam([p], { lr: 0.05 });
  const steps = 3000;
  for (let t = 0; t < steps; t++) {
    opt.lr = 0.05 * (1 - t / steps) + 1e-4;
    opt.step(T.grad(f(), [p]));
  }
  const err = Math.max(...p.toArray().map((v, i) => Math.abs(v - c.data[i])));
  assert.ok(err < 1e-3, `‖p − c‖∞ = ${err}`);
  assert.ok(T.noGrad(f).item() < 1e-6 * f0, `f: ${f0} → ${T.noGrad(f).item()}`);
});

test.run();
