// The built library in a real browser: Debian's Chromium driven by playwright-core, pages served from the
// repository root on 127.0.0.1 by examples/web/serve.ts (no bundler: /dist/bindings/browser.js loads as plain
// ES modules, wasm from /build/ via new URL(…, import.meta.url), WebGPU from navigator.gpu = SwiftShader
// under --enable-unsafe-webgpu).
//
// 1. tests/browser/: a module Web Worker runs emd (wasm), sinkhorn on webgpu and on wasm, the multiscale divergence on webgpu, and
//    slicedWasserstein on a seeded problem; the same calls run here on the Node build and must agree:
//      emd cost and duals        1e-12 relative (the same wasm binary: identical in practice)
//      sinkhorn, wasm            1e-12 relative (same f64 kernels)
//      slicedWasserstein         1e-12 relative
//      sinkhorn, webgpu (f32)    GPU_COST_TOL = 1e-4 relative on ⟨P, C⟩ and on the regularized cost, against
//                                the converged f64 result (tol 1e-9), with the GPU stopping at 1e-5 on the
//                                marginals. f32 rounding of C and of the potentials gives ~1e-5 relative on
//                                plan quantities at ε ≥ 0.02·scale (tests/webgpu-engine.test.ts); observed on
//                                SwiftShader (Chromium 156) here, ε = 0.05 ≈ 0.1·scale: 3.2e-7. Print the
//                                observed errors with KANTOROVICH_TEST_VERBOSE=1.
//      neural tensor engine      NEURAL_TOL = 5e-4 of the largest entry for an ICNN's ∇ₓg and Hessian-vector
//                                product on webgpu against the js engine (f64) here, and 1e-3 relative on the
//                                objectives of a 3-step trainICNNMap run (tests/neural-webgpu.test.ts's bounds).
//    The same page also runs emd and sinkhorn from its main thread with { worker: true }, i.e. in the
//    library's own pool of module Web Workers (dist/bindings/worker-browser.js), against Node to 1e-12.
// 2. examples/web/: the demo page; window.runAllPanels() runs its three panels; each must draw something
//    and report finite numbers; a screenshot goes to demo-output/demo-web.png (gitignored).
//
// Without /usr/bin/chromium (or KANTOROVICH_CHROMIUM) the file prints a SKIPPED line, unless
// KANTOROVICH_REQUIRE_BROWSER=1, where it fails. Without a WebGPU adapter in the browser the webgpu check
// prints why, unless KANTOROVICH_REQUIRE_WEBGPU=1, where it fails.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Rng, costMatrix, emd, neural, pointCloud, sinkhorn, sinkhornDivergence, slicedWasserstein, trainICNNMap } from 'kantorovich';
import { startServer, type StaticServer } from '../examples/web/serve.js';
import { closeArrays, relErr, withTimeout as withTimeoutAfter } from './helpers.js';

const CHROMIUM = process.env.KANTOROVICH_CHROMIUM ?? '/usr/bin/chromium';
const REQUIRE_BROWSER = process.env.KANTOROVICH_REQUIRE_BROWSER === '1';
const REQUIRE_WEBGPU = process.env.KANTOROVICH_REQUIRE_WEBGPU === '1';
const VERBOSE = process.env.KANTOROVICH_TEST_VERBOSE === '1';
const EXACT_TOL = 1e-12;
const GPU_COST_TOL = 1e-4;
/**
 * The multiscale divergence, webgpu in Chromium against wasm in Node: each value is within 5e-4·diam²·tol + 4ε·1e-7
 * of the exact one (tests/divergence-multiscale.test.ts's bounds: 2.1e-8 here, diam² = 2.69, tol 1e-5, ε = 0.02),
 * so they are within twice that; 1e-7 leaves a margin.
 */
