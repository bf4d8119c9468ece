// The solver registry (ts/solvers/index.ts) walked as data: every solver rejects unknown and out-of-range options
// with OTError('invalid-option') before any work, returns the common result fields, has its plan as a Coupling,
// and never lets anything but an OTError out of a public call.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as K from 'kantorovich';
import { Coupling, OTError } from 'kantorovich';
import { SOLVERS } from '../ts/registry/registry.js';
import { dispatchCounters } from '../ts/registry/define.js';
import { engineCounters } from '../ts/entropic/select.js';
import { closestOption } from '../ts/registry/schema.js';

const X = [[0, 0], [1, 0], [0, 1]];
const Y = [[0.1, 0.2], [0.9, 0.1], [0.3, 0.8], [0.5, 0.5]];
const M = [[0, 1, 2, 1], [1, 0, 1, 2], [2, 1, 0, 1]];
const H = [[0.2, 0.3, 0.5], [0.5, 0.25, 0.25]];
const C3 = [[0, 1, 4], [1, 0, 1], [4, 1, 0]];
const spec = { kind: 'gaussian' as const, mean: [0, 0], cov: [[1, 0], [0, 1]] };

/** A small valid call of each solver: the positional arguments and the options. Every registered solver needs one. */
const EXAMPLES: Record<string, { args: unknown[]; opts: Record<string, unknown>; plan?: boolean }> = {
  emd: { args: [undefined, undefined, M], opts: {}, plan: true },
  emd1d: { args: [[0, 1, 2], [0.5, 1.5]], opts: {}, plan: true },
  wasserstein1d: { args: [[0, 1, 2], [0.5, 1.5]], opts: {} },
  slicedWasserstein: { args: [X, Y], opts: { nProjections: 8 } },
  maxSlicedWasserstein: { args: [X, Y], opts: { nProjections: 8 } },
  sinkhorn: { args: [undefined, undefined, M], opts: { reg: 0.5 }, plan: true },
  sinkhornUnbalanced: { args: [undefined, undefined, M], opts: { reg: 0.5, regM: 1 }, plan: true },
  sinkhornDivergence: { args: [X, Y], opts: { reg: 0.5 } },
  barycenter: { args: [H, C3], opts: { reg: 0.5 } },
  convolutionalBarycenter: { args: [[[0, 1, 0, 0], [0, 0, 0, 1]]], opts: { reg: 0.5, width: 2, height: 2 } },
  freeSupportBarycenter: { args: [[{ X }, { X: Y }]], opts: { k: 2 } },
  minibatchOT: { args: [X, Y], opts: { batchSize: 2, nBatches: 3, plan: true }, plan: true },
  gaussianW2: { args: [{ mean: [0, 0], cov: [[1, 0.2], [0.2, 1]] }, { mean: [1, 0], cov: [[2, 0], [0, 1]] }], opts: {} },
  linearMap: { args: [X, Y], opts: {} },
  gaussianBarycenter: { args: [[{ mean: [0, 0], cov: [[1, 0], [0, 1]] }, { mean: [1, 0], cov: [[2, 0], [0, 1]] }]], opts: {} },
  partialWasserstein: { args: [undefined, undefined, M], opts: { mass: 0.5 }, plan: true },
  gromovWasserstein: { args: [C3, C3], opts: {}, plan: true },
  weakOT: { args: [X, Y], opts: {}, plan: true },
  lpBarycenter: { args: [H, C3], opts: {} },
  sinkhornBatch: { args: [[{ M }, { M: C3 }]], opts: { reg: 0.5 } },
  emdBatch: { args: [[{ M }, { M: C3 }]], opts: {} },
  wasserstein1dBatch: { args: [[{ x: [0, 1, 2], y: [0.5, 1.5] }, { x: [3], y: [1, 2] }]], opts: {} },
  sinkhornDivergenceBatch: { args: [[{ X, Y }, { X: Y, Y: X }]], opts: { reg: 0.5 } },
  pairwiseDistances: { args: [[X, Y, X]], opts: { method: 'divergence', reg: 0.5 } },
  trainICNNMap: { args: [spec, spec], opts: { iterations: 2, batchSize: 8, hidden: [4] } },
  trainNOT: { args: [spec, spec], opts: { iterations: 2, batchSize: 8, hiddenT: [4], hiddenF: [4] } },
  trainKantorovichRubinsteinCritic: { args: [spec, spec], opts: { iterations: 2, batchSize: 8, hidden: [4], evalSamples: 16 } },
};

