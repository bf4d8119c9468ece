// The published package, as a user gets it: `npm pack` of the built repository (no prepack/prepare script,
// so packing never rebuilds), `npm install` of the tarball into an empty folder (`npm init -y`), then, with
// no configuration at all:
//   1. the tarball holds what the package needs at runtime and nothing else (no dist/tests, dist/bench,
//      dist/examples, no source maps), and every relative import / `new URL(…, import.meta.url)` of a shipped
//      file points at a shipped file;
//   2. Node: a spawned ESM script imports 'kantorovich' (bare specifier, `exports` → node), solves an emd
//      (certificate: dualityGap ≈ 0), a sinkhorn with { worker: true } (the worker entry must resolve inside
//      node_modules), slicedWasserstein, calls backends(), and exits by itself after dispose();
//   3. the installed CLI node_modules/.bin/kantorovich on two tiny CSV files (--json);
//   4. browser: Chromium (playwright-core) loads /node_modules/kantorovich/dist/bindings/browser.js from the
//      installed folder served on 127.0.0.1, (a) through a plain import map on the page's thread (wasm fetched
//      from node_modules/kantorovich/build/ by the library itself), (b) with { worker: true } in the library's
//      own module Web Workers; emd costs must equal Node's (installed package) to 1e-12.
//
// Install: `npm install --offline`. The npm cache filled by `npm ci` holds the dependency tarballs but not
// the full registry metadata that resolving `comlink@^4.4.2` needs, so when --offline says ENOTCACHED the
// test seeds the empty folder's package-lock.json with the repository's lockfile entries of the package's
// dependency closure (same versions `npm ci` cached; still offline), and only if that fails too falls back
// to --prefer-offline (network). Each fallback prints why.
//
// Without npm on PATH the file prints a SKIPPED line. The browser part follows tests/browser.test.ts:
// without /usr/bin/chromium (or KANTOROVICH_CHROMIUM) it prints SKIPPED, unless KANTOROVICH_REQUIRE_BROWSER=1.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Rng } from 'kantorovich';
import { startServer, type StaticServer } from '../examples/web/serve.js';
import { relErr, withTimeout as withTimeoutAfter } from './helpers.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CHROMIUM = process.env.KANTOROVICH_CHROMIUM ?? '/usr/bin/chromium';
const REQUIRE_BROWSER = process.env.KANTOROVICH_REQUIRE_BROWSER === '1';
const VERBOSE = process.env.KANTOROVICH_TEST_VERBOSE === '1';
const EXACT_TOL = 1e-12;
const STEP_MS = 30_000;

/** npm's own environment (npm_config_local_prefix, npm_package_*, … when run under `npm test`) would point
 *  the child npm at this repository: the children get the environment without any npm_* variable. */
const CHILD_ENV: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)),
);
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
let tarball: string | undefined;
let shipped: string[] = [];
let installed = false;
/** The Node side (installed package) of the browser comparison. */
let nodeResult: NodeCheck | undefined;
let server: StaticServer | undefined;
let browser: Browser | undefined;
const pageLog: string[] = [];

test.after(async () => {
  await browser?.close().catch(() => undefined);
  await server?.close().catch(() => undefined);
  rmSync(TMP, { recursive: true, force: true });
  if (VERBOSE && pageLog.length) console.log(pageLog.join('\n'));
});

/** A small exact-OT problem shared by the Node script and the page: 14 × 11 points in the plane. */
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
  'build/kantorovich.wasm',
  'build/kantorovich-mt.wasm',
  'dist/bindings/node.js',
  'dist/bindings/node.d.ts',
  'dist/bindings/browser.js',
  'dist/bindings/browser.d.ts',
  'dist/bindings/cli.js',
  'dist/bindings/worker-node.js',
  'dist/bindings/worker-browser.js',
  'dist/bindings/wasm-helper-node.js',
  'dist/bindings/wasm-helper-browser.js',
  'dist/ts/index.js',
  'dist/ts/index.d.ts',
  'dist/gpu/entropic.js',
];

