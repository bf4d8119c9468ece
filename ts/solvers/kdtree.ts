// k-d trees over a point cloud for the pruned passes of the multiscale exact solver. assembly/kdtree.ts reads
// the layout: nodes in preorder (a node's left child comes right after it), `right` −1 at leaves. Splits at the
// median of the widest coordinate of the node's box, by index, so duplicate points split too.
import type { WasmKernels, WasmScope } from '../backends/wasm.js';

/** Points per leaf: opening a leaf costs one box test and this many point costs. */
const LEAF = 8;

/** A k-d tree's arrays (meanings in assembly/kdtree.ts). */
export interface KdTreeArrays {
  nodes: number;
  start: Int32Array;
  end: Int32Array;
  right: Int32Array;
  lo: Float64Array;
  hi: Float64Array;
  perm: Int32Array;
  /** The points in perm order (leaves contiguous). */
  pts: Float64Array;
}

/** The tree of the points P (n × d row-major, n ≥ 1). */
export function buildKdTree(P: Float64Array, d: number, leaf = LEAF): KdTreeArrays {
  const n = P.length / d;
  const perm = new Int32Array(n).map((_, i) => i);
  const cap = 2 * Math.ceil(n / Math.max(1, leaf >> 1)) + 1;
  const start = new Int32Array(cap);
  const end = new Int32Array(cap);
  const right = new Int32Array(cap).fill(-1);
  const lo = new Float64Array(cap * d);
  const hi = new Float64Array(cap * d);
  let nodes = 0;
  // (first, last, parent whose right child this is or −1); the right child is pushed first so the left one is
  // built next and takes the id after its parent's
  const todo: number[] = [0, n, -1];
  while (todo.length) {
    const parent = todo.pop()!;
    const e = todo.pop()!;
    const s = todo.pop()!;
    const node = nodes++;
    if (parent >= 0) right[parent] = node;
    start[node] = s;
    end[node] = e;
    for (let t = 0; t < d; t++) {
      lo[node * d + t] = Infinity;
      hi[node * d + t] = -Infinity;
    }
    for (let p = s; p < e; p++) {
      for (let t = 0; t < d; t++) {
        const x = P[perm[p] * d + t];
        if (x < lo[node * d + t]) lo[node * d + t] = x;
        if (x > hi[node * d + t]) hi[node * d + t] = x;
      }
    }
    if (e - s <= leaf) continue;
    let dim = 0;
    for (let t = 1; t < d; t++) if (hi[node * d + t] - lo[node * d + t] > hi[node * d + dim] - lo[node * d + dim]) dim = t;
    const mid = (s + e) >> 1;
    selectByCoordinate(perm, s, e, mid, P, d, dim);
    todo.push(mid, e, node, s, mid, -1);
  }
  const pts = new Float64Array(n * d);
  for (let p = 0; p < n; p++) for (let t = 0; t < d; t++) pts[p * d + t] = P[perm[p] * d + t];
  return { nodes, start: start.slice(0, nodes), end: end.slice(0, nodes), right: right.slice(0, nodes), lo: lo.slice(0, nodes * d), hi: hi.slice(0, nodes * d), perm, pts };
}

/** The tree in wasm memory (owned by `mem`); returns the header for the nsTree* kernels (free it with kdFree). */
export function kdTreeInWasm(k: WasmKernels, mem: WasmScope, t: KdTreeArrays, d: number): number {
  const i32 = (a: Int32Array) => {
    const p = mem.alloc(Math.max(1, a.length) * 4);
    k.i32(p, a.length).set(a);
    return p;
  };
  return k.abi.kdCreate(t.nodes, d, i32(t.start), i32(t.end), i32(t.right), mem.put(t.lo), mem.put(t.hi), i32(t.perm), mem.put(t.pts), mem.f64(t.nodes));
}

/** Reorder idx[start, end) so that idx[k] has the k-th smallest coordinate `dim` (Wirth's selection: equal keys are fine). */
export function selectByCoordinate(idx: Int32Array, start: number, end: number, k: number, P: Float64Array, d: number, dim: number): void {
  let l = start;
  let r = end - 1;
  while (l < r) {
    const x = P[idx[k] * d + dim];
    let i = l;
    let j = r;
    do {
      while (P[idx[i] * d + dim] < x) i++;
      while (x < P[idx[j] * d + dim]) j--;
      if (i <= j) {
        const t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        i++;
        j--;
      }
    } while (i <= j);
    if (j < k) l = i;
    if (k < i) r = j;
  }
}
