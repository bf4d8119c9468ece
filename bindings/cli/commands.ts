// The commands of the `kantorovich` CLI. Each one runs a registry solver on two point clouds read from files; its
// solver flags come from the solver's option schema (flags.ts), its own flags (inputs, outputs, the ground cost)
// are declared here. A command returns the fields of its report.
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import {
  OTError,
  backends,
  emd,
  costMatrix,
  emd1d,
  gromovWasserstein,
  linearMap,
  maxSlicedWasserstein,
  partialWasserstein,
  weakOT,
  pointCloud,
  sinkhorn,
  sinkhornDivergence,
  sinkhornUnbalanced,
  slicedWasserstein,
  wasserstein1d,
  type CostSpec,
  type DenseMatrix,
} from '../node.js';
import type { SolverDescriptor } from '../../ts/registry/define.js';
import { type Flag, type Flags, UsageError, inFlags, solverFlags, solverOptions } from './flags.js';
import { type Measure, readPair } from './inputs.js';
import { Progress } from './progress.js';

export interface Command {
  summary: string;
  usage: string;
  /** Number of positional file arguments. */
  files: number;
  /** The registry solver whose options become flags (and whose errors are rephrased in flags). */
  solver?: SolverDescriptor;
  flags: Record<string, Flag>;
  run(files: string[], flags: Flags, signal: AbortSignal): Promise<Record<string, unknown>>;
}

const INPUT_FLAGS: Record<string, Flag> = {
  'weights-col': { type: 'string', arg: 'last|first|N', help: 'the column holding the weights (N: 1-based); default uniform' },
};
const OUTPUT_FLAGS: Record<string, Flag> = {
  json: { type: 'boolean', arg: '', help: 'print one JSON object on stdout instead of the human-readable report' },
  progress: { type: 'boolean', arg: '', help: 'always report progress on stderr (a bar on a terminal, a line every 2 s elsewhere)' },
  'no-progress': { type: 'boolean', arg: '', help: 'never report progress' },
};
const COST: Flag = { type: 'string', arg: 'sqeuclidean|euclidean|p=P', help: 'ground cost ‖x − y‖², ‖x − y‖ or ‖x − y‖^P (default sqeuclidean)' };
const PLAN_TRIPLETS: Flag = { type: 'string', arg: 'out.csv', help: 'write the plan as sparse triplets "i,j,mass" (0-based indices)' };

function parseCost(s: unknown): CostSpec {
  if (s === undefined || s === 'sqeuclidean' || s === 'euclidean') return (s as CostSpec | undefined) ?? 'sqeuclidean';
  const m = /^p=(.+)$/.exec(String(s));
  const p = m ? Number(m[1]) : NaN;
  if (!m || !Number.isFinite(p) || p <= 0) throw new UsageError(`--cost must be sqeuclidean, euclidean or p=P with P > 0 (got '${String(s)}')`);
  return { p };
}

const costName = (c: CostSpec) => (typeof c === 'object' ? `p=${c.p}` : c);
const ms = (t0: number) => Math.round((performance.now() - t0) * 1000) / 1000;

function writeOut(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'its folder does not exist' : err.code === 'EACCES' ? 'permission denied' : err.message;
    throw new OTError('invalid-option', `cannot write the plan to '${path}': ${why}.`);
  }
}

function tripletsCsv(entries: Iterable<[number, number, number]>, threshold = -Infinity): string {
  const out = ['i,j,mass'];
  for (const [i, j, v] of entries) if (v > threshold) out.push(`${i},${j},${v}`);
  return out.join('\n') + '\n';
}

function denseCsv(P: DenseMatrix): string {
  const out: string[] = [];
  for (let i = 0; i < P.rows; i++) out.push(Array.from(P.data.subarray(i * P.cols, (i + 1) * P.cols), String).join(','));
  return out.join('\n') + '\n';
}

const sizes = (A: Measure, B: Measure) => ({ n: A.points.rows, m: B.points.rows, dim: A.points.cols });

/**
 * A rough time and memory estimate, printed before work that may take long, with what to use instead. Calibrated on a
 * 2-core machine: the network simplex ~0.6 s at 4000 × 4000 points (time grows like (n·m)^1.25); a Sinkhorn
 * iteration ~0.5 ns per kernel entry and core (stored kernel), ~4 ns on point clouds too large to store one.
 */
