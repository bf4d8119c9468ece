// Exact OT (the Kantorovich linear program) by the network simplex in assembly/simplex.ts.
import { OTError } from '../errors.js';
import { SparseCoupling } from '../coupling.js';
import { type CostInput, CostMatrixGeometry, PointCloudGeometry, toGeometry } from '../geometry.js';

/** The network simplex reads a cost matrix or prices point clouds on the fly (a grid is solved as its pixel centres). */
type Geometry = CostMatrixGeometry | PointCloudGeometry;
import type { VectorLike } from '../types.js';
import type { OTResult } from '../result.js';
import { chooseBackend } from '../backends/select.js';
import type { BackendOption } from '../types.js';
import { type WasmKernels, type WasmScope, WASM_MAX_BLOCK } from '../backends/wasm.js';
import { NS } from '../backends/wasm-abi.js';
import { type MassOptions, abortPoint, balanceMasses, checkAbort, checkBudget, checkFinite, sum, toVector, toWeights } from '../validate.js';
import { defineSolver } from '../registry/define.js';
import { num, object, oneOf, opt, required, vector } from '../registry/schema.js';
import { backendOption, massOptions, maxBytesOption, progressOption, signalOption, workerOption } from '../registry/common.js';
import { pairEntries } from '../registry/estimate.js';
import { type MultiscaleStats, multiscaleBytes, principalAxis, solveMultiscale } from './emd-multiscale.js';

/**
 * How {@link emd} ended: 'optimal' (the network simplex proved optimality: zero reduced costs and duality gap
 * up to rounding) or 'max-iterations' (the `maxIter` pivot limit came first; POT warns "numItermax reached").
 */
export type EmdStatus = 'optimal' | 'max-iterations';

/** emd's solve strategy: all arcs ('dense') or coarse-to-fine sparse arcs with column generation ('multiscale'). */
export type EmdStrategy = 'dense' | 'multiscale' | 'auto';

/** Options of {@link emd} (POT: the keyword arguments of `ot.emd` / `ot.emd2`). */
export interface EmdOptions extends MassOptions {
  /** Pivot limit (POT: numItermax). Default 10^9: never reached by a 10^4 × 10^4 problem (they need ~10^5–10^6 pivots). */
  maxIter?: number;
  /** Dual potentials of a similar problem (e.g. the previous step of a flow): they pick the starting basis. */
  warmStart?: {
    /** Row potentials (length n), in cost units. */
    u: VectorLike;
    /** Column potentials (length m), in cost units. */
    v: VectorLike;
  };
  /** 'auto' or 'wasm' (the network simplex exists only in wasm). */
  backend?: BackendOption;
  /** Aborts the solve (checked every 20000 pivots): the call rejects with OTError code 'aborted'. */
  signal?: AbortSignal;
  /** Called every 20000 pivots with the pivots done. */
  onProgress?: (p: { iterations: number }) => void;
  /** Memory budget in bytes for the buffers of this call (default DEFAULT_MAX_BYTES). */
  maxBytes?: number;
  /**
   * Point clouds only: build the n × m costs in wasm memory (true), compute each cost when pricing needs it
   * (false: no n × m memory at all), or 'auto' (default): build them up to 2^22 arcs, where it is faster.
   */
  storeCosts?: boolean | 'auto';
  /**
   * How the simplex sees the arcs. 'dense': all n × m arcs (priced on the fly above 2^22). 'multiscale' (point
   * clouds only): coarse to fine on sparse candidate arcs, made exact by column generation against a streamed
   * check of all n × m pairs; memory O((n + m)·k) (k = 16 candidate arcs per source, 32 above m = 15000, plus what the checks add)
   * and no n·m < 2^31 limit. 'auto' (default): multiscale for point clouds above 2^20 pairs. Both give the same certified optimum.
   */
  strategy?: EmdStrategy;
  /** Where the call runs: see WorkerOptions. */
  worker?: 'auto' | boolean;
}

