// Neural OT quality (issue 5's "Measured" list): L2-UVP of trainICNNMap between random Gaussian pairs at
// D = 2, 16, 64 (Bures map as ground truth), with training time, on a tensor engine (the trainers' default, wasm). Not part of
// `npm test`. Compare engines on the same machine only (lavapipe, a software GPU, is slower than the js engine).
//
//   node dist/bench/neural.js                       D = 2, 16, 64
//   node dist/bench/neural.js --dims 2,16 --iterations 1000   (default 300)
//   node dist/bench/neural.js --backend webgpu      the f32 WebGPU engine
//   node dist/bench/neural.js --steps [--reps 20 --rounds 3]   step times instead: js, wasm f64, wasm f32 vs PyTorch CPU
//                                                   f64 / f32 (bench/neural-step.ts, bench/torch_step.py)
//
// Pairs come from randomGaussianPair(D, { cond: 4, seed: D }); L2-UVP on 2^14 fresh source samples.
import 'kantorovich'; // registers the wasm source (the evaluation's W2 uses emd)
import { gaussianBatchSampler, trainICNNMap } from '../ts/neural/icnn-map.js';
import { randomGaussianPair } from '../ts/neural/gaussian.js';
import { gaussianL2UVP } from '../ts/neural/evaluate.js';
import type { TensorBackendOption } from '../ts/neural/engines.js';
import { stepTable } from './neural-step.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

if (process.argv.includes('--steps')) {
  console.log(await stepTable(Number(arg('--reps', '20')), Number(arg('--rounds', '3'))));
  process.exit(0);
}

const dims = arg('--dims', '2,16,64').split(',').map(Number);
const iterations = Number(arg('--iterations', '300'));
const backend = (arg('--backend', '') || undefined) as TensorBackendOption | undefined; // undefined: the trainers' default (wasm)
const rows: string[] = [`backend: ${backend ?? 'default (wasm)'}`, '', '| D | hidden | iterations | L2-UVP (%) | identity L2-UVP (%) | training (s) |', '|---:|---|---:|---:|---:|---:|'];
for (const d of dims) {
  const pair = randomGaussianPair(d, { cond: 4, seed: d });
  const hidden = d <= 2 ? [32, 32] : [Math.max(64, 2 * d), Math.max(64, 2 * d)];
  const t0 = performance.now();
  const r = await trainICNNMap(gaussianBatchSampler(pair.source.mean, pair.source.cov), gaussianBatchSampler(pair.target.mean, pair.target.cov), {
    hidden,
    batchSize: 256,
    iterations,
    innerSteps: 4,
    lr: 3e-3,
    seed: 1,
    backend,
    onProgress: (p) => {
      if (p.step % 100 === 0) console.error(`  D=${d} step ${p.step}`);
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const uvp = gaussianL2UVP(r.map, pair.source, pair.target, { seed: 7 });
  const identity = gaussianL2UVP((X) => X, pair.source, pair.target, { seed: 7 });
  rows.push(`| ${d} | [${hidden.join(', ')}] | ${iterations} | ${uvp.toFixed(2)} | ${identity.toFixed(1)} | ${seconds.toFixed(1)} |`);
  console.error(rows[rows.length - 1]);
}
console.log(rows.join('\n'));