export function estimateLine(command: string, n: number, m: number, maxIter: number): string | undefined {
  const entries = n * m;
  let seconds: number;
  let suggestion = '';
  if (command === 'emd') {
    seconds = 0.6 * Math.pow(entries / 1.6e7, 1.25);
    if (seconds > 60) suggestion = '; for problems this large consider `kantorovich sliced` or `kantorovich sinkhorn --reg ε` (or `divergence`)';
  } else if (command === 'sinkhorn' || command === 'unbalanced' || command === 'divergence') {
    const perEntry = entries * 8 <= 2 ** 30 ? 0.5e-9 : 4e-9;
    seconds = (entries * (command === 'divergence' ? 3 : 1) * perEntry * maxIter) / 2;
    if (seconds > 60) suggestion = '; consider `kantorovich sliced`, a larger --reg, fewer --max-iter, or --backend webgpu on a GPU';
  } else return undefined;
  if (seconds < 5) return undefined;
  const t = seconds < 120 ? `${seconds.toFixed(0)} s` : seconds < 7200 ? `${(seconds / 60).toFixed(0)} min` : `${(seconds / 3600).toFixed(1)} h`;
  return `${command} on ${n} × ${m} points: roughly ${command === 'emd' ? '' : 'up to '}${t} on a 2-core machine${suggestion}.\n`;
}

function announce(command: string, A: Measure, B: Measure, flags: Flags, maxIter: number): void {
  if (flags.json) return;
  const line = estimateLine(command, A.points.rows, B.points.rows, maxIter);
  if (line) process.stderr.write(line);
}

function withFlags<T>(cmd: { solver?: SolverDescriptor; flags: Record<string, Flag> }, p: Promise<T>): Promise<T> {
  return p.catch((e) => {
    throw e instanceof OTError && cmd.solver ? inFlags(e, cmd.solver.name, cmd.flags) : e;
  });
}

function solverCommand(
  solver: { descriptor: SolverDescriptor },
  spec: Omit<Command, 'solver' | 'flags' | 'files'> & { skip: string[]; own: Record<string, Flag> },
): Command {
  const flags = { ...solverFlags(solver.descriptor.options, spec.skip), ...spec.own, ...INPUT_FLAGS, ...OUTPUT_FLAGS };
  const cmd: Command = {
    summary: spec.summary,
    usage: spec.usage,
    files: 2,
    solver: solver.descriptor,
    flags,
    run: (files, values, signal) => withFlags(cmd, spec.run(files, values, signal)),
  };
  return cmd;
}

const emdCommand: Command = solverCommand(emd, {
  summary: 'exact optimal transport (network simplex), with its certificate',
  usage: 'kantorovich emd a.csv b.csv [--cost sqeuclidean|euclidean|p=1.5] [--plan out.csv] [--json]',
  skip: ['warmStart'],
  own: { cost: COST, plan: PLAN_TRIPLETS },
  async run(files, flags, signal) {
    const cost = parseCost(flags.cost);
    const [A, B] = readPair(files, flags, 'emd');
    announce('emd', A, B, flags, 0);
    const bar = new Progress('emd', flags);
    const t0 = performance.now();
    let r;
    try {
      r = await emd(A.weights, B.weights, pointCloud(A.points, B.points, { cost }), {
        ...solverOptions(emdCommand.flags, flags),
        onProgress: (p) => bar.update(`${p.iterations} pivots`),
        signal,
      });
    } finally {
      bar.done();
    }
    const timeMs = ms(t0);
    if (flags.plan) writeOut(flags.plan as string, tripletsCsv(r.plan.entries()));
    if (r.status !== 'optimal' && !flags.json) process.stderr.write(`warning: stopped at the pivot limit (${r.iterations}); the plan is not optimal.\n`);
    return {
      value: r.value,
      cost: r.cost,
      status: r.status,
      iterations: r.iterations,
      error: r.error,
      dualityGap: r.dualityGap,
      backend: r.backend,
      ...sizes(A, B),
      groundCost: costName(cost),
      nnz: r.plan.nnz,
      timeMs,
      plan: flags.plan,
    };
  },
});

