// The published package, as its users get it: the tarball (KANTOROVICH_TARBALL, which CI makes with `npm pack`
// on its fresh clone, so prepack's build is what ships; else `npm pack --ignore-scripts` of this built
// repository), installed into an empty folder (`npm init -y`) with no configuration at all, then each kind of
// consumer:
//   1. the tarball: what runs (dist, the two wasm binaries, the pre-bundled worker and helper, the prebuilt
//      browser module), nothing else (no tests, no source maps or sourceMappingURL comments), every relative
//      import or `new URL(…, import.meta.url)` of a shipped file points at a shipped file;
//   2. the install: webgpu (Dawn) is an optional peer and comlink is vendored, so a CPU/browser user gets this
//      package and @webgpu/types only: `du -sk node_modules` ≤ 2 MB;
//   3. Node ESM (import), Node CommonJS (require(esm), Node ≥ 20.19), the installed CLI;
//   4. TypeScript strict without skipLibCheck, moduleResolution node16 and bundler;
//   5. browsers (Chromium, playwright-core): an esbuild bundle (assets copied, setAssetBase), a Vite build, a
//      webpack build and a plain page importing dist/kantorovich.browser.js — each solves emd with
//      { worker: true } in the pool's worker and sinkhorn on wasm (and on WebGPU where Chromium has it),
//      against Node's numbers; and an esbuild bundle without its assets: the wasm error names the URL, a
//      worker script that 404s falls back to in-process with a reason.
//
// Install: `npm install --offline`, seeded from the repository's lockfile when the npm cache lacks registry
// metadata, then --prefer-offline (see seedLockfile). Without npm on PATH the file prints a SKIPPED line;
// without /usr/bin/chromium (or KANTOROVICH_CHROMIUM) the browser part prints SKIPPED, unless
// KANTOROVICH_REQUIRE_BROWSER=1. KANTOROVICH_TEST_VERBOSE=1 prints timings and page logs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium, type Browser } from 'playwright-core';
import { Rng } from 'kantorovich';
import { startServer, type StaticServer } from '../examples/web/serve.js';
import { relErr, withTimeout as withTimeoutAfter } from './helpers.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CHROMIUM = process.env.KANTOROVICH_CHROMIUM ?? '/usr/bin/chromium';
const REQUIRE_BROWSER = process.env.KANTOROVICH_REQUIRE_BROWSER === '1';
const REQUIRE_WEBGPU = process.env.KANTOROVICH_REQUIRE_WEBGPU === '1';
const VERBOSE = process.env.KANTOROVICH_TEST_VERBOSE === '1';
const EXACT_TOL = 1e-12;
/** WebGPU is f32: ⟨P, C⟩ of the entropic plan against the f64 engines (tests/browser.test.ts uses the same). */
const GPU_COST_TOL = 1e-4;
const STEP_MS = 60_000;
/** The install-size target of issue #10 for a CPU/browser consumer. */
const MAX_INSTALL_KB = 2048;

/** npm's own environment (npm_config_local_prefix, npm_package_*, … when run under `npm test`) would point
 *  the child npm at this repository: the children get the environment without any npm_* variable. */
const CHILD_ENV: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
CHILD_ENV.NO_COLOR = '1';

