// Exact OT (the Kantorovich linear program) by the network simplex in assembly/simplex.ts.
import { OTError } from '../errors.js';
import { SparseCoupling } from '../coupling.js';
import { type CostInput, type Geometry, PointCloudGeometry, toGeometry } from '../geometry.js';
import type { VectorLike } from '../types.js';
import type { OTResult } from '../result.js';
import { chooseBackend } from '../backends/select.js';
import type { BackendOption } from '../types.js';
import type { WasmKernels } from '../backends/wasm.js';
import { NS } from '../backends/wasm-abi.js';
import { type MassOptions, abortPoint, balanceMasses, checkAbort, checkBudget, checkFinite, sum, toVector, toWeights } from '../validate.js';
import { defineSolver } from '../registry/define.js';
import { bool, num, object, oneOf, anyOf, opt, required, vector } from '../registry/schema.js';
import { backendOption, massOptions, maxBytesOption, progressOption, signalOption, workerOption } from '../registry/common.js';
import { pairEntries } from '../registry/estimate.js';

export type EmdStatus = 'optimal' | 'max-iterations';

export interface EmdOptions extends MassOptions {
  /** Pivot limit (POT: numItermax). Default 10^9: never reached by a 10^4 × 10^4 problem (they need ~10^5–10^6 pivots). */
  maxIter?: number;
  /** Dual potentials of a similar problem (e.g. the previous step of a flow): they pick the starting basis. */
  warmStart?: { u: VectorLike; v: VectorLike };
  /** 'auto' or 'wasm' (the network simplex exists only in wasm). */
  backend?: BackendOption;
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
  /** Where the call runs: see WorkerOptions. */
  worker?: 'auto' | boolean;
}

