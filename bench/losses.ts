// OT losses inside learning, timed (issue 12). Not part of `npm test`; numbers are indicative on a shared machine.
//
//   npm run bench:losses                       build, then everything below
//   node dist/bench/losses.js --iters 10 --n 4096 --reps 1 --no-torch   (the defaults; n = 4096 takes minutes on the js engine)
//   node dist/bench/losses.js --backends wasm                             (skip the js engine)
//
// 1. Sinkhorn loss forward + backward: S_ε(X, Y), n = m = 4096 points uniform in [0, 1]³, sqeuclidean cost,
//    ε = 0.05, log domain, exactly `iters` iterations per OT term (tol 0, so both sides do the same work), then
//    ∂S_ε/∂X. Ours: neural.sinkhornLoss (envelope gradient) + grad, the solver on the js engine and on wasm.
//    PyTorch: bench/torch_sinkhorn.py (Debian's python3-torch, /usr/bin/python3) — GeomLoss's "tensorized"
//    backend computation: the dense n × m cost, torch.logsumexp updates without autograd, one last update with
//    autograd on (GeomLoss's last extrapolation), S_ε = ⟨a, f_ab − f_aa⟩ + ⟨b, g_ab − g_bb⟩, backward; f64 (as ours)
//    and f32 (GeomLoss's usual dtype). Same inputs on both sides (raw f64 files in .bench-tmp/losses/).
// 2. minibatchOT: 100 batch pairs of 256 from the same clouds, exact (network simplex) and entropic (ε = 0.05),
//    with gradients: batches per second.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, writeInputs } from './inputs.js';
import { Rng, minibatchOT, neural, sinkhornDivergence } from '../bindings/node.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TMP = join(ROOT, '.bench-tmp', 'losses');
const PY = process.env.TORCH_PYTHON ?? '/usr/bin/python3';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}
const N = Number(arg('--n', '4096'));
const D = 3;
const ITERS = Number(arg('--iters', '10'));
const REPS = Number(arg('--reps', '1'));
const REG = 0.05;

const rng = new Rng(12);
const Xd = Float64Array.from({ length: N * D }, () => rng.uniform());
const Yd = Float64Array.from({ length: N * D }, () => rng.uniform());

/** Median of `reps` timed runs after one untimed warm-up (V8 tiers up, wasm compiles); reps = 1: the one run. */
async function timeIt(run: () => Promise<number>, reps: number): Promise<{ ms: number; value: number }> {
  let value = reps > 1 ? await run() : NaN;
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    value = await run();
    times.push(performance.now() - t0);
  }
  return { ms: median(times), value };
}

const rows: string[] = ['| Sinkhorn loss fwd + bwd (n = m = ' + N + ', d = 3, ε = 0.05, ' + ITERS + ' iterations × 3 OT terms) | ms | / fastest torch f64 | S_ε |', '|---|---:|---:|---:|'];
const ours: Record<string, { ms: number; value: number }> = {};
const BACKENDS = arg('--backends', 'wasm,js').split(',') as ('wasm' | 'js')[];
for (const backend of BACKENDS) {
  const run = async () => {
    const X = neural.parameter(Xd, [N, D]);
    const L = await neural.sinkhornLoss(X, neural.tensor(Yd, [N, D]), { reg: REG, backend, method: 'log', maxIter: ITERS, tol: 0 });
    const [g] = neural.grad(L, [X]);
    if (!Number.isFinite(g.data[0])) throw new Error('gradient not finite');
    return L.item();
  };
  ours[backend] = await timeIt(run, REPS);
  console.error(`ours (${backend}): ${ours[backend].ms.toFixed(0)} ms, S_ε = ${ours[backend].value}`);
}

// the wasm solver's helper threads (one short solve reports them); torch gets as many
const threads = (await sinkhornDivergence({ data: Xd, rows: N, cols: D }, { data: Yd, rows: N, cols: D }, { reg: REG, backend: 'wasm', method: 'log', maxIter: 1, tol: 0, worker: false })).threads;
let torch: Record<string, { ms: number; value: number; threads: number }> = {};
if (!process.argv.includes('--no-torch')) {
  const mpath = writeInputs(TMP, 'bench/losses.ts', [
    { id: 'sinkhorn-loss', kind: 'sinkhorn-loss', reps: REPS, params: { reg: REG, iters: ITERS, threads }, arrays: { X: { data: Xd, shape: [N, D] }, Y: { data: Yd, shape: [N, D] } } },
  ]);
  // twice: with as many threads as our wasm solver, and with one (OpenMP threads on a loaded machine can cost
  // more than they give: 8.4 s vs 1.2 s at n = 1024 on the shared 2-core box)
  for (const t of [...new Set([threads, 1])]) {
    console.error(`torch: TORCH_THREADS=${t} ${PY} bench/torch_sinkhorn.py ${mpath}`);
    const r = spawnSync(PY, [join(ROOT, 'bench', 'torch_sinkhorn.py'), mpath], {
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
      env: { ...process.env, TORCH_THREADS: String(t) },
    });
    if (r.status !== 0) {
      console.error(`torch side failed (status ${r.status}): is python3-torch installed for ${PY}?`);
      break;
    }
    for (const [id, v] of Object.entries(JSON.parse(r.stdout).results as typeof torch)) torch[`${id}-${t}`] = v;
  }
}
// the ratio is against the faster of the torch f64 runs
const t64 = Object.entries(torch)
  .filter(([id]) => id.startsWith('sinkhorn-loss-f64'))
  .map(([, v]) => v)
  .sort((p, q) => p.ms - q.ms)[0];
for (const [name, o] of [[`ours, solver on wasm (f64, ${threads} threads)`, ours.wasm], ['ours, solver on the js engine (f64)', ours.js]] as const) {
  if (o) rows.push(`| ${name} | ${o.ms.toFixed(0)} | ${t64 ? (o.ms / t64.ms).toFixed(2) : '—'} | ${o.value.toPrecision(8)} |`);
}
for (const [id, t] of Object.entries(torch)) {
  const dtype = id.includes('f32') ? 'f32' : 'f64';
  rows.push(`| PyTorch ${dtype} (GeomLoss tensorized computation, ${t.threads} thread${t.threads > 1 ? 's' : ''}) | ${t.ms.toFixed(0)} | ${t64 ? (t.ms / t64.ms).toFixed(2) : '—'} | ${t.value.toPrecision(8)} |`);
}

rows.push('', '| minibatchOT, 100 batch pairs of 256, with gradients | s | batches / s |', '|---|---:|---:|');
const X = { data: Xd, rows: N, cols: D };
const Y = { data: Yd, rows: N, cols: D };
for (const [label, o] of [
  ['exact (emd)', { solver: 'emd' as const }],
  ['entropic (sinkhorn, ε = 0.05)', { solver: 'sinkhorn' as const, reg: REG }],
] as const) {
  const t = await timeIt(async () => (await minibatchOT(X, Y, { ...o, batchSize: 256, nBatches: 100, gradient: true, worker: false })).value, REPS);
  rows.push(`| ${label} | ${(t.ms / 1000).toFixed(2)} | ${(100 / (t.ms / 1000)).toFixed(0)} |`);
  console.error(`minibatch ${label}: ${(t.ms / 1000).toFixed(2)} s`);
}
console.log(rows.join('\n'));
