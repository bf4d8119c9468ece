// Benchmark of the "more families" (partial OT, Gromov–Wasserstein, LP barycenter, Gaussian W2) against POT 0.8.2.
//
//     npm run build && node dist/bench/families.js [--only partial|gromov|lp|gaussian] [--webgpu [n]]
//
// Problems are generated here from a seeded Rng, written as raw little-endian f64 files to .bench-tmp/families/
// with a manifest, and timed on both sides on the same data (bench/pot_families.py, Debian's /usr/bin/python3).
// Each side: untimed warm-up (ours: three calls when reps > 1, eleven for the millisecond rows with 15 reps, for
// the JIT; POT: one), then the median of `reps`
// timed calls of the solver alone (costs built untimed).
// Kept separate from bench/run.ts so the families can land without touching the main suite.
//   partial-exact:    2D Gaussian clouds, M = sqeuclidean, a = b uniform, mass 0.5; ours partialWasserstein(a, b, M,
//                     { mass }) vs ot.partial.partial_wasserstein(a, b, M, m=mass, numItermax=1e9) (POT's default
//                     1e5 pivots stops before optimality at n = 2000 and partial_wasserstein then raises).
//   partial-entropic: same, M / max(M), reg 0.05, exactly 100 iterations (tol 0 / stopThr 0) on both sides.
//   partial-cloud:    2D Gaussian clouds given as points, a = b uniform, mass 0.5; ours partialWasserstein(a, b,
//                     pointCloud(X, Y), { mass }) (multiscale: no n × m memory) in a child process of its own, for
//                     its peak RSS; POT ot.dist(X, Y) (untimed) then partial_wasserstein(..., numItermax=1e9), one
//                     timed call, at n = 2000 (n = 5000 took POT 192 s and 1.4 GB on this machine under load, 10^4
//                     would need ~4× that memory: set POT_PARTIAL_BIG=1 to run them). Peak RSS: ours the child's, POT
//                     its process's after the call.
//   gw-cg:            C1, C2 = Euclidean distance matrices of 2D / 3D Gaussian clouds scaled to max 1, uniform
//                     weights; gromovWasserstein(C1, C2) vs ot.gromov.gromov_wasserstein (both from a·bᵀ,
//                     POT's default stopping rules on both sides).
//   gw-entropic:      same spaces, reg 0.01, 20 outer iterations on both sides (tol 0), inner Sinkhorn to 1e-9.
//   gw-entropic-N-f32: the same with ours in precision 'f32' (f32 products h1·P·h2ᵀ, f64 Sinkhorn), POT unchanged.
//   fgw:              same spaces plus M = sqeuclidean of the first two coordinates / max, alpha 0.5.
//   gw-cg-cloud,      2D / 3D Gaussian clouds scaled to a largest squared distance of 1, squared Euclidean metric:
//   gw-entropic-cloud ours gromovWasserstein({ points: X }, { points: Y }) (low rank: no n × n matrix, O(nm·d) per
//                     product), POT the same calls on the sqeuclidean matrices (built untimed); entropic as above.
//   lp-barycenter:    3 Gaussian bumps on 100 bins of [0, 1], M = squared distance, uniform weights; ours lpBarycenter vs
//                     ot.lp.barycenter(A.T, M, w) (scipy linprog 'interior-point', POT's default) and, for
//                     reference, solver='highs-ipm' (HiGHS, native). value = Σ w_k emd2(q, a_k) on both sides.
//   gaussian-w2:      d = 64 random SPD pair (condition 100); ours gaussianW2 (value + map) vs POT 0.9's
//                     bures_wasserstein_mapping/distance formula in numpy/scipy (POT 0.8.2 has no ot.gaussian):
//                     sqrtm(Σ1), sqrtm(Σ1^½ Σ2 Σ1^½), inv, the map and the value.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, writeInputs } from './inputs.js';
import '../bindings/node.js';
import { Rng } from '../ts/rng.js';
import { partialWasserstein } from '../ts/solvers/partial.js';
import { gromovWasserstein } from '../ts/solvers/gromov.js';
import { gaussianW2 } from '../ts/solvers/gaussian.js';
import { lpBarycenter } from '../ts/solvers/lp-barycenter.js';
import { randomGaussianPair } from '../ts/neural/gaussian.js';
import { pointCloud } from '../ts/geometry.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TMP = join(ROOT, '.bench-tmp', 'families');
const PY = process.env.POT_PYTHON ?? '/usr/bin/python3';

