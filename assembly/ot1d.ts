// Exact OT between two measures on the line, on sorted supports: the optimal plan for a convex cost
// |x − y|^p (p ≥ 1) is the monotone (quantile) coupling, found by walking the two CDFs together.
// Weights: a pointer of 0 means "every atom weighs `u`" (uniform), which also lets us skip the argsort.
// ts/backends/js/ot1d.ts is the reference for exactly these semantics (same walk, same float operations).

import { powerOfDistance } from './cost';

// @ts-ignore: decorator
@inline export function ground(d: f64, p: f64): f64 {
  return powerOfDistance(abs(d), p);
}

let planNnz: i32 = 0; // triplet count of the last mergeSorted call

// @ts-ignore: decorator
@inline function weight(w: usize, u: f64, i: i32): f64 {
  return w == 0 ? u : load<f64>(w + (<usize>i << 3));
}

/** (1/n)·Σ|xs_k − ys_k|^p times n·u, i.e. u·Σ: the equal-size uniform case, two lanes at a time where p allows. */
function diagonalCost(xs: usize, ys: usize, n: i32, p: f64): f64 {
  let i = 0;
  let s = 0.0;
  if (p == 1.0 || p == 2.0) {
    let acc = f64x2.splat(0.0);
    for (; i + 1 < n; i += 2) {
      const d = f64x2.sub(v128.load(xs + (<usize>i << 3)), v128.load(ys + (<usize>i << 3)));
      acc = f64x2.add(acc, p == 2.0 ? f64x2.mul(d, d) : f64x2.abs(d));
    }
    s = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  }
  for (; i < n; i++) s += ground(load<f64>(xs + (<usize>i << 3)) - load<f64>(ys + (<usize>i << 3)), p);
  return s;
}

/**
 * The CDF walk. xs (n) and ys (m) sorted ascending; a/b their weights in the same order (or 0 with ua/ub).
 * When outW != 0 the plan is written as (ia[i], ib[j], mass) triplets (ia/ib map sorted positions to
 * original indices; 0 means identity) and the number of triplets is left in `planNnz`. Returns the cost.
 */
export function mergeSorted(
  xs: usize, a: usize, ua: f64, n: i32,
  ys: usize, b: usize, ub: f64, m: i32, p: f64,
  ia: usize, ib: usize, outI: usize, outJ: usize, outW: usize,
): f64 {
  const plan = outW != 0;
  let cost = 0.0;
  let nnz = 0;
  if (a == 0 && b == 0 && n == m) {
    // equal-size uniform: the sorted matching, every pair carries ua
    if (!plan) return ua * diagonalCost(xs, ys, n, p);
    for (let k = 0; k < n; k++) {
      store<i32>(outI + (<usize>k << 2), ia == 0 ? k : load<i32>(ia + (<usize>k << 2)));
      store<i32>(outJ + (<usize>k << 2), ib == 0 ? k : load<i32>(ib + (<usize>k << 2)));
      store<f64>(outW + (<usize>k << 3), ua);
      cost += ground(load<f64>(xs + (<usize>k << 3)) - load<f64>(ys + (<usize>k << 3)), p);
    }
    planNnz = n;
    return ua * cost;
  }
  let i = 0;
  let j = 0;
  let ra = weight(a, ua, 0); // mass of atom i not yet transported
  let rb = weight(b, ub, 0);
  while (true) {
    const lastI = i == n - 1;
    const lastJ = j == m - 1;
    // The last atom of one side absorbs all that is left of the other, so the roundoff between Σa and Σb
    // never strands mass: row sums are exact, column sums exact up to that roundoff.
    const t = lastJ ? ra : lastI ? rb : min(ra, rb);
    if (t > 0.0) {
      cost += t * ground(load<f64>(xs + (<usize>i << 3)) - load<f64>(ys + (<usize>j << 3)), p);
      if (plan) {
        store<i32>(outI + (<usize>nnz << 2), ia == 0 ? i : load<i32>(ia + (<usize>i << 2)));
        store<i32>(outJ + (<usize>nnz << 2), ib == 0 ? j : load<i32>(ib + (<usize>j << 2)));
        store<f64>(outW + (<usize>nnz << 3), t);
      }
      nnz++;
    }
    if (lastI && lastJ) break;
    // t = min(ra, rb) leaves exactly 0 on the side(s) that held the minimum: those advance.
    const advI = lastJ || (!lastI && ra <= rb);
    const advJ = lastI || (!lastJ && rb <= ra);
    if (advI) { i++; ra = weight(a, ua, i); } else ra -= t;
    if (advJ) { j++; rb = weight(b, ub, j); } else rb -= t;
  }
  planNnz = nnz;
  return cost;
}

/** Σ mass·|x − y|^p of the monotone plan, on sorted inputs (see mergeSorted). */
export function ot1dCost(xs: usize, a: usize, ua: f64, n: i32, ys: usize, b: usize, ub: f64, m: i32, p: f64): f64 {
  return mergeSorted(xs, a, ua, n, ys, b, ub, m, p, 0, 0, 0, 0, 0);
}

/**
 * The monotone plan on sorted inputs, written with original indices through ia/ib (the argsort permutations):
 * at most n + m − 1 triplets into outI/outJ/outW. Stores the cost at costOut and returns the triplet count.
 */
export function ot1dPlan(
  xs: usize, a: usize, ua: f64, n: i32, ys: usize, b: usize, ub: f64, m: i32, p: f64,
  ia: usize, ib: usize, outI: usize, outJ: usize, outW: usize, costOut: usize,
): i32 {
  store<f64>(costOut, mergeSorted(xs, a, ua, n, ys, b, ub, m, p, ia, ib, outI, outJ, outW));
  return planNnz;
}
