// Domain adaptation estimators (ts/da/) against POT 0.8.2's ot.da classes: tests/fixtures/pot/da-*.json, written by
// tests/fixtures/pot/generate_da.py (small seeded 2D problems, ns, nt = 28–45, two or three classes).
// Tolerances, absolute, relative to the largest entry of the compared array:
//   EMD: coupling, maps and labels 1e-12 (measured ≤ 5e-14: the optimal vertex is unique on these generic data, only
//     rounding differs); the label-aware cost 1e-12.
//   Sinkhorn: coupling, maps and soft labels 1e-7 (measured ≤ 5e-9: both sides converged to tol 1e-10 but with
//     different stopping measures, POT's ‖Pᵀ1 − b‖₂ from u = 1/n, ours ‖P1 − a‖₁ from f = 0).
//   SinkhornLpl1: 1e-7 (measured ≤ 5e-9; every majorisation step's Sinkhorn converged, one case to POT's 1e-8).
//   Unbalanced: 1e-7 (measured ≤ 2e-10; converged to 1e-10 on both sides, POT's max_iter raised from its 10).
//   Linear: A, B and the maps 1e-12 (measured ≤ 1e-14: closed form on 2 × 2 covariances).
//   Mapping: coupling, loss history and maps 1e-10 (measured ≤ 1e-11: the same conditional-gradient iterates as POT);
//     the map's coefficients 1e-10, except with a Gaussian kernel and bias, 1e-4 (measured 1e-5: K1ᵀK1 + ηKp is
//     ill-conditioned there, so L is determined to ~cond·eps while the mapped points K·L are not affected).
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EMDTransport, OTError, LinearTransport, MappingTransport, SinkhornLpl1Transport, SinkhornTransport, UnbalancedTransport, type DenseMatrix } from 'kantorovich';
import { expectOTError } from './helpers.js';

function fixture(name: string) {
  return JSON.parse(readFileSync(new URL(`../../tests/fixtures/pot/${name}`, import.meta.url), 'utf8'));
}

function maxAbs(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

/** Entry-wise |got − want| ≤ tol · max|want|; null in a fixture (JSON has no Infinity) must be Infinity. */
function closeTo(got: ArrayLike<number>, want: (number | null)[][] | (number | null)[], tol: number, what: string): void {
  const w = Float64Array.from((want as unknown[]).flat() as (number | null)[], (v) => (v === null ? Infinity : v));
  assert.is(got.length, w.length, `${what}: length`);
  const scale = Math.max(maxAbs(w.filter(Number.isFinite)), 1e-300);
  let worst = 0;
  let at = -1;
  for (let k = 0; k < w.length; k++) {
    if (!Number.isFinite(w[k])) {
      assert.is(got[k], w[k], `${what}[${k}]`);
      continue;
    }
    const e = Math.abs(got[k] - w[k]) / scale;
    if (!(e <= worst)) (worst = e), (at = k);
  }
  assert.ok(worst <= tol, `${what}: max error ${worst.toExponential(2)} (relative to ${scale.toExponential(2)}) at ${at} > ${tol}`);
}

interface Case {
  name: string;
  params: Record<string, unknown>;
  labels: 'none' | 'source' | 'both';
  Xs: number[][];
  ys: number[];
  Xt: number[][];
  yt: number[];
  Xs2: number[][];
  Xt2: number[][];
  coupling: number[][];
  cost?: number[][];
  transform: number[][];
  transformOut: number[][];
  inverseTransform: number[][];
  inverseTransformOut: number[][];
  transformLabels: number[][];
  inverseTransformLabels: number[][];
}

interface Estimator {
  fit(...args: unknown[]): Promise<unknown>;
  coupling: { toDense(): Float64Array };
  cost: DenseMatrix;
  transform(X: unknown): Promise<DenseMatrix>;
  inverseTransform(X: unknown): Promise<DenseMatrix>;
  transformLabels(y: unknown): DenseMatrix;
  inverseTransformLabels(y: unknown): DenseMatrix;
}

/** POT's parameter names → ours (the camelCase options, reg_e → reg). */
function ours(params: Record<string, unknown>): Record<string, unknown> {
  const names: Record<string, string> = {
    reg_e: 'reg', reg_cl: 'regClass', reg_m: 'regM', max_iter: 'maxIter', max_inner_iter: 'maxInnerIter', limit_max: 'limitMax',
    metric: 'cost', norm: 'norm', tol: 'tol', inner_tol: 'innerTol', mu: 'mu', eta: 'eta', bias: 'bias', sigma: 'sigma', kernel: 'kernel', reg: 'reg',
  };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) out[names[k] ?? k] = v;
  return out;
}

