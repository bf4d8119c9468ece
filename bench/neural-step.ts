// Step times of the tensor engines (bench/neural.ts --steps): one training step of two fixed workloads, timed on
// each CPU engine, next to PyTorch's CPU time for the same step (bench/torch_step.py states the workloads; this
// file builds the same graphs with ts/neural/). Each number is the best (minimum) over `reps` steps after 3 warm-up
// steps, each step inside tidy() as the trainers run it, of the wall time and of the process CPU time: on a shared
// machine a step is preempted more often the longer it runs (a 20 ms step almost always), so the CPU time — the
// step's own work — is the comparable number; both sides are measured the same way.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Rng } from '../ts/rng.js';
import type { TensorEngine } from '../ts/neural/engine.js';
import { jsTensorEngine } from '../ts/neural/js-engine.js';
import { wasmTensorEngine } from '../ts/neural/wasm-engine.js';
import { wasmThreadCount, wasmThreadsUnavailableReason } from '../ts/backends/wasm-threads.js';
import { ICNN, MLP } from '../ts/neural/models.js';
import { Adam } from '../ts/neural/optim.js';
import { grad, mean, mul, square, sub, sum, tensor, tidy } from '../ts/neural/tensor.js';

function randn(rng: Rng, n: number): Float64Array {
  return Float64Array.from({ length: n }, () => rng.normal());
}

/** One step of a workload, and its release. */
export interface Workload {
  step: () => void;
  dispose: () => void;
}

/** The sizes of a workload: input dimension, hidden widths, batch. */
export interface StepSize {
  dim: number;
  hidden: number[];
  batch: number;
}

/** MLP [dim, ...hidden, dim], relu (default [2, 256, 256, 2], batch 1024): mean squared error to fixed targets, backward, Adam. */
export function mlpStep(engine: TensorEngine, size: StepSize = { dim: 2, hidden: [256, 256], batch: 1024 }): Workload {
  const rng = new Rng(1);
  const { dim, hidden, batch } = size;
  const net = new MLP([dim, ...hidden, dim], { activation: 'relu', seed: 0, engine });
  const opt = new Adam(net.parameters(), { lr: 1e-3 });
  const X = tensor(randn(rng, batch * dim), [batch, dim], engine);
  const Y = tensor(randn(rng, batch * dim), [batch, dim], engine);
  const step = () => tidy(() => opt.step(grad(mean(square(sub(net.forward(X), Y))), net.parameters())));
  return { step, dispose: () => [net, opt, X, Y].forEach((o) => o.dispose()) };
}

/**
 * trainICNNMap's g step: ICNN [dim, ...hidden] (softplus, learned quadratic; default [2, 64, 64], batch 256),
 * double backward, Adam, projection.
 */
export function icnnStep(engine: TensorEngine, size: StepSize = { dim: 2, hidden: [64, 64], batch: 256 }): Workload {
  const rng = new Rng(2);
  const { dim, hidden, batch } = size;
  const opts = { activation: 'softplus', quadraticForm: true, engine } as const;
  const g = new ICNN(dim, hidden, { ...opts, seed: 0 });
  const f = new ICNN(dim, hidden, { ...opts, seed: 1 });
  const opt = new Adam(g.parameters(), { lr: 3e-3, beta1: 0.5, beta2: 0.99 });
  const X = tensor(randn(rng, batch * dim), [batch, dim], engine);
  const step = () =>
    tidy(() => {
      const T = g.grad(X, { createGraph: true });
      const loss = sub(mean(f.forward(T)), mean(sum(mul(X, T), 1)));
      opt.step(grad(loss, g.parameters(), { allowUnused: true }));
      g.project();
    });
  return { step, dispose: () => [g, f, opt, X].forEach((o) => o.dispose()) };
}

interface Times {
  /** Best wall time of one step (ms). */
  wall: number;
  /** Best CPU time of this process during one step (ms): the step's own work, without preemption. */
  cpu: number;
}

function timeSteps(make: (e: TensorEngine) => { step: () => void; dispose: () => void }, engine: TensorEngine, reps: number): Times {
  const w = make(engine);
  for (let i = 0; i < 3; i++) w.step();
  let wall = Infinity;
  let cpu = Infinity;
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    w.step();
    wall = Math.min(wall, performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu = Math.min(cpu, (c.user + c.system) / 1000);
  }
  w.dispose();
  return { wall, cpu };
}

function best(a: Times, b: Times): Times {
  return { wall: Math.min(a.wall, b.wall), cpu: Math.min(a.cpu, b.cpu) };
}

/** Folds one PyTorch run into the best-so-far cells: theirs[workload][0: f64, 1: f32]. */
function keepBest(theirs: Times[][], t: TorchTimes): void {
  [t.mlp, t.icnn].forEach((x, i) => {
    theirs[i][0] = best(theirs[i][0], x.f64);
    theirs[i][1] = best(theirs[i][1], x.f32);
  });
}

interface TorchTimes {
  torch: string;
  threads: number;
  mlp: { f64: Times; f32: Times };
  icnn: { f64: Times; f32: Times };
}