const DIVERGENCE_TOL = 1e-7;
const NEURAL_TOL = 5e-4;
/** Bound on any single browser step; the whole file takes ~10 s here. */
const STEP_MS = 60_000;
const SCREENSHOT = fileURLToPath(new URL('../../demo-output/demo-web.png', import.meta.url));

const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser) {
  if (REQUIRE_BROWSER) {
    test('a browser is installed (KANTOROVICH_REQUIRE_BROWSER=1)', () => {
      assert.unreachable(`${CHROMIUM} does not exist: install Debian's chromium (apt-get install chromium) or set KANTOROVICH_CHROMIUM`);
    });
  } else {
    console.log(`browser.test: SKIPPED, no browser at ${CHROMIUM} (apt-get install chromium, or set KANTOROVICH_CHROMIUM); set KANTOROVICH_REQUIRE_BROWSER=1 to fail instead.`);
  }
}
const it = haveBrowser ? test : test.skip;

const withTimeout = <T>(p: Promise<T>, what: string, ms = STEP_MS): Promise<T> => withTimeoutAfter(p, what, ms);

let server: StaticServer | undefined;
let browser: Browser | undefined;
const pageLog: string[] = [];

async function open(path: string): Promise<Page> {
  if (!server) server = await startServer();
  if (!browser) {
    browser = await withTimeout(
      chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-dev-shm-usage'] }),
      'launching chromium',
    );
  }
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.on('console', (m) => pageLog.push(`[${path} console.${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => pageLog.push(`[${path} pageerror] ${e.message}`));
  page.on('requestfailed', (r) => pageLog.push(`[${path} requestfailed] ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => {
    if (r.status() >= 400) pageLog.push(`[${path} HTTP ${r.status()}] ${r.url()}`);
  });
  await withTimeout(page.goto(server.url + path), `loading ${path}`);
  return page;
}

/** Run `f`, and on failure add what the page said (console, errors, failed requests) to the message. */
async function explained<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    const tail = pageLog.slice(-30).join('\n');
    if (e instanceof Error && tail) e.message += `\n--- page log ---\n${tail}`;
    throw e;
  }
}

test.after(async () => {
  await browser?.close().catch(() => undefined);
  await server?.close();
  if (VERBOSE && pageLog.length) console.log(pageLog.join('\n'));
});

// ---- 1. the library in a Web Worker vs the Node build ------------------------------------------------

function problem(seed: number, n: number, m: number) {
  const rng = new Rng(seed);
  const cloud = (k: number, shift: number) => Array.from({ length: k }, () => [rng.uniform() + shift, rng.uniform()]);
  const weights = (k: number) => {
    const w = Array.from({ length: k }, () => 0.2 + rng.uniform());
    const s = w.reduce((x, y) => x + y, 0);
    return w.map((x) => x / s);
  };
  const X = cloud(n, 0);
  const Y = cloud(m, 0.3);
  const a = weights(n);
  const b = weights(m);
  b[m - 1] += 1 - b.reduce((x, y) => x + y, 0) - (1 - a.reduce((x, y) => x + y, 0)); // Σa = Σb to the last bit
  return {
    X, Y, a, b,
    sinkhorn: { reg: 0.05, method: 'log' as const, tol: 1e-9, maxIter: 3000 },
    gpuTol: 1e-5,
    divergence: { reg: 0.02, tol: 1e-5 },
    sliced: { nProjections: 40, seed: 7 },
    neural: {
      dim: 3,
      n: 6,
      hidden: [8, 8],
      seed: 3,
      X: Array.from({ length: 18 }, () => 2 * rng.uniform() - 1),
      V: Array.from({ length: 18 }, () => 2 * rng.uniform() - 1),
      P: { kind: 'gaussian' as const, mean: [0, 0], cov: [1, 0, 0, 1] },
      Q: { kind: 'gaussian' as const, mean: [1, -0.5], cov: [2, 0.6, 0.6, 0.8] },
      train: { hidden: [8], batchSize: 32, iterations: 3, innerSteps: 1, seed: 1 },
    },
  };
}