async function fitCase(est: Estimator, c: Case): Promise<void> {
  if (c.labels === 'both') await est.fit(c.Xs, c.ys, c.Xt, c.yt);
  else if (c.labels === 'source') await est.fit(c.Xs, c.ys, c.Xt);
  else await est.fit(c.Xs, c.Xt);
}

/** Every output of a fitted coupling estimator against the fixture case, at `tol` (coupling at `couplingTol`). */
async function checkCase(est: Estimator, c: Case, couplingTol: number, tol: number): Promise<void> {
  await fitCase(est, c);
  closeTo(est.coupling.toDense(), c.coupling, couplingTol, `${c.name} coupling`);
  if (c.cost) closeTo(est.cost.data, c.cost, 1e-12, `${c.name} cost`);
  closeTo((await est.transform(c.Xs)).data, c.transform, tol, `${c.name} transform`);
  closeTo((await est.transform(c.Xs2)).data, c.transformOut, tol, `${c.name} transform (out of sample)`);
  closeTo((await est.inverseTransform(c.Xt)).data, c.inverseTransform, tol, `${c.name} inverseTransform`);
  closeTo((await est.inverseTransform(c.Xt2)).data, c.inverseTransformOut, tol, `${c.name} inverseTransform (out of sample)`);
  closeTo(est.transformLabels(c.ys).data, c.transformLabels, tol, `${c.name} transformLabels`);
  closeTo(est.inverseTransformLabels(c.yt.map((y) => Math.max(y, 0))).data, c.inverseTransformLabels, tol, `${c.name} inverseTransformLabels`);
}

// ------------------------------------------------------------------------------------------------ EMD

const EMD = fixture('da-emd.json');

test('EMDTransport matches POT (plain, semi-supervised, euclidean/median, loglog)', async () => {
  for (const c of EMD.cases as Case[]) {
    await checkCase(new EMDTransport(ours(c.params)) as unknown as Estimator, c, 1e-12, 1e-12);
  }
});

test('EMDTransport semi-supervised: no mass on labelled pairs of different classes; a training point maps the same in or out of sample', async () => {
  const c = (EMD.cases as Case[]).find((k) => k.labels === 'both')!;
  const est = await new EMDTransport(ours(c.params)).fit(c.Xs, c.ys, c.Xt, c.yt);
  let wrong = 0;
  for (const [i, j, p] of est.coupling.entries()) if (c.yt[j] !== -1 && c.yt[j] !== c.ys[i] && p > 0) wrong += p;
  assert.is(wrong, 0, 'mass on labelled pairs of different classes');
  // the in-sample barycentric map is P·Xt / P·1, and a training point given as "new" maps the same way
  const inSample = await est.transform(c.Xs);
  const one = await est.transform([c.Xs[3].map((v) => v)].concat(c.Xs2));
  closeTo(one.data.subarray(0, 2), [inSample.data[6], inSample.data[7]], 1e-15, 'training point out of sample');
});

// ------------------------------------------------------------------------------------------------ Sinkhorn

const SINKHORN = fixture('da-sinkhorn.json');

test('SinkhornTransport matches POT (max/median/log norms, semi-supervised with limitMax Infinity and 3)', async () => {
  for (const c of SINKHORN.cases as Case[]) {
    const est = new SinkhornTransport(ours(c.params));
    await checkCase(est as unknown as Estimator, c, 1e-7, 1e-7);
    assert.is(est.result!.status, 'converged', `${c.name} status`);
  }
});