type PublicFn = (...args: unknown[]) => Promise<unknown>;
const fnOf = (name: string) => (K as unknown as Record<string, PublicFn>)[name];

async function rejection(p: () => Promise<unknown>): Promise<unknown> {
  try {
    await p();
  } catch (e) {
    return e;
  }
  return undefined;
}

test('every registered solver is exported by name and has an example here', () => {
  assert.ok(SOLVERS.size >= 14, `registry has ${SOLVERS.size} solvers`);
  for (const name of SOLVERS.keys()) {
    assert.type(fnOf(name), 'function', `${name} is exported from the package root`);
    assert.ok(EXAMPLES[name], `${name} has an example call in tests/registry.test.ts`);
  }
});

test('every option has a doc line and a type; worker is everywhere', () => {
  for (const d of SOLVERS.values()) {
    assert.ok(d.summary.length > 10, `${d.name}: summary`);
    assert.ok(d.options.worker, `${d.name}: worker option`);
    for (const [key, spec] of Object.entries(d.options)) {
      assert.ok(spec.doc.length > 5, `${d.name}.${key}: doc`);
      assert.ok(spec.type.length > 2, `${d.name}.${key}: type`);
    }
  }
});

test('an unknown option is invalid-option naming the closest valid one, before any work', async () => {
  for (const d of SOLVERS.values()) {
    const ex = EXAMPLES[d.name];
    const before = { ...dispatchCounters };
    const engines = engineCounters.created;
    const e = await rejection(() => fnOf(d.name)(...ex.args, { ...ex.opts, maxiter: 10 }));
    assert.instance(e, OTError, `${d.name}: OTError`);
    assert.is((e as OTError).code, 'invalid-option', `${d.name}: code`);
    assert.match((e as OTError).message, "'maxiter'", `${d.name}: names the option`);
    if (d.options.maxIter) assert.match((e as OTError).message, "Did you mean 'maxIter'?", `${d.name}: suggests maxIter`);
    assert.is(dispatchCounters.dispatched, before.dispatched, `${d.name}: nothing was dispatched`);
    assert.is(engineCounters.created, engines, `${d.name}: no engine was created`);
  }
});

test('each out-of-range value of each option is invalid-option naming the option, before any work', async () => {
  let cases = 0;
  for (const d of SOLVERS.values()) {
    const ex = EXAMPLES[d.name];
    for (const [key, spec] of Object.entries(d.options)) {
      for (const bad of spec.invalid) {
        const before = dispatchCounters.dispatched;
        const engines = engineCounters.created;
        const e = await rejection(() => fnOf(d.name)(...ex.args, { ...ex.opts, [key]: bad }));
        assert.instance(e, OTError, `${d.name}.${key} = ${String(bad)}: OTError`);
        assert.is((e as OTError).code, 'invalid-option', `${d.name}.${key} = ${String(bad)}: code (${(e as OTError).message})`);
        assert.match((e as OTError).message, `${d.name}.${key}`, `${d.name}.${key}: the message names the option`);
        assert.is(dispatchCounters.dispatched, before, `${d.name}.${key}: nothing was dispatched`);
        assert.is(engineCounters.created, engines, `${d.name}.${key}: no engine was created`);
        cases++;
      }
    }
  }
  assert.ok(cases > 300, `${cases} bad option values tried`);
});

