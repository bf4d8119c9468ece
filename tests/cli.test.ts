// The `kantorovich` command (bindings/cli.ts), run as a child process on the files in tests/fixtures/cli/:
// its numbers equal the library's on the same data, --json parses, plans have the right marginals, and bad
// input exits 2 with `error (<OTError code>): ...` and no stack trace.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng, costMatrix, emd, gromovWasserstein, linearMap, partialWasserstein, pointCloud, sinkhorn, weakOT, sinkhornDivergence, sinkhornUnbalanced, slicedWasserstein, wasserstein1d } from 'kantorovich';
import { COMMANDS, estimateLine } from '../bindings/cli/commands.js';
import { SOLVERS } from '../ts/registry/registry.js';
import { assertClose } from './helpers.js';

const CLI = fileURLToPath(new URL('../bindings/cli.js', import.meta.url));
const FIX = fileURLToPath(new URL('../../tests/fixtures/cli/', import.meta.url));
const fx = (name: string): string => join(FIX, name);
const tmp = mkdtempSync(join(tmpdir(), 'kantorovich-cli-'));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 20_000, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function ok(r: Run, what: string): Run {
  assert.is(r.code, 0, `${what}: exit ${r.code}, stderr: ${r.stderr}`);
  return r;
}

function json(r: Run, what: string): Record<string, unknown> {
  ok(r, what);
  try {
    return JSON.parse(r.stdout);
  } catch {
    assert.unreachable(`${what}: stdout is not JSON: ${r.stdout}`);
    return {};
  }
}

/** The reference data: JSON fixtures read here directly; the CSV / text fixtures hold the same numbers. */
const A = JSON.parse(readFileSync(fx('a.json'), 'utf8')) as { points: number[][]; weights: number[] };
const B = JSON.parse(readFileSync(fx('b.json'), 'utf8')) as { points: number[][]; weights: number[] };
const X1 = readFileSync(fx('x.csv'), 'utf8').trim().split('\n').slice(1).map(Number);
const Y1 = JSON.parse(readFileSync(fx('y.json'), 'utf8')) as number[];

/** Read a triplet plan file "i,j,mass" into its marginals. */
function tripletMarginals(path: string, n: number, m: number): { rows: Float64Array; cols: Float64Array; count: number } {
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  assert.is(lines[0], 'i,j,mass');
  const rows = new Float64Array(n);
  const cols = new Float64Array(m);
  for (const line of lines.slice(1)) {
    const [i, j, v] = line.split(',').map(Number);
    assert.ok(Number.isInteger(i) && i >= 0 && i < n && Number.isInteger(j) && j >= 0 && j < m && v >= 0, `bad triplet '${line}'`);
    rows[i] += v;
    cols[j] += v;
  }
  return { rows, cols, count: lines.length - 1 };
}

function assertVecClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  assert.is(got.length, want.length, `${what}: length`);
  for (let k = 0; k < want.length; k++) assert.ok(Math.abs(got[k] - want[k]) <= tol, `${what}[${k}]: got ${got[k]}, want ${want[k]}`);
}

test('emd: cost equals the library on the same data, from CSV (header, weights column) and from JSON', async () => {
  const lib = await emd(A.weights, B.weights, pointCloud(A.points, B.points, { cost: 'sqeuclidean' }));
  const libEuc = await emd(A.weights, B.weights, pointCloud(A.points, B.points, { cost: 'euclidean' }));
  const libP = await emd(A.weights, B.weights, pointCloud(A.points, B.points, { cost: { p: 1.5 } }));
  const [csv, js, euc, p15, human] = await Promise.all([
    cli('emd', fx('a.csv'), fx('b.txt'), '--weights-col', 'last', '--json'),
    cli('emd', fx('a.json'), fx('b.json'), '--cost', 'sqeuclidean', '--json'),
    cli('emd', fx('a.json'), fx('b.json'), '--cost', 'euclidean', '--json'),
    cli('emd', fx('a.json'), fx('b.json'), '--cost=p=1.5', '--json'),
    cli('emd', fx('a.csv'), fx('b.txt'), '--weights-col', 'last'),
  ]);
  const c = json(csv, 'emd csv');
  assertClose(c.cost as number, lib.cost, 1e-12, 'emd csv cost');
  assert.is(c.status, 'optimal');
  assert.is(c.backend, 'wasm');
  assert.is(c.n, 6);
  assert.is(c.m, 5);
  assert.is(c.dim, 2);
  assert.ok(typeof c.iterations === 'number' && typeof c.timeMs === 'number');
  assertClose(json(js, 'emd json').cost as number, lib.cost, 1e-12, 'emd json cost');
  assertClose(json(euc, 'emd euclidean').cost as number, libEuc.cost, 1e-12, 'emd euclidean cost');
  assertClose(json(p15, 'emd p=1.5').cost as number, libP.cost, 1e-12, 'emd p=1.5 cost');
  assert.ok(Math.abs(libEuc.cost - lib.cost) > 1e-3, 'the cost flag must change the answer');
  // Human-readable: the cost line with full precision, nothing on stderr (not a TTY: no progress bar).
  ok(human, 'emd human');
  assert.match(human.stdout, new RegExp(`^cost\\s+${String(lib.cost).replace(/[.+]/g, '\\$&')}$`, 'm'));
  assert.match(human.stdout, /^status\s+optimal$/m);
  assert.is(human.stderr, '');
});