/** The result of {@link emd}: the optimal plan and its certificate (POT: `ot.emd(..., log=True)`). */
export interface EmdResult extends OTResult {
  /** ⟨P, M⟩, the optimal linear cost (POT: ot.emd2). Same as `cost`. */
  value: number;
  /** ⟨P, M⟩. */
  cost: number;
  /** The optimal plan: at most n + m − 1 non-zeros (a basic solution). */
  plan: SparseCoupling;
  /** Dual potentials: u_i + v_j ≤ M_ij everywhere, with equality on the plan's support; centred so Σa·u = Σb·v. */
  potentials: {
    /** Row potentials u (length n), in cost units (POT: log['u']). */
    u: Float64Array;
    /** Column potentials v (length m), in cost units (POT: log['v']). */
    v: Float64Array;
  };
  status: EmdStatus;
  /** Pivots of the network simplex. */
  iterations: number;
  /** The dual infeasibility max_ij (u_i + v_j − M_ij, 0): 0 up to rounding at optimality. */
  error: number;
  /** cost − (Σ a_i u_i + Σ b_j v_j): 0 up to rounding at optimality. */
  dualityGap: number;
  backend: 'wasm';
  /** The strategy that ran ('auto' resolved). */
  strategy: 'dense' | 'multiscale';
  /** Multiscale solves only: levels of the hierarchy, scans of the finest level, arcs listed at the end, last scan's violation. */
  multiscale?: MultiscaleStats;
}

const DEFAULT_MAX_ITER = 1e9;
/** Pivots per wasm call: between calls the host checks `signal` and reports progress. */
const PIVOTS_PER_CALL = 20000;
const MAX_ARCS = 2 ** 31 - 1;
/**
 * Point clouds up to this many arcs (32 MB of f64 costs) are solved on a cost matrix built in wasm: measured
 * at n = 1000 (2D), 50 ms on the fly vs 42 ms built; at n = 4000 on the fly is as fast and needs no 128 MB.
 */
const MATERIALIZE_ENTRIES = 2 ** 22;
/**
 * strategy 'auto': point clouds above this many pairs are solved coarse to fine (emd-multiscale.ts). CPU time on
 * 2-D uniform clouds, dense vs multiscale: n = 1000 55 vs 38 ms, 1500 155 vs 42–77 ms, 2000 260–300 vs 86 ms;
 * at 500 they tie.
 */
const MULTISCALE_PAIRS = 2 ** 20;
/**
 * Candidate arcs per source for the first phase of pricing (see nsPrepare): ~√m / 2, at least 16, measured
 * on 2D uniform clouds (with the half-size shortlist blocks, 16 rather than 12 at m = 500 saves 17 % of the
 * pivots and ~9 % of the time; from m ≈ 1000 up √m / 2 is best).
 */
export const shortlistSize = (m: number) => Math.min(32, Math.max(16, Math.ceil(Math.sqrt(m) / 2)));

/**
 * Exact optimal transport between histograms a (n) and b (m) for the cost M (POT: ot.emd / ot.emd2): an
 * n × m matrix (`{ data, rows, cols }` or rows), `costMatrix(...)`, or `pointCloud(X, Y, { cost })` whose
 * costs are evaluated on the fly (no n × m storage). a, b default to uniform; zero weights are allowed;
 * Σa must equal Σb (see `normalize`). Returns the optimal plan with its certificate (dual potentials,
 * duality gap, dual infeasibility).
 */
export const emd = defineSolver({
  name: 'emd',
  summary: 'Exact OT by the network simplex, with dual potentials and an optimality certificate.',
  params: ['a', 'b', 'M'],
  options: {
    maxIter: opt(num({ integer: true, min: 0 }), 'Pivot limit (POT: numItermax).', '10^9'),
    warmStart: opt(object({ u: required(vector, 'Row potentials.'), v: required(vector, 'Column potentials.') }), 'Dual potentials of a similar problem: they pick the starting basis.'),
    storeCosts: opt(oneOf(true, false, 'auto'), "Point clouds: store the n × m costs in wasm (true), price on the fly (false), or 'auto' (store up to 2^22 arcs).", "'auto'"),
    strategy: opt(oneOf('dense', 'multiscale', 'auto'), "All n × m arcs ('dense'), or coarse to fine on sparse arcs with column generation ('multiscale', point clouds only: O((n + m)·k) memory); 'auto': multiscale for point clouds above 2^20 pairs.", "'auto'"),
    ...massOptions,
    backend: backendOption(['wasm']),
    maxBytes: maxBytesOption,
    signal: signalOption,
    onProgress: progressOption('{ iterations }: pivots done, every 20000 pivots'),
    worker: workerOption,
  },
  backends: ['wasm'],
  workEstimate: ([a, b, M]) => pairEntries(a, b, M),
  run: emdRun,
});

