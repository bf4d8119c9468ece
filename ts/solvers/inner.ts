// How the families (partial, Gromov–Wasserstein, weak OT) call the exact and entropic solvers inside their own
// iterations: in-process (they may already run in a worker), masses rescaled to each other, and the fields those
// loops read (plan, duals, a dense entropic plan without a copy).
import { DenseCoupling, type SparseCoupling } from '../coupling.js';
import { OTError } from '../errors.js';
import type { DenseMatrix, MatrixLike } from '../types.js';
import { toMatrix } from '../validate.js';
import { emd as emdRun } from './emd.js';
import { sinkhorn as sinkhornRun } from './sinkhorn.js';
import type { EntropicEngine } from '../entropic/engine.js';
import { chooseMethod, iterate } from '../entropic/problem.js';
import { createEngine } from '../entropic/select.js';
import type { BackendName, BackendOption } from '../types.js';

export interface InnerExact {
  /** ⟨P, M⟩. */
  value: number;
  plan: SparseCoupling;
  u: Float64Array;
  v: Float64Array;
  iterations: number;
  optimal: boolean;
}

/**
 * Exact OT between a and b (equal masses, zeros allowed) for a dense cost, in-process (never a worker: the
 * families call it many times from inside their own run, which may already be in a worker). `warm`: dual
 * potentials of a similar problem (the previous linearization), which pick the starting basis.
 */
export async function exactOT(
  a: Float64Array, b: Float64Array, M: DenseMatrix, signal?: AbortSignal, warm?: { u: Float64Array; v: Float64Array },
): Promise<InnerExact> {
  const opts = { worker: false, signal, normalize: true, warmStart: warm } as Parameters<typeof emdRun>[3];
  const r = await emdRun(a, b, M, opts);
  return { value: r.value, plan: r.plan, u: r.potentials.u, v: r.potentials.v, iterations: r.iterations, optimal: r.status === 'optimal' };
}

export interface InnerEntropic {
  /** The dense plan, n × m row-major. */
  plan: Float64Array;
  f: Float64Array;
  g: Float64Array;
  iterations: number;
  /** Whether the marginal error fell below tol within maxIter, and that error. */
  converged: boolean;
  error: number;
  backend: import('../types.js').BackendName;
  threads: number;
}

/**
 * Entropic OT (POT's convention: kernel exp(−M/reg)) with a dense plan, in-process, optionally warm-started from
 * potentials (f, g) of a previous solve.
 */
export async function entropicOT(
  a: Float64Array, b: Float64Array, M: DenseMatrix, reg: number,
  init: { f: Float64Array; g: Float64Array } | undefined, maxIter: number, tol: number, signal?: AbortSignal,
): Promise<InnerEntropic> {
  const opts = { reg, plan: true, init, maxIter, tol, signal, normalize: true, worker: false, method: 'auto' } as Parameters<typeof sinkhornRun>[3];
  const r = await sinkhornRun(a, b, M, opts);
  // plan: true gives a dense plan: use its array rather than a copy (one n × m copy per outer iteration saved)
  const plan = r.plan instanceof DenseCoupling ? r.plan.data : r.plan.toDense();
  return { plan, f: r.potentials.f, g: r.potentials.g, iterations: r.iterations, converged: r.status === 'converged', error: r.error, backend: r.backend, threads: r.threads };
}

/** One solve of an {@link EntropicSequence}: what the loop reports (the plan is read with `planInto`). */
export interface SequenceSolve {
  iterations: number;
  /** The row-marginal error (L2 norm, see EntropicSequence) at the last check, and whether it fell below tol within maxIter. */
  error: number;
  converged: boolean;
  backend: BackendName;
  threads: number;
}

/**
 * Entropic OT (POT's convention, kernel exp(−C/reg)) for a sequence of dense n × m costs on fixed marginals a, b
 * (equal masses): entropic Gromov–Wasserstein's projections. Each solve continues from the previous solve's
 * potentials (the warm start entropicOT takes as `init`), and where the engine takes a new cost in place (wasm:
 * setCost) one engine lives across the solves: the per-call work of `sinkhorn` (validation, the cost-scale pass,
 * engine and wasm set-up, the plan's statistics and copies) is paid once. The iteration is `sinkhorn`'s: method
 * 'auto' per cost (scaling unless max|C|/reg > 50), a check every 10 iterations; it stops where POT's
 * ot.sinkhorn does inside entropic_gromov_wasserstein: when the L2 norm of the marginal error is < tol (engines
 * without setErrorNorm: the L1 norm, ≥ the L2 one, so never earlier).
 */
