// Benchmark of the batched calls (sinkhornBatch, pairwiseDistances) against the same work one call at a time and
// against POT 0.8.2 looped (bench/pot_batch.py, Debian's /usr/bin/python3).
//
//     npm run build && node dist/bench/batch.js [--B 1000] [--n 64] [--clouds 50] [--points 1000] [--no-pot] [--threads 1] [--webgpu [--gpuB 50]]
//
//   sinkhorn-batch: B problems of n × n, costs uniform in [0, 1], uniform weights, reg 0.05, exactly 100
//                   iterations (tol 0 / stopThr 0), no plan: sinkhornBatch({ costs, shape }) vs B sequential
//                   sinkhorn(a, b, M) calls vs POT's ot.sinkhorn2 looped over the B problems. All in-process
//                   (worker: false); the method is 'auto' (scaling at this reg and scale) on our side, POT's
//                   default 'sinkhorn' (scaling) on the other.
//   pairwise-divergence: the 50 × 50 S_ε matrix of 50 clouds of 1000 points (2D Gaussians with shifted means),
//                   reg 0.5 (--reg), tol 1e-6: pairwiseDistances(clouds, { method: 'divergence' }) (1275 OT_ε solves: 50
//                   self terms, 1225 pairs). Ours only (POT's ot.sinkhorn_divergence recomputes the self terms for
//                   every pair: 3675 solves); one run, it takes minutes.
// One untimed warm-up of the batch (sequential: of one call), then the median of `reps` timed runs.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, writeInputs } from './inputs.js';
import '../bindings/node.js';
import { Rng } from '../ts/rng.js';
import { sinkhorn } from '../ts/solvers/sinkhorn.js';
import { sinkhornBatch } from '../ts/solvers/batch.js';
import { pairwiseDistances } from '../ts/solvers/pairwise.js';
import { dispose } from '../ts/worker/pool.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TMP = join(ROOT, '.bench-tmp', 'batch');
const PY = process.env.POT_PYTHON ?? '/usr/bin/python3';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

async function time(reps: number, fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

async function main(): Promise<void> {
  const B = arg('B', 1000);
  const n = arg('n', 64);
  const reps = arg('reps', 3);
  const threadsArg = process.argv.includes('--threads') ? arg('threads', 1) : ('auto' as const);
  const rng = new Rng(2024);
  const costs = Float64Array.from({ length: B * n * n }, () => rng.uniform());
  const opts = { reg: 0.05, maxIter: 100, tol: 0, plan: false as const, worker: false as const, threads: threadsArg };
  const w = new Float64Array(n).fill(1 / n);
  const one = (q: number) => sinkhorn(w, w, { data: costs.subarray(q * n * n, (q + 1) * n * n), rows: n, cols: n }, opts);

  await sinkhornBatch({ costs, shape: [B, n, n] }, opts);
  let threads = 1;
  let total = 0;
  const batched = await time(reps, async () => {
    const r = await sinkhornBatch({ costs, shape: [B, n, n] }, opts);
    threads = r.threads;
    total = r.value;
  });
  await one(0);
  let seqTotal = 0;
  const sequential = await time(reps, async () => {
    seqTotal = 0;
    for (let q = 0; q < B; q++) seqTotal += (await one(q)).value;
  });
  const rows: string[] = [];
  if (process.argv.includes('--webgpu')) {
    // the batch on WebGPU (two dispatches per iteration for all problems, gpu/batch.ts) against one webgpu call per
    // problem, on the first --gpuB problems (default 50: lavapipe, a CPU rasterizer, is slow)
    const G = Math.min(B, arg('gpuB', 50));
    const gopts = { ...opts, backend: 'webgpu' as const };
    const packed = { costs: costs.subarray(0, G * n * n), shape: [G, n, n] as [number, number, number] };
    await sinkhornBatch(packed, gopts);
    let gTotal = 0;
    const gpu = await time(reps, async () => {
      gTotal = (await sinkhornBatch(packed, gopts)).value;
    });
    const gone = (q: number) => sinkhorn(w, w, { data: costs.subarray(q * n * n, (q + 1) * n * n), rows: n, cols: n }, gopts);
    await gone(0);
    let sTotal = 0;
    const gseq = await time(reps, async () => {
      sTotal = 0;
      for (let q = 0; q < G; q++) sTotal += (await gone(q)).value;
    });
    rows.push(`| webgpu: ${G} × (${n} × ${n}), 100 it | batch ${gpu.toFixed(0)} ms | ${G} sequential webgpu calls ${gseq.toFixed(0)} ms | ratio ${(gpu / gseq).toFixed(2)} | Σ values rel. diff ${(Math.abs(gTotal - sTotal) / sTotal).toExponential(1)} |`);
  }
  rows.push(`| sinkhorn ${B} × (${n} × ${n}), 100 it | batched ${batched.toFixed(0)} ms (threads ${threads}) | sequential ${sequential.toFixed(0)} ms | ratio ${(batched / sequential).toFixed(2)} | Σ values agree to ${Math.abs(total - seqTotal).toExponential(1)} |`);

  if (!process.argv.includes('--no-pot')) {
    const manifest = writeInputs(TMP, 'bench/batch.ts', [
      { id: 'sinkhorn-batch', kind: 'sinkhorn-batch', reps, params: { reg: 0.05, maxIter: 100 }, arrays: { costs: { data: costs, shape: [B, n, n] } } },
    ]);
    const py = spawnSync(PY, [join(ROOT, 'bench', 'pot_batch.py'), manifest], { encoding: 'utf8' });
    if (py.status !== 0) rows.push(`| POT | failed: ${py.stderr.trim().split('\n').at(-1)} |`);
    else {
      const res = JSON.parse(py.stdout).results['sinkhorn-batch'];
      rows.push(`| POT ot.sinkhorn2 looped ${B} × | ${res.ms.toFixed(0)} ms | ours batched / POT ${(batched / res.ms).toFixed(2)} | Σ values differ by ${Math.abs(res.value - total).toExponential(1)} |`);
    }
  }

  const k = arg('clouds', 50);
  const N = arg('points', 1000);
  if (k > 1) {
    const clouds = Array.from({ length: k }, (_, c) => ({ data: Float64Array.from({ length: N * 2 }, (_, i) => rng.normal() + (i % 2 === 0 ? c / k : 0)), rows: N, cols: 2 }));
    let last = { done: 0, total: 0 };
    const t0 = performance.now();
    const r = await pairwiseDistances(clouds, { method: 'divergence', reg: arg('reg', 0.5), tol: 1e-6, worker: false, threads: threadsArg, onProgress: (p) => (last = p) });
    const ms = performance.now() - t0;
    rows.push(`| pairwise S_ε, ${k} clouds × ${N} points, reg ${arg('reg', 0.5)} | ${(ms / 1000).toFixed(1)} s (${last.total} OT_ε solves, ${r.backend}, threads ${r.threads}, ${r.status}, max ${r.iterations} iterations, worst error ${r.error.toExponential(1)}) | D[0, ${k - 1}] = ${r.D[k - 1].toPrecision(4)} |`);
  }
  console.log(rows.join('\n'));
  await dispose();
}

await main();
