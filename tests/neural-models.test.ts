// Models of the CPU neural-OT engine (ts/neural/models.ts): ICNN gradients and Hessian-vector products against
// finite differences, the gradient of a Makkuva-style loss containing T = ∇ₓg w.r.t. g's weights against finite
// differences, convexity kept under training (hidden-to-hidden weights ≥ 0 after every projected Adam step;
// midpoint convexity along random segments; vᵀHv ≥ 0), a negative control (a negative weight breaks convexity
// and the checks see it), save/load round trips (bit-identical outputs through JSON), seeded initialisation.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from '../ts/rng.js';
import { OTError } from '../ts/errors.js';
import * as T from '../ts/neural/tensor.js';
import { Tensor } from '../ts/neural/tensor.js';
import { gradCheck, hvp, maxScaledError, numericGrad } from '../ts/neural/gradcheck.js';
import { Adam } from '../ts/neural/optim.js';
import { ICNN, MLP, celu } from '../ts/neural/models.js';

function rand(rng: Rng, shape: number[], lo = -1, hi = 1): Tensor {
  let n = 1;
  for (const d of shape) n *= d;
  return new Tensor(Float64Array.from({ length: n }, () => lo + (hi - lo) * rng.uniform()), shape);
}

/** Midpoint convexity of g along `k` random segments (largest violation g(mid) − avg, ≤ 0 for convex g). */
function midpointViolation(g: ICNN, rng: Rng, k: number, dim: number, spread = 2): number {
  const a = rand(rng, [k, dim], -spread, spread);
  const b = rand(rng, [k, dim], -spread, spread);
  const m = T.scale(T.add(a, b), 0.5);
  const [ga, gb, gm] = T.noGrad(() => [g.forward(a), g.forward(b), g.forward(m)]);
  let worst = -Infinity;
  for (let i = 0; i < k; i++) worst = Math.max(worst, gm.data[i] - 0.5 * (ga.data[i] + gb.data[i]));
  return worst;
}

/** Smallest vᵀ∇²g(x)v over random points and directions (one point per row; g's rows are independent). */
function minCurvature(g: ICNN, rng: Rng, k: number, dim: number): number {
  const x = rand(rng, [k, dim], -2, 2).requireGrad();
  const v = rand(rng, [k, dim]);
  const Tx = T.grad(T.sum(g.forward(x)), [x], { createGraph: true })[0];
  const Hv = T.grad(T.sum(T.mul(Tx, v)), [x], { allowUnused: true })[0];
  let worst = Infinity;
  for (let i = 0; i < k; i++) {
    let q = 0;
    for (let j = 0; j < dim; j++) q += v.data[i * dim + j] * Hv.data[i * dim + j];
    worst = Math.min(worst, q);
  }
  return worst;
}

test('seeded initialisation is reproducible; different seeds differ; hidden-to-hidden weights start ≥ 0', () => {
  const a = new ICNN(3, [8, 8], { seed: 42 });
  const b = new ICNN(3, [8, 8], { seed: 42 });
  const c = new ICNN(3, [8, 8], { seed: 43 });
  a.parameters().forEach((p, i) => assert.equal(p.toArray(), b.parameters()[i].toArray(), `param ${i}`));
  assert.ok(a.parameters().some((p, i) => p.toArray().some((v, j) => v !== c.parameters()[i].data[j])), 'seed changes weights');
  for (const w of a.wz) assert.ok(w.toArray().every((v) => v >= 0));
  assert.equal(a.parameters().map((p) => p.shape), [[3, 8], [8], [3, 8], [8], [3, 1], [1], [8, 8], [8, 1]]);
  const m1 = new MLP([2, 5, 3], { seed: 1, activation: 'tanh' });
  const m2 = new MLP([2, 5, 3], { seed: 1, activation: 'tanh' });
  m1.parameters().forEach((p, i) => assert.equal(p.toArray(), m2.parameters()[i].toArray()));
  // PyTorch-default bounds U(±1/√fan_in)
  assert.ok(m1.weights[0].toArray().every((v) => Math.abs(v) <= 1 / Math.sqrt(2)));
  assert.ok(m1.weights[1].toArray().every((v) => Math.abs(v) <= 1 / Math.sqrt(5)));
  assert.throws(() => new ICNN(2, [4], { alpha: -0.1 }), (e: unknown) => e instanceof OTError && e.code === 'invalid-option');
  assert.throws(() => new ICNN(2, [4], { activation: 'tanh' as 'softplus' }), (e: unknown) => e instanceof OTError && e.code === 'invalid-option');
  assert.throws(() => new MLP([3]), (e: unknown) => e instanceof OTError && e.code === 'invalid-option');
  assert.throws(() => a.forward(T.zeros([4, 2])), (e: unknown) => e instanceof OTError && e.code === 'shape');
});

