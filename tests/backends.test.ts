// The backend registry: backends() reports availability (with reasons) and the solvers of each backend;
// auto choice, forcing, a forced unavailable backend is 'backend-unavailable'; result.backend on every solver.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import {
  type BackendReport,
  Rng,
  backends,
  barycenter,
  convolutionalBarycenter,
  emd,
  emd1d,
  freeSupportBarycenter,
  maxSlicedWasserstein,
  setWasmSource,
  sinkhorn,
  sinkhornDivergence,
  sinkhornUnbalanced,
  slicedWasserstein,
  wasserstein1d,
} from 'kantorovich';
import { expectOTError, uniforms } from './helpers.js';

const rng = new Rng(7);
const X = { data: uniforms(rng, 40), rows: 20, cols: 2 };
const Y = { data: uniforms(rng, 30), rows: 15, cols: 2 };
const M = { data: uniforms(rng, 20 * 15), rows: 20, cols: 15 };
const x1 = uniforms(rng, 25);
const y1 = uniforms(rng, 30);
// worker: false throughout: this file tests the registry of the calling thread (workers have their own)
const local = { worker: false as const };

const ALL_SOLVERS = [
  'emd', 'emd1d', 'wasserstein1d', 'slicedWasserstein', 'maxSlicedWasserstein', 'sinkhorn', 'sinkhornUnbalanced',
  'sinkhornDivergence', 'barycenter', 'convolutionalBarycenter', 'freeSupportBarycenter',
];

let report: BackendReport[] = [];

test('backends(): every backend with availability, a reason when unavailable, and its solvers', async () => {
  report = await backends();
  assert.equal(report.map((r) => r.name), ['webgpu', 'wasm', 'js']);
  for (const r of report) {
    assert.type(r.available, 'boolean');
    if (!r.available) assert.ok(typeof r.reason === 'string' && r.reason.length > 0, `${r.name}: unavailable without a reason`);
    else assert.is(r.reason, undefined, `${r.name}: available but has a reason`);
    assert.ok(Array.isArray(r.solvers), `${r.name}: solvers`);
  }
  const by = Object.fromEntries(report.map((r) => [r.name, r]));
  assert.ok(by.wasm.available, 'wasm loads in Node');
  assert.ok(by.js.available, 'js is always available');
  assert.ok(by.wasm.solvers.includes('emd') && !by.js.solvers.includes('emd'), 'emd is wasm only');
  for (const s of ['sinkhorn', 'sinkhornUnbalanced', 'sinkhornDivergence']) {
    for (const b of ['webgpu', 'wasm', 'js']) assert.ok(by[b].solvers.includes(s), `${s} on ${b}`);
  }
  const covered = new Set(report.flatMap((r) => r.solvers));
  for (const s of ALL_SOLVERS) assert.ok(covered.has(s), `${s} is implemented somewhere`);
  console.log(`  backends: ${report.map((r) => `${r.name} ${r.available ? 'yes' : `no (${r.reason})`}`).join(', ')}`);
});

test('result.backend on every public solver is an available backend that implements it', async () => {
  const by = Object.fromEntries(report.map((r) => [r.name, r]));
  const check = (solver: string, backend: string) => {
    assert.ok(by[backend]?.available, `${solver} ran on ${backend}, which is not available`);
    assert.ok(by[backend].solvers.includes(solver), `${solver} ran on ${backend}, which does not list it`);
  };
  check('emd', (await emd(undefined, undefined, M, local)).backend);
  check('emd1d', (await emd1d(x1, y1, local)).backend);
  check('slicedWasserstein', (await slicedWasserstein(X, Y, { ...local, nProjections: 5 })).backend);
  check('maxSlicedWasserstein', (await maxSlicedWasserstein(X, Y, { ...local, nProjections: 5 })).backend);
  check('sinkhorn', (await sinkhorn(undefined, undefined, M, { ...local, reg: 0.1 })).backend);
  check('sinkhornUnbalanced', (await sinkhornUnbalanced(undefined, undefined, M, { ...local, reg: 0.1, regM: 1 })).backend);
  check('sinkhornDivergence', (await sinkhornDivergence(X, Y, { ...local, reg: 0.1 })).backend);
  const C = { data: uniforms(rng, 16 * 16), rows: 16, cols: 16 };
  const A = { data: uniforms(rng, 2 * 16), rows: 2, cols: 16 };
  check('barycenter', (await barycenter(A, C, { ...local, reg: 0.5 })).backend);
  check('convolutionalBarycenter', (await convolutionalBarycenter(A, { ...local, width: 4, height: 4, reg: 0.05 })).backend);
  check('freeSupportBarycenter', (await freeSupportBarycenter([{ X }, { X: Y }], { ...local, k: 5, maxIter: 3 })).backend);
  // wasserstein1d returns the distance (a number), so it has no result object to carry a backend
  assert.type(await wasserstein1d(x1, y1, local), 'number');
});