test('SinkhornTransport with limitMax Infinity puts exactly no mass on forbidden pairs', async () => {
  const c = (SINKHORN.cases as Case[]).find((k) => k.name === 'semi-inf-median')!;
  const est = await new SinkhornTransport(ours(c.params)).fit(c.Xs, c.ys, c.Xt, c.yt);
  let forbidden = 0;
  const P = est.coupling.toDense();
  const nt = c.Xt.length;
  for (let i = 0; i < c.Xs.length; i++) for (let j = 0; j < nt; j++) if (c.yt[j] !== -1 && c.yt[j] !== c.ys[i]) (forbidden++, assert.is(P[i * nt + j], 0, `P[${i}][${j}]`));
  assert.ok(forbidden > 100, `the case has forbidden pairs (${forbidden})`);
  assert.is(est.cost.data.filter((v) => v === Infinity).length, forbidden, 'cost holds Infinity there, as POT');
});

// ------------------------------------------------------------------------------------------------ Lpl1

const LPL1 = fixture('da-lpl1.json');

test('SinkhornLpl1Transport matches POT (two and three classes, semi-supervised with Infinity)', async () => {
  for (const c of LPL1.cases as Case[]) {
    const est = new SinkhornLpl1Transport(ours(c.params));
    await checkCase(est as unknown as Estimator, c, 1e-7, 1e-7);
    assert.is(est.result!.status, 'converged', `${c.name} status`);
    assert.is(est.result!.iterations, (c.params.max_iter as number | undefined) ?? 10, `${c.name} steps`);
  }
});

test('SinkhornLpl1Transport: the class penalty makes target samples take mass from fewer classes than plain Sinkhorn', async () => {
  const c = (LPL1.cases as Case[]).find((k) => k.name === 'median-cl1-3classes')!;
  // mass each target column receives from classes other than its main one
  const mixing = (P: Float64Array) => {
    const nt = c.Xt.length;
    let s = 0;
    for (let j = 0; j < nt; j++) {
      const per = [0, 0, 0];
      for (let i = 0; i < c.Xs.length; i++) per[c.ys[i]] += P[i * nt + j];
      s += per.reduce((x, y) => x + y) - Math.max(...per);
    }
    return s;
  };
  const lpl1 = await new SinkhornLpl1Transport(ours(c.params)).fit(c.Xs, c.ys, c.Xt);
  const plain = await new SinkhornTransport({ reg: c.params.reg_e as number, norm: 'median' }).fit(c.Xs, c.Xt);
  const [m1, m0] = [mixing(lpl1.coupling.toDense()), mixing(plain.coupling.toDense())];
  assert.ok(m1 < 0.5 * m0, `class mixing ${m1} with the penalty vs ${m0} without`);
  await expectOTError('shape', () => new SinkhornLpl1Transport().fit(c.Xs, c.Xt), 'no source labels');
});

// ------------------------------------------------------------------------------------------------ unbalanced

const UNBALANCED = fixture('da-unbalanced.json');

test('UnbalancedTransport matches POT (UnbalancedSinkhornTransport; semi-supervised with limitMax 10)', async () => {
  for (const c of UNBALANCED.cases as Case[]) {
    const est = new UnbalancedTransport(ours(c.params));
    await checkCase(est as unknown as Estimator, c, 1e-7, 1e-7);
    assert.is(est.result!.status, 'converged', `${c.name} status`);
  }
});

// ------------------------------------------------------------------------------------------------ linear

const LINEAR = fixture('da-linear.json');