test('MLP and ICNN: weight and input gradients match finite differences', () => {
  const rng = new Rng(11);
  const cot = (shape: number[]) => rand(rng, shape);
  const mlp = new MLP([3, 6, 5, 2], { activation: 'softplus', seed: 3 });
  const x = rand(rng, [4, 3]).requireGrad();
  let e = gradCheck((xs) => mlp.forward(xs[0]), [x, ...mlp.parameters()], cot);
  assert.ok(e < 1e-7, `MLP: ${e}`);
  // with the learned quadratic form ½·xᵀQx (Q moved off its zero start so its gradient is not checked at 0 only)
  const mq = new MLP([3, 6, 1], { activation: 'softplus', seed: 5, quadraticForm: true });
  assert.ok(mq.parameters().includes(mq.wq!), 'Q is a trained parameter');
  mq.wq!.data.set(rand(rng, [3, 3]).data);
  e = gradCheck((xs) => mq.forward(xs[0]), [x, ...mq.parameters()], cot);
  assert.ok(e < 1e-7, `MLP with quadraticForm: ${e}`);
  // the value is the plain network's plus ½·xᵀQx, row by row
  const plain = new MLP([3, 6, 1], { activation: 'softplus', seed: 5 });
  const [withQ, without] = T.noGrad(() => [mq.forward(x), plain.forward(x)]);
  for (let i = 0; i < 4; i++) {
    let q = 0;
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) q += x.data[i * 3 + a] * mq.wq!.data[a * 3 + b] * x.data[i * 3 + b];
    assert.ok(Math.abs(withQ.data[i] - without.data[i] - q / 2) < 1e-12, `row ${i}: ½·xᵀQx`);
  }
  assert.throws(() => new MLP([3, 6, 2], { quadraticForm: true }), (err: unknown) => err instanceof OTError && err.code === 'invalid-option');
  assert.throws(() => new MLP([3, 6, 1], { quadraticForm: 'free' as never }), (err: unknown) => err instanceof OTError && err.code === 'invalid-option');
  // 'belowIdentity': ½‖x‖² − ½‖xL‖², L starting at the identity (so the form starts at 0), gradients by finite differences
  const mb = new MLP([3, 6, 1], { activation: 'softplus', seed: 5, quadraticForm: 'belowIdentity' });
  assert.equal(T.noGrad(() => mb.forward(x)).toArray(), without.toArray(), 'the form starts at 0');
  mb.wq!.data.set(rand(rng, [3, 3]).data);
  e = gradCheck((xs) => mb.forward(xs[0]), [x, ...mb.parameters()], cot);
  assert.ok(e < 1e-7, `MLP with quadraticForm 'belowIdentity': ${e}`);
  const withL = T.noGrad(() => mb.forward(x));
  for (let i = 0; i < 4; i++) {
    let q = 0;
    for (let b = 0; b < 3; b++) {
      let xl = 0;
      for (let a = 0; a < 3; a++) xl += x.data[i * 3 + a] * mb.wq!.data[a * 3 + b];
      q += x.data[i * 3 + b] ** 2 - xl * xl;
    }
    assert.ok(Math.abs(withL.data[i] - without.data[i] - q / 2) < 1e-12, `row ${i}: ½‖x‖² − ½‖xL‖²`);
  }
  for (const activation of ['softplus', 'leakyRelu'] as const) {
    const g = new ICNN(3, [6, 5], { activation, seed: 4, quadratic: true, quadraticForm: activation === 'softplus' ? true : 2 });
    assert.ok(g.parameters().includes(g.wq!), 'the quadratic form is a trained parameter');
    e = gradCheck((xs) => g.forward(xs[0]), [x, ...g.parameters()], cot);
    assert.ok(e < 1e-7, `ICNN ${activation}: ${e}`);
    // grad(x) = ∇ₓ Σ g
    const Tx = T.noGrad(() => g.grad(x));
    assert.is(Tx.requiresGrad, false, 'under noGrad the map is a constant');
    const num = numericGrad(() => T.sum(g.forward(x)).item(), x);
    assert.ok(maxScaledError(Tx.data, num) < 1e-7, `ICNN.grad ${activation}`);
  }
});