interface Run {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: timeoutMs, killSignal: 'SIGKILL', env: CHILD_ENV, maxBuffer: 32 << 20 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string; signal?: string | null }) | null;
      const code = e ? (typeof e.code === 'number' ? e.code : e.code === 'ENOENT' ? 127 : null) : 0;
      resolve({ code, signal: e?.signal ?? null, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

function describe(r: Run, what: string): string {
  return `${what}: exit ${r.code}${r.signal ? ` (signal ${r.signal}, after ${r.ms} ms)` : ''}\n--- stdout ---\n${r.stdout.slice(-4000)}\n--- stderr ---\n${r.stderr.slice(-4000)}`;
}

const haveNpm = (() => {
  try {
    execFileSync('npm', ['--version'], { env: CHILD_ENV, stdio: 'pipe', timeout: 15_000 });
    return true;
  } catch {
    return false;
  }
})();
if (!haveNpm) console.log('pack.test: SKIPPED, npm is not available on PATH (it packs and installs the tarball).');
const haveBrowser = existsSync(CHROMIUM);
if (haveNpm && !haveBrowser && !REQUIRE_BROWSER) {
  console.log(`pack.test: browser part SKIPPED, no browser at ${CHROMIUM} (apt-get install chromium, or set KANTOROVICH_CHROMIUM); set KANTOROVICH_REQUIRE_BROWSER=1 to fail instead.`);
}
const it = haveNpm ? test : test.skip;
const itBrowser = haveNpm && (haveBrowser || REQUIRE_BROWSER) ? test : test.skip;

// ---- shared state ----------------------------------------------------------------------------------------

const TMP = mkdtempSync(join(tmpdir(), 'kantorovich-pack-'));
const APP = join(TMP, 'app');
let T0 = 0;
let tarball: string | undefined;
let shipped: string[] = [];
let installed = false;
/** The Node side (installed package) of the browser comparison. */
let nodeResult: NodeCheck | undefined;
let server: StaticServer | undefined;
let browser: Browser | undefined;
const pageLog: string[] = [];
const timings: string[] = [];

test.after(async () => {
  await browser?.close().catch(() => undefined);
  await server?.close().catch(() => undefined);
  rmSync(TMP, { recursive: true, force: true });
  if (T0) console.log(`pack.test: ${timings.join('; ')}; ${((Date.now() - T0) / 1000).toFixed(1)} s in all`);
  if (VERBOSE && pageLog.length) console.log(pageLog.join('\n'));
});

/** A small exact-OT problem shared by the Node scripts and the pages: 14 × 11 points in the plane. */
function problem() {
  const rng = new Rng(4242);
  const cloud = (k: number, shift: number) => Array.from({ length: k }, () => [rng.uniform() + shift, rng.uniform()]);
  const weights = (k: number) => {
    const w = Array.from({ length: k }, () => 0.2 + rng.uniform());
    const s = w.reduce((x, y) => x + y, 0);
    return w.map((x) => x / s);
  };
  const X = cloud(14, 0);
  const Y = cloud(11, 0.4);
  const a = weights(14);
  const b = weights(11);
  b[10] += 1 - b.reduce((x, y) => x + y, 0) - (1 - a.reduce((x, y) => x + y, 0)); // Σa = Σb to the last bit
  return { X, Y, a, b };
}
const PROBLEM = problem();

// ---- 1. pack -----------------------------------------------------------------------------------------------

/** Files the package must ship (beside package.json). */
const REQUIRED = [
  'README.md',
  'LICENSE',
  'CHANGELOG.md',
  'build/kantorovich.wasm',
  'build/kantorovich-mt.wasm',
  'build/kantorovich-worker.js',
  'build/kantorovich-wasm-helper.js',
  'dist/kantorovich.browser.js',
  'dist/bindings/node.js',
  'dist/bindings/node.d.ts',
  'dist/bindings/browser.js',
  'dist/bindings/browser.d.ts',
  'dist/bindings/cli.js',
  'dist/bindings/worker-node.js',
  'dist/bindings/wasm-helper-node.js',
  'dist/ts/index.js',
  'dist/ts/index.d.ts',
  'dist/gpu/entropic.js',
];

it('npm pack: prepack builds; the tarball holds what runs and nothing else; every relative import is shipped', async () => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts?: Record<string, string>; version: string };
  T0 = Date.now();
  assert.ok(/\bnpm run build\b/.test(pkg.scripts?.prepack ?? ''), 'package.json needs "prepack": "npm run build" (npm pack from a clean clone must ship dist/ and build/)');
  let r: Run | undefined;
  if (process.env.KANTOROVICH_TARBALL) {
    tarball = process.env.KANTOROVICH_TARBALL;
    r = await run('tar', ['-tzf', tarball], TMP, 30_000);
    assert.is(r.code, 0, describe(r, `tar -tzf ${tarball}`));
    shipped = r.stdout.split('\n').filter(Boolean).filter((f) => !f.endsWith('/')).map((f) => f.replace(/^package\//, '')).sort();
    execFileSync('tar', ['-xzf', tarball, '-C', TMP]);
  } else {
    for (const f of ['build/kantorovich.wasm', 'build/kantorovich-worker.js', 'dist/bindings/node.js'])
      assert.ok(existsSync(join(REPO, f)), `${f} is missing: run \`npm run build\` first (npm test does)`);
    // the repository is built already (npm test): do not let prepack build it a second time
    r = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', TMP], REPO, 60_000);
    assert.is(r.code, 0, describe(r, 'npm pack'));
    const info = JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    tarball = join(TMP, info[0].filename);
    shipped = info[0].files.map((f) => f.path).sort();
    execFileSync('tar', ['-xzf', tarball, '-C', TMP]);
  }
  assert.ok(existsSync(tarball), `no tarball at ${tarball}`);
  const root = join(TMP, 'package');
  const set = new Set(shipped);

  for (const f of REQUIRED) assert.ok(set.has(f), `the tarball lacks ${f}`);
  const extra = shipped.filter(
    (f) =>
      !['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'dist/kantorovich.browser.js'].includes(f) &&
      !/^build\/kantorovich(-mt)?\.wasm$/.test(f) &&
      !/^build\/kantorovich-(worker|wasm-helper)\.js$/.test(f) &&
      !/^dist\/(ts|gpu|bindings)\/.+\.(js|d\.ts)$/.test(f) &&
      !/^dist\/vendor\/(comlink(-node-adapter)?\.js|comlink\.d\.ts|protocol\.d\.ts|COMLINK-LICENSE|README\.md)$/.test(f),
  );
  assert.equal(extra, [], 'files the package does not need at runtime');

  // every relative specifier of a shipped .js / .d.ts resolves to a shipped file; no source-map comments
  const missing: string[] = [];
  const maps: string[] = [];
  const spec = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|new URL\(\s*)(['"])(\.{1,2}\/[^'"#]*)[^'"]*\1/g;
  for (const f of shipped.filter((p) => p.endsWith('.js') || p.endsWith('.d.ts'))) {
    const raw = readFileSync(join(root, f), 'utf8');
    if (/sourceMappingURL=/.test(raw)) maps.push(f);
    const text = raw.replace(/^\s*\/\/.*$/gm, '');
    for (const m of text.matchAll(spec)) {
      let target = posix.normalize(posix.join(posix.dirname(f), m[2]));
      if (f.endsWith('.d.ts') && target.endsWith('.js')) target = target.slice(0, -3) + '.d.ts';
      if (!set.has(target)) missing.push(`${f} → ${m[2]}`);
    }
  }
  assert.equal(missing, [], 'relative imports of shipped files that point outside the tarball');
  assert.equal(maps, [], 'sourceMappingURL comments pointing at .map files that are not shipped');
  // the pre-bundled browser scripts import nothing by a bare name (they load without a bundler or import map)
  for (const f of ['build/kantorovich-worker.js', 'build/kantorovich-wasm-helper.js', 'dist/kantorovich.browser.js']) {
    const text = readFileSync(join(root, f), 'utf8');
    assert.not.match(text, /(?:\bfrom|\bimport)\s*["'](?![./])[^"']+["']/, `${f} imports a bare module name`);
  }
  const packed = readFileSync(tarball).length;
  timings.push(`tarball ${shipped.length} files, ${(packed / 1000).toFixed(1)} kB`);
});

// ---- 2. install into an empty folder ------------------------------------------------------------------------

/** package-lock.json for the empty folder: the repository's lockfile entries of the package's runtime
 *  dependency closure (the versions `npm ci` put in the npm cache). */
function seedLockfile(): void {
  const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, Record<string, unknown>> };
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const app = JSON.parse(readFileSync(join(APP, 'package.json'), 'utf8')) as { name: string; version: string };
  const out: Record<string, Record<string, unknown>> = {};
  const queue = Object.keys(pkg.dependencies ?? {});
  while (queue.length) {
    const name = queue.shift()!;
    const key = `node_modules/${name}`;
    if (out[key]) continue;
    const entry = lock.packages[key];
    if (!entry) throw new Error(`package-lock.json has no ${key}`);
    const { dev: _d, devOptional: _o, peer: _p, ...keep } = entry;
    out[key] = keep;
    queue.push(...Object.keys((entry.dependencies as Record<string, string> | undefined) ?? {}));
  }
  const root = { name: app.name, version: app.version };
  writeFileSync(join(APP, 'package-lock.json'), JSON.stringify({ ...root, lockfileVersion: 3, requires: true, packages: { '': root, ...out } }, null, 2));
}

/** Size on disk of a folder in kB (du -sk). */
function duKb(dir: string): number {
  return Number(execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split(/\s/)[0]);
}

it('npm install of the tarball into an empty folder: no Dawn, node_modules ≤ 2 MB', async () => {
  assert.ok(tarball, 'npm pack did not run');
  mkdirSync(APP);
  const init = await run('npm', ['init', '-y'], APP, 30_000);
  assert.is(init.code, 0, describe(init, 'npm init -y'));

  const install = (extra: string[]) => run('npm', ['install', '--no-audit', '--no-fund', ...extra, tarball!], APP, 120_000);
  let r = await install(['--offline']);
  if (r.code !== 0 && /ENOTCACHED/.test(r.stdout + r.stderr)) {
    const why = /request to (\S+) failed/.exec(r.stderr)?.[1] ?? 'a registry document';
    console.log(`pack.test: npm install --offline: the npm cache lacks ${why} (npm ci caches tarballs, not the registry metadata a range needs); retrying offline with the dependency versions of the repository's package-lock.json`);
    seedLockfile();
    r = await install(['--offline']);
    if (r.code !== 0) {
      console.log(`pack.test: still not installable offline (${(r.stderr.match(/npm error .*/) ?? ['?'])[0]}); retrying with --prefer-offline (network)`);
      rmSync(join(APP, 'package-lock.json'), { force: true });
      r = await install(['--prefer-offline']);
    }
  }
  assert.is(r.code, 0, describe(r, 'npm install <tarball>'));
  for (const d of ['kantorovich/package.json', 'kantorovich/build/kantorovich.wasm', '@webgpu/types/package.json', '.bin/kantorovich'])
    assert.ok(existsSync(join(APP, 'node_modules', d)), `node_modules/${d} missing after install`);
  assert.ok(!existsSync(join(APP, 'node_modules', 'comlink')), 'comlink is vendored (dist/vendor/), not a dependency');
  assert.ok(!existsSync(join(APP, 'node_modules', 'webgpu')), 'webgpu (Dawn) is an optional peer: a plain install must not pull it in');
  const deps = (JSON.parse(readFileSync(join(APP, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }).dependencies ?? {};
  assert.ok(deps.kantorovich, 'the app records kantorovich as a dependency');
  const kb = duKb(join(APP, 'node_modules'));
  timings.push(`consumer node_modules ${(kb / 1024).toFixed(2)} MB (du -sk)`);
  assert.ok(kb <= MAX_INSTALL_KB, `a CPU/browser consumer's node_modules takes ${kb} kB, over ${MAX_INSTALL_KB} kB`);
  installed = true;
  timings.push(`npm install ${r.ms} ms`);
});

// ---- 3. Node -----------------------------------------------------------------------------------------------

interface NodeCheck {
  resolved: string;
  emd: { cost: number; dualityGap: number; status: string; backend: string; nnz: number };
  tiny: { cost: number; dualityGap: number; status: string };
  sinkhornWorker: { cost: number; converged: boolean; backend: string };
  sinkhornInProcess: { cost: number };
  sinkhornThreads: { cost: number; threads: number };
  sliced: { value: number; backend: string };
  backends: { name: string; available: boolean; reason?: string }[];
}

const SINKHORN_OPTS = "{ reg: 0.05, method: 'log', tol: 1e-9, maxIter: 3000, backend: 'wasm' }";

const NODE_SCRIPT = `
import { readFileSync } from 'node:fs';
import { emd, sinkhorn, slicedWasserstein, backends, dispose } from 'kantorovich';
const p = JSON.parse(readFileSync('./problem.json', 'utf8'));
const sq = (x, y) => x.reduce((s, v, k) => s + (v - y[k]) ** 2, 0);
const M = p.X.map((x) => p.Y.map((y) => sq(x, y)));
const e = await emd(p.a, p.b, M);
const t = await emd([0.5, 0.5], [0.25, 0.75], [[0, 1], [1, 0]]);
const sw = await sinkhorn(p.a, p.b, M, { ...${SINKHORN_OPTS}, worker: true });
const si = await sinkhorn(p.a, p.b, M, { ...${SINKHORN_OPTS}, worker: false });
const st = await sinkhorn(p.a, p.b, M, { ...${SINKHORN_OPTS}, worker: false, threads: 2 });
const sl = await slicedWasserstein(p.X, p.Y, { a: p.a, b: p.b, nProjections: 30, seed: 3 });
const be = await backends();
console.log(JSON.stringify({
  resolved: import.meta.resolve('kantorovich'),
  emd: { cost: e.cost, dualityGap: e.dualityGap, status: e.status, backend: e.backend, nnz: e.plan.nnz },
  tiny: { cost: t.cost, dualityGap: t.dualityGap, status: t.status },
  sinkhornWorker: { cost: sw.cost, converged: sw.status === 'converged', backend: sw.backend },
  sinkhornInProcess: { cost: si.cost },
  sinkhornThreads: { cost: st.cost, threads: st.threads },
  sliced: { value: sl.value, backend: sl.backend },
  backends: be.map((r) => ({ name: r.name, available: r.available, reason: r.reason })),
}));
await dispose(); // no process.exit: the process must end by itself
`;

it("Node ESM: import 'kantorovich' (emd certificate, sinkhorn in a worker and on two threads), no Dawn, exits by itself", async () => {
  assert.ok(installed, 'the install step failed');
  writeFileSync(join(APP, 'problem.json'), JSON.stringify(PROBLEM));
  writeFileSync(join(APP, 'check.mjs'), NODE_SCRIPT);
  const r = await run(process.execPath, ['check.mjs'], APP, 30_000);
  assert.ok(!r.signal, `the script did not exit by itself within 30 s (killed): ${describe(r, 'node check.mjs')}`);
  assert.is(r.code, 0, describe(r, 'node check.mjs'));
  assert.is(r.stderr.trim(), '', 'nothing on stderr (no Dawn warnings, no experimental-feature notes)');
  const got = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as NodeCheck;
  assert.ok(fileURLToPath(got.resolved).startsWith(join(APP, 'node_modules', 'kantorovich', 'dist', 'bindings') + '/'), `'kantorovich' resolved to ${got.resolved}`);
  assert.ok(got.resolved.endsWith('/node.js'), `the node condition picks dist/bindings/node.js, got ${got.resolved}`);

  assert.is(got.tiny.status, 'optimal');
  assert.ok(Math.abs(got.tiny.cost - 0.25) < 1e-15, `tiny emd cost ${got.tiny.cost}, want 0.25`);
  assert.ok(Math.abs(got.tiny.dualityGap) < 1e-12, `tiny emd duality gap ${got.tiny.dualityGap}`);
  assert.is(got.emd.status, 'optimal');
  assert.is(got.emd.backend, 'wasm');
  assert.ok(Math.abs(got.emd.dualityGap) <= 1e-12 * Math.max(1, got.emd.cost), `emd duality gap ${got.emd.dualityGap}`);
  assert.ok(got.emd.nnz <= 14 + 11 - 1, `emd plan has ${got.emd.nnz} non-zeros (basic solution ≤ n + m − 1)`);
  assert.is(got.sinkhornWorker.backend, 'wasm');
  assert.ok(got.sinkhornWorker.converged, 'sinkhorn in the worker converged');
  assert.ok(relErr(got.sinkhornWorker.cost, got.sinkhornInProcess.cost) <= EXACT_TOL, `sinkhorn in a worker ${got.sinkhornWorker.cost} vs in-process ${got.sinkhornInProcess.cost}`);
  assert.is(got.sinkhornThreads.threads, 2, 'sinkhorn with threads: 2 ran on two threads');
  assert.ok(relErr(got.sinkhornThreads.cost, got.sinkhornInProcess.cost) <= EXACT_TOL, `two threads ${got.sinkhornThreads.cost} vs one ${got.sinkhornInProcess.cost}`);
  assert.ok(Number.isFinite(got.sliced.value) && got.sliced.value > 0, `slicedWasserstein ${got.sliced.value}`);
  for (const name of ['wasm', 'js']) assert.ok(got.backends.find((b) => b.name === name)?.available, `backends(): ${name} available`);
  const gpu = got.backends.find((b) => b.name === 'webgpu');
  assert.ok(gpu && !gpu.available, 'webgpu is unavailable without the optional webgpu package');
  assert.match(gpu!.reason ?? '', /npm i webgpu/, `backends() says how to enable WebGPU: ${gpu!.reason}`);
  nodeResult = got;
  timings.push(`Node ESM ${r.ms} ms`);
});

it("Node CommonJS: require('kantorovich') (require(esm), Node ≥ 20.19)", async () => {
  assert.ok(installed && nodeResult, 'an earlier step failed');
  writeFileSync(
    join(APP, 'check.cjs'),
    `const { emd, dispose } = require('kantorovich');
const p = require('./problem.json');
const sq = (x, y) => x.reduce((s, v, k) => s + (v - y[k]) ** 2, 0);
emd(p.a, p.b, p.X.map((x) => p.Y.map((y) => sq(x, y)))).then(async (e) => { console.log(JSON.stringify({ cost: e.cost, path: require.resolve('kantorovich') })); await dispose(); });
`,
  );
  const r = await run(process.execPath, ['--disable-warning=ExperimentalWarning', 'check.cjs'], APP, 30_000);
  assert.is(r.code, 0, describe(r, 'node check.cjs'));
  const got = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as { cost: number; path: string };
  assert.ok(got.path.endsWith(join('kantorovich', 'dist', 'bindings', 'node.js')), `require.resolve: ${got.path}`);
  assert.ok(relErr(got.cost, nodeResult!.emd.cost) <= EXACT_TOL, `require: emd ${got.cost}, import: ${nodeResult!.emd.cost}`);
  timings.push(`Node require ${r.ms} ms`);
});

it('CLI: node_modules/.bin/kantorovich emd a.csv b.csv --json; --version', async () => {
  assert.ok(installed, 'the install step failed');
  writeFileSync(join(APP, 'a.csv'), 'x,y\n0,0\n1,0\n0,1\n');
  writeFileSync(join(APP, 'b.csv'), 'x,y\n0.5,0\n1,1\n2,0\n');
  const bin = join(APP, 'node_modules', '.bin', 'kantorovich');
  const r = await run(bin, ['emd', 'a.csv', 'b.csv', '--json'], APP, 20_000);
  assert.is(r.code, 0, describe(r, 'kantorovich emd a.csv b.csv --json'));
  const j = JSON.parse(r.stdout) as { cost: number; status: string; dualityGap: number; groundCost: string };
  // uniform weights, squared Euclidean: (0,0)→(0.5,0), (1,0)→(2,0), (0,1)→(1,1): (0.25 + 1 + 1) / 3
  assert.is(j.groundCost, 'sqeuclidean');
  assert.is(j.status, 'optimal');
  assert.ok(Math.abs(j.cost - 0.75) < 1e-12, `CLI cost ${j.cost}, want 0.75`);
  const bad = await run(bin, ['emd', 'a.csv', 'missing.csv'], APP, 20_000);
  assert.is(bad.code, 2, describe(bad, 'kantorovich emd on a missing file'));
  const v = await run(bin, ['--version'], APP, 20_000);
  const pkg = JSON.parse(readFileSync(join(APP, 'node_modules', 'kantorovich', 'package.json'), 'utf8')) as { version: string };
  assert.is(v.stdout.trim(), pkg.version, describe(v, 'kantorovich --version'));
});

// ---- 4. TypeScript -----------------------------------------------------------------------------------------

const TS_PROGRAM = `import { emd, sinkhorn, pointCloud, backends, setAssetBase, OTError, type BackendReport } from 'kantorovich';
const r = await emd([0.5, 0.5], [0.5, 0.5], [[0, 1], [1, 0]]);
const s = await sinkhorn([0.5, 0.5], [0.5, 0.5], pointCloud([[0, 0], [1, 0]], [[0, 1], [1, 1]]), { reg: 0.1 });
const list: BackendReport[] = await backends();
if (r.cost > 0 || !(s.cost >= 0) || list.length === 0 || OTError === undefined) setAssetBase('/assets/');
`;

for (const mode of ['node16', 'bundler'] as const) {
  it(`TypeScript strict, no skipLibCheck, moduleResolution ${mode}: a consumer program compiles against the .d.ts`, async () => {
    assert.ok(installed, 'the install step failed');
    const dir = join(APP, `ts-${mode}`);
    mkdirSync(dir, { recursive: true });
    const file = mode === 'node16' ? 'main.mts' : 'main.ts';
    writeFileSync(join(dir, file), TS_PROGRAM);
    const compilerOptions =
      mode === 'node16'
        ? { module: 'node16', moduleResolution: 'node16', target: 'es2022' }
        : { module: 'esnext', moduleResolution: 'bundler', target: 'es2022' };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...compilerOptions, strict: true, noEmit: true }, files: [file] }, null, 2));
    const tsc = createRequire(join(REPO, 'package.json')).resolve('typescript/bin/tsc');
    const r = await run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], dir, 120_000);
    assert.is(r.code, 0, describe(r, `tsc (${mode})`));
    timings.push(`tsc ${mode} ${r.ms} ms`);
  });
}