const PLAN_FLAGS: Record<string, Flag> = {
  plan: { type: 'string', arg: 'out.csv', help: 'write the plan: a dense n × m CSV (default) or triplets "i,j,mass"' },
  'plan-format': { type: 'string', arg: 'dense|triplets', choices: ['dense', 'triplets'], help: 'layout of --plan (default dense)' },
  'plan-threshold': { type: 'number', arg: 'T', help: 'write triplets with mass > T only (implies --plan-format triplets)' },
};

function entropicCommand(name: 'sinkhorn' | 'unbalanced'): Command {
  const solver = name === 'sinkhorn' ? sinkhorn : sinkhornUnbalanced;
  const cmd: Command = solverCommand(solver, {
    summary: name === 'sinkhorn' ? 'entropic optimal transport (Sinkhorn)' : 'unbalanced entropic OT (KL-relaxed marginals; masses may differ)',
    usage: `kantorovich ${name} a.csv b.csv --reg 0.05${name === 'unbalanced' ? ' --reg-m 1' : ''} [--method log|scaling|auto] [--max-iter N] [--tol T] [--backend auto|wasm|js|webgpu] [--plan out.csv]`,
    skip: ['plan', 'init'],
    own: { cost: COST, ...PLAN_FLAGS },
    async run(files, flags, signal) {
      const cost = parseCost(flags.cost);
      const threshold = flags['plan-threshold'] as number | undefined;
      if (threshold !== undefined && flags['plan-format'] === 'dense') throw new UsageError('--plan-threshold writes triplets; it cannot go with --plan-format dense', name);
      const format = threshold !== undefined ? 'triplets' : ((flags['plan-format'] as string | undefined) ?? 'dense');
      const [A, B] = readPair(files, flags, name);
      const maxIter = (flags['max-iter'] as number | undefined) ?? 1000;
      announce(name, A, B, flags, maxIter);
      const bar = new Progress(name, flags);
      const t0 = performance.now();
      const opts = {
        ...(solverOptions(cmd.flags, flags) as { reg: number; regM: number }),
        // a dense plan only when it is written out as a dense matrix; otherwise the lazy one (no n × m memory)
        plan: flags.plan !== undefined && format === 'dense',
        onProgress: (p: { iterations: number; error: number; eps: number }) =>
          bar.update(`iter ${p.iterations}/${maxIter}  error ${p.error.toExponential(2)}  ε ${p.eps.toPrecision(3)}`, maxIter > 0 ? p.iterations / maxIter : undefined),
        signal,
      };
      let r;
      try {
        const geom = pointCloud(A.points, B.points, { cost });
        r = name === 'sinkhorn' ? await sinkhorn(A.weights, B.weights, geom, opts) : await sinkhornUnbalanced(A.weights, B.weights, geom, opts);
      } finally {
        bar.done();
      }
      const timeMs = ms(t0);
      if (flags.plan) {
        const P = r.plan;
        writeOut(flags.plan as string, format === 'dense' ? denseCsv({ data: P.toDense(), rows: P.rows, cols: P.cols }) : tripletsCsv(P.entries(), threshold ?? 0));
      }
      if (r.status !== 'converged' && !flags.json) {
        process.stderr.write(`warning: not converged after ${r.iterations} iterations (error ${r.error.toExponential(2)}); raise --max-iter or --tol.\n`);
      }
      return {
        value: r.value,
        cost: r.cost,
        regValue: r.regValue,
        reg: flags.reg,
        status: r.status,
        iterations: r.iterations,
        error: r.error,
        method: r.method,
        backend: r.backend,
        threads: r.threads,
        ...sizes(A, B),
        groundCost: costName(cost),
        timeMs,
        plan: flags.plan,
      };
    },
  });
  return cmd;
}