interface Problem {
  id: string;
  kind: string;
  reps: number;
  params: Record<string, number>;
  arrays: Record<string, { data: Float64Array; shape: number[] }>;
  run(): Promise<number>;
  /** Timed once in a child process of its own (its peak RSS is the solve's), instead of in this one. */
  child?: boolean;
  /** The same solve on the webgpu backend (f32), timed once with --webgpu: a correctness check on lavapipe. */
  gpu?: () => Promise<number>;
}

function gaussianCloud(rng: Rng, n: number, d: number, shift = 0): Float64Array {
  const X = new Float64Array(n * d);
  for (let i = 0; i < n * d; i++) X[i] = rng.normal() + (i % d === 0 ? shift : 0);
  return X;
}

function sqdist(X: Float64Array, Y: Float64Array, n: number, m: number, d: number, dx = d, dy = d): Float64Array {
  const M = new Float64Array(n * m);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += (X[i * dx + t] - Y[j * dy + t]) ** 2;
      M[i * m + j] = s;
    }
  return M;
}

function scaled(M: Float64Array): Float64Array {
  let mx = 0;
  for (const x of M) mx = Math.max(mx, x);
  return M.map((x) => x / mx);
}

function distances(X: Float64Array, n: number, d: number): Float64Array {
  return scaled(sqdist(X, X, n, n, d).map(Math.sqrt));
}

const uniform = (n: number) => new Float64Array(n).fill(1 / n);

