// `npm run demo`: exact optimal transport between two bundled 2D point clouds (a ring and two moons),
// with timings per backend, and an SVG of the plan and of the displacement interpolation at t = ½.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { backends, costMatrix, emd, pointCloud, sinkhorn, sinkhornDivergence, slicedWasserstein, wasserstein1d, type EmdResult } from 'kantorovich';

const data = JSON.parse(readFileSync(new URL('../../examples/data/clouds.json', import.meta.url), 'utf8')) as {
  description: string;
  source: number[][];
  target: number[][];
};
const X = data.source;
const Y = data.target;
console.log(`kantorovich demo: ${data.description}\n`);

async function timed<T>(label: string, f: () => Promise<T>, describe: (r: T) => string): Promise<T> {
  await f(); // warm-up: loads the wasm, JIT
  const t0 = performance.now();
  const r = await f();
  console.log(`  ${label.padEnd(44)} ${(performance.now() - t0).toFixed(1).padStart(8)} ms   ${describe(r)}`);
  return r;
}

const describeEmd = (r: EmdResult) =>
  `W2² = ${r.cost.toFixed(6)}  [${r.backend}, ${r.status}, ${r.iterations} pivots, gap ${r.dualityGap.toExponential(1)}, ` +
  `dual infeasibility ${r.error.toExponential(1)}, ${r.plan.nnz} non-zeros]`;

console.log('Exact OT (network simplex), sqeuclidean cost, uniform weights:');
const dense = costMatrix(X, Y);
await timed('emd, dense 800 × 800 cost matrix', () => emd(undefined, undefined, dense), describeEmd);
const result = await timed('emd, point cloud (costs on the fly)', () => emd(undefined, undefined, pointCloud(X, Y)), describeEmd);

console.log('\nSliced and 1D distances, per backend:');
for (const backend of ['wasm', 'js'] as const) {
  await timed(`slicedWasserstein, 200 projections (${backend})`, () => slicedWasserstein(X, Y, { nProjections: 200, seed: 1, backend }), (r) => `SW2 = ${r.value.toFixed(6)}`);
}
const xs = X.map((p) => p[0]);
const ys = Y.map((p) => p[0]);
for (const backend of ['wasm', 'js'] as const) {
  await timed(`wasserstein1d of the x coordinates (${backend})`, () => wasserstein1d(xs, ys, { p: 2, backend }), (w) => `W2 = ${w.toFixed(6)}`);
}

// Entropic OT: one converged solve on the engine 'auto' picks, then the speed of every engine this machine
// has on the same 50 iterations (the f64 engines agree to rounding, webgpu is f32; on a software adapter such
// as lavapipe webgpu is slow: it shows correctness there, not speed).
const reg = 0.1;
console.log(`\nEntropic OT (reg = ${reg}, log domain, costs on the fly):`);
await timed(
  'sinkhorn to convergence (auto)',
  () => sinkhorn(undefined, undefined, pointCloud(X, Y), { reg, method: 'log', plan: false }),
  (r) => `cost = ${r.cost.toFixed(6)}  [${r.backend}${r.threads > 1 ? ` ×${r.threads} threads` : ''}, ${r.iterations} iterations, marginal error ${r.error.toExponential(1)}]`,
);
const available = (await backends()).filter((b) => b.available).map((b) => b.name);
for (const backend of ['webgpu', 'wasm', 'js'] as const) {
  if (!available.includes(backend)) continue;
  await timed(
    `sinkhorn, 50 iterations (${backend})`,
    () => sinkhorn(undefined, undefined, pointCloud(X, Y), { reg, method: 'log', backend, plan: false, maxIter: 50, tol: 0 }),
    (r) => `cost after 50 iterations = ${r.cost.toFixed(6)}${r.threads > 1 ? `  [${r.threads} threads]` : ''}`,
  );
}
await timed(
  'sinkhornDivergence (debiased), with gradients',
  () => sinkhornDivergence(X, Y, { reg, gradient: true }),
  (r) => `S_ε = ${r.value.toFixed(6)}  [${r.backend}]`,
);

// The picture: plan as segments, and the displacement interpolation (1 − t)·x + t·y at t = ½.
const all = [...X, ...Y];
const [minX, maxX] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
const [minY, maxY] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
const W = 900;
const H = Math.round((W * (maxY - minY)) / (maxX - minX)) + 40;
const sx = (x: number) => (20 + ((x - minX) / (maxX - minX)) * (W - 40)).toFixed(1);
const sy = (y: number) => (H - 20 - ((y - minY) / (maxY - minY)) * (H - 40)).toFixed(1);
const dots = (pts: number[][], colour: string) => pts.map((p) => `<circle cx="${sx(p[0])}" cy="${sy(p[1])}" r="2" fill="${colour}"/>`).join('');
const segments: string[] = [];
const middle: number[][] = [];
for (const [i, j] of result.plan.entries()) {
  segments.push(`<line x1="${sx(X[i][0])}" y1="${sy(X[i][1])}" x2="${sx(Y[j][0])}" y2="${sy(Y[j][1])}"/>`);
  middle.push([(X[i][0] + Y[j][0]) / 2, (X[i][1] + Y[j][1]) / 2]);
}
const svg =
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">` +
  `<rect width="100%" height="100%" fill="white"/>` +
  `<g stroke="#999" stroke-opacity="0.35" stroke-width="0.6">${segments.join('')}</g>` +
  dots(X, '#1f77b4') + dots(Y, '#ff7f0e') + dots(middle, '#2ca02c') +
  `<text x="20" y="18" font-family="sans-serif" font-size="13">optimal plan (grey), ring (blue) → moons (orange), interpolation at t = ½ (green); W2² = ${result.cost.toFixed(5)}</text></svg>\n`;
const out = new URL('../../demo-output/', import.meta.url);
mkdirSync(out, { recursive: true });
writeFileSync(new URL('transport.svg', out), svg);
console.log(`\nWrote demo-output/transport.svg (the plan and the displacement interpolation).`);