// ---- 5. browsers -------------------------------------------------------------------------------------------

const withTimeout = <T>(p: Promise<T>, what: string, ms = STEP_MS): Promise<T> => withTimeoutAfter(p, what, ms);

/** The consumer's app: what someone writes against the package. `config` (set by the page) sets the asset
 *  folder or the wasm source when the test wants them. */
const appSource = (specifier: string) => `import { emd, sinkhorn, costMatrix, backends, setAssetBase, setWasmSource, workerUnavailableReason } from '${specifier}';
const config = window.KANTOROVICH_TEST || {};
if (config.assetBase) setAssetBase(config.assetBase);
if (config.wasmUrl) setWasmSource(() => fetch(config.wasmUrl));
const message = (e) => (e && e.code ? e.code + ': ' : '') + (e && e.message ? e.message : String(e));
window.solve = async (p) => {
  const a = Float64Array.from(p.a), b = Float64Array.from(p.b);
  const M = costMatrix(p.X, p.Y);
  const out = {};
  try {
    const e = await emd(a, b, M, { worker: true });
    out.emd = { cost: e.cost, dualityGap: e.dualityGap, status: e.status, backend: e.backend, nnz: e.plan.nnz };
  } catch (e) { out.emdError = message(e); }
  out.workerReason = workerUnavailableReason() || null;
  if (out.emdError) return out;
  const s = await sinkhorn(a, b, M, { ...${SINKHORN_OPTS}, worker: false });
  out.sinkhorn = { cost: s.cost, backend: s.backend };
  const gpu = (await backends()).find((r) => r.name === 'webgpu');
  out.gpu = { available: gpu.available, reason: gpu.reason || null, adapter: gpu.adapter || null };
  if (gpu.available) {
    try {
      const g = await sinkhorn(a, b, M, { reg: 0.05, method: 'log', tol: 1e-6, maxIter: 3000, backend: 'webgpu', worker: false });
      out.webgpu = { cost: g.cost, backend: g.backend };
    } catch (e) { out.webgpuError = message(e); }
  }
  return out;
};
window.ready = true;
`;