function torchTimes(reps: number, threads?: number): TorchTimes | string {
  const script = fileURLToPath(new URL('../../bench/torch_step.py', import.meta.url));
  try {
    return JSON.parse(execFileSync('/usr/bin/python3', [script, String(reps), ...(threads ? ['--threads', String(threads)] : [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as TorchTimes;
  } catch (e) {
    return `PyTorch not run (${(e as Error).message.split('\n')[0]})`;
  }
}

/**
 * The step-time table (markdown) of js, wasm f64, wasm f32 and PyTorch f64 / f32. `rounds` alternate our engines
 * and PyTorch, keeping each cell's best, so a burst of load on a shared machine does not land on one side only.
 */
export async function stepTable(reps: number, rounds = 3): Promise<string> {
  const engines: [string, TensorEngine][] = [
    ['js (f64)', jsTensorEngine],
    ['wasm f64', await wasmTensorEngine('f64')],
    ['wasm f32', await wasmTensorEngine('f32')],
  ];
  const work: [string, typeof mlpStep][] = [
    ['MLP [2, 256, 256, 2], batch 1024, Adam step', mlpStep],
    ['ICNN [2, 64, 64] double-backward g step, batch 256', icnnStep],
  ];
  const jsReps = Math.max(3, reps >> 2);
  const none: Times = { wall: Infinity, cpu: Infinity };
  const ours = work.map(() => engines.map(() => none));
  const theirs = work.map(() => [none, none]);
  let torch: TorchTimes | string = 'PyTorch not run';
  for (let r = 0; r < rounds; r++) {
    work.forEach(([, make], i) =>
      engines.forEach(([name, e], j) => {
        if (name.startsWith('js') && r > 0) return; // the js engine is 10× off; one round says so
        ours[i][j] = best(ours[i][j], timeSteps(make, e, name.startsWith('js') ? jsReps : reps));
      }),
    );
    torch = torchTimes(reps);
    if (typeof torch === 'string') break;
    keepBest(theirs, torch);
  }
  const noTorch = typeof torch === 'string';
  const table = (kind: keyof Times, title: string) => {
    const rows = [
      `${title}`,
      '',
      '| step | js f64 (ms) | wasm f64 (ms) | wasm f32 (ms) | PyTorch f64 (ms) | PyTorch f32 (ms) | wasm / PyTorch f64 | wasm / PyTorch f32 |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
    ];
    work.forEach(([label], i) => {
      const [tj, t64, t32] = ours[i].map((t) => t[kind]);
      const [p64, p32] = noTorch ? [undefined, undefined] : theirs[i].map((t) => t[kind]);
      const f = (x: number | undefined) => (x === undefined ? 'n/a' : x.toFixed(2));
      const q = (a: number, b: number | undefined) => (b === undefined ? 'n/a' : (a / b).toFixed(2));
      rows.push(`| ${label} | ${f(tj)} | ${f(t64)} | ${f(t32)} | ${f(p64)} | ${f(p32)} | ${q(t64, p64)} | ${q(t32, p32)} |`);
    });
    return rows.join('\n');
  };
  const note =
    typeof torch === 'string'
      ? torch
      : `PyTorch ${torch.torch} (${torch.threads} thread), ours on one thread. Each cell: the best step of ${reps} (js: ${jsReps}, one round) over ${rounds} alternating rounds.`;
  const parts = [table('cpu', 'CPU time per step (the process’s user + system time: what the step costs, without preemption)'), '', table('wall', 'Wall time per step'), '', note];
  if (!noTorch) parts.push('', await threadedTable(work, reps, rounds));
  return parts.join('\n');
}

/**
 * Wall time per step on every core: the wasm engine with its products split between the threads (threads 'auto')
 * against PyTorch with as many intra-op threads. CPU time is no measure here (it adds the threads' times).
 */
async function threadedTable(work: [string, typeof mlpStep][], reps: number, rounds: number): Promise<string> {
  const threads = wasmThreadCount();
  if (threads < 2) return `No threaded row: ${wasmThreadsUnavailableReason() ?? 'one core'}.`;
  const engines = [await wasmTensorEngine('f64', threads), await wasmTensorEngine('f32', threads)];
  const none: Times = { wall: Infinity, cpu: Infinity };
  const ours = work.map(() => engines.map(() => none));
  const theirs = work.map(() => [none, none]);
  let torch: TorchTimes | string = 'PyTorch not run';
  for (let r = 0; r < rounds; r++) {
    work.forEach(([, make], i) => engines.forEach((e, j) => (ours[i][j] = best(ours[i][j], timeSteps(make, e, reps)))));
    torch = torchTimes(reps, threads);
    if (typeof torch === 'string') return torch;
    keepBest(theirs, torch);
  }
  const f = (x: number) => x.toFixed(2);
  const rows = [
    `Wall time per step on ${threads} threads (ours: products of ≥ 2^17 multiply-adds split between the threads; PyTorch: set_num_threads(${threads}))`,
    '',
    '| step | wasm f64 (ms) | wasm f32 (ms) | PyTorch f64 (ms) | PyTorch f32 (ms) | wasm / PyTorch f64 | wasm / PyTorch f32 |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  work.forEach(([label], i) => {
    const [w64, w32] = ours[i].map((t) => t.wall);
    const [p64, p32] = theirs[i].map((t) => t.wall);
    rows.push(`| ${label} | ${f(w64)} | ${f(w32)} | ${f(p64)} | ${f(p32)} | ${f(w64 / p64)} | ${f(w32 / p32)} |`);
  });
  return rows.join('\n');
}
