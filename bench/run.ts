// Benchmark: kantorovich vs POT on the same data, same machine. See bench/README.md.
//
//   node dist/bench/run.js                       full run
//   node dist/bench/run.js --quick               smoke run (small problems, few repetitions)
//   node dist/bench/run.js --only emd --sizes 500,1000
//   node dist/bench/run.js --only wasserstein1d,sliced --reps 3
//   node dist/bench/run.js --no-pot              ours only
//   node dist/bench/run.js --only emd-large --sizes 10000 --reps 1
//                                                emd on clouds beyond the dense matrix (multiscale; peak RSS reported)
//
// Every problem is generated here with the library's seeded Rng, written as raw little-endian f64 files into
// .bench-tmp/ with a manifest, and handed to bench/pot_bench.py (run twice: default environment, then glibc
// malloc tuned so that POT's large temporaries are not mmapped/unmapped on every call). Both sides report the
// median wall time of the solver call after one warm-up.
import { writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { median, writeInputs } from './inputs.js';
import { Rng, randomDirections, emd, pointCloud, wasserstein1d, slicedWasserstein, sinkhorn, barycenter, convolutionalBarycenter } from 'kantorovich';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TMP = join(ROOT, '.bench-tmp');
const PY = '/usr/bin/python3';
const POT_SCRIPT = join(ROOT, 'bench', 'pot_bench.py');
/** Solvers run in-process, as POT does: the table compares algorithms, not the worker round trip. */
const IN_PROCESS = { worker: false } as const;
const TUNED_ENV = {
  MALLOC_MMAP_THRESHOLD_: '1073741824',
  MALLOC_TRIM_THRESHOLD_: '4294967296',
  MALLOC_TOP_PAD_: '268435456',
};

// ------------------------------------------------------------------ options

interface Options {
  only: Set<string>;
  sizes: number[] | undefined;
  quick: boolean;
  reps: number | undefined;
  pot: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { only: new Set(), sizes: undefined, quick: false, reps: undefined, pot: true };
  const alias: Record<string, string> = {
    emd: 'emd',
    'emd-large': 'emd-large',
    w1d: 'wasserstein1d',
    '1d': 'wasserstein1d',
    wasserstein1d: 'wasserstein1d',
    sliced: 'sliced',
    sw: 'sliced',
    sinkhorn: 'sinkhorn',
    'sinkhorn-scaling': 'sinkhorn',
    'sinkhorn-log': 'sinkhorn',
    barycenter: 'barycenter',
    convolutional: 'convolutional',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--no-pot') o.pot = false;
    else if (a === '--only') {
      for (const name of value().split(',')) {
        const k = alias[name.trim()];
        if (!k) throw new Error(`--only: unknown problem '${name}' (emd, emd-large, wasserstein1d|w1d, sliced, sinkhorn, barycenter, convolutional)`);
        o.only.add(k);
      }
    } else if (a === '--sizes') o.sizes = value().split(',').map((s) => parseInt(s, 10));
    else if (a === '--reps') o.reps = parseInt(value(), 10);
    else if (a === '--help' || a === '-h') {
      console.log('usage: node dist/bench/run.js [--quick] [--only emd,emd-large,wasserstein1d,sliced,sinkhorn,barycenter,convolutional] [--sizes 500,1000] [--reps N] [--no-pot]');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (o.sizes && o.sizes.some((n) => !(n > 0))) throw new Error('--sizes: positive integers, comma-separated');
  return o;
}

// ------------------------------------------------------------------ problems

interface Arr {
  data: Float64Array;
  shape: number[];
}

/** One row of the table: our timed call (returns the value comparable to POT's `cost`). */
interface Variant {
  label: string;
  run: () => Promise<{ cost: number; backend?: string; status?: string; note?: string }>;
  /** Which POT time to compare with: the solver alone, or ot.dist + solver (for our point-cloud mode). */
  potTime: 'solver' | 'dist+solver';
}

interface Problem {
  id: string;
  kind: 'emd' | 'wasserstein1d' | 'sliced' | 'sinkhorn' | 'barycenter' | 'convolutional';
  target: number;
  reps: number;
  arrays: Record<string, Arr>;
  params: Record<string, number>;
  variants: () => Variant[];
}

function uniformPoints(rng: Rng, n: number, d: number): Float64Array {
  const x = new Float64Array(n * d);
  for (let i = 0; i < x.length; i++) x[i] = rng.uniform();
  return x;
}

function normals(rng: Rng, n: number, scale = 1, shift = 0): Float64Array {
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.normal() * scale + shift;
  return x;
}

function sqeuclideanMatrix(X: Float64Array, Y: Float64Array, n: number, m: number, d: number): Float64Array {
  const M = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) {
        const t = X[i * d + k] - Y[j * d + k];
        s += t * t;
      }
      M[i * m + j] = s;
    }
  }
  return M;
}