const page = (script: string, config: Record<string, string> = {}) => `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>kantorovich consumer</title>
<script>window.KANTOROVICH_TEST = ${JSON.stringify(config)};</script></head>
<body>${script}</body></html>
`;

interface PageResult {
  emd?: { cost: number; dualityGap: number; status: string; backend: string; nnz: number };
  emdError?: string;
  workerReason: string | null;
  sinkhorn?: { cost: number; backend: string };
  gpu?: { available: boolean; reason: string | null; adapter: string | null };
  webgpu?: { cost: number; backend: string };
  webgpuError?: string;
}

async function solveAt(path: string, tag: string): Promise<{ got: PageResult; requests: string[] }> {
  if (!server) server = await startServer({ root: APP, rewriteImports: false });
  browser ??= await withTimeout(
    chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-dev-shm-usage'] }),
    'launching chromium',
  );
  const pg = await browser.newPage();
  const requests: string[] = [];
  pg.on('console', (m) => pageLog.push(`[${tag} console.${m.type()}] ${m.text()}`));
  pg.on('pageerror', (e) => pageLog.push(`[${tag} pageerror] ${e.message}`));
  pg.on('requestfailed', (r) => pageLog.push(`[${tag} requestfailed] ${r.url()} ${r.failure()?.errorText ?? ''}`));
  pg.on('response', (r) => {
    requests.push(new URL(r.url()).pathname);
    if (r.status() >= 400) pageLog.push(`[${tag} HTTP ${r.status()}] ${r.url()}`);
  });
  try {
    await withTimeout(pg.goto(server.url + path), `loading ${path}`);
    await withTimeout(pg.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true, undefined, { timeout: STEP_MS }), `${tag}: page ready`);
    const got = await withTimeout(
      pg.evaluate((p) => (window as unknown as { solve: (p: unknown) => Promise<PageResult> }).solve(p), PROBLEM),
      `${tag}: the solve in the page`,
    );
    return { got, requests };
  } catch (e) {
    const tail = pageLog.filter((l) => l.startsWith(`[${tag}`)).slice(-30).join('\n');
    if (e instanceof Error && tail) e.message += `\n--- page log ---\n${tail}`;
    throw e;
  } finally {
    await pg.close();
  }
}