test('emd --plan writes sparse triplets with the marginals a and b', async () => {
  const out = join(tmp, 'emd-plan.csv');
  const r = json(await cli('emd', fx('a.json'), fx('b.json'), '--plan', out, '--json'), 'emd --plan');
  assert.is(r.plan, out);
  const { rows, cols, count } = tripletMarginals(out, 6, 5);
  assert.ok(count <= 6 + 5 - 1 && count === r.nnz, `nnz ${count}`);
  assertVecClose(rows, A.weights, 1e-12, 'emd plan row sums');
  assertVecClose(cols, B.weights, 1e-12, 'emd plan column sums');
});

test('sinkhorn: cost, regValue and the plan equal the library; dense and thresholded plans', async () => {
  const M = pointCloud(A.points, B.points);
  const lib = await sinkhorn(A.weights, B.weights, M, { reg: 0.5 });
  const libLog = await sinkhorn(A.weights, B.weights, M, { reg: 0.05, method: 'log', maxIter: 5000, tol: 1e-10, backend: 'js' });
  const dense = join(tmp, 'sk-dense.csv');
  const trip = join(tmp, 'sk-trip.csv');
  const [r1, r2, r3] = await Promise.all([
    cli('sinkhorn', fx('a.csv'), fx('b.txt'), '--weights-col', 'last', '--reg', '0.5', '--plan', dense, '--json'),
    cli('sinkhorn', fx('a.json'), fx('b.json'), '--reg', '0.05', '--method', 'log', '--max-iter', '5000', '--tol', '1e-10', '--backend', 'js', '--json'),
    cli('sinkhorn', fx('a.json'), fx('b.json'), '--reg', '0.5', '--plan', trip, '--plan-threshold', '1e-3', '--json'),
  ]);
  const s1 = json(r1, 'sinkhorn');
  assertClose(s1.cost as number, lib.cost, 1e-12, 'sinkhorn cost');
  assertClose(s1.regValue as number, lib.regValue, 1e-12, 'sinkhorn regValue');
  assert.is(s1.iterations, lib.iterations);
  assert.is(s1.status, 'converged');
  assert.is(s1.backend, lib.backend);
  assert.is(s1.method, lib.method);
  const s2 = json(r2, 'sinkhorn log js');
  assertClose(s2.cost as number, libLog.cost, 1e-12, 'sinkhorn log cost');
  assert.is(s2.method, 'log');
  assert.is(s2.backend, 'js');
  // The dense plan: n rows of m numbers, equal to the library's plan, marginals a and (to tol) b.
  const P = readFileSync(dense, 'utf8').trim().split('\n').map((l) => l.split(',').map(Number));
  assert.is(P.length, 6);
  const want = (await sinkhorn(A.weights, B.weights, M, { reg: 0.5, plan: true })).plan!;
  for (let i = 0; i < 6; i++) {
    assert.is(P[i].length, 5);
    assertVecClose(P[i], want.toDense().subarray(i * 5, i * 5 + 5), 1e-15, `plan row ${i}`);
  }
  assertVecClose(P.map((r) => r.reduce((x, y) => x + y, 0)), A.weights, 1e-8, 'sinkhorn plan row sums');
  assertVecClose([0, 1, 2, 3, 4].map((j) => P.reduce((s, r) => s + r[j], 0)), B.weights, 1e-8, 'sinkhorn plan column sums');
  // Thresholded triplets: only entries > 1e-3, and they carry almost all the mass.
  json(r3, 'sinkhorn triplets');
  const t = tripletMarginals(trip, 6, 5);
  const kept = want.toDense().filter((v) => v > 1e-3).length;
  assert.is(t.count, kept);
  assert.ok(kept < 30, 'the threshold drops some entries');
  assertVecClose(t.rows, A.weights, 5e-3, 'thresholded row sums');
});