function emdProblem(n: number, reps: number): Problem {
  const rng = new Rng(1000 + n);
  const d = 2;
  const X = uniformPoints(rng, n, d);
  const Y = uniformPoints(rng, n, d);
  const a = new Float64Array(n).fill(1 / n);
  const b = new Float64Array(n).fill(1 / n);
  return {
    id: `emd-${n}`,
    kind: 'emd',
    target: 0.7,
    reps,
    arrays: { X: { data: X, shape: [n, d] }, Y: { data: Y, shape: [n, d] }, a: { data: a, shape: [n] }, b: { data: b, shape: [n] } },
    params: { n, d },
    variants: () => {
      // The dense matrix is built untimed, as POT's M = ot.dist(X, Y) is; emd() gets it as a plain
      // { data, rows, cols } so whatever our API does with a dense matrix (validation, copies) is timed.
      const M = { data: sqeuclideanMatrix(X, Y, n, n, d), rows: n, cols: n };
      const Xm = { data: X, rows: n, cols: d };
      const Ym = { data: Y, rows: n, cols: d };
      return [
        {
          label: `emd n=${n} (dense M)`,
          potTime: 'solver',
          run: async () => {
            const r = await emd(a, b, M, IN_PROCESS);
            return { cost: r.cost, backend: r.backend, status: r.status };
          },
        },
        {
          label: `emd n=${n} (pointCloud)`,
          potTime: 'dist+solver',
          run: async () => {
            const r = await emd(a, b, pointCloud(Xm, Ym, { cost: 'sqeuclidean' }), IN_PROCESS);
            return { cost: r.cost, backend: r.backend, status: r.status };
          },
        },
      ];
    },
  };
}

/**
 * emd on 2-D uniform clouds too large for a dense matrix: ours on pointCloud (strategy 'auto' = multiscale),
 * POT on ot.dist + ot.emd. The row notes the solve's certificate and this process's peak RSS
 * (process.resourceUsage().maxRSS, which the problem's own arrays barely move: run it alone with --only).
 */
function emdLargeProblem(n: number, reps: number): Problem {
  const rng = new Rng(1000 + n);
  const d = 2;
  const X = uniformPoints(rng, n, d);
  const Y = uniformPoints(rng, n, d);
  const a = new Float64Array(n).fill(1 / n);
  const b = new Float64Array(n).fill(1 / n);
  return {
    id: `emd-${n}`,
    kind: 'emd',
    target: 0.1,
    reps,
    arrays: { X: { data: X, shape: [n, d] }, Y: { data: Y, shape: [n, d] }, a: { data: a, shape: [n] }, b: { data: b, shape: [n] } },
    params: { n, d },
    variants: () => [
      {
        label: `emd n=${n} (pointCloud, multiscale)`,
        potTime: 'dist+solver',
        run: async () => {
          const r = await emd(a, b, pointCloud({ data: X, rows: n, cols: d }, { data: Y, rows: n, cols: d }, { cost: 'sqeuclidean' }), IN_PROCESS);
          const rss = process.resourceUsage().maxRSS / 1024;
          const note = `${r.strategy}, gap ${r.dualityGap.toExponential(1)}, infeasibility ${r.error.toExponential(1)}, ${r.multiscale?.arcs ?? '?'} arcs, peak RSS ${rss.toFixed(0)} MB`;
          return { cost: r.cost, backend: r.backend, status: r.status, note };
        },
      },
    ],
  };
}

