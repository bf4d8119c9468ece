// Exact partial OT between point clouds without n × m memory: the extended problem of partial.ts (a dummy source
// of mass Σb − mass at constant cost to every sink, a dummy sink of mass Σa − mass at constant cost from every
// source) solved coarse to fine by emd-multiscale.ts. The dummies ride along every level of the hierarchy
// unchanged and their n + m + 1 arcs are always listed, so the candidate passes and the scans over all pairs see
// point pairs only; the last scan, which appended nothing, certifies the plan over all pairs and the dummies' arcs.
import type { WasmKernels } from '../backends/wasm.js';
import { SparseCoupling } from '../coupling.js';
import { powerOfSquaredDistance } from '../costs.js';
import { OTError } from '../errors.js';
import type { PointCloudGeometry } from '../geometry.js';
import { abortPoint } from '../validate.js';
import { type Dummies, solveMultiscale } from './emd-multiscale.js';
import { costExponent, gatherRows, ldexp, log2MaxCost, pivot, support } from './emd.js';
import type { PartialOptions, PartialResult } from './partial.js';

/** The pivot limit: never reached (the multiscale solve of a 10^4-point problem needs ~10^5 pivots). */
const MAX_PIVOTS = 1e9;

/**
 * Exact partial OT on clouds (weights a, b ≥ 0, 0 ≤ mass ≤ min(Σa, Σb)): the plan of the dense extended problem
 * (the same optimal plans: its dummy costs differ by constants per dummy row and column), certified by a streamed
 * duality check over all pairs. `error` is that check's dual infeasibility max(u_i + v_j − c_ij, 0), in cost units.
 */
export async function exactPartialCloud(
  k: WasmKernels, geom: PointCloudGeometry, a: Float64Array, b: Float64Array, mass: number, opts: PartialOptions,
): Promise<PartialResult> {
  const n = geom.rows;
  const m = geom.cols;
  const rows = support(a);
  const cols = support(b);
  if (mass === 0 || rows.length === 0 || cols.length === 0) {
    const none = new SparseCoupling(n, m, new Int32Array(0), new Int32Array(0), new Float64Array(0));
    return { value: 0, cost: 0, plan: none, mass: 0, status: 'optimal', iterations: 0, error: 0, backend: 'wasm', threads: 1, strategy: 'multiscale' };
  }
  const d = geom.dim;
  const p = geom.cost.power;
  // the simplex sees costs M·2^-e (emd.ts costExponent: potentials of huge costs would overflow)
  const e = costExponent(log2MaxCost(geom, rows, cols), geom);
  const scaleDown = (x: Float64Array) => (e === 0 ? x : x.map((t) => ldexp(t, -e / p)));
  const X = scaleDown(rows.length < n ? gatherRows(geom.X.data as Float64Array, d, rows) : Float64Array.from(geom.X.data));
  const Y = scaleDown(cols.length < m ? gatherRows(geom.Y.data as Float64Array, d, cols) : Float64Array.from(geom.Y.data));
  const wa = Float64Array.from(rows, (i) => a[i]);
  const wb = Float64Array.from(cols, (j) => b[j]);
  let sa = 0;
  let sb = 0;
  for (const x of wa) sa += x;
  for (const x of wb) sb += x;
  const hi = boxDiameterCost(X, Y, d, p);
  // a dummy whose mass is rounding (mass = Σb up to a few ulps) is left out: its arcs would only add pivots
  const spare = (total: number) => (total - mass > 1e-14 * total ? total - mass : 0);
  const dummy: Dummies = {
    rowMass: spare(sb),
    colMass: spare(sa),
    // Cost 0 on the dummies' arcs to points: a constant per dummy row or column would change no plan (partial.ts
    // shifts them to order its staircase; here the keys order the dummies). The dummy pair's cost D > −min M = 0
    // keeps it from carrying mass (swapping (i, j) + (dummy, dummy) for (i, dummy) + (dummy, j) saves M_ij + D);
    // a bound on max M is the same at every level and keeps the pricing tolerance (1e-13 · largest cost) as emd's.
    rowCost: 0,
    colCost: 0,
    pairCost: hi,
  };
  const problem = { X, Y, a: wa, b: wb, d, power: p, dummy };
  const mem = k.scope();
  const owner = { ctx: 0 };
  try {
    const { status, stats } = await solveMultiscale(k, mem, problem, undefined, MAX_PIVOTS, {
      run: (ctx) => pivot(k, ctx, MAX_PIVOTS, opts),
      checkpoint: (where) => abortPoint(opts.signal, () => `partial OT: ${where}`),
    }, owner);
    const nr = rows.length;
    const nc = cols.length;
    const N = nr + 1;
    const M = nc + 1;
    const uPtr = mem.f64(N);
    const vPtr = mem.f64(M);
    const ri = mem.alloc((N + M) * 4);
    const ci = mem.alloc((N + M) * 4);
    const vals = mem.alloc((N + M) * 8);
    const nnz = k.abi.nsResult(owner.ctx, uPtr, vPtr, ri, ci, vals);
    // an optimal finish ends with a scan over all pairs (and the dummies' arcs) and no pivot since
    const violation = Math.max(0, status === 'optimal' ? stats.violation : k.abi.nsDualViolation(owner.ctx, uPtr, vPtr));
    const R = k.i32(ri, nnz).slice();
    const C = k.i32(ci, nnz).slice();
    const V = k.f64(vals, nnz).slice();
    let count = 0;
    for (let t = 0; t < nnz; t++) if (R[t] < nr && C[t] < nc) count++;
    const rowIndex = new Int32Array(count);
    const colIndex = new Int32Array(count);
    const values = new Float64Array(count);
    let cost = 0;
    let moved = 0;
    count = 0;
    for (let t = 0; t < nnz; t++) {
      if (R[t] >= nr || C[t] >= nc) continue;
      rowIndex[count] = rows[R[t]];
      colIndex[count] = cols[C[t]];
      values[count] = V[t];
      cost += V[t] * geom.costAt(rowIndex[count], colIndex[count]);
      moved += V[t];
      count++;
    }
    if (!Number.isFinite(cost)) throw new OTError('numerical', 'partialWasserstein: the plan\'s cost is beyond f64\'s range; scale the points down.');
    return {
      value: cost,
      cost,
      plan: new SparseCoupling(n, m, rowIndex, colIndex, values),
      mass: moved,
      status: status === 'optimal' ? 'optimal' : 'max-iterations',
      iterations: k.abi.nsIterations(owner.ctx),
      error: ldexp(violation, e),
      backend: 'wasm',
      threads: 1,
      strategy: 'multiscale',
    };
  } finally {
    if (owner.ctx) k.abi.nsFree(owner.ctx);
    mem.release();
  }
}

/** An upper bound on every point pair's cost: the diagonal of the two clouds' common bounding box, to the power. */
function boxDiameterCost(X: Float64Array, Y: Float64Array, d: number, power: number): number {
  let sq = 0;
  for (let t = 0; t < d; t++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = t; i < X.length; i += d) (lo = Math.min(lo, X[i])), (hi = Math.max(hi, X[i]));
    for (let j = t; j < Y.length; j += d) (lo = Math.min(lo, Y[j])), (hi = Math.max(hi, Y[j]));
    sq += (hi - lo) ** 2;
  }
  const c = powerOfSquaredDistance(sq, power);
  return c > 0 && Number.isFinite(c) ? c : 1;
}