test('sliced and w1d equal the library; w1d --plan has the right marginals', async () => {
  const sw = await slicedWasserstein(A.points, B.points, { a: A.weights, b: B.weights, nProjections: 200, seed: 1, p: 2 });
  const sw3 = await slicedWasserstein(A.points, B.points, { a: A.weights, b: B.weights, nProjections: 50, seed: 0, p: 3 });
  const w2 = await wasserstein1d(X1, Y1, { p: 2 });
  const w1 = await wasserstein1d(X1, Y1);
  const plan = join(tmp, 'w1d-plan.csv');
  const [a, b, c, d, e] = await Promise.all([
    cli('sliced', fx('a.csv'), fx('b.txt'), '--weights-col', 'last', '--projections', '200', '--seed', '1', '--p', '2', '--json'),
    cli('sliced', fx('a.csv'), fx('b.txt'), '--weights-col', '3', '--p', '3', '--json'),
    cli('w1d', fx('x.csv'), fx('y.json'), '--p', '2', '--json'),
    cli('w1d', fx('x.csv'), fx('y.json'), '--json', '--plan', plan),
    cli('sliced', fx('a.json'), fx('b.json'), '--projections', '200', '--seed', '1'),
  ]);
  const ra = json(a, 'sliced');
  assertClose(ra.value as number, sw.value, 1e-12, 'sliced value');
  assert.is(ra.projections, 200);
  assertClose(json(b, 'sliced p=3').value as number, sw3.value, 1e-12, 'sliced p=3, weights from column 3, default projections and seed');
  assertClose(json(c, 'w1d p=2').value as number, w2, 1e-12, 'w1d p=2');
  assertClose(json(d, 'w1d plan').value as number, w1, 1e-12, 'w1d p=1 through emd1d');
  const { rows, cols } = tripletMarginals(plan, X1.length, Y1.length);
  assertVecClose(rows, X1.map(() => 1 / X1.length), 1e-12, 'w1d plan row sums');
  assertVecClose(cols, Y1.map(() => 1 / Y1.length), 1e-12, 'w1d plan column sums');
  ok(e, 'sliced human');
  assert.match(e.stdout, /^value\s+[0-9.e+-]+$/m);
});

test('bad files and bad usage exit 2 with the OTError code and no stack trace', async () => {
  const cases: [string, string[], string, RegExp][] = [
    ['NaN entry', ['emd', fx('nan.csv'), fx('b.json')], 'nan', /nan\.csv, line 3, column 2/],
    ['ragged rows', ['emd', fx('ragged.csv'), fx('b.json')], 'shape', /ragged\.csv, line 3/],
    ['negative weight', ['emd', fx('negative-weight.csv'), fx('b.json'), '--weights-col', 'last'], 'negative', /-0\.25/],
    ['empty file', ['sinkhorn', fx('empty.csv'), fx('b.json'), '--reg', '1'], 'empty', /empty\.csv/],
    ['dimension mismatch', ['emd', fx('a.json'), fx('dim3.csv')], 'shape', /dimension 2 .*dimension 3/],
    ['dimension mismatch (sliced)', ['sliced', fx('dim3.csv'), fx('b.json')], 'shape', /dim3\.csv/],
    ['unequal masses', ['emd', fx('a.json'), fx('b-heavy.json')], 'mass', /sums to/],
    ['missing file', ['emd', fx('a.json'), fx('no-such-file.csv')], 'invalid-option', /no-such-file\.csv.*no such file/],
    ['unknown flag', ['emd', fx('a.json'), fx('b.json'), '--cots', 'euclidean'], 'invalid-option', /--cots.*did you mean '--cost'/],
    ['unknown command', ['emdd', fx('a.json'), fx('b.json')], 'invalid-option', /did you mean 'emd'/],
    ['bad cost', ['emd', fx('a.json'), fx('b.json'), '--cost', 'manhattan'], 'invalid-option', /--cost/],
    ['missing --reg', ['sinkhorn', fx('a.json'), fx('b.json')], 'invalid-option', /--reg/],
    ['bad reg', ['sinkhorn', fx('a.json'), fx('b.json'), '--reg', '-1'], 'invalid-option', /reg/],
    ['bad number', ['sliced', fx('a.json'), fx('b.json'), '--projections', '2.5'], 'invalid-option', /integer/],
    ['one file', ['w1d', fx('x.csv')], 'invalid-option', /takes 2 files/],
    ['2D data to w1d', ['w1d', fx('a.json'), fx('b.json')], 'shape', /one number per row/],
    ['bad p', ['w1d', fx('x.csv'), fx('y.json'), '--p', '0.5'], 'invalid-option', /p must be/],
  ];
  const runs = await Promise.all(cases.map(([, args]) => cli(...args)));
  cases.forEach(([what, , code, detail], k) => {
    const r = runs[k];
    assert.is(r.code, 2, `${what}: exit code ${r.code}; stderr: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^error \\(${code}\\): `, 'm'), `${what}: ${r.stderr}`);
    assert.match(r.stderr, detail, `${what}: ${r.stderr}`);
    assert.not.match(r.stderr, /\n\s+at /, `${what}: a stack trace was printed`);
    assert.is(r.stdout, '', `${what}: nothing on stdout`);
  });
});