function problems(only?: string): Problem[] {
  const list: Problem[] = [];
  const rng = new Rng(20261206);
  if (!only || only === 'partial') {
    for (const n of [1000, 2000]) {
      const M = sqdist(gaussianCloud(rng, n, 2), gaussianCloud(rng, n, 2, 1), n, n, 2);
      const a = uniform(n);
      list.push({
        id: `partial-exact-${n}`, kind: 'partial-exact', reps: n >= 2000 ? 1 : 3, params: { n, mass: 0.5 },
        arrays: { M: { data: M, shape: [n, n] }, a: { data: a, shape: [n] } },
        run: async () => (await partialWasserstein(a, a, { data: M, rows: n, cols: n }, { mass: 0.5, worker: false })).value,
      });
    }
    const n = 1000;
    const M = scaled(sqdist(gaussianCloud(rng, n, 2), gaussianCloud(rng, n, 2, 1), n, n, 2));
    const a = uniform(n);
    list.push({
      id: `partial-entropic-${n}`, kind: 'partial-entropic', reps: 3, params: { n, mass: 0.5, reg: 0.05, iterations: 100 },
      arrays: { M: { data: M, shape: [n, n] }, a: { data: a, shape: [n] } },
      run: async () => (await partialWasserstein(a, a, { data: M, rows: n, cols: n }, { mass: 0.5, reg: 0.05, maxIter: 100, tol: 0, worker: false })).value,
    });
  }
  if (!only || only === 'partial') {
    for (const n of [2000, 5000, 10_000]) {
      const X = gaussianCloud(rng, n, 2);
      const Y = gaussianCloud(rng, n, 2, 1);
      list.push({
        id: `partial-cloud-${n}`, kind: 'partial-cloud', reps: 1, params: { n, mass: 0.5, pot: n <= 2000 || process.env.POT_PARTIAL_BIG === '1' ? 1 : 0 }, child: true,
        arrays: { X: { data: X, shape: [n, 2] }, Y: { data: Y, shape: [n, 2] } },
        run: () => partialCloud(X, Y, n),
      });
    }
  }
  if (!only || only === 'gromov') {
    for (const n of [100, 300, 1000]) {
      // n = 1000 draws from a generator of its own: the rows after it keep the data they had before it existed
      const r = n >= 1000 ? new Rng(20261207) : rng;
      const X = gaussianCloud(r, n, 2);
      const Y = gaussianCloud(r, n, 3);
      const C1 = distances(X, n, 2);
      const C2 = distances(Y, n, 3);
      const arrays = { C1: { data: C1, shape: [n, n] }, C2: { data: C2, shape: [n, n] } };
      const c1 = { data: C1, rows: n, cols: n };
      const c2 = { data: C2, rows: n, cols: n };
      // millisecond solves: the median of more runs (both sides) steadies the ratio
      list.push({ id: `gw-cg-${n}`, kind: 'gw-cg', reps: n <= 100 ? 15 : n >= 1000 ? 1 : 3, params: { n }, arrays, run: async () => (await gromovWasserstein(c1, c2, { worker: false })).value });
      list.push({
        // n = 300: one timed call after one warm-up swung 149–262 ms between runs (the first calls of a process are
        // slower); the median of 5 after 3 steadies it
        id: `gw-entropic-${n}`, kind: 'gw-entropic', reps: n >= 1000 ? 1 : n >= 300 ? 5 : 15, params: { n, reg: 0.01, iterations: 20 }, arrays,
        run: async () => (await gromovWasserstein(c1, c2, { reg: 0.01, maxIter: 20, tol: 0, worker: false })).value,
        gpu: async () => (await gromovWasserstein(c1, c2, { reg: 0.01, maxIter: 20, tol: 0, backend: 'webgpu', worker: false })).value,
      });
      if (n >= 300) {
        // the same solve with the products in f32 (precision: 'f32'); POT's side is the same f64 call
        list.push({
          id: `gw-entropic-${n}-f32`, kind: 'gw-entropic', reps: n >= 1000 ? 1 : 5, params: { n, reg: 0.01, iterations: 20 }, arrays,
          run: async () => (await gromovWasserstein(c1, c2, { reg: 0.01, maxIter: 20, tol: 0, precision: 'f32', worker: false })).value,
        });
      }
      if (n === 300) {
        const M = scaled(sqdist(X, Y, n, n, 2, 2, 3));
        list.push({
          id: `fgw-${n}`, kind: 'fgw', reps: 3, params: { n, alpha: 0.5 }, arrays: { ...arrays, M: { data: M, shape: [n, n] } },
          run: async () => (await gromovWasserstein(c1, c2, { M: { data: M, rows: n, cols: n }, alpha: 0.5, worker: false })).value,
        });
      }
    }
  }
  if (!only || only === 'gromov') {
    // the same problems from point clouds with the squared Euclidean metric: ours takes { points } (low rank, no
    // n × n matrix), POT the sqeuclidean matrices (built untimed)
    for (const n of [300, 1000]) {
      // clouds scaled so that the largest squared distance is 1, as the matrices of the rows above (POT's entropic
      // GW underflows to a value of ~1e-200 on the raw ones at this reg)
      const unit = (P: Float64Array, d: number) => {
        const top = sqdist(P, P, n, n, d).reduce((x, y) => Math.max(x, y), 0);
        return P.map((x) => x / Math.sqrt(top));
      };
      const X = unit(gaussianCloud(rng, n, 2), 2);
      const Y = unit(gaussianCloud(rng, n, 3), 3);
      const arrays = { C1: { data: sqdist(X, X, n, n, 2), shape: [n, n] }, C2: { data: sqdist(Y, Y, n, n, 3), shape: [n, n] } };
      const p1 = { points: { data: X, rows: n, cols: 2 } };
      const p2 = { points: { data: Y, rows: n, cols: 3 } };
      list.push({ id: `gw-cg-cloud-${n}`, kind: 'gw-cg-cloud', reps: n >= 1000 ? 1 : 3, params: { n }, arrays, run: async () => (await gromovWasserstein(p1, p2, { worker: false })).value });
      list.push({
        id: `gw-entropic-cloud-${n}`, kind: 'gw-entropic-cloud', reps: 1, params: { n, reg: 0.01, iterations: 20 }, arrays,
        run: async () => (await gromovWasserstein(p1, p2, { reg: 0.01, maxIter: 20, tol: 0, worker: false })).value,
      });
    }
  }
  if (!only || only === 'lp') {
    const n = 100;
    const K = 3;
    const x = Float64Array.from({ length: n }, (_, i) => i / (n - 1));
    const M = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) M[i * n + j] = (x[i] - x[j]) ** 2;
    const A = new Float64Array(K * n);
    [0.2, 0.5, 0.8].forEach((c, k) => {
      let s = 0;
      for (let i = 0; i < n; i++) s += A[k * n + i] = Math.exp(-((x[i] - c) ** 2) / (2 * (0.05 + 0.03 * k) ** 2)) + 1e-4;
      for (let i = 0; i < n; i++) A[k * n + i] /= s;
    });
    list.push({
      id: `lp-barycenter-${K}x${n}`, kind: 'lp-barycenter', reps: 1, params: { n, K },
      arrays: { A: { data: A, shape: [K, n] }, M: { data: M, shape: [n, n] } },
      run: async () => (await lpBarycenter({ data: A, rows: K, cols: n }, { data: M, rows: n, cols: n }, { worker: false })).value,
    });
  }
  if (!only || only === 'gaussian') {
    const d = 64;
    const { source, target } = randomGaussianPair(d, { cond: 100, seed: 7 });
    list.push({
      // a millisecond solve: the median of 15 after 11 warm-ups, as the n = 100 GW rows (a fresh process's calls
      // 4–8 took 2.1–6.5 ms, calls 12–15 1.4–1.7 ms)
      id: `gaussian-w2-${d}`, kind: 'gaussian-w2', reps: 15, params: { d },
      arrays: { m1: { data: source.mean, shape: [d] }, S1: { data: source.cov, shape: [d, d] }, m2: { data: target.mean, shape: [d] }, S2: { data: target.cov, shape: [d, d] } },
      run: async () => (await gaussianW2(source, target, { worker: false })).value,
    });
  }
  return list;
}