const divergenceCommand: Command = solverCommand(sinkhornDivergence, {
  summary: 'the debiased Sinkhorn divergence S_ε between the two clouds',
  usage: 'kantorovich divergence a.csv b.csv --reg 0.05 [--cost sqeuclidean|euclidean|p=P] [--json]',
  skip: ['cost', 'gradient'],
  own: { cost: COST },
  async run(files, flags, signal) {
    const cost = parseCost(flags.cost);
    const [A, B] = readPair(files, flags, 'divergence');
    announce('divergence', A, B, flags, (flags['max-iter'] as number | undefined) ?? 1000);
    const t0 = performance.now();
    const r = await sinkhornDivergence(A.points, B.points, {
      ...(solverOptions(divergenceCommand.flags, flags) as { reg: number }),
      a: A.weights,
      b: B.weights,
      cost,
      signal,
    });
    return { value: r.value, linearValue: r.linearValue, status: r.status, iterations: r.iterations, error: r.error, backend: r.backend, ...sizes(A, B), groundCost: costName(cost), timeMs: ms(t0) };
  },
});

function slicedCommand(name: 'sliced' | 'max-sliced'): Command {
  const solver = name === 'sliced' ? slicedWasserstein : maxSlicedWasserstein;
  const cmd: Command = solverCommand(solver, {
    summary: name === 'sliced' ? 'sliced Wasserstein distance SW_p' : 'max-sliced Wasserstein distance',
    usage: `kantorovich ${name} a.csv b.csv [--projections 200] [--seed 1] [--p 2]`,
    skip: [],
    own: {},
    async run(files, flags, signal) {
      const [A, B] = readPair(files, flags, name);
      const t0 = performance.now();
      const r = await solver(A.points, B.points, { ...solverOptions(cmd.flags, flags), a: A.weights, b: B.weights, signal });
      return {
        value: r.value,
        p: (flags.p as number | undefined) ?? 2,
        projections: r.projections.rows,
        seed: (flags.seed as number | undefined) ?? 0,
        backend: r.backend,
        ...sizes(A, B),
        timeMs: ms(t0),
      };
    },
  });
  return cmd;
}

const w1dCommand: Command = solverCommand(wasserstein1d, {
  summary: 'Wasserstein distance W_p between two 1D samples (one number per row)',
  usage: 'kantorovich w1d a.csv b.csv [--p 2] [--plan out.csv]',
  skip: [],
  own: { plan: { ...PLAN_TRIPLETS, help: 'write the monotone plan as triplets "i,j,mass"' } },
  async run(files, flags, signal) {
    const [A, B] = readPair(files, flags, 'w1d');
    if (A.points.cols !== 1) {
      const hint = A.points.cols === 2 && flags['weights-col'] === undefined ? ' (if the second column holds weights, add --weights-col last)' : '';
      throw new OTError('shape', `w1d needs one number per row, but ${A.name} and ${B.name} have ${A.points.cols} columns${hint}.`);
    }
    const opts = { ...solverOptions(w1dCommand.flags, flags), a: A.weights, b: B.weights, signal };
    const p = (flags.p as number | undefined) ?? 1;
    const t0 = performance.now();
    let value: number;
    let backend: string | undefined;
    if (flags.plan) {
      const r = await emd1d(A.points.data, B.points.data, opts);
      value = Math.pow(r.cost, 1 / p);
      backend = r.backend;
      writeOut(flags.plan as string, tripletsCsv(r.plan.entries()));
    } else {
      value = await wasserstein1d(A.points.data, B.points.data, opts);
    }
    return { value, p, backend, n: A.points.rows, m: B.points.rows, timeMs: ms(t0), plan: flags.plan };
  },
});

const partialCommand: Command = solverCommand(partialWasserstein, {
  summary: 'partial OT: transport exactly --mass between the clouds (exact, or entropic with --reg)',
  usage: 'kantorovich partial a.csv b.csv --mass 0.5 [--reg ε] [--cost sqeuclidean|euclidean|p=P] [--plan out.csv]',
  skip: [],
  own: { cost: COST, plan: PLAN_TRIPLETS },
  async run(files, flags, signal) {
    const cost = parseCost(flags.cost);
    const [A, B] = readPair(files, flags, 'partial');
    const t0 = performance.now();
    const M = costMatrix(A.points, B.points, { cost }).M;
    const r = await partialWasserstein(A.weights, B.weights, M, { ...(solverOptions(partialCommand.flags, flags) as { mass: number }), signal });
    if (flags.plan) writeOut(flags.plan as string, tripletsCsv(r.plan.entries(), 0));
    return { value: r.value, mass: r.mass, status: r.status, iterations: r.iterations, error: r.error, backend: r.backend, ...sizes(A, B), groundCost: costName(cost), timeMs: ms(t0), plan: flags.plan };
  },
});