test('POT names are mapped to ours', () => {
  const valid = ['maxIter', 'tol', 'reg', 'regM', 'nProjections'];
  assert.is(closestOption('numItermax', valid), 'maxIter');
  assert.is(closestOption('stopThr', valid), 'tol');
  assert.is(closestOption('reg_m', valid), 'regM');
  assert.is(closestOption('n_projections', valid), 'nProjections');
  assert.is(closestOption('completelyDifferent', valid), undefined);
});

test('a missing required option names it', async () => {
  const e = await rejection(() => K.sinkhorn(undefined, undefined, M, {} as never));
  assert.instance(e, OTError);
  assert.is((e as OTError).code, 'invalid-option');
  assert.match((e as OTError).message, 'sinkhorn.reg is required');
});

test('a forced backend the solver lacks is backend-unavailable before any work', async () => {
  const before = dispatchCounters.dispatched;
  const e = await rejection(() => K.freeSupportBarycenter([{ X }], { k: 1, backend: 'js' } as never));
  assert.instance(e, OTError);
  assert.is((e as OTError).code, 'backend-unavailable');
  assert.is(dispatchCounters.dispatched, before);
});

test('every solver returns the common result fields, and its plan as a Coupling', async () => {
  for (const d of SOLVERS.values()) {
    const ex = EXAMPLES[d.name];
    const r = (await fnOf(d.name)(...ex.args, { ...ex.opts, worker: false })) as Record<string, unknown>;
    if (d.name === 'wasserstein1d') {
      assert.type(r, 'number', 'wasserstein1d keeps returning W_p as a number (emd1d is the object form)');
      continue;
    }
    if (d.name.startsWith('train')) {
      assert.ok(Array.isArray(r.history), `${d.name}: history`);
      continue;
    }
    for (const k of ['status', 'backend'] as const) assert.type(r[k], 'string', `${d.name}.${k}`);
    for (const k of ['iterations', 'error', 'threads'] as const) {
      assert.type(r[k], 'number', `${d.name}.${k}`);
      assert.ok(Number.isFinite(r[k] as number), `${d.name}.${k} finite`);
    }
    assert.type(r.value, 'number', `${d.name}.value`);
    assert.ok(Number.isFinite(r.value as number), `${d.name}.value finite`);
    assert.ok(['optimal', 'converged', 'max-iterations', 'closed-form'].includes(r.status as string), `${d.name}.status = ${r.status}`);
    if (ex.plan) {
      assert.instance(r.plan, Coupling, `${d.name}.plan is a Coupling`);
      const P = r.plan as Coupling;
      const dense = P.toDense();
      const { a } = P.marginals();
      let total = 0;
      for (const x of dense) total += x;
      let ta = 0;
      for (const x of a) ta += x;
      assert.ok(Math.abs(total - ta) < 1e-12, `${d.name}: the plan's marginals sum to its mass`);
    }
  }
});

test('lazy and dense entropic plans agree on every operation', async () => {
  const dense = await K.sinkhorn(undefined, undefined, M, { reg: 0.3, plan: true });
  const lazy = await K.sinkhorn(undefined, undefined, M, { reg: 0.3, plan: false });
  assert.is(dense.plan.kind, 'dense');
  assert.is(lazy.plan.kind, 'lazy');
  const P = dense.plan.toDense();
  const Q = lazy.plan.toDense();
  for (let k = 0; k < P.length; k++) assert.ok(Math.abs(P[k] - Q[k]) < 1e-14, `entry ${k}`);
  const V = [1, -2, 0.5, 3, 0, 1, 2, -1];
  const pv = dense.plan.apply(V, 2);
  const qv = lazy.plan.apply(V, 2);
  for (let k = 0; k < pv.length; k++) assert.ok(Math.abs(pv[k] - qv[k]) < 1e-14, `apply ${k}`);
  const W = [1, 2, 3];
  const pt = dense.plan.applyTranspose(W);
  const qt = lazy.plan.applyTranspose(W);
  for (let k = 0; k < pt.length; k++) assert.ok(Math.abs(pt[k] - qt[k]) < 1e-14, `applyTranspose ${k}`);
  assert.ok(Math.abs(dense.plan.at(1, 2) - lazy.plan.at(1, 2)) < 1e-15);
  const e = await rejection(async () => lazy.plan.apply([1, 2]));
  assert.instance(e, OTError, 'a wrong operand length is an OTError');
});