function w1dProblem(n: number, p: number, reps: number): Problem {
  const rng = new Rng(7);
  const x = normals(rng, n);
  const y = normals(rng, n, 1.5, 0.5);
  return {
    id: `wasserstein1d-${n}`,
    kind: 'wasserstein1d',
    target: 0.3,
    reps,
    arrays: { x: { data: x, shape: [n] }, y: { data: y, shape: [n] } },
    params: { n, p },
    variants: () => [
      {
        label: `wasserstein1d n=m=${n.toExponential(0).replace('e+', 'e')} p=${p}`,
        potTime: 'solver',
        run: async () => {
          // wasserstein1d returns a bare number, so the backend is named here rather than read back
          const w = await wasserstein1d(x, y, { p, backend: 'wasm', ...IN_PROCESS });
          return { cost: w ** p, backend: 'wasm' }; // POT 0.8.2 returns W_p^p
        },
      },
    ],
  };
}

function slicedProblem(n: number, d: number, k: number, p: number, reps: number): Problem {
  const rng = new Rng(11);
  const X = normals(rng, n * d);
  const Y = normals(rng, n * d, 0.8, 0.3);
  const P = randomDirections(k, d, 12345); // k × d, one unit direction per row
  return {
    id: `sliced-${n}-${d}-${k}`,
    kind: 'sliced',
    target: 0.3,
    reps,
    arrays: { X: { data: X, shape: [n, d] }, Y: { data: Y, shape: [n, d] }, projections: { data: P, shape: [k, d] } },
    params: { n, d, k, p },
    variants: () => {
      const Xm = { data: X, rows: n, cols: d };
      const Ym = { data: Y, rows: n, cols: d };
      const Pm = { data: P, rows: k, cols: d };
      return [
        {
          label: `sliced n=${n} d=${d} k=${k} p=${p}`,
          potTime: 'solver',
          run: async () => {
            const r = await slicedWasserstein(Xm, Ym, { p, projections: Pm, ...IN_PROCESS });
            return { cost: r.value, backend: r.backend };
          },
        },
      ];
    },
  };
}

/**
 * Sinkhorn, exactly 100 iterations (tol 0, so no early stop), reg = 0.05 on M / max M, uniform weights:
 * `method` 'scaling' is POT's 'sinkhorn' (sinkhorn_knopp), 'log' is POT's 'sinkhorn_log'.
 */
function sinkhornProblem(n: number, method: 'scaling' | 'log', reps: number): Problem {
  const rng = new Rng(2000 + n);
  const d = 2;
  const X = uniformPoints(rng, n, d);
  const Y = uniformPoints(rng, n, d);
  const a = new Float64Array(n).fill(1 / n);
  const b = new Float64Array(n).fill(1 / n);
  const reg = 0.05;
  const iterations = 100;
  return {
    id: `sinkhorn-${method}-${n}`,
    kind: 'sinkhorn',
    target: method === 'scaling' ? 0.7 : 0.05,
    reps,
    arrays: { X: { data: X, shape: [n, d] }, Y: { data: Y, shape: [n, d] }, a: { data: a, shape: [n] }, b: { data: b, shape: [n] } },
    params: { n, d, reg, iterations, log: method === 'log' ? 1 : 0 },
    variants: () => {
      const M = sqeuclideanMatrix(X, Y, n, n, d);
      let max = 0;
      for (const x of M) max = Math.max(max, x);
      for (let i = 0; i < M.length; i++) M[i] /= max;
      const Mm = { data: M, rows: n, cols: n };
      // all cores (the default), and one thread: what the wasm engine's helper threads buy
      return (['auto', 1] as const).map((threads) => ({
        label: `sinkhorn ${method} n=${n} (100 it)${threads === 1 ? ', 1 thread' : ''}`,
        potTime: 'solver' as const,
        run: async () => {
          const r = await sinkhorn(a, b, Mm, { reg, method, maxIter: iterations, tol: 0, plan: false, threads, ...IN_PROCESS });
          return { cost: r.cost, backend: r.threads > 1 ? `${r.backend} ×${r.threads} threads` : r.backend };
        },
      }));
    },
  };
}

