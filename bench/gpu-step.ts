// Step times at the W2 benchmark's largest size on the WebGPU tensor engine, next to PyTorch on the same machine
// (issue 13, item 4: "on a lent GPU, measure the step time at D = 64 and batch 1024 vs PyTorch"). The workloads
// are bench/neural-step.ts's at other sizes: the MLP [D, ...hidden, D] step (MSE, Adam) and trainICNNMap's g step
// (ICNN [D, ...hidden], double backward, Adam, projection), f32 on both sides. A step's dispatches queue on the
// GPU, so each figure is the mean of `reps` steps between two waits for the device (after 10 warm-up steps), as
// bench/torch_step.py --dim does with torch.cuda.synchronize. The wasm f32 engine runs beside as the CPU figure.
//
//   node dist/bench/gpu-step.js [--dim 64] [--batch 1024] [--hidden 128,128] [--reps 50] [--python python3]
//
// On lavapipe (a CPU rasterizer) the webgpu column is a check that the workloads run, not a speed figure.
// bench/gpu/run.sh runs it on a lent GPU machine (its python3 holds PyTorch with CUDA).
import 'kantorovich'; // registers the wasm source and the WebGPU provider
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tensorEngine } from '../ts/neural/engines.js';
import { wasmTensorEngine } from '../ts/neural/wasm-engine.js';
import type { TensorEngine } from '../ts/neural/engine.js';
import { gpuAdapterLabel } from '../ts/backends/webgpu.js';
import { WebGpuTensorEngine } from '../gpu/tensor.js';
import { type StepSize, type Workload, icnnStep, mlpStep } from './neural-step.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const size: StepSize = {
  dim: Number(arg('--dim', '64')),
  batch: Number(arg('--batch', '1024')),
  hidden: arg('--hidden', '128,128').split(',').map(Number),
};
const reps = Number(arg('--reps', '50'));

/** Waits until the engine's queued work is done (a no-op on the CPU engines, whose ops run as they are called). */
async function settle(engine: TensorEngine): Promise<void> {
  if (engine instanceof WebGpuTensorEngine) {
    engine.flush();
    await engine.device.queue.onSubmittedWorkDone();
  }
}

/** Mean ms per step over `reps` steps after 10 warm-up steps. */
async function mean(make: (e: TensorEngine, s: StepSize) => Workload, engine: TensorEngine): Promise<number> {
  const w = make(engine, size);
  try {
    for (let i = 0; i < 10; i++) w.step();
    await settle(engine);
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) w.step();
    await settle(engine);
    return (performance.now() - t0) / reps;
  } finally {
    w.dispose();
  }
}

const work: [string, typeof mlpStep][] = [
  [`MLP [${size.dim}, ${size.hidden.join(', ')}, ${size.dim}] step, batch ${size.batch}`, mlpStep],
  [`ICNN [${size.dim}, ${size.hidden.join(', ')}] g step (double backward), batch ${size.batch}`, icnnStep],
];
const engines: [string, TensorEngine][] = [['wasm f32 (one thread)', await wasmTensorEngine('f32')]];
try {
  engines.unshift(['webgpu f32', await tensorEngine('webgpu')]);
} catch (e) {
  console.log(`webgpu not run: ${(e as Error).message}`);
}
const ours = await Promise.all(work.map(async ([, make]) => {
  const row: number[] = [];
  for (const [, e] of engines) row.push(await mean(make, e));
  return row;
}));

let torch: { torch: string; device: string; mlp: number; icnn: number } | undefined;
let torchNote = '';
try {
  const script = fileURLToPath(new URL('../../bench/torch_step.py', import.meta.url));
  const py = arg('--python', process.env.POT_PYTHON ?? 'python3');
  const args = [script, '--dim', String(size.dim), '--batch', String(size.batch), '--hidden', size.hidden.join(','), '--reps', String(reps)];
  torch = JSON.parse(execFileSync(py, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
} catch (e) {
  torchNote = `PyTorch not run (${(e as Error).message.split('\n')[0]})`;
}

const head = engines.map(([name]) => `${name} (ms)`);
console.log(`| step | ${head.join(' | ')} | PyTorch f32${torch ? ` on ${torch.device}` : ''} (ms) | ${engines[0][0]} / PyTorch |`);
console.log(`|---|${engines.map(() => '---:|').join('')}---:|---:|`);
work.forEach(([label], i) => {
  const t = torch ? (i === 0 ? torch.mlp : torch.icnn) : undefined;
  const cells = ours[i].map((x) => x.toFixed(2));
  console.log(`| ${label} | ${cells.join(' | ')} | ${t === undefined ? 'n/a' : t.toFixed(2)} | ${t === undefined ? 'n/a' : (ours[i][0] / t).toFixed(2)} |`);
});
console.log(`adapter: ${gpuAdapterLabel() ?? '—'}; ${torch ? `PyTorch ${torch.torch}` : torchNote}; mean of ${reps} steps after 10 warm-ups.`);
process.exit(0);