test('ICNN Hessian-vector products by double backward match finite differences of gradients', () => {
  const rng = new Rng(12);
  for (const dim of [1, 2, 4]) {
    const g = new ICNN(dim, [7, 6, 5], { activation: 'softplus', seed: dim });
    for (let trial = 0; trial < 3; trial++) {
      const x = rand(rng, [5, dim], -2, 2).requireGrad();
      const v = rand(rng, [5, dim]);
      const { autodiff, numeric } = hvp((t) => T.sum(g.forward(t)), x, v);
      const e = maxScaledError(autodiff, numeric);
      assert.ok(e < 1e-6, `dim ${dim}: ${e}`);
      assert.ok(autodiff.some((a) => Math.abs(a) > 1e-8), 'softplus ICNN has curvature');
    }
  }
  // the learned quadratic ½‖x·A‖² of a piecewise-linear ICNN: the Hessian is exactly c·I + A·Aᵀ
  const gq = new ICNN(3, [6, 6], { activation: 'leakyRelu', quadratic: 0.3, quadraticForm: 2, seed: 10 });
  gq.wq!.data.set(rand(rng, [3, 2]).data);
  const A = gq.wq!.data;
  const xq = rand(rng, [4, 3]).requireGrad();
  const vq = rand(rng, [4, 3]);
  const hq = hvp((t) => T.sum(gq.forward(t)), xq, vq).autodiff;
  for (let r = 0; r < 4; r++)
    for (let i = 0; i < 3; i++) {
      let want = 0.3 * vq.data[r * 3 + i];
      for (let j = 0; j < 3; j++) for (let k = 0; k < 2; k++) want += vq.data[r * 3 + j] * A[j * 2 + k] * A[i * 2 + k];
      assert.ok(Math.abs(hq[r * 3 + i] - want) < 1e-12, `quadratic-form HVP[${r}, ${i}] ${hq[r * 3 + i]} vs ${want}`);
    }
  // leaky relu: piecewise linear, so the Hessian is exactly c·I from the (c/2)‖x‖² term
  const g = new ICNN(3, [6, 6], { activation: 'leakyRelu', quadratic: 0.7, seed: 9 });
  const x = rand(rng, [4, 3]).requireGrad();
  const v = rand(rng, [4, 3]);
  const { autodiff } = hvp((t) => T.sum(g.forward(t)), x, v);
  autodiff.forEach((a, i) => assert.ok(Math.abs(a - 0.7 * v.data[i]) < 1e-12, `leaky HVP[${i}] ${a} vs ${0.7 * v.data[i]}`));
});

test('gradient of a loss containing T = ∇ₓg, w.r.t. the weights of g (and of f), matches finite differences', () => {
  const rng = new Rng(13);
  for (const activation of ['softplus', 'leakyRelu'] as const) {
    const dim = 2;
    const g = new ICNN(dim, [5, 4], { activation, seed: 21, quadratic: activation === 'leakyRelu' });
    const f = new ICNN(dim, [4], { activation: 'softplus', seed: 22 });
    const x = rand(rng, [6, dim], -1.5, 1.5);
    const y = rand(rng, [6, dim], -1.5, 1.5);
    // Makkuva et al. 2020: min_f max_g  E_x[⟨x, ∇g(x)⟩ − f(∇g(x))] + E_y[f(y)]  (here: the objective itself)
    const loss = () => {
      const Tx = g.grad(x);
      return T.add(T.mean(T.sub(T.sum(T.mul(x, Tx), 1, true), f.forward(Tx))), T.mean(f.forward(y)));
    };
    const params = [...g.parameters(), ...f.parameters()];
    // g's output bias does not enter ∇ₓg: allowUnused gives zeros for it (and finite differences agree)
    const analytic = T.grad(loss(), params, { allowUnused: true });
    params.forEach((p, i) => {
      const num = numericGrad(() => T.enableGrad(() => loss()).item(), p);
      const e = maxScaledError(analytic[i].data, num);
      assert.ok(e < 1e-6, `${activation} param ${i} [${p.shape}]: ${e}`);
    });
    // the gradient w.r.t. g's hidden-to-hidden weights is not trivially zero (they enter only through ∇ₓg)
    assert.ok(analytic[g.parameters().indexOf(g.wz[0])].toArray().some((v) => Math.abs(v) > 1e-6));
  }
});