test('LinearTransport matches POT (affine with the default reg, linear with reg 1e-3)', async () => {
  for (const c of LINEAR.cases as (Case & { A: number[][]; B: number[]; A1: number[][]; B1: number[] })[]) {
    const est = await new LinearTransport(ours(c.params)).fit(c.Xs, c.Xt);
    closeTo(est.A.data, c.A, 1e-12, `${c.name} A`);
    closeTo(est.B, c.B, 1e-12, `${c.name} B`);
    closeTo((await est.transform(c.Xs)).data, c.transform, 1e-12, `${c.name} transform`);
    closeTo((await est.transform(c.Xs2)).data, c.transformOut, 1e-12, `${c.name} transform (new points)`);
    closeTo((await est.inverseTransform(c.Xt)).data, c.inverseTransform, 1e-12, `${c.name} inverseTransform`);
    closeTo((await est.inverseTransform(c.Xt2)).data, c.inverseTransformOut, 1e-12, `${c.name} inverseTransform (new points)`);
    // the inverse undoes the map
    const back = await est.inverseTransform(await est.transform(c.Xs2));
    closeTo(back.data, c.Xs2, 1e-12, `${c.name} inverse ∘ map`);
  }
  await expectOTError('not-fitted', () => new LinearTransport().transform([[0, 0]]), 'transform before fit');
  assert.throws(() => new LinearTransport({ reg: -1 }), (e: unknown) => e instanceof OTError && e.code === 'invalid-option');
});

// ------------------------------------------------------------------------------------------------ mapping

const MAPPING = fixture('da-mapping.json');

test('MappingTransport matches POT (linear and Gaussian kernel, with and without bias)', async () => {
  for (const c of MAPPING.cases as (Case & { mapping: number[][]; loss: number[] })[]) {
    const est = await new MappingTransport(ours(c.params)).fit(c.Xs, c.Xt);
    closeTo(est.coupling.toDense(), c.coupling, 1e-10, `${c.name} coupling`);
    closeTo(est.result.loss, c.loss, 1e-10, `${c.name} loss history`);
    assert.is(est.result.iterations, c.loss.length - 1, `${c.name} steps`);
    closeTo(est.mapping.data, c.mapping, c.name === 'gaussian-bias' ? 1e-4 : 1e-10, `${c.name} mapping`);
    closeTo((await est.transform(c.Xs)).data, c.transform, 1e-10, `${c.name} transform`);
    closeTo((await est.transform(c.Xs2)).data, c.transformOut, 1e-10, `${c.name} transform (new points)`);
  }
  await expectOTError('not-fitted', () => new MappingTransport().transform([[0, 0]]), 'transform before fit');
  assert.throws(() => new MappingTransport({ kernel: 'rbf' as never }), (e: unknown) => e instanceof OTError && e.code === 'invalid-option');
});

// ------------------------------------------------------------------------------------------------ errors

test('estimators: bad options and inputs are OTErrors before any work', async () => {
  const Xs = [[0, 0], [1, 0], [0, 1]];
  const Xt = [[2, 2], [3, 2]];
  assert.throws(() => new SinkhornTransport({ reg_e: 1 } as never), (e: unknown) => e instanceof OTError && e.code === 'invalid-option' && /'reg'/.test(e.message));
  assert.throws(() => new SinkhornLpl1Transport({ reg_cl: 1 } as never), (e: unknown) => e instanceof OTError && /Did you mean 'regClass'/.test(e.message));
  assert.throws(() => new EMDTransport({ metric: 'euclidean' } as never), (e: unknown) => e instanceof OTError && /Did you mean 'cost'/.test(e.message));
  assert.throws(() => new SinkhornTransport({ reg: -1 }), (e: unknown) => e instanceof OTError && e.code === 'invalid-option');
  assert.throws(() => new SinkhornTransport({ norm: 'mean' as never }), (e: unknown) => e instanceof OTError && e.code === 'invalid-option');
  assert.throws(() => new EMDTransport({ limitMax: Infinity }), (e: unknown) => e instanceof OTError && e.code === 'invalid-option');
  assert.throws(() => new EMDTransport({ limitMax: 0 }), (e: unknown) => e instanceof OTError && e.code === 'invalid-option');
  const est = new EMDTransport();
  await expectOTError('not-fitted', () => est.transform(Xs), 'transform before fit');
  await expectOTError('not-fitted', () => est.inverseTransform(Xt), 'inverseTransform before fit');
  assert.throws(() => est.transformLabels([0, 1, 0]), (e: unknown) => e instanceof OTError && e.code === 'not-fitted');
  assert.throws(() => est.coupling, (e: unknown) => e instanceof OTError && e.code === 'not-fitted');
  await expectOTError('shape', () => est.fit(Xs, [[1, 2, 3]]), 'dimensions differ');
  await expectOTError('shape', () => est.fit(Xs, [0, 1], Xt), 'ys of the wrong length');
  await expectOTError('shape', () => est.fit(Xs, [0, 1, 0], Xt, [0]), 'yt of the wrong length');
  await expectOTError('nan', () => est.fit(Xs, [0, NaN, 1], Xt, [0, 1]), 'NaN label');
  await expectOTError('nan', () => est.fit([[0, 0], [NaN, 0]], Xt), 'NaN sample');
  await expectOTError('empty', () => est.fit([], Xt), 'no samples');
  await expectOTError('shape', () => (est.fit as (...a: unknown[]) => Promise<unknown>)(Xs), 'one argument');
  await est.fit(Xs, Xt);
  await expectOTError('shape', () => est.transform([[1, 2, 3]]), 'transform in another dimension');
  assert.throws(() => est.transformLabels([0, 1]), (e: unknown) => e instanceof OTError && e.code === 'shape');
});