async function emdRun(a: VectorLike | undefined, b: VectorLike | undefined, M: CostInput, opts: EmdOptions = {}): Promise<EmdResult> {
  // a raw Float64Array cost matrix is checked for NaN/±∞ where solveWasm copies it into wasm memory
  const given = toGeometry(M, opts.maxBytes, true);
  const geom: Geometry = given.kind === 'grid' ? given.toPointCloud() : given;
  const n = geom.rows;
  const m = geom.cols;
  const wa = toWeights('a', a, n);
  const wb = balanceMasses(wa, toWeights('b', b, m), opts);
  const maxIter = opts.maxIter ?? DEFAULT_MAX_ITER;
  let warm: { u: Float64Array; v: Float64Array } | undefined;
  if (opts.warmStart) {
    warm = { u: toVector('warmStart.u', opts.warmStart.u), v: toVector('warmStart.v', opts.warmStart.v) };
    if (warm.u.length !== n || warm.v.length !== m) {
      throw new OTError('shape', `warmStart has u of length ${warm.u.length} and v of length ${warm.v.length}; the problem is ${n} × ${m}.`);
    }
  }
  const strategy = opts.strategy ?? 'auto';
  if (strategy === 'multiscale' && geom.kind !== 'pointCloud') {
    throw new OTError('invalid-option', "strategy: 'multiscale' needs point clouds (pointCloud(X, Y)); a cost matrix has no geometry to coarsen. Use 'dense' or 'auto'.");
  }
  const multiscale = geom.kind === 'pointCloud' && (strategy === 'multiscale' || (strategy === 'auto' && n * m > MULTISCALE_PAIRS));
  if (multiscale) {
    checkBudget(multiscaleBytes(n, m, geom.dim), `the multiscale solve's sparse arcs (${n} + ${m} points)`, opts.maxBytes);
    checkAbort(opts.signal);
    const chosen = await chooseBackend('emd', ['wasm'], opts.backend);
    if (chosen.name !== 'wasm') throw new OTError('backend-unavailable', 'emd runs on the wasm backend only.');
    return solveWasmMultiscale(chosen.wasm, geom as PointCloudGeometry, wa, wb, maxIter, warm, opts);
  }
  if (n * m > MAX_ARCS) {
    throw new OTError('too-large', `${n} × ${m} = ${n * m} arcs exceeds the dense network simplex's limit of 2^31 − 1 arcs; strategy: 'multiscale' (point clouds) has none.`);
  }
  if (geom.kind === 'costMatrix') checkBudget(n * m * 8, `the ${n} × ${m} cost matrix in wasm memory`, opts.maxBytes);
  const store = opts.storeCosts ?? 'auto';
  if (store === true && geom.kind !== 'costMatrix') checkBudget(n * m * 8, `the ${n} × ${m} cost matrix in wasm memory (storeCosts: true)`, opts.maxBytes);
  checkAbort(opts.signal);
  const chosen = await chooseBackend('emd', ['wasm'], opts.backend);
  if (chosen.name !== 'wasm') throw new OTError('backend-unavailable', 'emd runs on the wasm backend only.');
  return solveWasm(chosen.wasm, geom, wa, wb, maxIter, warm, opts);
}

/** Indices with positive mass: zero-mass nodes are solved without, then given feasible duals. */
export function support(w: Float64Array): Int32Array {
  let k = 0;
  for (let i = 0; i < w.length; i++) if (w[i] > 0) k++;
  const out = new Int32Array(k);
  k = 0;
  for (let i = 0; i < w.length; i++) if (w[i] > 0) out[k++] = i;
  return out;
}

export function gatherRows(data: Float64Array, cols: number, rows: Int32Array): Float64Array {
  const out = new Float64Array(rows.length * cols);
  for (let k = 0; k < rows.length; k++) out.set(data.subarray(rows[k] * cols, rows[k] * cols + cols), k * cols);
  return out;
}

/**
 * Sort keys of sources and sinks for the initial staircase tree: both sorted along one common direction,
 * so the start is the optimal plan of the 1D projections. Point clouds use their principal axis; a
 * dense matrix uses, for sinks, the cost from one source and for sources, the cost to one sink, which
 * for metric-like costs is a radial ordering around a shared anchor.
 */