test('ICNN stays convex under projected Adam: Wz ≥ 0 after every step, midpoint and Hessian checks', () => {
  const rng = new Rng(14);
  for (const activation of ['leakyRelu', 'softplus'] as const) {
    const dim = 2;
    const g = new ICNN(dim, [16, 16], { activation, seed: 5 });
    const opt = new Adam(g.parameters(), { lr: 0.05 });
    let clamped = 0;
    for (let step = 0; step < 40; step++) {
      const x = rand(rng, [32, dim], -2, 2);
      // a loss that drives the hidden-to-hidden weights negative: maximise the curvature-free part −g
      const loss = T.add(T.mean(g.forward(x)), T.mean(T.sum(T.square(T.sub(g.grad(x), T.scale(x, -1))), 1)));
      opt.step(T.grad(loss, g.parameters()));
      const negatives = g.wz.reduce((n, w) => n + w.toArray().filter((v) => v < 0).length, 0);
      clamped += negatives;
      g.project();
      for (const w of g.wz) assert.ok(w.toArray().every((v) => v >= 0), `step ${step}: negative hidden weight`);
    }
    assert.ok(clamped > 0, `${activation}: the optimizer did push weights negative, so the projection was exercised`);
    const mid = midpointViolation(g, rng, 400, dim);
    assert.ok(mid <= 1e-12, `${activation}: midpoint violation ${mid}`);
    const curv = minCurvature(g, rng, 200, dim);
    assert.ok(curv >= -1e-9, `${activation}: vᵀHv = ${curv}`);
  }
});

test('negative control: a negative hidden weight makes g non-convex, the checks see it, project() repairs it', () => {
  const rng = new Rng(15);
  const g = new ICNN(1, [1, 1], { activation: 'softplus', seed: 1 });
  // z1 = softplus(x), z2 = softplus(−3·z1 + 0·x), out = z2 − … : concave pieces appear
  g.wx[0].data[0] = 3;
  g.b[0].data[0] = 0;
  g.wz[0].data[0] = -3;
  g.wx[1].data[0] = 0;
  g.b[1].data[0] = 0;
  g.wz[1].data[0] = 1;
  g.wx[2].data[0] = 0;
  g.b[2].data[0] = 0;
  assert.ok(midpointViolation(g, rng, 400, 1) > 1e-4, 'midpoint check detects non-convexity');
  assert.ok(minCurvature(g, rng, 200, 1) < -1e-4, 'Hessian check detects non-convexity');
  assert.throws(() => ICNN.load(g.save()), (e: unknown) => e instanceof OTError && e.code === 'negative');
  g.project();
  assert.ok(midpointViolation(g, rng, 400, 1) <= 1e-12);
  assert.ok(minCurvature(g, rng, 200, 1) >= -1e-9);
});