function checkAgainstNode(got: PageResult, what: string): void {
  const n = nodeResult!;
  assert.ok(got.emd, `${what}: emd failed: ${got.emdError}`);
  assert.is(got.workerReason, null, `${what}: emd ran in-process, not in the worker: ${got.workerReason}`);
  assert.is(got.emd!.backend, 'wasm', `${what}: emd backend`);
  assert.is(got.emd!.status, 'optimal', `${what}: emd status`);
  assert.ok(relErr(got.emd!.cost, n.emd.cost) <= EXACT_TOL, `${what}: emd cost ${got.emd!.cost}, Node ${n.emd.cost}`);
  assert.is(got.emd!.nnz, n.emd.nnz, `${what}: emd plan non-zeros`);
  assert.ok(relErr(got.sinkhorn!.cost, n.sinkhornInProcess.cost) <= EXACT_TOL, `${what}: sinkhorn ${got.sinkhorn!.cost}, Node ${n.sinkhornInProcess.cost}`);
  if (got.gpu?.available) {
    assert.ok(got.webgpu, `${what}: webgpu sinkhorn failed: ${got.webgpuError}`);
    assert.is(got.webgpu!.backend, 'webgpu');
    assert.ok(relErr(got.webgpu!.cost, n.sinkhornInProcess.cost) <= GPU_COST_TOL, `${what}: webgpu (f32) sinkhorn ${got.webgpu!.cost}, Node (f64) ${n.sinkhornInProcess.cost}`);
    assert.match(got.gpu.adapter ?? '', /\S/, `${what}: backends() names the adapter`);
  } else if (REQUIRE_WEBGPU) {
    assert.unreachable(`${what}: webgpu unavailable in Chromium (KANTOROVICH_REQUIRE_WEBGPU=1): ${got.gpu?.reason}`);
  } else {
    console.log(`pack.test: ${what}: webgpu part SKIPPED, unavailable in Chromium: ${got.gpu?.reason}`);
  }
}