it('npm pack: no prepack/prepare script, only runtime files, every relative import shipped', async () => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts?: Record<string, string>; version: string };
  for (const s of ['prepack', 'prepare', 'postpack', 'prepublish'])
    assert.ok(!pkg.scripts?.[s], `package.json has a "${s}" script: packing would run it (the test packs the already built repository)`);
  for (const f of ['build/kantorovich.wasm', 'dist/bindings/node.js'])
    assert.ok(existsSync(join(REPO, f)), `${f} is missing: run \`npm run build\` first (npm test does)`);

  const r = await run('npm', ['pack', '--json', '--pack-destination', TMP], REPO, 60_000);
  assert.is(r.code, 0, describe(r, 'npm pack'));
  const info = JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as { filename: string; size: number; unpackedSize: number; files: { path: string }[] }[];
  tarball = join(TMP, info[0].filename);
  assert.ok(existsSync(tarball), `npm pack wrote no ${tarball}`);
  shipped = info[0].files.map((f) => f.path).sort();
  const set = new Set(shipped);

  for (const f of REQUIRED) assert.ok(set.has(f), `the tarball lacks ${f}`);
  const extra = shipped.filter(
    (f) => f !== 'package.json' && f !== 'README.md' && f !== 'LICENSE' && !/^build\/kantorovich(-mt)?\.wasm$/.test(f) && !/^dist\/(ts|gpu|bindings)\/.+\.(js|d\.ts)$/.test(f),
  );
  assert.equal(extra, [], 'files the package does not need at runtime');

  // every relative specifier of a shipped .js / .d.ts resolves to a shipped file
  const missing: string[] = [];
  const spec = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|new URL\(\s*)(['"])(\.{1,2}\/[^'"]*)\1/g;
  for (const f of shipped.filter((p) => p.endsWith('.js') || p.endsWith('.d.ts'))) {
    const text = readFileSync(join(REPO, f), 'utf8').replace(/^\s*\/\/.*$/gm, '');
    for (const m of text.matchAll(spec)) {
      let target = posix.normalize(posix.join(posix.dirname(f), m[2]));
      if (f.endsWith('.d.ts') && target.endsWith('.js')) target = target.slice(0, -3) + '.d.ts';
      if (!set.has(target)) missing.push(`${f} → ${m[2]}`);
    }
  }
  assert.equal(missing, [], 'relative imports of shipped files that point outside the tarball');
  console.log(`pack.test: ${info[0].filename}: ${shipped.length} files, ${(info[0].size / 1000).toFixed(1)} kB packed, ${(info[0].unpackedSize / 1000).toFixed(1)} kB unpacked (npm pack ${r.ms} ms)`);
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

it('npm install of the tarball into an empty folder (npm init -y; --offline)', async () => {
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
  for (const d of ['kantorovich/package.json', 'kantorovich/build/kantorovich.wasm', 'comlink/package.json', 'webgpu/package.json', '.bin/kantorovich'])
    assert.ok(existsSync(join(APP, 'node_modules', d)), `node_modules/${d} missing after install`);
  const deps = (JSON.parse(readFileSync(join(APP, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }).dependencies ?? {};
  assert.ok(deps.kantorovich, 'the app records kantorovich as a dependency');
  assert.equal(readdirSync(join(APP, 'node_modules', 'kantorovich', 'dist')).sort(), ['bindings', 'gpu', 'ts']);
  installed = true;
  if (VERBOSE) console.log(`  npm install: ${r.ms} ms`);
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
  backends: { name: string; available: boolean }[];
}

const NODE_SCRIPT = `
import { readFileSync } from 'node:fs';
import { emd, sinkhorn, slicedWasserstein, backends, dispose } from 'kantorovich';
const p = JSON.parse(readFileSync('./problem.json', 'utf8'));
const sq = (x, y) => x.reduce((s, v, k) => s + (v - y[k]) ** 2, 0);
const M = p.X.map((x) => p.Y.map((y) => sq(x, y)));
const e = await emd(p.a, p.b, M);
const t = await emd([0.5, 0.5], [0.25, 0.75], [[0, 1], [1, 0]]);
const sw = await sinkhorn(p.a, p.b, M, { reg: 0.05, method: 'log', tol: 1e-9, maxIter: 3000, backend: 'wasm', worker: true });
const si = await sinkhorn(p.a, p.b, M, { reg: 0.05, method: 'log', tol: 1e-9, maxIter: 3000, backend: 'wasm', worker: false });
const st = await sinkhorn(p.a, p.b, M, { reg: 0.05, method: 'log', tol: 1e-9, maxIter: 3000, backend: 'wasm', worker: false, threads: 2 });
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
  backends: be.map((r) => ({ name: r.name, available: r.available })),
}));
await dispose(); // no process.exit: the process must end by itself
`;

it("Node: import 'kantorovich' from the installed package (emd certificate, sinkhorn in a worker), exits by itself", async () => {
  assert.ok(installed, 'the install step failed');
  writeFileSync(join(APP, 'problem.json'), JSON.stringify(PROBLEM));
  writeFileSync(join(APP, 'check.mjs'), NODE_SCRIPT);
  const r = await run(process.execPath, ['check.mjs'], APP, 30_000);
  assert.ok(!r.signal, `the script did not exit by itself within 30 s (killed): ${describe(r, 'node check.mjs')}`);
  assert.is(r.code, 0, describe(r, 'node check.mjs'));
  const line = r.stdout.trim().split('\n').pop() ?? '';
  const got = JSON.parse(line) as NodeCheck;
  assert.ok(fileURLToPath(got.resolved).startsWith(join(APP, 'node_modules', 'kantorovich', 'dist', 'bindings') + '/'), `'kantorovich' resolved to ${got.resolved}`);
  assert.ok(got.resolved.endsWith('/node.js'), `the node condition picks dist/bindings/node.js, got ${got.resolved}`);

  assert.is(got.tiny.status, 'optimal');
  assert.ok(Math.abs(got.tiny.cost - 0.25) < 1e-15, `tiny emd cost ${got.tiny.cost}, want 0.25`);
  assert.ok(Math.abs(got.tiny.dualityGap) < 1e-12, `tiny emd duality gap ${got.tiny.dualityGap}`);
  assert.is(got.emd.status, 'optimal');
  assert.is(got.emd.backend, 'wasm');
  assert.ok(Number.isFinite(got.emd.cost) && got.emd.cost > 0, `emd cost ${got.emd.cost}`);
  assert.ok(Math.abs(got.emd.dualityGap) <= 1e-12 * Math.max(1, got.emd.cost), `emd duality gap ${got.emd.dualityGap}`);
  assert.ok(got.emd.nnz <= 14 + 11 - 1, `emd plan has ${got.emd.nnz} non-zeros (basic solution ≤ n + m − 1)`);

  assert.is(got.sinkhornWorker.backend, 'wasm');
  assert.ok(got.sinkhornWorker.converged, 'sinkhorn in the worker converged');
  assert.ok(relErr(got.sinkhornWorker.cost, got.sinkhornInProcess.cost) <= EXACT_TOL, `sinkhorn in a worker ${got.sinkhornWorker.cost} vs in-process ${got.sinkhornInProcess.cost}`);
  // the shared-memory binary and the helper entry resolve inside the installed package; helpers let Node exit
  assert.is(got.sinkhornThreads.threads, 2, 'sinkhorn with threads: 2 ran on two threads');
  assert.ok(relErr(got.sinkhornThreads.cost, got.sinkhornInProcess.cost) <= EXACT_TOL, `two threads ${got.sinkhornThreads.cost} vs one ${got.sinkhornInProcess.cost}`);
  assert.ok(got.sinkhornWorker.cost >= got.emd.cost - 1e-12, `entropic ⟨P, C⟩ ${got.sinkhornWorker.cost} below the exact optimum ${got.emd.cost}`);
  assert.ok(Number.isFinite(got.sliced.value) && got.sliced.value > 0, `slicedWasserstein ${got.sliced.value}`);
  for (const name of ['wasm', 'js']) assert.ok(got.backends.find((b) => b.name === name)?.available, `backends(): ${name} available`);
  nodeResult = got;
  if (VERBOSE) console.log(`  installed package in Node: ${r.ms} ms; emd ${got.emd.cost}, sinkhorn ${got.sinkhornWorker.cost}`);
});

it('CLI: node_modules/.bin/kantorovich emd a.csv b.csv --json', async () => {
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
  assert.ok(Math.abs(j.dualityGap) < 1e-12, `CLI duality gap ${j.dualityGap}`);
  const bad = await run(bin, ['emd', 'a.csv', 'missing.csv'], APP, 20_000);
  assert.is(bad.code, 2, describe(bad, 'kantorovich emd on a missing file'));
});

// ---- 4. browser ------------------------------------------------------------------------------------------

const withTimeout = <T>(p: Promise<T>, what: string, ms = STEP_MS): Promise<T> => withTimeoutAfter(p, what, ms);

/** The consumer's page: what someone without a bundler writes (an import map for the two bare names). */
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>kantorovich from node_modules</title>
<script type="importmap">
{ "imports": { "kantorovich": "/node_modules/kantorovich/dist/bindings/browser.js", "comlink": "/node_modules/comlink/dist/esm/comlink.mjs" } }
</script></head>
<body><script type="module">
import { emd, sinkhorn, costMatrix } from 'kantorovich';
window.solve = async (p, worker) => {
  const a = Float64Array.from(p.a), b = Float64Array.from(p.b);
  const M = costMatrix(p.X, p.Y);
  const e = await emd(a, b, M, { worker });
  const s = await sinkhorn(a, b, M, { reg: 0.05, method: 'log', tol: 1e-9, maxIter: 3000, backend: 'wasm', worker });
  return { emd: { cost: e.cost, dualityGap: e.dualityGap, status: e.status, backend: e.backend, nnz: e.plan.nnz }, sinkhorn: { cost: s.cost, backend: s.backend } };
};
window.ready = true;
</script></body></html>
`;

async function openPage(rewriteImports: boolean): Promise<{ page: Page; requests: string[] }> {
  // the installed folder is the web root; module workers do not see the page's import map, so the pooled run
  // needs the test server's rewrite of the bare 'comlink' in served JavaScript (a bundler's job in real apps)
  await server?.close();
  server = await startServer({ root: APP, rewriteImports });
  if (!browser) {
    browser = await withTimeout(
      chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] }),
      'launching chromium',
    );
  }
  const page = await browser.newPage();
  const requests: string[] = [];
  const tag = rewriteImports ? 'pooled' : 'import map';
  page.on('console', (m) => pageLog.push(`[${tag} console.${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => pageLog.push(`[${tag} pageerror] ${e.message}`));
  page.on('requestfailed', (r) => pageLog.push(`[${tag} requestfailed] ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => {
    requests.push(new URL(r.url()).pathname);
    if (r.status() >= 400) pageLog.push(`[${tag} HTTP ${r.status()}] ${r.url()}`);
  });
  await withTimeout(page.goto(server.url + 'index.html'), 'loading the page');
  return { page, requests };
}

async function explained<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    const tail = pageLog.slice(-30).join('\n');
    if (e instanceof Error && tail) e.message += `\n--- page log ---\n${tail}`;
    throw e;
  }
}

interface PageResult {
  emd: { cost: number; dualityGap: number; status: string; backend: string; nnz: number };
  sinkhorn: { cost: number; backend: string };
}

async function solveInPage(rewriteImports: boolean, worker: boolean): Promise<{ got: PageResult; requests: string[] }> {
  const { page, requests } = await openPage(rewriteImports);
  const got = await explained(async () => {
    await withTimeout(page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true, undefined, { timeout: STEP_MS }), 'page ready');
    return withTimeout(
      page.evaluate(([p, w]) => (window as unknown as { solve: (p: unknown, w: boolean) => Promise<PageResult> }).solve(p, w), [PROBLEM, worker] as const),
      'the solve in the page',
    );
  });
  await page.close();
  return { got, requests };
}

function checkAgainstNode(got: PageResult, what: string): void {
  const n = nodeResult!;
  assert.is(got.emd.backend, 'wasm', `${what}: emd backend`);
  assert.is(got.emd.status, 'optimal', `${what}: emd status`);
  assert.ok(relErr(got.emd.cost, n.emd.cost) <= EXACT_TOL, `${what}: emd cost ${got.emd.cost}, Node ${n.emd.cost}`);
  assert.is(got.emd.nnz, n.emd.nnz, `${what}: emd plan non-zeros`);
  assert.ok(Math.abs(got.emd.dualityGap) <= 1e-12 * Math.max(1, got.emd.cost), `${what}: emd duality gap ${got.emd.dualityGap}`);
  assert.ok(relErr(got.sinkhorn.cost, n.sinkhornInProcess.cost) <= EXACT_TOL, `${what}: sinkhorn ${got.sinkhorn.cost}, Node ${n.sinkhornInProcess.cost}`);
}

itBrowser('browser: the installed package through an import map on the page (wasm from node_modules/kantorovich/build/)', async () => {
  assert.ok(haveBrowser, `${CHROMIUM} does not exist (KANTOROVICH_REQUIRE_BROWSER=1): install Debian's chromium or set KANTOROVICH_CHROMIUM`);
  assert.ok(installed && nodeResult, 'the install or Node step failed');
  writeFileSync(join(APP, 'index.html'), PAGE);
  const { got, requests } = await solveInPage(false, false);
  checkAgainstNode(got, 'page thread');
  assert.ok(requests.includes('/node_modules/kantorovich/build/kantorovich.wasm'), `the page did not fetch the packaged wasm: ${requests.join(', ')}`);
});

itBrowser("browser: { worker: true } in the library's own module Web Workers from node_modules", async () => {
  assert.ok(haveBrowser && installed && nodeResult, 'an earlier step failed');
  const { got, requests } = await solveInPage(true, true);
  checkAgainstNode(got, 'browser worker pool');
  assert.ok(requests.includes('/node_modules/kantorovich/dist/bindings/worker-browser.js'), `no module worker was loaded: ${requests.join(', ')}`);
});

test.run();