export interface EmdResult extends OTResult {
  /** ⟨P, M⟩, the optimal linear cost (POT: ot.emd2). Same as `cost`. */
  value: number;
  /** ⟨P, M⟩. */
  cost: number;
  /** The optimal plan: at most n + m − 1 non-zeros (a basic solution). */
  plan: SparseCoupling;
  /** Dual potentials: u_i + v_j ≤ M_ij everywhere, with equality on the plan's support; centred so Σa·u = Σb·v. */
  potentials: { u: Float64Array; v: Float64Array };
  status: EmdStatus;
  /** Pivots of the network simplex. */
  iterations: number;
  /** The dual infeasibility max_ij (u_i + v_j − M_ij, 0): 0 up to rounding at optimality. */
  error: number;
  /** cost − (Σ a_i u_i + Σ b_j v_j): 0 up to rounding at optimality. */
  dualityGap: number;
  backend: 'wasm';
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
 * Candidate arcs per source for the first phase of pricing (see nsPrepare): ~√m / 2, at least 16, measured
 * on 2D uniform clouds (with the half-size shortlist blocks, 16 rather than 12 at m = 500 saves 17 % of the
 * pivots and ~9 % of the time; from m ≈ 1000 up √m / 2 is best).
 */
const shortlistSize = (m: number) => Math.min(32, Math.max(16, Math.ceil(Math.sqrt(m) / 2)));

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
  const geom = toGeometry(M, opts.maxBytes, true);
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
  if (n * m > MAX_ARCS) {
    throw new OTError('too-large', `${n} × ${m} = ${n * m} arcs exceeds the network simplex's limit of 2^31 − 1 arcs.`);
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
function support(w: Float64Array): Int32Array {
  let k = 0;
  for (let i = 0; i < w.length; i++) if (w[i] > 0) k++;
  const out = new Int32Array(k);
  k = 0;
  for (let i = 0; i < w.length; i++) if (w[i] > 0) out[k++] = i;
  return out;
}

function gatherRows(data: Float64Array, cols: number, rows: Int32Array): Float64Array {
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
function initialKeys(geom: Geometry, rows: Int32Array, cols: Int32Array): [Float64Array, Float64Array] {
  const keyR = new Float64Array(rows.length);
  const keyC = new Float64Array(cols.length);
  if (geom instanceof PointCloudGeometry) {
    const dir = principalAxis(geom, rows, cols);
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

/** Leading eigenvector of the pooled covariance of both clouds, by power iteration (d is small). */
function principalAxis(geom: PointCloudGeometry, rows: Int32Array, cols: Int32Array): Float64Array {
  const d = geom.dim;
  const mean = new Float64Array(d);
  const C = new Float64Array(d * d);
  const pts: [Float64Array, Int32Array][] = [
    [geom.X.data as Float64Array, rows],
    [geom.Y.data as Float64Array, cols],
  ];
  let count = 0;
  for (const [P, idx] of pts) for (const i of idx) { for (let t = 0; t < d; t++) mean[t] += P[i * d + t]; count++; }
  for (let t = 0; t < d; t++) mean[t] /= count;
  for (const [P, idx] of pts)
    for (const i of idx)
      for (let s = 0; s < d; s++) for (let t = 0; t < d; t++) C[s * d + t] += (P[i * d + s] - mean[s]) * (P[i * d + t] - mean[t]);
  let v = new Float64Array(d).map((_, t) => 1 / Math.sqrt(d) + t * 1e-3);
  for (let it = 0; it < 50; it++) {
    const w = new Float64Array(d);
    for (let s = 0; s < d; s++) for (let t = 0; t < d; t++) w[s] += C[s * d + t] * v[t];
    const norm = Math.hypot(...w);
    if (!(norm > 0)) break;
    v = w.map((x) => x / norm);
  }
  return v;
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
  const n = geom.rows;
  const m = geom.cols;
  const rows = support(a);
  const cols = support(b);
  const nr = rows.length;
  const nc = cols.length;
  const compact = nr < n || nc < m;
  const mem = k.scope();
  let ctx = 0;
  try {
    let costPtr = 0;
    let xPtr = 0;
    let yPtr = 0;
    let d = 0;
    let power = 0;
    let mode = 0;
    if (geom.kind === 'costMatrix') {
      const M = geom.M.data;
      costPtr = mem.alloc(nr * nc * 8);
      const view = k.f64(costPtr, nr * nc);
      if (!compact) {
        view.set(M);
        const bad = geom.finiteChecked ? -1 : k.abi.firstNonFinite(costPtr, nr * nc);
        if (bad >= 0) throw new OTError('nan', `M.data[${bad}] is ${String(M[bad])}; every entry must be a finite number.`);
      } else {
        if (!geom.finiteChecked) checkFinite('M.data', M);
        for (let r = 0; r < nr; r++) for (let c = 0; c < nc; c++) view[r * nc + c] = M[rows[r] * m + cols[c]];
      }
    } else {
      mode = 1;
      d = geom.dim;
      power = geom.cost.power;
      const X = geom.X.data as Float64Array;
      const Y = geom.Y.data as Float64Array;
      xPtr = mem.put(nr < n ? gatherRows(X, d, rows) : X);
      yPtr = mem.put(nc < m ? gatherRows(Y, d, cols) : Y);
      const store = opts.storeCosts ?? 'auto';
      if (store === true || (store === 'auto' && nr * nc <= MATERIALIZE_ENTRIES)) {
        // Small clouds: one pass builds the costs in wasm memory (the caller still never builds n × m), and
        // pricing then reads them instead of recomputing a distance per arc it looks at.
        costPtr = mem.alloc(nr * nc * 8);
        k.abi.pairwiseCosts(xPtr, yPtr, nr, nc, d, power, costPtr);
        mode = 0;
      }
    }
    const aPtr = mem.put(nr < n ? Float64Array.from(rows, (i) => a[i]) : a);
    const bPtr = mem.put(nc < m ? Float64Array.from(cols, (j) => b[j]) : b);
    // the orders by key: wasm's stable radix argsort (the same orders as a stable comparison sort)
    const [keyR, keyC] = initialKeys(geom, rows, cols);
    const order = (key: Float64Array): number => {
      const len = key.length;
      const keys = mem.put(key);
      const idx = mem.alloc(len * 4);
      const tmpKeys = mem.alloc(len * 8);
      const tmpIdx = mem.alloc(len * 4);
      k.abi.argsortF64(keys, len, idx, tmpKeys, tmpIdx);
      return idx;
    };
    const roPtr = order(keyR);
    const coPtr = order(keyC);
    let uwPtr = 0;
    let vwPtr = 0;
    if (warm) {
      uwPtr = mem.put(Float64Array.from(rows, (i) => warm.u[i]));
      vwPtr = mem.put(Float64Array.from(cols, (j) => warm.v[j]));
    }

    ctx = k.abi.nsCreate(nr, nc, mode, costPtr, xPtr, yPtr, d, power, aPtr, bPtr);
    k.abi.nsInitTree(ctx, roPtr, coPtr);
    k.abi.nsPrepare(ctx, uwPtr, vwPtr, shortlistSize(nc), maxIter);
    const run = k.abi.nsRun;
    const iterationsOf = k.abi.nsIterations;
    let status: EmdStatus = 'max-iterations';
    while (true) {
      const done = iterationsOf(ctx);
      if (done >= maxIter) break;
      const code = run(ctx, Math.min(PIVOTS_PER_CALL, maxIter - done));
      if (code === NS.optimal) {
        status = 'optimal';
        break;
      }
      if (code === NS.unbounded) throw new OTError('shape', 'emd: the network simplex found an unbounded cycle; the input is not a valid transport problem.');
      opts.onProgress?.({ iterations: iterationsOf(ctx) });
      await abortPoint(opts.signal, () => `emd, after ${iterationsOf(ctx)} pivots`);
    }
    const iterations = iterationsOf(ctx);

    const uPtr = mem.f64(nr);
    const vPtr = mem.f64(nc);
    const ri = mem.alloc(Math.max(1, nr + nc) * 4);
    const ci = mem.alloc(Math.max(1, nr + nc) * 4);
    const vals = mem.alloc(Math.max(1, nr + nc) * 8);
    const nnz = k.abi.nsResult(ctx, uPtr, vPtr, ri, ci, vals);
    const violation = Math.max(0, k.abi.nsDualViolation(ctx, uPtr, vPtr));
    const uK = k.f64(uPtr, nr).slice();
    const vK = k.f64(vPtr, nc).slice();
    const rowIndex = Int32Array.from(k.i32(ri, nnz), (r) => rows[r]);
    const colIndex = Int32Array.from(k.i32(ci, nnz), (c) => cols[c]);
    const values = k.f64(vals, nnz).slice();
    const plan = new SparseCoupling(n, m, rowIndex, colIndex, values);
    const { u, v } = fullDuals(geom, uK, vK, rows, cols);
    centreDuals(u, v, a, b);
    let cost = 0;
    for (let t = 0; t < nnz; t++) cost += values[t] * geom.costAt(rowIndex[t], colIndex[t]);
    let dual = 0;
    for (let i = 0; i < n; i++) dual += a[i] * u[i];
    for (let j = 0; j < m; j++) dual += b[j] * v[j];
    return { value: cost, cost, plan, potentials: { u, v }, status, iterations, error: violation, dualityGap: cost - dual, backend: 'wasm', threads: 1 };
  } finally {
    if (ctx) k.abi.nsFree(ctx);
    mem.release();
  }
}

/** Duals on the full index sets; a zero-mass node gets the largest feasible potential (tight somewhere). */
function fullDuals(geom: Geometry, uK: Float64Array, vK: Float64Array, rows: Int32Array, cols: Int32Array) {
  const n = geom.rows;
  const m = geom.cols;
  const u = new Float64Array(n).fill(NaN);
  const v = new Float64Array(m).fill(NaN);
  rows.forEach((i, r) => (u[i] = uK[r]));
  cols.forEach((j, c) => (v[j] = vK[c]));
  for (let i = 0; i < n; i++) {
    if (!Number.isNaN(u[i])) continue;
    let best = Infinity;
    for (const j of cols) best = Math.min(best, geom.costAt(i, j) - v[j]);
    u[i] = best;
  }
  for (let j = 0; j < m; j++) {
    if (!Number.isNaN(v[j])) continue;
    let best = Infinity;
    for (let i = 0; i < n; i++) best = Math.min(best, geom.costAt(i, j) - u[i]);
    v[j] = best;
  }
  return { u, v };
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