const browserReady = () => {
  assert.ok(haveBrowser, `${CHROMIUM} does not exist (KANTOROVICH_REQUIRE_BROWSER=1): install Debian's chromium or set KANTOROVICH_CHROMIUM`);
  assert.ok(installed && nodeResult, 'the install or Node step failed');
};

itBrowser('plain page: <script type="module"> importing dist/kantorovich.browser.js (no bundler, no import map)', async () => {
  browserReady();
  mkdirSync(join(APP, 'plain'));
  writeFileSync(join(APP, 'plain', 'index.html'), page(`<script type="module">\n${appSource('/node_modules/kantorovich/dist/kantorovich.browser.js')}</script>`));
  const t0 = Date.now();
  const { got, requests } = await solveAt('plain/index.html', 'plain');
  checkAgainstNode(got, 'plain page');
  assert.ok(requests.includes('/node_modules/kantorovich/build/kantorovich-worker.js'), `the pre-bundled worker was not loaded: ${requests.join(', ')}`);
  assert.ok(!requests.some((r) => r.includes('/comlink/')), 'comlink is inlined, never fetched');
  timings.push(`plain page ${Date.now() - t0} ms`);
});

/** A CDN stand-in: the installed package folder on another origin (another port), with CORS, as jsDelivr serves it. */
async function startCdn(root: string): Promise<{ url: string; close(): Promise<void> }> {
  const { createServer } = await import('node:http');
  const types: Record<string, string> = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };
  const srv = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = join(root, posix.normalize(path).replace(/^(\.\.\/)+/, ''));
    if (!file.startsWith(root) || !existsSync(file)) {
      res.writeHead(404, { 'access-control-allow-origin': '*' }).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[posix.extname(file)] ?? 'application/octet-stream', 'access-control-allow-origin': '*' });
    res.end(readFileSync(file));
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise<void>((resolve) => srv.close(() => resolve())) };
}