/** k Gaussian bumps (rows of a k × n matrix, each summing to 1) on the grid x, plus a floor that keeps every bin > 0. */
function bumps(x: Float64Array, centres: number[], sd: number): Float64Array {
  const n = x.length;
  const A = new Float64Array(centres.length * n);
  centres.forEach((c, t) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += A[t * n + i] = Math.exp(-(((x[i] - c) / sd) ** 2) / 2) + 1e-6;
    for (let i = 0; i < n; i++) A[t * n + i] /= s;
  });
  return A;
}

/**
 * Fixed-support entropic barycenter (iterative Bregman projections), exactly `iterations` iterations, uniform
 * weights (POT 0.8.2's method 'sinkhorn' is wrong with non-uniform ones: tests/fixtures/pot/generate_entropic.py).
 * Compared value: the barycenter's second moment Σ_i p_i x_i².
 */
function barycenterProblem(n: number, k: number, method: 'scaling' | 'log', reps: number): Problem {
  const x = Float64Array.from({ length: n }, (_, i) => i / (n - 1));
  const A = bumps(x, Array.from({ length: k }, (_, t) => 0.2 + (0.6 * t) / Math.max(1, k - 1)), 0.05);
  const M = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) M[i * n + j] = (x[i] - x[j]) ** 2;
  const reg = 0.01;
  const iterations = 200;
  return {
    id: `barycenter-${method}-${n}-${k}`,
    kind: 'barycenter',
    target: 1,
    reps,
    arrays: { A: { data: A, shape: [k, n] }, M: { data: M, shape: [n, n] }, x: { data: x, shape: [n] } },
    params: { n, k, reg, iterations, log: method === 'log' ? 1 : 0 },
    variants: () => [
      {
        label: `barycenter ${method} n=${n} k=${k} (${iterations} it)`,
        potTime: 'solver',
        run: async () => {
          const r = await barycenter({ data: A, rows: k, cols: n }, { data: M, rows: n, cols: n }, { reg, method, maxIter: iterations, tol: 0, ...IN_PROCESS });
          let m2 = 0;
          for (let i = 0; i < n; i++) m2 += r.barycenter[i] * x[i] ** 2;
          return { cost: m2, backend: r.backend };
        },
      },
    ],
  };
}

/** Convolutional barycenter of k images on an h × w grid of the unit square; value Σ p·(r² + c²) in pixel coordinates. */
function convolutionalProblem(h: number, w: number, reps: number): Problem {
  const rows = Float64Array.from({ length: h }, (_, i) => i / (h - 1));
  const cols = Float64Array.from({ length: w }, (_, i) => i / (w - 1));
  const centres = [[0.25, 0.3], [0.7, 0.65]];
  const k = centres.length;
  const A = new Float64Array(k * h * w);
  centres.forEach(([cr, cc], t) => {
    let s = 0;
    for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) s += A[t * h * w + r * w + c] = Math.exp(-((rows[r] - cr) ** 2 + (cols[c] - cc) ** 2) / (2 * 0.08 ** 2)) + 1e-6;
    for (let q = 0; q < h * w; q++) A[t * h * w + q] /= s;
  });
  // reg 0.01: below ~0.006 POT's 1e-30 floor in log(KU + floor) moves its fixed point (by 1e-3 at 0.004;
  // tests/fixtures/pot/generate_entropic.py), so the compared values would disagree for that reason alone
  const reg = 0.01;
  const iterations = 100;
  return {
    id: `convolutional-${h}x${w}`,
    kind: 'convolutional',
    target: 1,
    reps,
    arrays: { A: { data: A, shape: [k, h, w] } },
    params: { h, w, k, reg, iterations },
    variants: () => [
      {
        label: `convolutional barycenter ${h}×${w} k=${k} (${iterations} it)`,
        potTime: 'solver',
        run: async () => {
          const r = await convolutionalBarycenter({ data: A, rows: k, cols: h * w }, { height: h, width: w, reg, method: 'scaling', maxIter: iterations, tol: 0, ...IN_PROCESS });
          let v = 0;
          for (let q = 0; q < h * w; q++) v += r.barycenter[q] * (rows[Math.floor(q / w)] ** 2 + cols[q % w] ** 2);
          return { cost: v, backend: r.backend };
        },
      },
    ],
  };
}