export function initialKeys(geom: Geometry, rows: Int32Array, cols: Int32Array): [Float64Array, Float64Array] {
  const keyR = new Float64Array(rows.length);
  const keyC = new Float64Array(cols.length);
  if (geom instanceof PointCloudGeometry) {
    const dir = principalAxis(geom.dim, [
      [geom.X.data as Float64Array, rows],
      [geom.Y.data as Float64Array, cols],
    ]);
    const d = geom.dim;
    for (let k = 0; k < rows.length; k++) for (let t = 0; t < d; t++) keyR[k] += geom.X.data[rows[k] * d + t] * dir[t];
    for (let k = 0; k < cols.length; k++) for (let t = 0; t < d; t++) keyC[k] += geom.Y.data[cols[k] * d + t] * dir[t];
  } else {
    const i0 = rows[0];
    const j0 = cols[0];
    for (let k = 0; k < cols.length; k++) keyC[k] = geom.costAt(i0, cols[k]);
    for (let k = 0; k < rows.length; k++) keyR[k] = geom.costAt(rows[k], j0);
  }
  return [keyR, keyC];
}

/** The supports (rows, cols with positive mass) and the problem as the simplex sees it. */
interface Support {
  geom: Geometry;
  a: Float64Array;
  b: Float64Array;
  rows: Int32Array;
  cols: Int32Array;
}

/** What the simplex's context needs: where the costs are, and how they are given (mode 0 stored, 1 clouds). */
interface LoadedCosts {
  costPtr: number;
  xPtr: number;
  yPtr: number;
  d: number;
  power: number;
  mode: number;
  /** The simplex sees the costs as M·2^-e (see costExponent). */
  e: number;
}

async function solveWasm(
  k: WasmKernels,
  geom: Geometry,
  a: Float64Array,
  b: Float64Array,
  maxIter: number,
  warm: { u: Float64Array; v: Float64Array } | undefined,
  opts: EmdOptions,
): Promise<EmdResult> {
  const sp: Support = { geom, a, b, rows: support(a), cols: support(b) };
  const nr = sp.rows.length;
  const nc = sp.cols.length;
  const mem = k.scope();
  let ctx = 0;
  try {
    const c = loadCosts(k, mem, sp, opts);
    const aPtr = mem.put(nr < geom.rows ? Float64Array.from(sp.rows, (i) => a[i]) : a);
    const bPtr = mem.put(nc < geom.cols ? Float64Array.from(sp.cols, (j) => b[j]) : b);
    // the orders by key: wasm's stable radix argsort (the same orders as a stable comparison sort)
    const [keyR, keyC] = initialKeys(geom, sp.rows, sp.cols);
    const roPtr = mem.argsort(keyR);
    const coPtr = mem.argsort(keyC);
    const uwPtr = warm ? mem.put(Float64Array.from(sp.rows, (i) => warm.u[i])) : 0;
    const vwPtr = warm ? mem.put(Float64Array.from(sp.cols, (j) => warm.v[j])) : 0;
    ctx = k.abi.nsCreate(nr, nc, c.mode, c.costPtr, c.xPtr, c.yPtr, c.d, c.power, aPtr, bPtr);
    k.abi.nsInitTree(ctx, roPtr, coPtr);
    k.abi.nsPrepare(ctx, uwPtr, vwPtr, shortlistSize(nc), maxIter);
    const status = await pivot(k, ctx, maxIter, opts);
    return readResult(k, mem, ctx, sp, c.e, status);
  } finally {
    if (ctx) k.abi.nsFree(ctx);
    mem.release();
  }
}

/**
 * Point clouds coarse to fine (emd-multiscale.ts) on the supports, with the coordinates scaled as loadCosts
 * does; the finest level's context is read like the dense one's, with the last scan's violation (that scan
 * covered all n × m pairs) as the certificate's dual infeasibility.
 */