itBrowser('CDN: a page imports dist/kantorovich.browser.js from another origin (worker through a same-origin blob)', async () => {
  browserReady();
  const cdn = await startCdn(join(APP, 'node_modules', 'kantorovich'));
  try {
    mkdirSync(join(APP, 'cdn'));
    writeFileSync(join(APP, 'cdn', 'index.html'), page(`<script type="module">\n${appSource(`${cdn.url}dist/kantorovich.browser.js`)}</script>`));
    const t0 = Date.now();
    const { got } = await solveAt('cdn/index.html', 'cdn');
    checkAgainstNode(got, 'CDN page');
    timings.push(`CDN page ${Date.now() - t0} ms`);
  } finally {
    await cdn.close();
  }
});

/** esbuild (the repository's devDependency) bundling the consumer's app for the browser. */
async function esbuildApp(dir: string): Promise<void> {
  mkdirSync(join(APP, dir), { recursive: true });
  writeFileSync(join(APP, dir, 'main.js'), appSource('kantorovich'));
  const { build } = await import('esbuild');
  await build({ absWorkingDir: APP, entryPoints: [`${dir}/main.js`], outfile: `${dir}/out/app.js`, bundle: true, format: 'esm', platform: 'browser', minify: true, logLevel: 'error' });
}

itBrowser('esbuild: bundle, copy node_modules/kantorovich/build/ next to it, setAssetBase', async () => {
  browserReady();
  const t0 = Date.now();
  await esbuildApp('esbuild');
  cpSync(join(APP, 'node_modules', 'kantorovich', 'build'), join(APP, 'esbuild', 'out', 'kantorovich'), { recursive: true });
  writeFileSync(join(APP, 'esbuild', 'out', 'index.html'), page('<script type="module" src="./app.js"></script>', { assetBase: './kantorovich/' }));
  const built = Date.now() - t0;
  const { got, requests } = await solveAt('esbuild/out/index.html', 'esbuild');
  checkAgainstNode(got, 'esbuild bundle');
  assert.ok(requests.includes('/esbuild/out/kantorovich/kantorovich-worker.js'), `the worker came from the asset folder: ${requests.join(', ')}`);
  timings.push(`esbuild ${built} ms build, ${Date.now() - t0} ms in all`);
});