function problems(o: Options): Problem[] {
  const want = (k: string) => o.only.size === 0 || o.only.has(k);
  const out: Problem[] = [];
  if (want('emd')) {
    const sizes = o.sizes ?? (o.quick ? [200, 500] : [500, 1000, 2000, 4000]);
    for (const n of sizes) {
      const reps = o.reps ?? (o.quick ? 2 : n >= 4000 ? 3 : n >= 2000 ? 5 : 7);
      out.push(emdProblem(n, reps));
    }
  }
  if (o.only.has('emd-large')) {
    // not in the default run: POT's side needs the 10^4 × 10^4 matrix (0.8 GB, several GB peak) and minutes
    for (const n of o.sizes ?? [10_000]) out.push(emdLargeProblem(n, o.reps ?? 1));
  }
  if (want('wasserstein1d')) out.push(w1dProblem(o.quick ? 100_000 : 1_000_000, 2, o.reps ?? (o.quick ? 3 : 9)));
  if (want('sliced')) out.push(slicedProblem(o.quick ? 2000 : 10_000, 10, o.quick ? 50 : 200, 2, o.reps ?? (o.quick ? 3 : 7)));
  if (want('sinkhorn')) {
    const sizes = o.sizes ?? (o.quick ? [500] : [2000, 4000]);
    for (const method of ['scaling', 'log'] as const) {
      for (const n of sizes) out.push(sinkhornProblem(n, method, o.reps ?? (o.quick ? 2 : n >= 4000 ? 3 : 5)));
    }
  }
  if (want('barycenter')) for (const method of ['scaling', 'log'] as const) out.push(barycenterProblem(400, 3, method, o.reps ?? (o.quick ? 3 : 9)));
  if (want('convolutional')) out.push(convolutionalProblem(64, 64, o.reps ?? (o.quick ? 3 : 9)));
  return out;
}

// ------------------------------------------------------------------ running

interface PotResult {
  ms: number;
  times: number[];
  cost: number;
  distMs?: number;
  resultCode?: number;
  warning?: string | null;
}

function runPot(manifest: string, tuned: boolean): { results: Record<string, PotResult>; pot?: string } | undefined {
  const tag = tuned ? 'tuned malloc' : 'default env';
  console.error(`POT (${tag}): ${PY} bench/pot_bench.py ${manifest}`);
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('MALLOC_')) delete env[k];
  if (tuned) Object.assign(env, TUNED_ENV);
  const r = spawnSync(PY, [POT_SCRIPT, manifest], { env, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20, encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    console.error(`POT (${tag}) failed: ${r.error?.message ?? `exit code ${r.status}`}`);
    return undefined;
  }
  return JSON.parse(r.stdout);
}

interface Row {
  problem: Problem;
  variant: Variant;
  oursMs?: number;
  oursTimes?: number[];
  oursCost?: number;
  backend?: string;
  status?: string;
  note?: string;
  error?: string;
}

async function runOurs(p: Problem): Promise<Row[]> {
  const rows: Row[] = [];
  let variants: Variant[];
  try {
    variants = p.variants();
  } catch (e) {
    return [{ problem: p, variant: { label: p.id, potTime: 'solver', run: async () => ({ cost: NaN }) }, error: String(e) }];
  }
  for (const v of variants) {
    const row: Row = { problem: p, variant: v };
    try {
      const first = await v.run(); // warm-up (wasm instantiation, JIT)
      row.oursCost = first.cost;
      row.backend = first.backend;
      row.status = first.status;
      row.note = first.note;
      const times: number[] = [];
      for (let r = 0; r < p.reps; r++) {
        const t0 = performance.now();
        const again = await v.run();
        times.push(performance.now() - t0);
        row.note = again.note ?? row.note;
      }
      row.oursTimes = times;
      row.oursMs = median(times);
      console.error(`  ours ${v.label}: median ${row.oursMs.toFixed(2)} ms over ${p.reps} runs (backend ${row.backend ?? '?'})`);
    } catch (e) {
      row.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      console.error(`  ours ${v.label}: FAILED ${row.error}`);
    }
    rows.push(row);
  }
  return rows;
}