/**
 * The js (f64) reference of the browser's neural webgpu run (tests/browser/worker.js neuralOnGpu): ∇ₓg and the
 * Hessian-vector product of the same ICNN, and the same training run.
 */
async function neuralReference(q: ReturnType<typeof problem>['neural']) {
  const net = new neural.ICNN(q.dim, q.hidden, { activation: 'softplus', quadratic: 0.5, seed: q.seed });
  const x = neural.tensor(q.X, [q.n, q.dim]).requireGrad();
  const g = neural.grad(neural.sum(net.forward(x)), [x], { createGraph: true })[0];
  const hv = neural.grad(neural.sum(neural.mul(g, neural.tensor(q.V, [q.n, q.dim]))), [x])[0];
  const r = await trainICNNMap(q.P, q.Q, { ...q.train, backend: 'js', worker: false });
  return { g: g.toArray(), hv: hv.toArray(), history: r.history };
}

it('library in a module Web Worker (emd on wasm, sinkhorn on webgpu and wasm, sliced) agrees with Node', async () => {
  const p = problem(2026, 60, 45);
  const page = await open('tests/browser/');
  const got = await explained(async () => {
    await withTimeout(page.waitForFunction(() => (window as unknown as { pageReady?: boolean }).pageReady === true), 'test page ready');
    return withTimeout(
      page.evaluate((pr) => (window as unknown as { runInWorker: (x: unknown) => Promise<any> }).runInWorker(pr), p),
      'the worker run',
    );
  });
  await page.close();
  assert.ok(got.inWorker, 'the solves ran in a WorkerGlobalScope');

  // the same calls on the Node build
  const a = Float64Array.from(p.a);
  const b = Float64Array.from(p.b);
  const M = costMatrix(p.X, p.Y);
  const e = await emd(a, b, M);
  const s = await sinkhorn(a, b, M, { ...p.sinkhorn, backend: 'wasm' });
  const sl = await slicedWasserstein(p.X, p.Y, { a, b, ...p.sliced });

  const close = (x: number, y: number, tol: number, what: string) => {
    const r = relErr(x, y);
    if (VERBOSE) console.log(`  ${what}: browser ${x}, node ${y}, relative error ${r.toExponential(2)} (tol ${tol})`);
    assert.ok(Number.isFinite(x) && r <= tol, `${what}: browser ${x}, node ${y}, relative error ${r.toExponential(2)} > ${tol}`);
  };
  assert.is(got.emd.backend, 'wasm');
  assert.is(got.emd.status, 'optimal');
  close(got.emd.cost, e.cost, EXACT_TOL, 'emd cost');
  assert.is(got.emd.nnz, e.plan.nnz, 'emd plan non-zeros');
  let du = 0;
  for (let i = 0; i < e.potentials.u.length; i++) du = Math.max(du, Math.abs(got.emd.u[i] - e.potentials.u[i]));
  assert.ok(du <= EXACT_TOL * Math.max(1, ...Array.from(e.potentials.u, Math.abs)), `emd duals differ by ${du}`);

  assert.is(got.sinkhornWasm.backend, 'wasm');
  assert.ok(got.sinkhornWasm.converged && (s.status === 'converged'), 'wasm sinkhorn converged on both sides');
  close(got.sinkhornWasm.cost, s.cost, EXACT_TOL, 'sinkhorn wasm ⟨P, C⟩');
  close(got.sinkhornWasm.regCost, s.regValue, EXACT_TOL, 'sinkhorn wasm regularized cost');
  assert.is(got.sinkhornWasm.iterations, s.iterations, 'sinkhorn wasm iterations');
  // the page is cross-origin isolated (examples/web/serve.ts), so a worker may block: two threads run
  assert.ok(got.sinkhornThreads.isolated, 'the test page is cross-origin isolated');
  assert.is(got.sinkhornThreads.threads, 2, 'sinkhorn with threads: 2 ran on two threads (helper module worker)');
  close(got.sinkhornThreads.cost, s.cost, EXACT_TOL, 'sinkhorn wasm on two threads ⟨P, C⟩');

  close(got.sliced.value, sl.value, EXACT_TOL, `slicedWasserstein (${got.sliced.backend} vs ${sl.backend})`);

  const gpu = got.backends.find((r: { name: string }) => r.name === 'webgpu');
  const gpuNote = `adapter ${JSON.stringify(got.gpu)}; backends() says ${JSON.stringify(gpu)}`;
  if (!gpu?.available) {
    if (REQUIRE_WEBGPU) assert.unreachable(`webgpu unavailable in Chromium (KANTOROVICH_REQUIRE_WEBGPU=1): ${gpuNote}`);
    console.log(`browser.test: webgpu part SKIPPED, unavailable in Chromium: ${gpuNote}; set KANTOROVICH_REQUIRE_WEBGPU=1 to fail instead.`);
  } else {
    const g = got.sinkhornWebgpu;
    assert.ok(g && !g.error, `webgpu sinkhorn failed in the browser: ${g?.error}`);
    assert.is(g.backend, 'webgpu');
    assert.ok(g.converged, `webgpu sinkhorn converged (marginal error ${g.marginalError} after ${g.iterations} iterations)`);
    close(g.cost, s.cost, GPU_COST_TOL, 'sinkhorn webgpu (f32) ⟨P, C⟩ vs f64');
    close(g.regCost, s.regValue, GPU_COST_TOL, 'sinkhorn webgpu (f32) regularized cost vs f64');
    // the multiscale divergence's WGSL kernel against Node's wasm multiscale solve of the same clouds: both within
    // tol 1e-5 of the marginals, values ~1e-9 apart in tests/divergence-multiscale.test.ts (DIVERGENCE_TOL: margin)
    const dv = got.divergenceWebgpu;
    assert.ok(dv && !dv.failure, `webgpu multiscale divergence failed in the browser: ${dv?.failure}`);
    assert.is(dv.backend, 'webgpu');
    assert.is(dv.strategy, 'multiscale');
    assert.is(dv.status, 'converged');
    assert.ok(dv.error + dv.droppedMass <= p.divergence.tol, `browser multiscale: error ${dv.error} + dropped ${dv.droppedMass} ≤ tol`);
    const dn = await sinkhornDivergence(p.X, p.Y, { a, b, ...p.divergence, strategy: 'multiscale', backend: 'wasm', worker: false });
    if (VERBOSE) console.log(`  multiscale divergence: browser webgpu ${dv.value}, node wasm ${dn.value}, |Δ| ${Math.abs(dv.value - dn.value).toExponential(2)} (tol ${DIVERGENCE_TOL})`);
    assert.ok(Math.abs(dv.value - dn.value) <= DIVERGENCE_TOL, `multiscale divergence: browser webgpu ${dv.value}, node wasm ${dn.value}`);
    // neural tensor engine on SwiftShader: as tests/neural-webgpu.test.ts on lavapipe, f32 second-order values to
    // 5e-4 of the largest entry and a short training run's objectives to 1e-3 relative
    const nw = got.neuralWebgpu;
    assert.ok(nw && !nw.error, `neural webgpu failed in the browser: ${nw?.error}`);
    const ref = await neuralReference(p.neural);
    closeArrays(nw.g, ref.g, NEURAL_TOL, 'browser webgpu ICNN ∇ₓg vs js');
    closeArrays(nw.hv, ref.hv, NEURAL_TOL, 'browser webgpu ICNN Hessian-vector product vs js');
    ref.history.forEach((h: { loss: number }, i: number) => close(nw.history[i].loss, h.loss, 1e-3, `browser webgpu trainICNNMap objective at step ${i + 1}`));
  }
  if (VERBOSE) {
    console.log(`  ${got.userAgent}\n  ${gpuNote}`);
    console.log(`  browser times (ms): emd ${got.emd.ms.toFixed(1)}, sinkhorn wasm ${got.sinkhornWasm.ms.toFixed(1)}, ` +
      `sinkhorn webgpu ${got.sinkhornWebgpu?.ms?.toFixed(1)} (${got.sinkhornWebgpu?.iterations} it), sliced ${got.sliced.ms.toFixed(1)}`);
  }
});