/** Exact partial OT on clouds (uniform weights, mass 0.5): the multiscale path. */
async function partialCloud(X: Float64Array, Y: Float64Array, n: number): Promise<number> {
  const geom = pointCloud({ data: X, rows: n, cols: 2 }, { data: Y, rows: n, cols: 2 });
  return (await partialWasserstein(undefined, undefined, geom, { mass: 0.5, worker: false })).value;
}

/** The child of a `child` problem: one timed solve on the inputs in TMP; prints { ms, value, rssMB }. */
async function child(id: string, n: number): Promise<void> {
  const read = (name: string) => new Float64Array(new Uint8Array(readFileSync(join(TMP, `${id}.${name}.f64`))).buffer);
  const X = read('X');
  const Y = read('Y');
  const t0 = performance.now();
  const value = await partialCloud(X, Y, n);
  const ms = performance.now() - t0;
  console.log(JSON.stringify({ ms, value, rssMB: peakRssMB() }));
}

/**
 * This process's peak RSS in MB: Linux's VmHWM (the high-water mark of this process's own memory; getrusage's
 * maxRSS carries the parent's RSS at fork across exec, so a child of a large bench would report the parent's).
 */
function peakRssMB(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

async function main(): Promise<void> {
  const childAt = process.argv.indexOf('--child');
  if (childAt >= 0) return child(process.argv[childAt + 1], Number(process.argv[childAt + 2]));
  const onlyAt = process.argv.indexOf('--only');
  const list = problems(onlyAt >= 0 ? process.argv[onlyAt + 1] : undefined);
  const gpuAt = process.argv.indexOf('--webgpu');
  // --webgpu [n]: the rows with a webgpu variant, up to size n (default 300; lavapipe is a CPU)
  const gpuUpTo = gpuAt < 0 ? 0 : Number(process.argv[gpuAt + 1]) || 300;
  const mpath = writeInputs(TMP, 'bench/families.ts', list);
  const ours: Record<string, { ms: number; value: number; rssMB?: number }> = {};
  for (const p of list) {
    if (p.child) {
      const c = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', p.id, String(p.params.n)], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
      if (c.status !== 0) throw new Error(`${p.id}: the child failed`);
      ours[p.id] = JSON.parse(c.stdout);
      console.error(`ours ${p.id}: ${ours[p.id].ms.toFixed(1)} ms (value ${ours[p.id].value}, peak RSS ${ours[p.id].rssMB!.toFixed(0)} MB)`);
      continue;
    }
    // untimed warm-ups: V8 tiers the solver's loops up over the first calls (GW n = 100: ~200 ms on the first
    // three calls, ~55 ms after; a millisecond solve keeps speeding up for ~10 calls); numpy has no such warm-up,
    // POT gets one untimed call
    const value = await p.run();
    for (let w = 0; w < (p.reps >= 15 ? 10 : 2) && p.reps > 1; w++) await p.run();
    const times: number[] = [];
    for (let r = 0; r < p.reps; r++) {
      const t0 = performance.now();
      await p.run();
      times.push(performance.now() - t0);
    }
    ours[p.id] = { ms: median(times), value };
    console.error(`ours ${p.id}: ${ours[p.id].ms.toFixed(1)} ms (value ${value})`);
  }
  console.error(`POT: ${PY} bench/pot_families.py ${mpath}`);
  const r = spawnSync(PY, [join(ROOT, 'bench', 'pot_families.py'), mpath], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 16 << 20 });
  const pot: Record<string, { ms: number; value: number; rssMB?: number }> = r.status === 0 ? JSON.parse(r.stdout).results : {};
  console.log('| problem | ours ms | POT ms | ours / POT | our value | POT value |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const p of list) {
    const o = ours[p.id];
    const q = pot[p.id];
    const ratio = q ? (o.ms / q.ms).toFixed(3) : '—';
    console.log(`| ${p.id} | ${o.ms.toFixed(1)} | ${q ? q.ms.toFixed(1) : '—'} | ${ratio} | ${o.value.toPrecision(10)} | ${q ? q.value.toPrecision(10) : '—'} |`);
    const h = pot[`${p.id}-highs`];
    if (h) console.log(`| ${p.id} (POT solver='highs-ipm') | ${o.ms.toFixed(1)} | ${h.ms.toFixed(1)} | ${(o.ms / h.ms).toFixed(3)} | ${o.value.toPrecision(10)} | ${h.value.toPrecision(10)} |`);
  }
  if (gpuUpTo > 0) {
    const { gpuAdapterLabel } = await import('../ts/backends/webgpu.js');
    console.log('\n| problem (webgpu, f32, one call) | ms | value | relative to wasm f64 |');
    console.log('|---|---:|---:|---:|');
    for (const p of list.filter((q) => q.gpu && q.params.n <= gpuUpTo)) {
      const t0 = performance.now();
      const v = await p.gpu!();
      const ms = performance.now() - t0;
      console.log(`| ${p.id} | ${ms.toFixed(1)} | ${v.toPrecision(10)} | ${(Math.abs(v - ours[p.id].value) / Math.abs(ours[p.id].value)).toExponential(2)} |`);
    }
    console.log(`adapter: ${gpuAdapterLabel() ?? '—'}`);
  }
  for (const p of list) {
    const o = ours[p.id];
    if (o.rssMB !== undefined) console.log(`peak RSS ${p.id}: ours ${o.rssMB.toFixed(0)} MB (its own process), POT ${pot[p.id]?.rssMB?.toFixed(0) ?? '—'} MB (process peak after the call)`);
  }
}

await main();