function fmt(x: number | undefined, digits = 2): string {
  if (x === undefined || !Number.isFinite(x)) return '—';
  return x >= 100 ? x.toFixed(0) : x.toFixed(digits);
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const list = problems(o);
  if (list.length === 0) throw new Error('nothing to run');
  console.error(`kantorovich bench: node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})${o.quick ? ', quick' : ''}`);
  const manifest = writeInputs(TMP, 'bench/run.ts', list);

  const rows: Row[] = [];
  for (const p of list) rows.push(...(await runOurs(p)));

  let potDefault: Record<string, PotResult> = {};
  let potTuned: Record<string, PotResult> = {};
  let potVersion = '?';
  if (o.pot) {
    const d = runPot(manifest, false);
    const t = runPot(manifest, true);
    potDefault = d?.results ?? {};
    potTuned = t?.results ?? {};
    potVersion = d?.pot ?? t?.pot ?? '?';
  }

  const potMs = (r: Record<string, PotResult>, row: Row): number | undefined => {
    const x = r[row.problem.id];
    if (!x) return undefined;
    return row.variant.potTime === 'dist+solver' ? x.ms + (x.distMs ?? NaN) : x.ms;
  };

  const lines: string[] = [];
  lines.push(`| problem | ours (ms) | POT default (ms) | POT tuned (ms) | ours / min(POT) | target | cost rel. diff | backend |`);
  lines.push(`|---|---:|---:|---:|---:|---:|---:|---|`);
  const summary: unknown[] = [];
  for (const row of rows) {
    const pd = potMs(potDefault, row);
    const pt = potMs(potTuned, row);
    const potMin = Math.min(pd ?? Infinity, pt ?? Infinity);
    const ratio = row.oursMs !== undefined && Number.isFinite(potMin) ? row.oursMs / potMin : undefined;
    const ref = potDefault[row.problem.id] ?? potTuned[row.problem.id];
    const relDiff = ref && row.oursCost !== undefined ? Math.abs(row.oursCost - ref.cost) / Math.max(Math.abs(ref.cost), 1e-300) : undefined;
    const met = ratio === undefined ? '' : ratio <= row.problem.target ? ' ✓' : ' ✗';
    const label = row.variant.potTime === 'dist+solver' ? `${row.variant.label} †` : row.variant.label;
    const ours = row.error ? `error` : fmt(row.oursMs);
    const potWarn = ref?.resultCode !== undefined && ref.resultCode !== 1 ? ` (POT: ${ref.warning})` : '';
    lines.push(
      `| ${label} | ${ours} | ${fmt(pd)} | ${fmt(pt)} | ${ratio === undefined ? '—' : ratio.toFixed(2) + met} | ${row.problem.target} | ` +
        `${relDiff === undefined ? '—' : relDiff.toExponential(1)}${potWarn} | ${row.backend ?? '—'}${row.status && row.status !== 'optimal' ? ` (${row.status})` : ''}${row.note ? ` (${row.note})` : ''} |`,
    );
    summary.push({
      problem: row.variant.label,
      oursMs: row.oursMs,
      oursTimes: row.oursTimes,
      potDefaultMs: pd,
      potTunedMs: pt,
      ratio,
      target: row.problem.target,
      costRelDiff: relDiff,
      oursCost: row.oursCost,
      potCost: ref?.cost,
      backend: row.backend,
      status: row.status,
      note: row.note,
      error: row.error,
    });
  }
  console.log('');
  console.log(lines.join('\n'));
  console.log('');
  console.log(
    `Median wall time after one warm-up; POT ${potVersion} via ${PY}, solver call only (M = ot.dist(X, Y) precomputed). ` +
      `† point-cloud mode: ours includes the costs, so it is compared with POT's ot.dist + ot.emd.`,
  );
  for (const row of rows) if (row.error) console.log(`error in ${row.variant.label}: ${row.error}`);
  writeFileSync(join(TMP, 'results.json'), JSON.stringify({ node: process.version, quick: o.quick, rows: summary }, null, 1));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