test('save/load round trip through JSON gives bit-identical outputs and maps', () => {
  const rng = new Rng(16);
  const g = new ICNN(3, [9, 7], { activation: 'softplus', quadratic: 0.5, seed: 77 });
  // move the weights away from the init so a load that re-initialised would be caught
  const opt = new Adam(g.parameters(), { lr: 0.01 });
  for (let s = 0; s < 3; s++) {
    const x = rand(rng, [8, 3]);
    opt.step(T.grad(T.mean(T.square(g.forward(x))), g.parameters()));
    g.project();
  }
  const json = JSON.stringify(g.save());
  const h = ICNN.load(JSON.parse(json));
  assert.equal(h.config, g.config);
  const x = rand(rng, [10, 3]);
  const [a, b] = T.noGrad(() => [g.forward(x), h.forward(x)]);
  assert.equal(a.toArray(), b.toArray());
  assert.equal(T.noGrad(() => g.grad(x)).toArray(), T.noGrad(() => h.grad(x)).toArray());
  const fresh = new ICNN(3, [9, 7], { activation: 'softplus', quadratic: 0.5, seed: 77 });
  assert.not.equal(T.noGrad(() => fresh.forward(x)).toArray(), a.toArray(), 'training changed the outputs');

  // with the learned quadratic form (its A is saved and loaded); a save from before the option loads without it
  const gq = new ICNN(3, [5], { activation: 'softplus', quadraticForm: 2, seed: 78 });
  gq.wq!.data.set(rand(rng, [3, 2]).data);
  const hq = ICNN.load(JSON.parse(JSON.stringify(gq.save())));
  assert.equal(hq.config, gq.config);
  assert.equal(T.noGrad(() => hq.forward(x)).toArray(), T.noGrad(() => gq.forward(x)).toArray());
  const old = JSON.parse(json);
  delete old.config.quadraticRank;
  assert.is(ICNN.load(old).wq, undefined);
  assert.throws(() => new ICNN(3, [5], { quadraticForm: -1 }), (e: unknown) => e instanceof OTError && e.code === 'invalid-option');

  const mlp = new MLP([3, 4, 2], { activation: 'leakyRelu', alpha: 0.1, seed: 2 });
  const m2 = MLP.load(JSON.parse(JSON.stringify(mlp.save())));
  assert.equal(T.noGrad(() => m2.forward(x)).toArray(), T.noGrad(() => mlp.forward(x)).toArray());
  assert.is(m2.config.quadraticForm, undefined, 'a plain MLP saves no quadratic form');
  const mq = new MLP([3, 4, 1], { seed: 3, quadraticForm: true });
  mq.wq!.data.set(rand(rng, [3, 3]).data);
  const mq2 = MLP.load(JSON.parse(JSON.stringify(mq.save())));
  assert.equal(mq2.config, mq.config);
  assert.equal(T.noGrad(() => mq2.forward(x)).toArray(), T.noGrad(() => mq.forward(x)).toArray());
  const mb = new MLP([3, 4, 1], { seed: 3, quadraticForm: 'belowIdentity' });
  mb.wq!.data.set(rand(rng, [3, 3]).data);
  const mb2 = MLP.load(JSON.parse(JSON.stringify(mb.save())));
  assert.is(mb2.config.quadraticForm, 'belowIdentity');
  assert.equal(T.noGrad(() => mb2.forward(x)).toArray(), T.noGrad(() => mb.forward(x)).toArray());
  // malformed input is rejected
  const bad = JSON.parse(json);
  bad.params[0].shape = [3, 8];
  assert.throws(() => ICNN.load(bad), (e: unknown) => e instanceof OTError && e.code === 'invalid-option');
  assert.throws(() => ICNN.load(mlp.save() as never), (e: unknown) => e instanceof OTError && e.code === 'invalid-option');
  const nan = JSON.parse(json);
  nan.params[1].data[0] = null;
  assert.throws(() => ICNN.load(nan), (e: unknown) => e instanceof OTError && e.code === 'nan');
});

test('end to end: training T = ∇g (double backward every step) fits a known affine map x ↦ Ax + c, A ≻ 0', () => {
  // A symmetric positive definite, so Ax + c is the gradient of the convex ½xᵀAx + cᵀx: an ICNN can represent it
  const rng = new Rng(17);
  const A = T.tensor([[2, 0.6], [0.6, 0.5]]);
  const c = T.tensor([1, -0.5]);
  const g = new ICNN(2, [16, 16], { activation: 'softplus', seed: 1 });
  const opt = new Adam(g.parameters(), { lr: 0.01 });
  const batch = () => new Tensor(Float64Array.from({ length: 128 * 2 }, () => rng.normal()), [128, 2]);
  const mse = (x: Tensor) => T.mean(T.sum(T.square(T.sub(g.grad(x), T.add(T.matmul(x, A), c))), 1));
  const xt = batch();
  const e0 = T.noGrad(() => mse(xt).item());
  for (let s = 0; s < 300; s++) {
    opt.step(T.grad(mse(batch()), g.parameters(), { allowUnused: true }));
    g.project();
  }
  const e1 = T.noGrad(() => mse(xt).item());
  // measured: 6.7 → 0.007 after 400 steps; assert a 100-fold reduction after 300
  assert.ok(e1 < 0.01 * e0, `held-out MSE ${e0} → ${e1}`);
  for (const w of g.wz) assert.ok(w.toArray().every((v) => v >= 0));
});