async function solveWasmMultiscale(
  k: WasmKernels,
  geom: PointCloudGeometry,
  a: Float64Array,
  b: Float64Array,
  maxIter: number,
  warm: { u: Float64Array; v: Float64Array } | undefined,
  opts: EmdOptions,
): Promise<EmdResult> {
  const sp: Support = { geom, a, b, rows: support(a), cols: support(b) };
  const { rows, cols } = sp;
  const d = geom.dim;
  const e = costExponent(log2MaxCost(geom, rows, cols), geom);
  const scaleDown = (x: Float64Array) => (e === 0 ? x : x.map((t) => ldexp(t, -e / geom.cost.power)));
  const X = scaleDown(rows.length < geom.rows ? gatherRows(geom.X.data as Float64Array, d, rows) : Float64Array.from(geom.X.data));
  const Y = scaleDown(cols.length < geom.cols ? gatherRows(geom.Y.data as Float64Array, d, cols) : Float64Array.from(geom.Y.data));
  const warmK = warm && { u: Float64Array.from(rows, (i) => ldexp(warm.u[i], -e)), v: Float64Array.from(cols, (j) => ldexp(warm.v[j], -e)) };
  const problem = { X, Y, a: Float64Array.from(rows, (i) => a[i]), b: Float64Array.from(cols, (j) => b[j]), d, power: geom.cost.power };
  const mem = k.scope();
  const owner = { ctx: 0 };
  try {
    const { status, stats } = await solveMultiscale(k, mem, problem, warmK, maxIter, {
      run: (ctx) => pivot(k, ctx, maxIter, opts),
      checkpoint: (where) => abortPoint(opts.signal, () => where),
    }, owner);
    // an optimal finish ends with a scan over all pairs and no pivot since: its violation is the certificate's;
    // a solve stopped by maxIter is measured afresh
    const result = readResult(k, mem, owner.ctx, sp, e, status, status === 'optimal' ? stats.violation : undefined);
    return { ...result, strategy: 'multiscale', multiscale: { ...stats, violation: result.error } };
  } finally {
    if (owner.ctx) k.abi.nsFree(owner.ctx);
    mem.release();
  }
}

/**
 * The costs into wasm memory: a dense matrix copied (checked for NaN/±∞ there when the caller deferred it), point
 * clouds as coordinates (their n × m costs built in wasm up to MATERIALIZE_ENTRIES, else priced on the fly).
 * Costs near f64's limit give tree potentials (sums of costs) that overflow, hence NaN duals reported as 'optimal':
 * the plan is invariant to a positive scale of M, so the simplex sees M·2^-e (exact: a power of two) and the duals
 * are scaled back (readResult). A dense matrix's e is found in wasm where it is copied; a cloud's from its coordinates.
 */
function loadCosts(k: WasmKernels, mem: WasmScope, sp: Support, opts: EmdOptions): LoadedCosts {
  const { geom, rows, cols } = sp;
  const n = geom.rows;
  const m = geom.cols;
  const nr = rows.length;
  const nc = cols.length;
  if (geom.kind === 'costMatrix') {
    const M = geom.M.data;
    if (nr * nc * 8 > WASM_MAX_BLOCK) {
      throw new OTError('too-large', `the ${nr} × ${nc} cost matrix (${nr * nc * 8} bytes) is over wasm's 1 GiB limit per buffer. Pass pointCloud(X, Y) instead (costs computed on the fly, no n × m storage), or a smaller problem.`);
    }
    const costPtr = mem.alloc(nr * nc * 8);
    const view = k.f64(costPtr, nr * nc);
    if (nr === n && nc === m) {
      view.set(M);
      const bad = geom.finiteChecked ? -1 : k.abi.firstNonFinite(costPtr, nr * nc);
      if (bad >= 0) throw new OTError('nan', `M.data[${bad}] is ${String(M[bad])}; every entry must be a finite number.`);
    } else {
      if (!geom.finiteChecked) checkFinite('M.data', M);
      for (let r = 0; r < nr; r++) for (let c = 0; c < nc; c++) view[r * nc + c] = M[rows[r] * m + cols[c]];
    }
    const e = costExponent(Math.log2(k.abi.maxAbsF64(costPtr, nr * nc)), geom);
    if (e !== 0) k.abi.scaleF64(costPtr, nr * nc, 2 ** -e);
    return { costPtr, xPtr: 0, yPtr: 0, d: 0, power: 0, mode: 0, e };
  }
  const e = costExponent(log2MaxCost(geom, rows, cols), geom);
  const scaleDown = (x: Float64Array) => (e === 0 ? x : x.map((v) => ldexp(v, -e / costPowerOf(geom))));
  const d = geom.dim;
  const power = geom.cost.power;
  const xPtr = mem.put(scaleDown(nr < n ? gatherRows(geom.X.data as Float64Array, d, rows) : (geom.X.data as Float64Array)));
  const yPtr = mem.put(scaleDown(nc < m ? gatherRows(geom.Y.data as Float64Array, d, cols) : (geom.Y.data as Float64Array)));
  const store = opts.storeCosts ?? 'auto';
  if (store === true || (store === 'auto' && nr * nc <= MATERIALIZE_ENTRIES)) {
    // Small clouds: one pass builds the costs in wasm memory (the caller still never builds n × m), and
    // pricing then reads them instead of recomputing a distance per arc it looks at.
    const costPtr = mem.alloc(nr * nc * 8);
    k.abi.pairwiseCosts(xPtr, yPtr, nr, nc, d, power, costPtr);
    return { costPtr, xPtr, yPtr, d, power, mode: 0, e };
  }
  return { costPtr: 0, xPtr, yPtr, d, power, mode: 1, e };
}