export class EntropicSequence {
  private engine: EntropicEngine | undefined;
  private method: 'scaling' | 'log' | undefined;

  constructor(
    private readonly a: Float64Array,
    private readonly b: Float64Array,
    private readonly reg: number,
    private readonly maxIter: number,
    private readonly tol: number,
    private readonly maxBytes?: number,
    /** The engines' backend ('auto': sinkhorn's choice; tests pin 'js', whose engine has no setCost). */
    private readonly backend: BackendOption = 'auto',
    /** wasm threads of the engine's passes (see WasmEntropicEngine.create). */
    private readonly threads: number | 'auto' = 'auto',
  ) {}

  /** Solves for the cost C (n × m, finite; `scale` = max |C|), warm-started from the previous solve. */
  async solve(C: Float64Array, scale: number, signal?: AbortSignal): Promise<SequenceSolve> {
    const { a, b, reg } = this;
    const method = chooseMethod('auto', () => scale, reg);
    let e = this.engine;
    if (e?.setCost && method === this.method) await e.setCost(C);
    else {
      // the first solve, a change of method, or an engine that cannot take a new cost: a fresh engine from the
      // previous potentials
      const warm = e ? await e.potentials() : undefined;
      e?.dispose();
      this.engine = undefined;
      e = await createEngine('gromovWasserstein', { cost: { kind: 'dense', C, n: a.length, m: b.length }, a, b, method, tauA: 1, tauB: 1, threads: this.threads, maxBytes: this.maxBytes }, this.backend);
      this.engine = e;
      this.method = method;
      // POT's stopping rule (ot.sinkhorn: the L2 norm of a marginal error); engines without it keep L1 (stricter)
      await e.setErrorNorm?.(2);
      if (warm) await e.setPotentials(warm.f, warm.g);
    }
    const engine = e;
    const loop = await iterate(engine, [reg], { maxIter: this.maxIter, tol: this.tol, signal }, () => engine.marginalError(), () =>
      method === 'scaling'
        ? `gromovWasserstein: the inner scaling iteration overflowed at reg = ${reg} (cost scale ${scale.toPrecision(3)}).`
        : `gromovWasserstein: the inner log-domain iteration produced a non-finite value at reg = ${reg}; this is a bug, please report it.`,
    );
    return { ...loop, backend: engine.backend, threads: engine.threads ?? 1 };
  }

  /** The plan of the last solve, n × m row-major, written into out. */
  async planInto(out: Float64Array): Promise<void> {
    const e = this.engine!;
    if (e.densePlanInto) await e.densePlanInto(out);
    else out.set(await e.densePlan());
  }

  /** Releases the engine (call once, when the sequence is done). */
  dispose(): void {
    this.engine?.dispose();
    this.engine = undefined;
  }
}

/**
 * The starting plan of a conditional-gradient family (GW, weak OT): `init` checked (n × m, non-negative, marginals
 * a and b within 1e-8), or the product a·bᵀ when absent. A fresh array either way.
 */
export function startingPlan(init: MatrixLike | undefined, a: Float64Array, b: Float64Array, maxBytes?: number): Float64Array {
  const n = a.length;
  const m = b.length;
  if (init === undefined) {
    const T = new Float64Array(n * m);
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) T[i * m + j] = a[i] * b[j];
    return T;
  }
  const I = toMatrix('init', init, maxBytes);
  if (I.rows !== n || I.cols !== m) throw new OTError('shape', `init is ${I.rows} × ${I.cols}; the plan is ${n} × ${m}.`);
  const rs = new Float64Array(n);
  const cs = new Float64Array(m);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      const x = I.data[i * m + j];
      if (x < 0) throw new OTError('negative', `init[${i}][${j}] = ${x} is negative; a plan is non-negative.`);
      rs[i] += x;
      cs[j] += x;
    }
  for (let i = 0; i < n; i++) if (Math.abs(rs[i] - a[i]) > 1e-8) throw new OTError('mass', `init's row ${i} sums to ${rs[i]} but a[${i}] = ${a[i]}; the start must be a plan with marginals a, b (within 1e-8).`);
  for (let j = 0; j < m; j++) if (Math.abs(cs[j] - b[j]) > 1e-8) throw new OTError('mass', `init's column ${j} sums to ${cs[j]} but b[${j}] = ${b[j]}; the start must be a plan with marginals a, b (within 1e-8).`);
  return Float64Array.from(I.data);
}