test('EMDTransport between a cloud and its translate (shuffled): the plan is the matching, every point moves by the shift', async () => {
  // Σ_i ‖x_i − x_σ(i) − s‖² = Σ_i ‖x_i − x_σ(i)‖² + n‖s‖² (the cross terms cancel over a permutation): the identity matching wins
  const n = 40;
  const s = [1.5, -0.7];
  const Xs = Array.from({ length: n }, (_, i) => [Math.sin(1.3 * i) * 2, Math.cos(0.7 * i * i)]);
  const order = Array.from({ length: n }, (_, i) => (7 * i + 3) % n);
  const Xt = order.map((i) => [Xs[i][0] + s[0], Xs[i][1] + s[1]]);
  const est = await new EMDTransport().fit(Xs, Xt);
  closeTo((await est.transform(Xs)).data, Xs.map((x) => [x[0] + s[0], x[1] + s[1]]), 1e-14, 'transform');
  closeTo((await est.inverseTransform(Xt)).data, order.map((i) => Xs[i]), 1e-14, 'inverseTransform');
  const fresh = [[0.1, 0.2], [-3, 4]];
  closeTo((await est.transform(fresh)).data, fresh.map((x) => [x[0] + s[0], x[1] + s[1]]), 1e-14, 'new points move by the shift');
});

test('semi-supervised cost as POT: only classes present in ys block, −1 blocks nothing', async () => {
  const Xs = [[0, 0], [1, 0], [0, 1]];
  const Xt = [[2, 2], [3, 2], [2, 3], [3, 3]];
  const est = await new EMDTransport({ limitMax: 7 }).fit(Xs, [0, 1, -1], Xt, [1, 2, -1, 0]);
  const plain = await new EMDTransport().fit(Xs, Xt);
  const max = Math.max(...plain.cost.data);
  // row 0 (class 0) is blocked from target 0 (class 1); row 1 (class 1) from target 3 (class 0); class 2 occurs only in
  // yt, so target 1 is blocked for nobody (POT loops over the classes of ys); row 2 and target 2 are unlabelled
  const blocked = new Set([0 * 4 + 0, 1 * 4 + 3]);
  for (let t = 0; t < 12; t++) assert.is(est.cost.data[t], blocked.has(t) ? 7 * max : plain.cost.data[t], `cost[${t}]`);
});

test('fit(Xs, Xt) and fit(Xs, undefined, Xt) agree; fit resolves to the estimator; fitTransform = transform', async () => {
  const c = (EMD.cases as Case[])[0];
  const a = new EMDTransport();
  assert.is(await a.fit(c.Xs, c.Xt), a);
  const b = await new EMDTransport().fit(c.Xs, undefined, c.Xt);
  closeTo(a.coupling.toDense(), Array.from(b.coupling.toDense()), 0, 'same coupling');
  const ft = await new EMDTransport().fitTransform(c.Xs, c.Xt);
  closeTo(ft.data, c.transform, 1e-12, 'fitTransform');
});

test.run();