/** Pivot until optimal or maxIter, PIVOTS_PER_CALL at a time: progress and abort between calls. */
export async function pivot(k: WasmKernels, ctx: number, maxIter: number, opts: Pick<EmdOptions, 'signal' | 'onProgress'>): Promise<EmdStatus> {
  while (true) {
    const done = k.abi.nsIterations(ctx);
    if (done >= maxIter) return 'max-iterations';
    const code = k.abi.nsRun(ctx, Math.min(PIVOTS_PER_CALL, maxIter - done));
    if (code === NS.optimal) return 'optimal';
    if (code === NS.unbounded) throw new OTError('shape', 'emd: the network simplex found an unbounded cycle; the input is not a valid transport problem.');
    opts.onProgress?.({ iterations: k.abi.nsIterations(ctx) });
    await abortPoint(opts.signal, () => `emd, after ${k.abi.nsIterations(ctx)} pivots`);
  }
}

/** The plan on the full index sets, the duals (completed, centred, scaled back by 2^e) and the certificate. */
function readResult(k: WasmKernels, mem: WasmScope, ctx: number, sp: Support, e: number, status: EmdStatus, scanned?: number): EmdResult {
  const { geom, a, b, rows, cols } = sp;
  const n = geom.rows;
  const m = geom.cols;
  const nr = rows.length;
  const nc = cols.length;
  const iterations = k.abi.nsIterations(ctx);
  const uPtr = mem.f64(nr);
  const vPtr = mem.f64(nc);
  const ri = mem.alloc(Math.max(1, nr + nc) * 4);
  const ci = mem.alloc(Math.max(1, nr + nc) * 4);
  const vals = mem.alloc(Math.max(1, nr + nc) * 8);
  const nnz = k.abi.nsResult(ctx, uPtr, vPtr, ri, ci, vals);
  // a multiscale solve's last scan already measured it over all pairs (the same duals: both from the final tree)
  const violation = Math.max(0, scanned ?? k.abi.nsDualViolation(ctx, uPtr, vPtr));
  // views after the last allocation (memory growth detaches them)
  const uK = k.f64(uPtr, nr).slice();
  const vK = k.f64(vPtr, nc).slice();
  const rowIndex = Int32Array.from(k.i32(ri, nnz), (r) => rows[r]);
  const colIndex = Int32Array.from(k.i32(ci, nnz), (c) => cols[c]);
  const values = k.f64(vals, nnz).slice();
  const plan = new SparseCoupling(n, m, rowIndex, colIndex, values);
  // duals completed and centred in the simplex's units, then scaled back
  const { u, v } = fullDuals(geom, uK, vK, rows, cols, e === 0 ? undefined : (i, j) => ldexp(geom.costAt(i, j), -e));
  centreDuals(u, v, a, b);
  let cost = 0;
  for (let t = 0; t < nnz; t++) cost += values[t] * geom.costAt(rowIndex[t], colIndex[t]);
  let dual = 0;
  for (let i = 0; i < n; i++) dual += a[i] * u[i];
  for (let j = 0; j < m; j++) dual += b[j] * v[j];
  if (e !== 0) {
    dual = ldexp(dual, e);
    for (let i = 0; i < n; i++) u[i] = ldexp(u[i], e);
    for (let j = 0; j < m; j++) v[j] = ldexp(v[j], e);
  }
  const dualInfeasibility = ldexp(violation, e);
  if (!Number.isFinite(cost) || !Number.isFinite(dual) || !u.every(Number.isFinite) || !v.every(Number.isFinite)) {
    throw new OTError(
      'numerical',
      `emd: the costs (up to about 2^${Math.ceil(log2MaxCost(geom, rows, cols))} in magnitude) give a cost or dual potentials beyond f64's range; ` +
        `${geom instanceof PointCloudGeometry ? 'scale the points down' : 'divide M by a constant'} (the plan does not change; the cost and the duals scale with it).`,
    );
  }
  return { value: cost, cost, plan, potentials: { u, v }, status, iterations, error: dualInfeasibility, dualityGap: cost - dual, backend: 'wasm', threads: 1, strategy: 'dense' };
}