test('auto picks wasm before js; forcing a backend is honoured', async () => {
  assert.is((await emd1d(x1, y1, local)).backend, 'wasm');
  assert.is((await emd1d(x1, y1, { ...local, backend: 'js' })).backend, 'js');
  assert.is((await slicedWasserstein(X, Y, { ...local, backend: 'js', nProjections: 3 })).backend, 'js');
  assert.is((await sinkhorn(undefined, undefined, M, { ...local, reg: 0.1 })).backend, 'wasm', 'auto never picks a software GPU, and wasm is first');
  assert.is((await sinkhorn(undefined, undefined, M, { ...local, reg: 0.1, backend: 'js' })).backend, 'js');
  assert.is((await sinkhorn(undefined, undefined, M, { ...local, reg: 0.1, backend: 'wasm' })).backend, 'wasm');
  // a backend the solver does not implement
  await expectOTError('backend-unavailable', () => emd(undefined, undefined, M, { ...local, backend: 'js' }), 'emd on js');
  await expectOTError('backend-unavailable', () => emd1d(x1, y1, { ...local, backend: 'webgpu' }), 'emd1d on webgpu');
  // webgpu: as backends() says
  const gpu = report.find((r) => r.name === 'webgpu')!;
  if (gpu.available) {
    const r = await sinkhorn(undefined, undefined, M, { ...local, reg: 0.1, backend: 'webgpu', maxIter: 50 });
    assert.is(r.backend, 'webgpu');
  } else {
    console.log(`  (webgpu unavailable here: ${gpu.reason}; checking that forcing it fails)`);
    await expectOTError('backend-unavailable', () => sinkhorn(undefined, undefined, M, { ...local, reg: 0.1, backend: 'webgpu' }), 'forced webgpu');
  }
});

test('an unavailable wasm: reported with its reason, forcing it fails, auto falls back to js', async () => {
  setWasmSource(() => {
    throw new Error('test: wasm withheld');
  });
  try {
    const r = await backends();
    const wasm = r.find((b) => b.name === 'wasm')!;
    assert.is(wasm.available, false);
    assert.match(wasm.reason ?? '', /test: wasm withheld/);
    await expectOTError('backend-unavailable', () => emd(undefined, undefined, M, local), 'emd without wasm');
    await expectOTError('backend-unavailable', () => emd1d(x1, y1, { ...local, backend: 'wasm' }), 'forced wasm');
    await expectOTError('backend-unavailable', () => sinkhorn(undefined, undefined, M, { ...local, reg: 0.1, backend: 'wasm' }), 'forced wasm engine');
    assert.is((await emd1d(x1, y1, local)).backend, 'js', 'auto falls back to js');
    assert.is((await sinkhorn(undefined, undefined, M, { ...local, reg: 0.1 })).backend, 'js', 'entropic auto falls back to js');
  } finally {
    // the package's own source (dist/tests → build/)
    setWasmSource(() => readFile(new URL('../../build/kantorovich.wasm', import.meta.url)));
  }
  assert.ok((await backends()).find((b) => b.name === 'wasm')!.available, 'restored');
});

test.run();