const gromovCommand: Command = solverCommand(gromovWasserstein, {
  summary: 'Gromov–Wasserstein between the clouds, each compared through its own pairwise costs (dimensions may differ)',
  usage: 'kantorovich gromov a.csv b.csv [--cost sqeuclidean|euclidean|p=P] [--reg ε] [--loss square|kl] [--threads N] [--precision f64|f32] [--backend auto|wasm|webgpu] [--plan out.csv]',
  skip: ['M', 'alpha', 'init'],
  own: { cost: COST, plan: PLAN_TRIPLETS },
  async run(files, flags, signal) {
    const cost = parseCost(flags.cost);
    const [A, B] = readPair(files, flags, 'gromov', { sameDimension: false });
    const t0 = performance.now();
    const C1 = costMatrix(A.points, A.points, { cost }).M;
    const C2 = costMatrix(B.points, B.points, { cost }).M;
    const r = await gromovWasserstein(C1, C2, { ...solverOptions(gromovCommand.flags, flags), a: A.weights, b: B.weights, signal });
    if (flags.plan) writeOut(flags.plan as string, tripletsCsv(r.plan.entries(), 0));
    return { value: r.value, status: r.status, iterations: r.iterations, error: r.error, algorithm: r.algorithm, start: r.start, backend: r.backend, threads: r.threads, n: A.points.rows, m: B.points.rows, groundCost: costName(cost), timeMs: ms(t0), plan: flags.plan };
  },
});

const weakCommand: Command = solverCommand(weakOT, {
  summary: 'discrete weak OT (barycentric quadratic cost of Gozlan et al.)',
  usage: 'kantorovich weak a.csv b.csv [--max-iter N] [--tol T] [--plan out.csv]',
  skip: ['init'],
  own: { plan: PLAN_TRIPLETS },
  async run(files, flags, signal) {
    const [A, B] = readPair(files, flags, 'weak');
    const t0 = performance.now();
    const r = await weakOT(A.points, B.points, { ...solverOptions(weakCommand.flags, flags), a: A.weights, b: B.weights, signal });
    if (flags.plan) writeOut(flags.plan as string, tripletsCsv(r.plan.entries(), 0));
    return { value: r.value, status: r.status, iterations: r.iterations, error: r.error, backend: r.backend, ...sizes(A, B), timeMs: ms(t0), plan: flags.plan };
  },
});

const gaussianCommand: Command = solverCommand(linearMap, {
  summary: 'W2² between Gaussians fitted to the two samples, and the linear (Monge) map between them',
  usage: 'kantorovich gaussian a.csv b.csv [--reg 1e-6] [--no-bias] [--json]',
  skip: ['ws', 'wt'],
  own: {},
  async run(files, flags) {
    const [A, B] = readPair(files, flags, 'gaussian');
    const t0 = performance.now();
    const r = await linearMap(A.points, B.points, { ...solverOptions(gaussianCommand.flags, flags), ws: A.weights, wt: B.weights });
    const rows = (M: DenseMatrix) => Array.from({ length: M.rows }, (_, i) => Array.from(M.data.subarray(i * M.cols, (i + 1) * M.cols)));
    return { value: r.value, status: r.status, A: rows(r.A), b: Array.from(r.b), ...sizes(A, B), timeMs: ms(t0) };
  },
});

const backendsCommand: Command = {
  summary: 'list the backends available here, and why the others are not',
  usage: 'kantorovich backends [--json]',
  files: 0,
  flags: { json: OUTPUT_FLAGS.json },
  async run() {
    return { backends: await backends() };
  },
};

export const COMMANDS: Record<string, Command> = {
  emd: emdCommand,
  sinkhorn: entropicCommand('sinkhorn'),
  unbalanced: entropicCommand('unbalanced'),
  divergence: divergenceCommand,
  sliced: slicedCommand('sliced'),
  'max-sliced': slicedCommand('max-sliced'),
  w1d: w1dCommand,
  partial: partialCommand,
  gromov: gromovCommand,
  weak: weakCommand,
  gaussian: gaussianCommand,
  backends: backendsCommand,
};
