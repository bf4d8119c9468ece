// Plain-TS reference for 1D OT (the `js` backend and the tests' oracle). Same semantics, step for step, as
// assembly/ot1d.ts: sort both supports, then walk the two CDFs; the monotone plan it yields is optimal for
// every convex cost |x − y|^p, p ≥ 1.

import { powerOfDistance } from '../../costs.js';

/** Weights of one side: explicit masses, or `null` meaning every atom weighs `uniform`. */
export interface Side {
  values: Float64Array;
  weights: Float64Array | null;
  uniform: number;
}

export interface Plan1d {
  cost: number;
  rowIndex: Int32Array;
  colIndex: Int32Array;
  values: Float64Array;
}

export function ground(d: number, p: number): number {
  return powerOfDistance(Math.abs(d), p);
}

/** Stable argsort (ties keep their original order, −0 ties with +0: the wasm radix sort agrees). */
export function argsort(x: ArrayLike<number>): Int32Array {
  const idx = Array.from({ length: x.length }, (_, i) => i);
  idx.sort((i, j) => x[i] - x[j] || i - j);
  return Int32Array.from(idx);
}

function gather(x: ArrayLike<number>, idx: Int32Array): Float64Array {
  const out = new Float64Array(idx.length);
  for (let k = 0; k < idx.length; k++) out[k] = x[idx[k]];
  return out;
}

/**
 * The CDF walk on sorted supports (xs with weights a or uniform ua, ys with b or ub). With `plan`, records
 * triplets (ia[i], ib[j], mass). Returns the cost Σ mass·|xs_i − ys_j|^p.
 */
export function mergeSorted(
  xs: Float64Array, a: Float64Array | null, ua: number,
  ys: Float64Array, b: Float64Array | null, ub: number, p: number,
  plan?: { ia: Int32Array; ib: Int32Array; rows: number[]; cols: number[]; masses: number[] },
): number {
  const n = xs.length;
  const m = ys.length;
  if (a === null && b === null && n === m) {
    // equal-size uniform: the sorted matching, every pair carries ua
    let s = 0;
    for (let k = 0; k < n; k++) {
      s += ground(xs[k] - ys[k], p);
      plan?.rows.push(plan.ia[k]);
      plan?.cols.push(plan.ib[k]);
      plan?.masses.push(ua);
    }
    return ua * s;
  }
  const wa = (i: number) => (a === null ? ua : a[i]);
  const wb = (j: number) => (b === null ? ub : b[j]);
  let cost = 0;
  let i = 0;
  let j = 0;
  let ra = wa(0); // mass of atom i not yet transported
  let rb = wb(0);
  for (;;) {
    const lastI = i === n - 1;
    const lastJ = j === m - 1;
    // The last atom of one side absorbs what is left of the other, so roundoff between Σa and Σb never
    // strands mass.
    const t = lastJ ? ra : lastI ? rb : Math.min(ra, rb);
    if (t > 0) {
      cost += t * ground(xs[i] - ys[j], p);
      if (plan) {
        plan.rows.push(plan.ia[i]);
        plan.cols.push(plan.ib[j]);
        plan.masses.push(t);
      }
    }
    if (lastI && lastJ) break;
    // t = min(ra, rb) leaves exactly 0 on the side(s) that held the minimum: those advance.
    const advI = lastJ || (!lastI && ra <= rb);
    const advJ = lastI || (!lastJ && rb <= ra);
    if (advI) ra = wa(++i);
    else ra -= t;
    if (advJ) rb = wb(++j);
    else rb -= t;
  }
  return cost;
}

/** Sorted support and weights of one side (argsort only when the weights are not uniform). */
function sortSide(s: Side): { xs: Float64Array; w: Float64Array | null } {
  if (s.weights === null) return { xs: Float64Array.from(s.values).sort(), w: null };
  const idx = argsort(s.values);
  return { xs: gather(s.values, idx), w: gather(s.weights, idx) };
}

/** Cost of the monotone plan between two 1D measures (any order of the supports). */
export function ot1dCostJs(x: Side, y: Side, p: number): number {
  const sx = sortSide(x);
  const sy = sortSide(y);
  return mergeSorted(sx.xs, sx.w, x.uniform, sy.xs, sy.w, y.uniform, p);
}

/** The monotone plan with original indices, at most n + m − 1 triplets, and its cost. */
export function ot1dPlanJs(x: Side, y: Side, p: number): Plan1d {
  const ia = argsort(x.values);
  const ib = argsort(y.values);
  const plan = { ia, ib, rows: [] as number[], cols: [] as number[], masses: [] as number[] };
  const cost = mergeSorted(
    gather(x.values, ia), x.weights && gather(x.weights, ia), x.uniform,
    gather(y.values, ib), y.weights && gather(y.weights, ib), y.uniform,
    p, plan,
  );
  return { cost, rowIndex: Int32Array.from(plan.rows), colIndex: Int32Array.from(plan.cols), values: Float64Array.from(plan.masses) };
}