test('--help, --progress and --normalize', async () => {
  const [h, hs, top, prog, norm] = await Promise.all([
    cli('emd', '--help'),
    cli('sinkhorn', '-h'),
    cli('--help'),
    cli('sinkhorn', fx('a.json'), fx('b.json'), '--reg', '0.02', '--method', 'log', '--tol', '1e-14', '--max-iter', '3000', '--progress', '--json'),
    cli('emd', fx('a.json'), fx('b-heavy.json'), '--normalize', '--json'),
  ]);
  assert.match(ok(h, 'emd --help').stdout, /Usage: kantorovich emd a\.csv b\.csv/);
  assert.match(ok(hs, 'sinkhorn -h').stdout, /--reg ε/);
  assert.match(ok(top, '--help').stdout, /Commands:[\s\S]*sinkhorn[\s\S]*w1d/);
  // Forced progress on a non-TTY: plain lines on stderr (no bar to redraw); stdout stays clean JSON.
  const p = json(prog, 'sinkhorn --progress');
  assert.ok((p.iterations as number) >= 10, `iterations ${p.iterations}`);
  assert.match(prog.stderr, /^sinkhorn: iter \d+\/3000 {2}error [0-9.e+-]+ {2}ε [0-9.e+-]+ \([0-9.]+s(, ETA [0-9.]+s)?\)$/m);
  assert.not.match(prog.stderr, /\x1b/, 'no terminal escapes off a terminal');
  // --normalize: b-heavy.json has twice b's mass; rescaled, the answer is the library's with normalize.
  const heavy = JSON.parse(readFileSync(fx('b-heavy.json'), 'utf8')) as { weights: number[] };
  const lib = await emd(A.weights, heavy.weights, pointCloud(A.points, B.points), { normalize: true });
  assertClose(json(norm, 'emd --normalize').cost as number, lib.cost, 1e-12, 'emd --normalize cost');
});

test('quoted CSV fields, --version, errors phrased in flags, unbalanced and divergence equal the library', async () => {
  const quoted = join(tmp, 'quoted.csv');
  writeFileSync(quoted, '"x","y","weight"\n' + A.points.map((p, i) => `"${p[0]}",${p[1]},"${A.weights[i]}"`).join('\n') + '\n');
  const lib = await emd(A.weights, B.weights, pointCloud(A.points, B.points));
  const un = await sinkhornUnbalanced(A.weights, B.weights, pointCloud(A.points, B.points), { reg: 0.5, regM: 2 });
  const dv = await sinkhornDivergence(A.points, B.points, { a: A.weights, b: B.weights, reg: 0.5 });
  const [q, v, mass, bad, u, d] = await Promise.all([
    cli('emd', quoted, fx('b.json'), '--weights-col', 'last', '--json'),
    cli('--version'),
    cli('emd', fx('a.json'), fx('b-heavy.json')),
    cli('sinkhorn', fx('a.json'), fx('b.json'), '--reg', '0.5', '--max-iter', '-3'),
    cli('unbalanced', fx('a.json'), fx('b.json'), '--reg', '0.5', '--reg-m', '2', '--json'),
    cli('divergence', fx('a.json'), fx('b.json'), '--reg', '0.5', '--json'),
  ]);
  assertClose(json(q, 'quoted csv').cost as number, lib.cost, 1e-12, 'quoted CSV cost');
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string };
  assert.is(ok(v, '--version').stdout.trim(), pkg.version);
  assert.is(mass.code, 2);
  assert.match(mass.stderr, /--normalize/, 'the mass error names the flag, not the library option');
  assert.not.match(mass.stderr, /\{ normalize/);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /--max-iter must be an integer ≥ 0 \(got -3\)/, bad.stderr);
  const ru = json(u, 'unbalanced');
  assertClose(ru.value as number, un.value, 1e-12, 'unbalanced value');
  assertClose(ru.regValue as number, un.regValue, 1e-12, 'unbalanced regValue');
  assertClose(json(d, 'divergence').value as number, dv.value, 1e-12, 'divergence value');
});

