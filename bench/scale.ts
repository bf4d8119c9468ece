// Sinkhorn divergence at scale (issue 14): uniform 3-D clouds, reg = 0.01·diam², tol 1e-3 on the marginals,
// the multiscale strategy (ts/entropic/multiscale.ts); the dense strategy alongside up to --dense points.
// One size per process (peak RSS is per process). Not part of `npm test`.
//
//   node dist/bench/scale.js [--n 100000] [--dense 10000] [--threads auto] [--progress] [--reference] [--gradient] [--webgpu 10000] [--gpu-dense 10000] [--gpu-only]
//
// --webgpu N (n ≤ N): also the multiscale strategy with its passes on the WebGPU adapter (gpu/stream.ts);
// --gpu-dense N (n ≤ N): also the dense strategy there (f32, costs computed on the fly, O(n + m) memory on the
// device). On lavapipe (a CPU rasterizer) these are correctness checks, not speed figures.
//
// --reference (with n ≤ --dense) also solves the dense strategy to tol 1e-7 and reports each result's distance
// from it: what tol 1e-3 costs in accuracy.
import { cpus, loadavg } from 'node:os';
import { Rng, sinkhornDivergence, type DivergenceResult } from 'kantorovich';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
};
const N = Number(arg('--n', '100000'));
const DENSE = Number(arg('--dense', '10000'));
const threadsArg = arg('--threads', 'auto');
const progress = process.argv.includes('--progress');
const reference = process.argv.includes('--reference');
const gradient = process.argv.includes('--gradient');
const WEBGPU = Number(arg('--webgpu', '0'));
const GPU_DENSE = Number(arg('--gpu-dense', '0'));
// --gpu-only: the webgpu rows alone (n = 10^6 on a lent GPU, where the CPU strategies would take many minutes)
const gpuOnly = process.argv.includes('--gpu-only');
const threads = threadsArg === 'auto' ? 'auto' : Number(threadsArg);
const D = 3;
const rng = new Rng(14);
const X = { data: Float64Array.from({ length: N * D }, () => rng.uniform()), rows: N, cols: D };
const Y = { data: Float64Array.from({ length: N * D }, () => rng.uniform()), rows: N, cols: D };
const reg = 0.01 * D; // the unit cube's squared diameter is 3
const tol = 1e-3;

async function run(strategy: 'multiscale' | 'dense', tolerance = tol, backend?: 'webgpu'): Promise<{ r: DivergenceResult; s: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const onProgress = progress ? (p: { iterations: number; error: number }) => console.log(`${strategy} iteration ${p.iterations}: error ${p.error.toExponential(2)} at ${((performance.now() - t0) / 1000).toFixed(2)} s`) : undefined;
  const r = await sinkhornDivergence(X, Y, { reg, tol: tolerance, strategy, threads, worker: false, onProgress, gradient, backend });
  const s = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { r, s, cpu: (c.user + c.system) / 1e6 };
}

const out: string[] = [
  `sinkhornDivergence, n = m = ${N}, d = 3 uniform, reg = 0.01·diam² = ${reg}, tol ${tol}; ${cpus().length} cores, load ${loadavg()[0].toFixed(1)} before`,
  '| strategy | s | CPU s | iterations (coarse) | error | droppedMass | kernel pairs | pairs / CPU s | threads | value | peak RSS MB |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
];
const row = (name: string, { r, s, cpu }: { r: DivergenceResult; s: number; cpu: number }) =>
  `| ${name} | ${s.toFixed(2)} | ${cpu.toFixed(1)} | ${r.iterations}${r.coarseIterations ? ` (${r.coarseIterations})` : ''} | ${r.error.toExponential(2)} | ${r.droppedMass?.toExponential(2) ?? '—'} | ${r.pairs?.toExponential(2) ?? '—'} | ${r.pairs ? (r.pairs / cpu).toExponential(2) : '—'} | ${r.threads} | ${r.value.toPrecision(7)} | ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} |`;
const ms = gpuOnly ? undefined : await run('multiscale');
if (ms) out.push(row('multiscale', ms));
if (ms && N <= DENSE) {
  const dense = await run('dense');
  out.push(row('dense', dense));
  out.push(`|value(multiscale) − value(dense)| = ${Math.abs(ms.r.value - dense.r.value).toExponential(2)}; linearValue: ${Math.abs(ms.r.linearValue - dense.r.linearValue).toExponential(2)}`);
  if (reference) {
    const ref = (await run('dense', 1e-7)).r;
    const rel = (x: number, y: number) => (Math.abs(x - y) / Math.abs(y)).toExponential(2);
    out.push(`reference (dense, tol 1e-7): value ${ref.value.toPrecision(8)}, linearValue ${ref.linearValue.toPrecision(8)}`);
    for (const [name, r] of [['multiscale', ms.r], ['dense', dense.r]] as const) out.push(`${name} at tol ${tol}: value ${r.value.toPrecision(8)} (${rel(r.value, ref.value)} relative), linearValue ${rel(r.linearValue, ref.linearValue)} relative`);
  }
}
for (const [strategy, upTo] of [['multiscale', WEBGPU], ['dense', GPU_DENSE]] as const) {
  if (N > upTo) continue;
  const gpu = await run(strategy, tol, 'webgpu');
  out.push(row(`${strategy}, ${gpu.r.backend}`, gpu));
  if (ms) out.push(`|value(multiscale) − value(${strategy}, ${gpu.r.backend})| = ${Math.abs(ms.r.value - gpu.r.value).toExponential(2)} (${(Math.abs(ms.r.value - gpu.r.value) / gpu.r.value).toExponential(2)} relative)`);
}
out.push(`load ${loadavg()[0].toFixed(1)} after`);
console.log(out.join('\n'));