it("library on the page's thread, offloaded to its own pool of module Web Workers ({ worker: true }), agrees with Node", async () => {
  const p = problem(2027, 40, 50);
  const page = await open('tests/browser/');
  const got = await explained(async () => {
    await withTimeout(page.waitForFunction(() => (window as unknown as { pageReady?: boolean }).pageReady === true), 'test page ready');
    return withTimeout(
      page.evaluate((pr) => (window as unknown as { runWithPool: (x: unknown) => Promise<any> }).runWithPool(pr), p),
      'the pooled run',
    );
  });
  await page.close();
  const a = Float64Array.from(p.a);
  const b = Float64Array.from(p.b);
  const M = costMatrix(p.X, p.Y);
  const e = await emd(a, b, M, { worker: false });
  const s = await sinkhorn(a, b, M, { ...p.sinkhorn, backend: 'wasm', worker: false });
  assert.is(got.emd.backend, 'wasm');
  assert.ok(relErr(got.emd.cost, e.cost) <= EXACT_TOL, `emd via the browser pool: ${got.emd.cost} vs node ${e.cost}`);
  assert.is(got.emd.nnz, e.plan.nnz);
  assert.ok(relErr(got.sinkhornWasm.cost, s.cost) <= EXACT_TOL, `sinkhorn via the browser pool: ${got.sinkhornWasm.cost} vs node ${s.cost}`);
  assert.ok(relErr(got.sinkhornWasm.regCost, s.regValue) <= EXACT_TOL, `sinkhorn regCost via the browser pool: ${got.sinkhornWasm.regCost} vs node ${s.regValue}`);
});