test('the families: partial, gromov, weak and gaussian give the library values on the same data', async () => {
  const a = fx('a.json');
  const b = fx('b.json');
  const M = costMatrix(A.points, B.points).M;
  const mass = 0.4 * Math.min(A.weights.reduce((s, x) => s + x, 0), B.weights.reduce((s, x) => s + x, 0));
  const part = await partialWasserstein(A.weights, B.weights, M, { mass });
  const planFile = join(tmp, 'partial.csv');
  const p = json(await cli('partial', a, b, '--mass', String(mass), '--plan', planFile, '--json'), 'partial');
  assertClose(p.value as number, part.value, 1e-12, 'partial value');
  const pm = tripletMarginals(planFile, A.points.length, B.points.length);
  assertClose(pm.rows.reduce((s, x) => s + x, 0), mass, 1e-9, 'partial plan mass');
  assert.match((await cli('partial', a, b)).stderr, /--mass/);

  const C1 = costMatrix(A.points, A.points).M;
  const C2 = costMatrix(B.points, B.points).M;
  const gw = await gromovWasserstein(C1, C2, { a: A.weights, b: B.weights });
  const g = json(await cli('gromov', a, b, '--json'), 'gromov');
  assertClose(g.value as number, gw.value, 1e-9, 'gromov value');
  assert.is(g.algorithm, 'conditional-gradient');

  const wk = await weakOT(A.points, B.points, { a: A.weights, b: B.weights });
  assertClose(json(await cli('weak', a, b, '--json'), 'weak').value as number, wk.value, 1e-9, 'weak value');

  const lm = await linearMap(A.points, B.points, { ws: A.weights, wt: B.weights });
  const gs = json(await cli('gaussian', a, b, '--json'), 'gaussian');
  assertClose(gs.value as number, lm.value, 1e-12, 'gaussian W2²');
  assertVecClose(gs.b as number[], lm.b, 1e-12, 'gaussian b');
});

test('the size estimate: silent for small problems, a warning and alternatives for huge ones', () => {
  assert.is(estimateLine('emd', 500, 500, 0), undefined);
  const big = estimateLine('emd', 1e5, 1e5, 0);
  assert.ok(big && /sliced/.test(big) && /h|min/.test(big), String(big));
  const sk = estimateLine('sinkhorn', 1e6, 1e6, 1000);
  assert.ok(sk && /up to/.test(sk), String(sk));
  assert.is(estimateLine('sliced', 1e6, 1e6, 0), undefined);
});

test('every command maps to registry solvers, and each solver flag to an option of it', () => {
  for (const [name, c] of Object.entries(COMMANDS)) {
    if (!c.solver) continue;
    assert.ok(SOLVERS.get(c.solver.name) === c.solver, `${name}: its solver is the registry's ${c.solver.name}`);
    for (const [flag, f] of Object.entries(c.flags)) if (f.option) assert.ok(f.option in c.solver.options, `${name} --${flag}: option ${f.option}`);
  }
});

test('Ctrl-C (SIGINT) aborts a long solve promptly: error (aborted), exit code 130', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kantorovich-cli-'));
  try {
    const rng = new Rng(3);
    const cloud = (shift: number) => Array.from({ length: 1500 }, () => `${rng.uniform() + shift},${rng.uniform()}`).join('\n');
    writeFileSync(join(dir, 'a.csv'), cloud(0));
    writeFileSync(join(dir, 'b.csv'), cloud(0.5));
    const child = spawn(process.execPath, [CLI, 'sinkhorn', join(dir, 'a.csv'), join(dir, 'b.csv'), '--reg', '0.0005', '--method', 'log', '--max-iter', '1000000', '--tol', '0']);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.is(code, 130, stderr);
    assert.match(stderr, /error \(aborted\)/);
    // the message says how far the solve got: far short of --max-iter
    const got = Number(/after (\d+) iterations/.exec(stderr)?.[1]);
    assert.ok(got < 1_000_000, `stopped mid-solve: ${stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('backends --json lists wasm and js', async () => {
  const r = json(await cli('backends', '--json'), 'backends') as unknown as { name: string; available: boolean; reason?: string }[];
  assert.ok(Array.isArray(r));
  const names = r.map((b) => b.name);
  assert.ok(names.includes('wasm') && names.includes('js'), names.join(','));
  assert.ok(r.find((b) => b.name === 'js')!.available);
  for (const b of r) if (!b.available) assert.type(b.reason, 'string');
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