/** Duals on the full index sets; a zero-mass node gets the largest feasible potential (tight somewhere). */
function fullDuals(geom: Geometry, uK: Float64Array, vK: Float64Array, rows: Int32Array, cols: Int32Array, costAt = (i: number, j: number) => geom.costAt(i, j)) {
  const n = geom.rows;
  const m = geom.cols;
  const u = new Float64Array(n).fill(NaN);
  const v = new Float64Array(m).fill(NaN);
  rows.forEach((i, r) => (u[i] = uK[r]));
  cols.forEach((j, c) => (v[j] = vK[c]));
  for (let i = 0; i < n; i++) {
    if (!Number.isNaN(u[i])) continue;
    let best = Infinity;
    for (const j of cols) best = Math.min(best, costAt(i, j) - v[j]);
    u[i] = best;
  }
  for (let j = 0; j < m; j++) {
    if (!Number.isNaN(v[j])) continue;
    let best = Infinity;
    for (let i = 0; i < n; i++) best = Math.min(best, costAt(i, j) - u[i]);
    v[j] = best;
  }
  return { u, v };
}

/** x·2^e without intermediate overflow or underflow of the factor (e may be large or fractional). */
export function ldexp(x: number, e: number): number {
  if (!Number.isFinite(e)) return NaN;
  while (e > 512) {
    x *= 2 ** 512;
    e -= 512;
  }
  while (e < -512) {
    x *= 2 ** -512;
    e += 512;
  }
  return x * 2 ** e;
}

function costPowerOf(geom: Geometry): number {
  return geom instanceof PointCloudGeometry ? geom.cost.power : 1;
}

/**
 * log2 of the largest |cost| over the support: a dense matrix's entries; for clouds a bound, p·log2 of the
 * coordinate spread (in log space: (1e200)² must not overflow on the way).
 */
export function log2MaxCost(geom: Geometry, rows: Int32Array, cols: Int32Array): number {
  if (geom instanceof PointCloudGeometry) {
    const d = geom.dim;
    let big = 0;
    for (const i of rows) for (let t = 0; t < d; t++) big = Math.max(big, Math.abs(geom.X.data[i * d + t]));
    for (const j of cols) for (let t = 0; t < d; t++) big = Math.max(big, Math.abs(geom.Y.data[j * d + t]));
    return geom.cost.power * (1 + Math.log2(big) + 0.5 * Math.log2(d));
  }
  const M = (geom as CostMatrixGeometry).M.data;
  const m = geom.cols;
  let big = 0;
  for (const i of rows) for (const j of cols) big = Math.max(big, Math.abs(M[i * m + j]));
  return Math.log2(big);
}

/**
 * The exponent e with which the simplex sees the costs as M·2^-e: 0 for costs whose potentials (sums of up to
 * n + m costs along the tree) stay far inside f64, else one that brings the largest cost near 1.
 */
export function costExponent(l: number, geom: Geometry): number {
  if (!(l > 600) || !Number.isFinite(l)) return 0;
  if (!(geom instanceof PointCloudGeometry)) return Math.ceil(l);
  // clouds: coordinates are scaled by 2^-f (f an integer: exact), so the costs by 2^(−f·p)
  const p = geom.cost.power;
  return Math.ceil(l / p) * p;
}

/** Shift (u + c, v − c) so that Σa·u = Σb·v; the dual objective and feasibility are unchanged. */
function centreDuals(u: Float64Array, v: Float64Array, a: Float64Array, b: Float64Array): void {
  let au = 0;
  let bv = 0;
  for (let i = 0; i < u.length; i++) au += a[i] * u[i];
  for (let j = 0; j < v.length; j++) bv += b[j] * v[j];
  const c = (bv - au) / (sum(a) + sum(b));
  for (let i = 0; i < u.length; i++) u[i] += c;
  for (let j = 0; j < v.length; j++) v[j] -= c;
}