// ---- no public call lets anything but an OTError escape -----------------------------------------------------

const BAD_POSITIONAL: unknown[] = [undefined, null, 42, 'abc', {}, [], [[NaN]], [[1, 2], [3]], { data: [1], rows: 2, cols: 2 }, [-1, 2]];
const BAD_OPTIONS: unknown[] = [null, 42, 'abc', [], new Map()];

test('no public call lets a non-OTError escape, on a table of bad inputs', async () => {
  let cases = 0;
  for (const d of SOLVERS.values()) {
    const ex = EXAMPLES[d.name];
    const f = fnOf(d.name);
    for (let slot = 0; slot < ex.args.length; slot++) {
      for (const bad of BAD_POSITIONAL) {
        const args = ex.args.slice();
        args[slot] = bad;
        // a bad slot may still be valid (undefined weights mean uniform): only the error's type is asserted
        const e = await rejection(() => f(...args, { ...ex.opts, worker: false }));
        if (e !== undefined) assert.instance(e, OTError, `${d.name}(arg ${slot} = ${JSON.stringify(bad)}): ${String(e)}`);
        cases++;
      }
    }
    for (const bad of BAD_OPTIONS) {
      const e = await rejection(() => f(...ex.args, bad));
      assert.instance(e, OTError, `${d.name}(opts = ${String(bad)}): ${String(e)}`);
      assert.is((e as OTError).code, 'invalid-option');
      cases++;
    }
  }
  // the cases of the faults issue (#15, item 10)
  const issue: [string, () => Promise<unknown>][] = [
    ['opts = null', () => K.emd(undefined, undefined, M, null as never)],
    ['signal: {} with a worker', () => K.emd(undefined, undefined, M, { signal: {} as AbortSignal, worker: true })],
    ['onProgress: 42', () => K.sinkhorn(undefined, undefined, M, { reg: 0.1, onProgress: 42 as never })],
    ['massTolerance: NaN', () => K.emd([1], [0.5], [[0]], { massTolerance: NaN })],
    ['maxIter: 1.5', () => K.emd(undefined, undefined, M, { maxIter: 1.5 })],
    ['epsScaling.start: -1', () => K.sinkhorn(undefined, undefined, M, { reg: 0.1, epsScaling: { start: -1 } })],
    ['init.f: [NaN]', () => K.sinkhorn(undefined, undefined, M, { reg: 0.1, init: { f: [NaN, 0, 0], g: [0, 0, 0, 0] } })],
    ['sinkhornUnbalanced normalize', () => K.sinkhornUnbalanced(undefined, undefined, M, { reg: 0.1, regM: 1, normalize: true } as never)],
    ['sinkhornDivergence without options', () => (K.sinkhornDivergence as unknown as (a: unknown, b: unknown) => Promise<unknown>)(X, Y)],
    ['maxBytes: NaN', () => K.emd(undefined, undefined, M, { maxBytes: NaN })],
    ["maxBytes: 'abc'", () => K.emd(undefined, undefined, M, { maxBytes: 'abc' as never })],
  ];
  for (const [what, call] of issue) {
    const e = await rejection(call);
    assert.instance(e, OTError, `${what}: ${String(e)}`);
    assert.ok(['invalid-option', 'nan'].includes((e as OTError).code), `${what}: code ${(e as OTError).code}`);
    cases++;
  }
  const fs = await rejection(() => K.freeSupportBarycenter([{ X: [[0, 0]] }, { X: [[1, 1]] }]));
  assert.instance(fs, OTError);
  assert.match((fs as OTError).message, 'init', 'freeSupportBarycenter without init or k says to pass init or k');
  assert.ok(cases > 100, `${cases} bad calls tried`);
});

test.run();
