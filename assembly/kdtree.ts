// k-d trees built by the host (ts/solvers/kdtree.ts) for passes over point pairs that skip whole boxes: the
// nodes in preorder (node k's left child is k + 1; `right` is −1 at a leaf), each with its range of `perm`
// and its bounding box; `pts` holds the points in perm order so that a leaf's coordinates are contiguous;
// `bound` is per-node scratch that kdNodeMax fills with the largest of some per-point value (a dual) in the
// node. The arrays belong to the host's scope; kdFree frees only the header.

@unmanaged
export class KdTree {
  nodes: i32;
  d: i32;
  start: usize; // i32 per node: first position in perm
  end: usize; // i32 per node: one past the last
  right: usize; // i32 per node
  lo: usize; // f64, nodes × d
  hi: usize; // f64, nodes × d
  perm: usize; // i32 per point: its index in the cloud
  pts: usize; // f64, points × d, in perm order
  bound: usize; // f64 per node
}

export function kdCreate(nodes: i32, d: i32, start: usize, end: usize, right: usize, lo: usize, hi: usize, perm: usize, pts: usize, bound: usize): usize {
  const t = changetype<KdTree>(heap.alloc(offsetof<KdTree>()));
  t.nodes = nodes;
  t.d = d;
  t.start = start;
  t.end = end;
  t.right = right;
  t.lo = lo;
  t.hi = hi;
  t.perm = perm;
  t.pts = pts;
  t.bound = bound;
  return changetype<usize>(t);
}

export function kdFree(tree: usize): void {
  heap.free(tree);
}

@inline export function kdI(p: usize, k: i32): i32 {
  return load<i32>(p + (<usize>k << 2));
}
@inline export function kdF(p: usize, k: i32): f64 {
  return load<f64>(p + (<usize>k << 3));
}

/** Squared distance from x (d f64) to the nearest point of node k's box (0 inside), or with `far` to its farthest corner. */
@inline function boxDistance(t: KdTree, k: i32, x: usize, far: bool): f64 {
  const d = t.d;
  const lo = t.lo + ((<usize>k * <usize>d) << 3);
  const hi = t.hi + ((<usize>k * <usize>d) << 3);
  let acc: f64 = 0;
  for (let s = 0; s < d; s++) {
    const at = <usize>s << 3;
    const xs = load<f64>(x + at);
    const below = load<f64>(lo + at) - xs;
    const above = xs - load<f64>(hi + at);
    const g = far ? max(abs(below), abs(above)) : max(max(below, above), 0.0);
    acc += g * g;
  }
  return acc;
}

/** Squared distance from the point x to node k's box (0 inside). */
@inline export function kdBoxSqDist(t: KdTree, k: i32, x: usize): f64 {
  return boxDistance(t, k, x, false);
}

/** Squared distance from x to the farthest corner of node k's box. */
@inline export function kdBoxMaxSqDist(t: KdTree, k: i32, x: usize): f64 {
  return boxDistance(t, k, x, true);
}

/** bound[k] = the largest values[perm[p]] over node k's points (values: f64 by cloud index; 0 → all zeros). */
export function kdNodeMax(t: KdTree, values: usize): void {
  for (let k = t.nodes - 1; k >= 0; k--) {
    const r = kdI(t.right, k);
    let mx: f64 = -Infinity;
    if (r < 0) {
      if (!values) mx = 0;
      else for (let p = kdI(t.start, k); p < kdI(t.end, k); p++) mx = max(mx, kdF(values, kdI(t.perm, p)));
    } else mx = max(kdF(t.bound, k + 1), kdF(t.bound, r));
    store<f64>(t.bound + (<usize>k << 3), mx);
  }
}