// ---- 2. the demo page ----------------------------------------------------------------------------------

interface PanelsResult {
  clouds: { cost: number; entries: number; n: number; m: number; backend: string; painted: number } | null;
  colour: { cost: number; backend: string; meanShift: number; painted: number; pixels: number };
  barycenter: { size: number; t: number; mass: number; finite: boolean; iterations: number; converged: boolean; painted: number };
  neural: {
    iterations: number; n: number; loss: number; w2Before: number; w2After: number; status: string; trainMs: number;
    progressEvents: number; finished: boolean; painted: number;
  };
  ms: number;
}

it('demo page (examples/web): every panel computes and draws; screenshot', async () => {
  const page = await open('examples/web/?manual');
  const r = await explained(() =>
    withTimeout(page.evaluate(() => (window as unknown as { runAllPanels: () => Promise<unknown> }).runAllPanels()), 'runAllPanels') as Promise<PanelsResult>,
  );
  if (VERBOSE) console.log(`  demo panels: ${JSON.stringify(r)}`);
  const c = r.clouds!;
  assert.ok(c, 'the clouds panel ran');
  assert.ok(Number.isFinite(c.cost) && c.cost > 0, `clouds: W2² = ${c.cost}`);
  assert.is(c.backend, 'wasm');
  assert.ok(c.entries >= Math.max(c.n, c.m) && c.entries <= c.n + c.m - 1, `clouds: ${c.entries} plan entries for ${c.n} × ${c.m}`);
  assert.ok(c.painted > 2000, `clouds: only ${c.painted} pixels drawn`);
  // the same problem on the Node build: the page's number is the library's
  const d = JSON.parse(readFileSync(new URL('../../examples/data/clouds.json', import.meta.url), 'utf8')) as { source: number[][]; target: number[][] };
  const step = d.source.length / c.n;
  const X = Array.from({ length: c.n }, (_, i) => d.source[Math.floor(i * step)]);
  const Y = Array.from({ length: c.n }, (_, i) => d.target[Math.floor(i * step)]);
  const ref = await emd(undefined, undefined, pointCloud(X, Y));
  assert.ok(relErr(c.cost, ref.cost) <= EXACT_TOL, `clouds: page ${c.cost} vs node ${ref.cost}`);

  const col = r.colour;
  assert.ok(Number.isFinite(col.cost) && col.cost > 0, `colour: cost ${col.cost}`);
  assert.ok(col.meanShift > 0.02, `colour: the recoloured image hardly changed (mean shift ${col.meanShift})`);
  assert.ok(col.painted > col.pixels / 2, `colour: ${col.painted} of ${col.pixels} output pixels drawn`);

  const b = r.barycenter;
  assert.ok(b.finite, 'barycenter: finite');
  assert.ok(b.converged, `barycenter: not converged after ${b.iterations} iterations`);
  assert.ok(Math.abs(b.mass - 1) < 1e-6, `barycenter: mass ${b.mass}`);
  assert.ok(b.painted > 500, `barycenter: only ${b.painted} pixels drawn`);

  // neural OT (trainNOT in the worker, 8 Gaussians → moons): trained, reported progress, moved the samples onto the target
  const nn = r.neural;
  assert.ok(nn?.finished, 'neural: training finished');
  assert.ok(nn.progressEvents > 0, 'neural: no progress messages from the worker');
  assert.ok(Number.isFinite(nn.loss), `neural: final loss ${nn.loss}`);
  assert.is(nn.status, 'optimal');
  assert.ok(Number.isFinite(nn.w2Before) && nn.w2Before > 0.5, `neural: W2² before training ${nn.w2Before}`);
  assert.ok(nn.w2After < nn.w2Before / 3, `neural: W2² ${nn.w2Before} → ${nn.w2After}, less than a 3× drop`);
  assert.ok(nn.painted > 2000, `neural: only ${nn.painted} pixels drawn`);
  const neuralLine = await page.$eval('#neural-status', (el) => el.textContent ?? '');
  assert.match(neuralLine, /trained \d+ iterations/, `neural status line: ${neuralLine}`);

  // the colour panel's other solver: sinkhorn (auto backend), started from the UI as a user would
  await page.selectOption('#colour-method', 'sinkhorn');
  const line = await explained(async () => {
    await withTimeout(
      page.waitForFunction(() => {
        const el = document.getElementById('colour-status')!;
        return el.classList.contains('error') || /sinkhorn\//.test(el.textContent ?? '');
      }, undefined, { timeout: STEP_MS }),
      'colour transfer with sinkhorn',
    );
    return page.$eval('#colour-status', (el) => el.textContent ?? '');
  });
  const sinkhornCost = Number(/=\s*([-0-9.e+]+)/.exec(line)?.[1]);
  assert.ok(Number.isFinite(sinkhornCost) && sinkhornCost >= col.cost - 1e-4, `colour, sinkhorn: ${line} (emd cost ${col.cost})`);

  // the page reported no errors on its status lines
  const errors = await page.$$eval('.status.error', (els) => els.map((e) => e.textContent));
  assert.equal(errors, [], 'status lines with errors');
  mkdirSync(dirname(SCREENSHOT), { recursive: true });
  await withTimeout(page.screenshot({ path: SCREENSHOT, fullPage: true }), 'screenshot');
  console.log(`browser.test: demo page screenshot in ${SCREENSHOT} (panels ran in ${(r.ms / 1000).toFixed(1)} s; ` +
    `NOT W2² ${nn.w2Before.toFixed(4)} → ${nn.w2After.toFixed(4)} in ${(nn.trainMs / 1000).toFixed(1)} s)`);
  await page.close();
});

test.run();