itBrowser('esbuild without the assets: the wasm error names the URL; a worker script that 404s falls back to in-process, with a reason', async () => {
  browserReady();
  await esbuildApp('bare');
  writeFileSync(join(APP, 'bare', 'out', 'index.html'), page('<script type="module" src="./app.js"></script>'));
  const missing = await solveAt('bare/out/index.html', 'bare');
  assert.ok(missing.got.emdError, 'emd cannot succeed without the wasm');
  assert.match(missing.got.emdError!, /backend-unavailable/);
  assert.match(missing.got.emdError!, /\/build\/kantorovich\.wasm/, `the error names the URL: ${missing.got.emdError}`);
  assert.match(missing.got.emdError!, /setAssetBase|setWasmSource/, `the error says how to fix it: ${missing.got.emdError}`);
  // the wasm found by setWasmSource, the worker script still missing: in-process, same numbers
  writeFileSync(join(APP, 'bare', 'out', 'index.html'), page('<script type="module" src="./app.js"></script>', { wasmUrl: '/node_modules/kantorovich/build/kantorovich.wasm' }));
  const { got } = await solveAt('bare/out/index.html', 'bare-fallback');
  assert.ok(got.emd, `emd with { worker: true } fell back to in-process instead of failing: ${got.emdError}`);
  assert.ok(relErr(got.emd!.cost, nodeResult!.emd.cost) <= EXACT_TOL, `fallback emd ${got.emd!.cost}, Node ${nodeResult!.emd.cost}`);
  assert.match(got.workerReason ?? '', /kantorovich-worker\.js/, `workerUnavailableReason() names the worker URL: ${got.workerReason}`);
  assert.match(got.workerReason ?? '', /setAssetBase/);
});

itBrowser('Vite: vite build of a page importing kantorovich (assets found through new URL(…, import.meta.url))', async () => {
  browserReady();
  const t0 = Date.now();
  const src = join(APP, 'vite');
  mkdirSync(src);
  writeFileSync(join(src, 'main.js'), appSource('kantorovich'));
  writeFileSync(join(src, 'index.html'), page('<script type="module" src="./main.js"></script>'));
  const { build } = await import('vite');
  await build({ root: src, base: './', configFile: false, logLevel: 'error', build: { outDir: join(src, 'out'), emptyOutDir: true } });
  const built = Date.now() - t0;
  const { got, requests } = await solveAt('vite/out/index.html', 'vite');
  checkAgainstNode(got, 'Vite build');
  assert.ok(requests.some((r) => /kantorovich-worker.*\.js$/.test(r)), `the worker asset was loaded: ${requests.join(', ')}`);
  timings.push(`Vite ${built} ms build, ${Date.now() - t0} ms in all`);
});

itBrowser('webpack 5: production build of a page importing kantorovich', async () => {
  browserReady();
  const t0 = Date.now();
  const src = join(APP, 'webpack');
  mkdirSync(src);
  // .mjs: `npm init -y` writes "type": "commonjs", under which webpack parses .js files as CommonJS
  writeFileSync(join(src, 'main.mjs'), appSource('kantorovich'));
  const webpack = (await import('webpack')).default;
  const stats = await new Promise<import('webpack').Stats>((resolve, reject) =>
    webpack(
      { mode: 'production', context: APP, entry: './webpack/main.mjs', output: { path: join(src, 'out'), filename: 'app.js' }, performance: { hints: false } },
      (err, s) => (err || !s ? reject(err ?? new Error('webpack gave no stats')) : resolve(s)),
    ),
  );
  assert.ok(!stats.hasErrors(), `webpack errors:\n${stats.toString({ all: false, errors: true })}`);
  writeFileSync(join(src, 'out', 'index.html'), page('<script src="./app.js"></script>'));
  const built = Date.now() - t0;
  const { got, requests } = await solveAt('webpack/out/index.html', 'webpack');
  checkAgainstNode(got, 'webpack build');
  assert.ok(requests.some((r) => r.startsWith('/webpack/out/') && r.endsWith('.js') && !r.endsWith('/app.js')), `the worker asset was loaded: ${requests.join(', ')}`);
  timings.push(`webpack ${built} ms build, ${Date.now() - t0} ms in all`);
});

test.run();