test.run();

test('DenseICNN options (celu, quadratic skips of rank 1 and 2): gradients, HVPs, convexity under projected Adam, save/load', () => {
  const rng = new Rng(17);
  const cot = (shape: number[]) => rand(rng, shape);
  // celu: x above 0, eˣ − 1 below, derivative 1 / eˣ, second derivative 0 / eˣ
  const xs = new Tensor(Float64Array.of(-2, -0.5, 0.5, 2), [4]).requireGrad();
  const c = celu(xs);
  const d1 = T.grad(T.sum(c), [xs], { createGraph: true })[0];
  const d2 = T.grad(T.sum(d1), [xs])[0];
  [-2, -0.5, 0.5, 2].forEach((v, i) => {
    assert.ok(Math.abs(c.data[i] - (v > 0 ? v : Math.exp(v) - 1)) < 1e-15, `celu(${v})`);
    assert.ok(Math.abs(d1.data[i] - (v > 0 ? 1 : Math.exp(v))) < 1e-15, `celu'(${v})`);
    assert.ok(Math.abs(d2.data[i] - (v > 0 ? 0 : Math.exp(v))) < 1e-15, `celu''(${v})`);
  });
  for (const rank of [1, 2]) {
    const g = new ICNN(3, [6, 5], { activation: 'celu', layerQuadratic: rank, quadraticForm: true, seed: 20 + rank });
    assert.is(g.wqk.length, 2);
    assert.equal(g.wqk[0].shape, [3, 6 * rank]);
    const x = rand(rng, [4, 3]).requireGrad();
    const e = gradCheck((t) => g.forward(t[0]), [x, ...g.parameters()], cot);
    assert.ok(e < 1e-7, `rank ${rank}: ${e}`);
    const v = rand(rng, [4, 3]);
    const h = hvp((t) => T.sum(g.forward(t)), x, v);
    assert.ok(maxScaledError(h.autodiff, h.numeric) < 1e-6, `rank ${rank} HVP`);
    // convex after projected Adam steps that push hidden weights negative
    const opt = new Adam(g.parameters(), { lr: 0.05 });
    for (let step = 0; step < 20; step++) {
      const xb = rand(rng, [32, 3], -2, 2);
      opt.step(T.grad(T.add(T.mean(g.forward(xb)), T.mean(T.sum(T.square(T.add(g.grad(xb), xb)), 1))), g.parameters()));
      g.project();
    }
    assert.ok(midpointViolation(g, rng, 400, 3) <= 1e-12, `rank ${rank}: midpoint convexity`);
    assert.ok(minCurvature(g, rng, 200, 3) >= -1e-9, `rank ${rank}: vᵀHv ≥ 0`);
    const back = ICNN.load(JSON.parse(JSON.stringify(g.save())));
    assert.equal(back.config, g.config);
    const xt = rand(rng, [6, 3]);
    assert.equal(T.noGrad(() => back.grad(xt)).toArray(), T.noGrad(() => g.grad(xt)).toArray());
  }
  // without the option the seeded initialisation is unchanged (the skips are drawn last)
  const plain = new ICNN(3, [6, 5], { activation: 'softplus', seed: 5 });
  const withQ = new ICNN(3, [6, 5], { activation: 'softplus', seed: 5, layerQuadratic: 1 });
  plain.parameters().forEach((p, i) => assert.equal(p.toArray(), withQ.parameters()[i].toArray()));
  assert.throws(() => new ICNN(3, [5], { layerQuadratic: 1.5 }), (e: unknown) => e instanceof OTError && e.code === 'invalid-option');
});
