// minibatchOT throughput (issue 12): 100 pairs of minibatches of 256 points, with gradients, exact and entropic,
// on wasm and on WebGPU (lavapipe here: a correctness run; a real GPU where one is lent). Not part of `npm test`.
//
//   node dist/bench/minibatch.js [--n 4096] [--batches 100] [--size 256] [--no-webgpu]
import { Rng, minibatchOT, type MinibatchOptions } from 'kantorovich';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
};
const N = Number(arg('--n', '4096'));
const B = Number(arg('--batches', '100'));
const S = Number(arg('--size', '256'));
const D = 3;
const rng = new Rng(1);
const X = { data: Float64Array.from({ length: N * D }, () => rng.uniform()), rows: N, cols: D };
const Y = { data: Float64Array.from({ length: N * D }, () => rng.uniform() + 0.3), rows: N, cols: D };

const runs: [string, MinibatchOptions][] = [
  ['exact (emd), wasm', { solver: 'emd' }],
  ['entropic (ε = 0.05), wasm', { solver: 'sinkhorn', reg: 0.05 }],
];
if (!process.argv.includes('--no-webgpu')) runs.push(['entropic (ε = 0.05), webgpu', { solver: 'sinkhorn', reg: 0.05, backend: 'webgpu', tol: 1e-5 }]);

const rows = [`| minibatchOT, ${B} pairs of ${S}, d = ${D}, with gradients | s | batches / s | backend | value |`, '|---|---:|---:|---|---:|'];
for (const [label, o] of runs) {
  await minibatchOT(X, Y, { ...o, batchSize: S, nBatches: 4, gradient: true, worker: false }); // warm-up
  const t0 = performance.now();
  const r = await minibatchOT(X, Y, { ...o, batchSize: S, nBatches: B, gradient: true, worker: false });
  const s = (performance.now() - t0) / 1000;
  rows.push(`| ${label} | ${s.toFixed(2)} | ${(B / s).toFixed(1)} | ${r.backend} ×${r.threads} | ${r.value.toPrecision(6)} |`);
}
console.log(rows.join('\n'));
