// Exact optimal transport: the primal network simplex on the complete bipartite graph (sources 0..n-1,
// sinks n..n+m-1), uncapacitated, f64. The spanning-tree bookkeeping (parent / thread / succ_num /
// last_succ, strongly feasible leaving-arc rule, block-search pricing) follows the structure of LEMON's
// NetworkSimplex, specialised for transport:
// - arc e = i*m + j is implicit (source i, sink j), so there is no per-arc storage at all: only the n×m
//   cost matrix in dense mode, nothing n×m in point-cloud mode (costs evaluated on the fly);
// - flows are non-zero on tree arcs only, so they live per node (the flow on the arc to its parent);
// - the start is a feasible staircase tree (north-west corner on a caller-chosen ordering) instead of
//   big-M artificial arcs, which keeps the potentials at the scale of the costs;
// - a single artificial arc of cost 0 and flow 0 hangs the tree from the root; it can never be on a
//   pivot cycle, so it never leaves.
import { powerOfSquaredDistance, powerOfSquaredDistanceX2 } from './cost';
import { argsortF64 } from './sort';
import { KdTree, kdBoxMaxSqDist, kdBoxSqDist, kdF, kdI, kdNodeMax } from './kdtree';

const UP: i32 = 1; // the tree arc points from the node to its parent
const DOWN: i32 = -1; // the tree arc points from the parent to the node

export const NS_OPTIMAL: i32 = 0;
export const NS_RUNNING: i32 = 1; // the pivot budget of this call ran out; call nsRun again
export const NS_UNBOUNDED: i32 = 2; // cannot happen for valid input; reported, never hidden

@unmanaged
class Simplex {
  n: i32;
  m: i32;
  nodes: i32; // n + m + 1, the root is n + m
  root: i32;
  // geometry
  mode: i32; // 0: dense costs, 1: point clouds, 2: point clouds on an explicit arc list (nsCreateSparse)
  cost: usize; // n*m f64 (mode 0)
  X: usize; // n*d f64 (mode 1)
  Y: usize; // m*d f64 (mode 1)
  Yt: usize; // d*m f64, Y by coordinate for the SIMD pricing (mode 1)
  vectorCost: bool; // costPair applies: dense, or point clouds with power 1 or 2
  d: i32;
  power: f64;
  // per node
  supply: usize; // f64
  pi: usize; // f64 potentials: reduced cost of arc (i, j) is c_ij + pi_i − pi_j
  parent: usize; // i32
  pred: usize; // i32, arc id of the tree arc to the parent (−1 for the root's child arc)
  predDir: usize; // i32, UP or DOWN
  flow: usize; // f64, flow on the tree arc to the parent
  thread: usize; // i32, preorder successor
  revThread: usize; // i32
  succNum: usize; // i32, subtree size
  lastSucc: usize; // i32, last node of the subtree in thread order
  dirty: usize; // i32 scratch for updateTreeStructure
  // pricing: first over a shortlist of candidate arcs per source, then over all arcs
  cand: usize; // i32 arc ids, nCand of them (0 when no shortlist)
  nCand: i32;
  candBlock: i32;
  nextCand: i32;
  phase: i32; // 0: shortlist, 1: all arcs
  blockSize: i32;
  nextArc: i32;
  tol: f64;
  iterations: f64;
  // current pivot
  inArc: i32;
  join: i32;
  uIn: i32;
  vIn: i32;
  uOut: i32;
  delta: f64;
  // sparse mode (mode 2): an explicit, growing list of arcs (tail, head, cost); arc ids index it
  arcI: usize; // i32
  arcJ: usize; // i32
  arcC: usize; // f64
  nArcs: i32;
  capArcs: i32;
  rowK: i32; // arcs [0, n*rowK) are each source's shortlist (best first), then m column-best arcs
  sparseBlock: i32;
  nextSparse: i32;
  scanViolation: f64; // max_ij (u_i + v_j − c_ij) seen by the last nsScan
  // partial OT (mode 2 only): sources [0, cn) and sinks [0, cm) are points; a dummy source cn (when n > cn) and a
  // dummy sink cm (when m > cm) have constant costs, and their n + m + 1 arcs are always listed (nsCandidatesEnd)
  cn: i32;
  cm: i32;
  dummyRowCost: f64; // dummy source → any point sink
  dummyColCost: f64; // any point source → dummy sink
  dummyPairCost: f64; // dummy source → dummy sink
  // the candidate pass (nsCandidates): dual estimates, each sink's best source so far, the largest cost so far
  candU: usize;
  candV: usize;
  colBest: usize;
  colArg: usize;
  candScale: f64;
}

// ---- raw array access -------------------------------------------------------------------------------
@inline function gi(p: usize, k: i32): i32 {
  return load<i32>(p + (<usize>k << 2));
}
@inline function si(p: usize, k: i32, v: i32): void {
  store<i32>(p + (<usize>k << 2), v);
}
@inline function gf(p: usize, k: i32): f64 {
  return load<f64>(p + (<usize>k << 3));
}
@inline function sf(p: usize, k: i32, v: f64): void {
  store<f64>(p + (<usize>k << 3), v);
}
function allocI32(k: i32): usize {
  return heap.alloc(<usize>max(k, 1) << 2);
}
function allocF64(k: i32): usize {
  return heap.alloc(<usize>max(k, 1) << 3);
}

// ---- costs ------------------------------------------------------------------------------------------
@inline function pointCost(s: Simplex, i: i32, j: i32): f64 {
  const d = s.d;
  const x = s.X + ((<usize>i * <usize>d) << 3);
  const y = s.Y + ((<usize>j * <usize>d) << 3);
  let acc: f64 = 0;
  for (let k = 0; k < d; k++) {
    const t = load<f64>(x + (<usize>k << 3)) - load<f64>(y + (<usize>k << 3));
    acc += t * t;
  }
  return powerOfSquaredDistance(acc, s.power);
}

@inline function costIJ(s: Simplex, i: i32, j: i32): f64 {
  if (s.mode == 0) return gf(s.cost, i * s.m + j);
  return pointCost(s, i, j);
}

/** Costs of arcs (i, j) and (i, j + 1) as one f64x2 (dense rows, or sqeuclidean/euclidean point clouds with Y stored by coordinate). */
@inline function costPair(s: Simplex, i: i32, j: i32): v128 {
  if (s.mode == 0) return v128.load(s.cost + ((<usize>i * <usize>s.m + <usize>j) << 3));
  const d = s.d;
  const m = s.cm;
  const x = s.X + ((<usize>i * <usize>d) << 3);
  let acc = f64x2.splat(0);
  for (let k = 0; k < d; k++) {
    const t = f64x2.sub(f64x2.splat(load<f64>(x + (<usize>k << 3))), v128.load(s.Yt + ((<usize>k * <usize>m + <usize>j) << 3)));
    acc = f64x2.add(acc, f64x2.mul(t, t));
  }
  return powerOfSquaredDistanceX2(acc, s.power);
}

/** Source i's first two coordinates, splatted, for rowPair (the 2-D fast path of the streamed passes). */
@inline function splatCoord(s: Simplex, i: i32, k: i32): v128 {
  return s.d == 2 ? f64x2.splat(load<f64>(s.X + ((<usize>i * 2 + <usize>k) << 3))) : f64x2.splat(0);
}

/**
 * costPair for a pass along row i: in 2-D (d2) with the coordinates (x0, x1) splatted once per row (splatCoord)
 * and everything else in locals (the context's fields are memory loads V8 does not hoist: −40 % per pass),
 * bitwise the same sums as costPair and pointCost ((0 + t0²) + t1² = t0² + t1²); other dimensions use costPair.
 */
@inline function rowPair(s: Simplex, d2: bool, root: bool, y0: usize, y1: usize, x0: v128, x1: v128, i: i32, j: i32): v128 {
  if (!d2) return costPair(s, i, j);
  const at = <usize>j << 3;
  const t0 = f64x2.sub(x0, v128.load(y0 + at));
  const t1 = f64x2.sub(x1, v128.load(y1 + at));
  const sq = f64x2.add(f64x2.mul(t0, t0), f64x2.mul(t1, t1));
  return root ? f64x2.sqrt(sq) : sq;
}

@inline function arcCost(s: Simplex, e: i32): f64 {
  if (s.mode == 0) return gf(s.cost, e);
  if (s.mode == 2) return gf(s.arcC, e);
  const i = e / s.m;
  return pointCost(s, i, e - i * s.m);
}

/** The source of arc e: implicit (e = i*m + j) in modes 0 and 1, listed in mode 2. */
@inline function arcTail(s: Simplex, e: i32): i32 {
  return s.mode == 2 ? gi(s.arcI, e) : e / s.m;
}

/** The sink (0..m-1) of arc e. */
@inline function arcHead(s: Simplex, e: i32): i32 {
  return s.mode == 2 ? gi(s.arcJ, e) : e - (e / s.m) * s.m;
}

/** The cost of (i, j) in a sparse context: a point pair's, or a dummy's constant. */
@inline function sparseCost(s: Simplex, i: i32, j: i32): f64 {
  if (i >= s.cn) return j >= s.cm ? s.dummyPairCost : s.dummyRowCost;
  return j >= s.cm ? s.dummyColCost : pointCost(s, i, j);
}

/** Append arc (i, j) to the list of a sparse context (growing it by doubling); returns its id. */
function appendArc(s: Simplex, i: i32, j: i32): i32 {
  if (s.nArcs == s.capArcs) {
    const cap = max(1024, s.capArcs * 2);
    s.arcI = heap.realloc(s.arcI, <usize>cap << 2);
    s.arcJ = heap.realloc(s.arcJ, <usize>cap << 2);
    s.arcC = heap.realloc(s.arcC, <usize>cap << 3);
    s.capArcs = cap;
  }
  const e = s.nArcs++;
  si(s.arcI, e, i);
  si(s.arcJ, e, j);
  sf(s.arcC, e, sparseCost(s, i, j));
  return e;
}

/** The id of arc (i, j) for the initial tree: implicit, or appended to a sparse context's list. */
@inline function treeArc(s: Simplex, i: i32, j: i32): i32 {
  return s.mode == 2 ? appendArc(s, i, j) : i * s.m + j;
}

// ---- life cycle -------------------------------------------------------------------------------------

/** A solver context for n sources with masses a and m sinks with masses b (Σa = Σb, all > 0). */
export function nsCreate(
  n: i32, m: i32, mode: i32, costPtr: usize, xPtr: usize, yPtr: usize, d: i32, power: f64, aPtr: usize, bPtr: usize,
): usize {
  const s = createContext(n, m, n, m, mode, costPtr, xPtr, yPtr, d, power, aPtr, bPtr);
  // Reduced costs below −tol enter the basis. The scale is the largest cost magnitude, so rounding in
  // potentials (sums of costs along tree paths) cannot make a tree arc look improving.
  let scale: f64 = 0;
  if (mode == 0) {
    const total = n * m;
    for (let e = 0; e < total; e++) scale = max(scale, abs(gf(costPtr, e)));
  } else {
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) scale = max(scale, pointCost(s, i, j));
  }
  s.tol = max(scale, 1e-300) * 1e-13;
  return changetype<usize>(s);
}

/** n sources and m sinks, of which the first cn and cm are points (the rest dummies: partial OT, mode 2). */
function createContext(
  n: i32, m: i32, cn: i32, cm: i32, mode: i32, costPtr: usize, xPtr: usize, yPtr: usize, d: i32, power: f64, aPtr: usize, bPtr: usize,
): Simplex {
  const s = changetype<Simplex>(heap.alloc(offsetof<Simplex>()));
  s.n = n;
  s.m = m;
  const N = n + m + 1;
  s.nodes = N;
  s.root = n + m;
  s.mode = mode;
  s.cost = costPtr;
  s.X = xPtr;
  s.Y = yPtr;
  s.d = d;
  s.power = power;
  s.Yt = 0;
  s.vectorCost = mode == 0 || power == 1.0 || power == 2.0;
  s.arcI = 0;
  s.arcJ = 0;
  s.arcC = 0;
  s.nArcs = 0;
  s.capArcs = 0;
  s.rowK = 0;
  s.sparseBlock = 10;
  s.nextSparse = 0;
  s.scanViolation = 0;
  s.candU = 0;
  s.candV = 0;
  s.colBest = 0;
  s.colArg = 0;
  s.candScale = 0;
  s.cn = cn;
  s.cm = cm;
  s.dummyRowCost = 0;
  s.dummyColCost = 0;
  s.dummyPairCost = 0;
  if (mode != 0) {
    s.Yt = allocF64(cm * d);
    for (let j = 0; j < cm; j++) for (let k = 0; k < d; k++) sf(s.Yt, k * cm + j, gf(yPtr, j * d + k));
  }
  s.supply = allocF64(N);
  s.pi = allocF64(N);
  s.parent = allocI32(N);
  s.pred = allocI32(N);
  s.predDir = allocI32(N);
  s.flow = allocF64(N);
  s.thread = allocI32(N);
  s.revThread = allocI32(N);
  s.succNum = allocI32(N);
  s.lastSucc = allocI32(N);
  s.dirty = allocI32(N);
  for (let i = 0; i < n; i++) sf(s.supply, i, gf(aPtr, i));
  for (let j = 0; j < m; j++) sf(s.supply, n + j, -gf(bPtr, j));
  sf(s.supply, s.root, 0);
  const arcs = <f64>n * <f64>m;
  s.blockSize = <i32>max(10.0, Math.ceil(Math.sqrt(arcs)));
  s.nextArc = 0;
  s.iterations = 0;
  s.cand = 0;
  s.nCand = 0;
  s.phase = mode == 2 ? 2 : 1;
  return s;
}

export function nsFree(ctx: usize): void {
  const s = changetype<Simplex>(ctx);
  heap.free(s.supply);
  heap.free(s.pi);
  heap.free(s.parent);
  heap.free(s.pred);
  heap.free(s.predDir);
  heap.free(s.flow);
  heap.free(s.thread);
  heap.free(s.revThread);
  heap.free(s.succNum);
  heap.free(s.lastSucc);
  heap.free(s.dirty);
  if (s.Yt) heap.free(s.Yt);
  if (s.colBest) heap.free(s.colBest);
  if (s.colArg) heap.free(s.colArg);
  if (s.arcI) {
    heap.free(s.arcI);
    heap.free(s.arcJ);
    heap.free(s.arcC);
  }
  if (s.cand) heap.free(s.cand);
  heap.free(ctx);
}

/**
 * The initial feasible tree: the north-west-corner staircase over the given orderings of sources and
 * sinks (i32 arrays, or 0 for index order). Each step exhausts a row or a column, so the n + m − 1 cells
 * always form a spanning tree (degenerate steps add zero-flow cells). With orderings that sort both
 * sides along a common direction this is the 1D-optimal plan of the projections: a good start.
 */
export function nsInitTree(ctx: usize, rowOrder: usize, colOrder: usize): void {
  const s = changetype<Simplex>(ctx);
  const n = s.n;
  const m = s.m;
  const root = s.root;
  // Tree as parent links: walk the staircase; every new cell attaches the newly reached node to the
  // node it shares with the previous cell.
  const parent = s.parent;
  const pred = s.pred;
  const predDir = s.predDir;
  const flow = s.flow;
  let r = 0;
  let c = 0;
  let i = rowOrder ? gi(rowOrder, 0) : 0;
  let j = colOrder ? gi(colOrder, 0) : 0;
  let ra = gf(s.supply, i);
  let cb = -gf(s.supply, n + j);
  // Node i (first source) hangs from the root by the artificial arc.
  si(parent, i, root);
  si(pred, i, -1);
  si(predDir, i, UP);
  sf(flow, i, 0);
  si(parent, root, -1);
  si(pred, root, -1);
  // first cell (i, j): sink j hangs from source i
  let x = min(ra, cb);
  si(parent, n + j, i);
  si(pred, n + j, treeArc(s, i, j));
  si(predDir, n + j, DOWN);
  sf(flow, n + j, x);
  ra -= x;
  cb -= x;
  while (r < n - 1 || c < m - 1) {
    // exhaust the row when its supply is gone (or the columns ran out), else the column
    if ((ra <= cb && r < n - 1) || c == m - 1) {
      r++;
      i = rowOrder ? gi(rowOrder, r) : r;
      ra = gf(s.supply, i);
      x = c == m - 1 && r == n - 1 ? ra : min(ra, cb);
      // new source i hangs from current sink j (arc i → j points up)
      si(parent, i, n + j);
      si(pred, i, treeArc(s, i, j));
      si(predDir, i, UP);
      sf(flow, i, x);
    } else {
      c++;
      j = colOrder ? gi(colOrder, c) : c;
      cb = -gf(s.supply, n + j);
      x = c == m - 1 && r == n - 1 ? ra : min(ra, cb);
      si(parent, n + j, i);
      si(pred, n + j, treeArc(s, i, j));
      si(predDir, n + j, DOWN);
      sf(flow, n + j, x);
    }
    ra -= x;
    cb -= x;
  }
  rebuildTree(s);
}

/**
 * From parent/pred/predDir alone, rebuild thread (preorder), revThread, succNum, lastSucc and the
 * potentials. O(nodes), iterative (no recursion: trees can be paths of 10^5 nodes).
 */
function rebuildTree(s: Simplex): void {
  const N = s.nodes;
  const root = s.root;
  // children lists as linked lists: firstChild / nextSibling, in the scratch arrays
  const firstChild = allocI32(N);
  const nextSibling = s.dirty;
  for (let u = 0; u < N; u++) si(firstChild, u, -1);
  for (let u = N - 1; u >= 0; u--) {
    if (u == root) continue;
    const p = gi(s.parent, u);
    si(nextSibling, u, gi(firstChild, p));
    si(firstChild, p, u);
  }
  // iterative preorder; revThread doubles as the DFS stack of "next sibling to visit"
  const stack = allocI32(N);
  let top = 0;
  let prev = -1;
  let u = root;
  sf(s.pi, root, 0);
  let count = 0;
  while (true) {
    // visit u
    if (prev >= 0) {
      si(s.thread, prev, u);
      si(s.revThread, u, prev);
    }
    prev = u;
    count++;
    if (u != root) {
      const p = gi(s.parent, u);
      const e = gi(s.pred, u);
      const c = e < 0 ? 0.0 : arcCost(s, e);
      // tree arcs have zero reduced cost: c + pi_src − pi_tgt = 0
      if (gi(s.predDir, u) == UP) sf(s.pi, u, gf(s.pi, p) - c);
      else sf(s.pi, u, gf(s.pi, p) + c);
    }
    const fc = gi(firstChild, u);
    if (fc >= 0) {
      si(stack, top++, u);
      u = fc;
      continue;
    }
    // climb until a node with an unvisited sibling
    let done = false;
    while (true) {
      const sib = u == root ? -1 : gi(nextSibling, u);
      if (sib >= 0) {
        u = sib;
        break;
      }
      if (top == 0) {
        done = true;
        break;
      }
      u = gi(stack, --top);
    }
    if (done) break;
  }
  si(s.thread, prev, root);
  si(s.revThread, root, prev);
  // subtree sizes and last successors, in reverse preorder (children before parents)
  for (let k = 0; k < N; k++) {
    si(s.succNum, k, 1);
    si(s.lastSucc, k, -1);
  }
  let v = prev;
  for (let k = 0; k < N; k++) {
    if (gi(s.lastSucc, v) < 0) si(s.lastSucc, v, v);
    if (v != root) {
      const p = gi(s.parent, v);
      si(s.succNum, p, gi(s.succNum, p) + gi(s.succNum, v));
      // the parent's last successor is the last successor of its last child in preorder, i.e. the
      // first child met in this reverse walk
      if (gi(s.lastSucc, p) < 0) si(s.lastSucc, p, gi(s.lastSucc, v));
    }
    v = gi(s.revThread, v);
  }
  heap.free(firstChild);
  heap.free(stack);
}

// ---- one pivot --------------------------------------------------------------------------------------

@inline function isTreeArc(s: Simplex, e: i32): bool {
  const i = arcTail(s, e);
  const j = arcHead(s, e);
  return gi(s.pred, i) == e || gi(s.pred, s.n + j) == e;
}

/** Block search (Grigoriadis): scan blocks of arcs, take the most negative reduced cost of the first block that has one. */
function findEnteringArc(s: Simplex): bool {
  const n = s.n;
  const m = s.m;
  const total = n * m;
  const pi = s.pi;
  let best: f64 = -s.tol;
  let bestArc = -1;
  let cnt = s.blockSize;
  let e = s.nextArc;
  let i = e / m;
  let j = e - i * m;
  let scanned = 0;
  while (scanned < total) {
    // one row segment [j, m) of row i, at most up to the end of the scan
    const piI = gf(pi, i);
    let end = m;
    if (total - scanned < end - j) end = j + (total - scanned);
    const base = i * m;
    // SIMD: two reduced costs per step; the scalar path runs only when one beats the best so far.
    const piI2 = f64x2.splat(piI);
    let best2 = f64x2.splat(best);
    let jj = j;
    while (jj < end) {
      const stop = min(end, jj + cnt);
      const start = jj;
      if (s.vectorCost) {
        for (; jj + 1 < stop; jj += 2) {
          const rc2 = f64x2.sub(f64x2.add(costPair(s, i, jj), piI2), v128.load(pi + ((<usize>(n + jj)) << 3)));
          if (v128.any_true(f64x2.lt(rc2, best2))) {
            for (let t = jj; t < jj + 2; t++) {
              const rc = costIJ(s, i, t) + piI - gf(pi, n + t);
              if (rc < best && !isTreeArc(s, base + t)) {
                best = rc;
                bestArc = base + t;
              }
            }
            best2 = f64x2.splat(best);
          }
        }
      }
      for (; jj < stop; jj++) {
        const rc = costIJ(s, i, jj) + piI - gf(pi, n + jj);
        if (rc < best && !isTreeArc(s, base + jj)) {
          best = rc;
          bestArc = base + jj;
          best2 = f64x2.splat(best);
        }
      }
      cnt -= jj - start;
      if (cnt == 0) {
        if (bestArc >= 0) {
          s.inArc = bestArc;
          s.nextArc = base + jj == total ? 0 : base + jj;
          return true;
        }
        cnt = s.blockSize;
      }
    }
    scanned += end - j;
    j = 0;
    i++;
    if (i == n) i = 0;
  }
  if (bestArc >= 0) {
    s.inArc = bestArc;
    s.nextArc = s.nextArc; // a full sweep found it; keep the scan position
    return true;
  }
  return false;
}

function findJoinNode(s: Simplex): void {
  let u = arcTail(s, s.inArc);
  let v = s.n + arcHead(s, s.inArc);
  while (u != v) {
    if (gi(s.succNum, u) < gi(s.succNum, v)) u = gi(s.parent, u);
    else v = gi(s.parent, v);
  }
  s.join = u;
}

/** The strongly feasible leaving-arc rule; false only when the cycle is unbounded (never for transport). */
function findLeavingArc(s: Simplex): bool {
  const first = arcTail(s, s.inArc);
  const second = s.n + arcHead(s, s.inArc);
  const join = s.join;
  let delta = Infinity;
  let result = 0;
  for (let u = first; u != join; u = gi(s.parent, u)) {
    // the cycle runs down from join to first: arcs pointing up lose flow
    if (gi(s.predDir, u) == UP) {
      const d = gf(s.flow, u);
      if (d < delta) {
        delta = d;
        s.uOut = u;
        result = 1;
      }
    }
  }
  for (let u = second; u != join; u = gi(s.parent, u)) {
    // the cycle runs up from second to join: arcs pointing down lose flow
    if (gi(s.predDir, u) == DOWN) {
      const d = gf(s.flow, u);
      if (d <= delta) {
        delta = d;
        s.uOut = u;
        result = 2;
      }
    }
  }
  if (result == 1) {
    s.uIn = first;
    s.vIn = second;
  } else {
    s.uIn = second;
    s.vIn = first;
  }
  s.delta = delta;
  return result != 0;
}

function changeFlow(s: Simplex): void {
  const val = s.delta;
  if (val > 0) {
    const join = s.join;
    const src = arcTail(s, s.inArc);
    const tgt = s.n + arcHead(s, s.inArc);
    for (let u = src; u != join; u = gi(s.parent, u)) sf(s.flow, u, gf(s.flow, u) - <f64>gi(s.predDir, u) * val);
    for (let u = tgt; u != join; u = gi(s.parent, u)) sf(s.flow, u, gf(s.flow, u) + <f64>gi(s.predDir, u) * val);
  }
}

function updateTreeStructure(s: Simplex): void {
  const parent = s.parent;
  const thread = s.thread;
  const revThread = s.revThread;
  const succNum = s.succNum;
  const lastSucc = s.lastSucc;
  const uIn = s.uIn;
  const vIn = s.vIn;
  const uOut = s.uOut;
  const join = s.join;
  const inArc = s.inArc;
  const srcIn = arcTail(s, inArc);
  const oldRevThread = gi(revThread, uOut);
  const oldSuccNum = gi(succNum, uOut);
  const oldLastSucc = gi(lastSucc, uOut);
  const vOut = gi(parent, uOut);

  if (uIn == uOut) {
    si(parent, uIn, vIn);
    si(s.pred, uIn, inArc);
    si(s.predDir, uIn, uIn == srcIn ? UP : DOWN);
    sf(s.flow, uIn, s.delta);
    if (gi(thread, vIn) != uOut) {
      let after = gi(thread, oldLastSucc);
      si(thread, oldRevThread, after);
      si(revThread, after, oldRevThread);
      after = gi(thread, vIn);
      si(thread, vIn, uOut);
      si(revThread, uOut, vIn);
      si(thread, oldLastSucc, after);
      si(revThread, after, oldLastSucc);
    }
  } else {
    // when oldRevThread == vIn, join and vOut coincide
    const threadContinue = oldRevThread == vIn ? gi(thread, oldLastSucc) : gi(thread, vIn);
    // re-hang the stem (the path from uIn up to uOut) below vIn, reversing it
    let stem = uIn;
    let parStem = vIn;
    let nextStem: i32;
    let last = gi(lastSucc, uIn);
    let before: i32;
    let after = gi(thread, last);
    si(thread, vIn, uIn);
    let nDirty = 0;
    si(s.dirty, nDirty++, vIn);
    while (stem != uOut) {
      nextStem = gi(parent, stem);
      si(thread, last, nextStem);
      si(s.dirty, nDirty++, last);
      before = gi(revThread, stem);
      si(thread, before, after);
      si(revThread, after, before);
      si(parent, stem, parStem);
      parStem = stem;
      stem = nextStem;
      last = gi(lastSucc, stem) == gi(lastSucc, parStem) ? gi(revThread, parStem) : gi(lastSucc, stem);
      after = gi(thread, last);
    }
    si(parent, uOut, parStem);
    si(thread, last, threadContinue);
    si(revThread, threadContinue, last);
    si(lastSucc, uOut, last);
    if (oldRevThread != vIn) {
      si(thread, oldRevThread, after);
      si(revThread, after, oldRevThread);
    }
    for (let k = 0; k < nDirty; k++) {
      const u = gi(s.dirty, k);
      si(revThread, gi(thread, u), u);
    }
    // pred, predDir, flow, lastSucc and succNum along the reversed stem
    let tmpSc = 0;
    const tmpLs = gi(lastSucc, uOut);
    for (let u = uOut, p = gi(parent, u); u != uIn; u = p, p = gi(parent, u)) {
      si(s.pred, u, gi(s.pred, p));
      si(s.predDir, u, -gi(s.predDir, p));
      sf(s.flow, u, gf(s.flow, p));
      tmpSc += gi(succNum, u) - gi(succNum, p);
      si(succNum, u, tmpSc);
      si(lastSucc, p, tmpLs);
    }
    si(s.pred, uIn, inArc);
    si(s.predDir, uIn, uIn == srcIn ? UP : DOWN);
    sf(s.flow, uIn, s.delta);
    si(succNum, uIn, oldSuccNum);
  }

  // lastSucc from vIn towards the root
  const upLimitOut = gi(lastSucc, join) == vIn ? join : -1;
  const lastSuccOut = gi(lastSucc, uOut);
  for (let u = vIn; u != -1 && gi(lastSucc, u) == vIn; u = gi(parent, u)) si(lastSucc, u, lastSuccOut);
  // lastSucc from vOut towards the root
  if (join != oldRevThread && vIn != oldRevThread) {
    for (let u = vOut; u != upLimitOut && gi(lastSucc, u) == oldLastSucc; u = gi(parent, u)) si(lastSucc, u, oldRevThread);
  } else if (lastSuccOut != oldLastSucc) {
    for (let u = vOut; u != upLimitOut && gi(lastSucc, u) == oldLastSucc; u = gi(parent, u)) si(lastSucc, u, lastSuccOut);
  }
  for (let u = vIn; u != join; u = gi(parent, u)) si(succNum, u, gi(succNum, u) + oldSuccNum);
  for (let u = vOut; u != join; u = gi(parent, u)) si(succNum, u, gi(succNum, u) - oldSuccNum);
}

function updatePotential(s: Simplex): void {
  const uIn = s.uIn;
  const c = arcCost(s, s.inArc);
  const sigma = gf(s.pi, s.vIn) - gf(s.pi, uIn) - <f64>gi(s.predDir, uIn) * c;
  const end = gi(s.thread, gi(s.lastSucc, uIn));
  for (let u = uIn; u != end; u = gi(s.thread, u)) sf(s.pi, u, gf(s.pi, u) + sigma);
}

function pivot(s: Simplex): bool {
  findJoinNode(s);
  if (!findLeavingArc(s)) return false;
  changeFlow(s);
  updateTreeStructure(s);
  updatePotential(s);
  s.iterations += 1;
  return true;
}

/**
 * One pass over all costs prepares the solve:
 * - the shortlist (Gottschlich & Schuhmacher's idea): for each source, its k arcs of smallest c_ij − v_j.
 *   The simplex first optimises over these arcs only, which costs a fraction of full pricing per pivot,
 *   then finishes with full pricing, so the result is exact either way;
 * - heuristic pivots: for each sink the arc from its cheapest source (by c_ij − u_i), and for each source
 *   its cheapest arc. With good duals u, v (a warm start; 0 for a cold one) these are mostly the optimal
 *   basis, and pricing has little left to do. `budget` caps the pivots (maxIter).
 */
export function nsPrepare(ctx: usize, uPtr: usize, vPtr: usize, k: i32, budget: f64): void {
  const s = changetype<Simplex>(ctx);
  if (s.mode == 2) {
    sparseHeuristicPivots(s, budget);
    return;
  }
  const n = s.n;
  const m = s.m;
  if (k > m) k = m;
  const colBest = allocF64(m);
  const colArg = allocF64(m); // source index as f64, so the SIMD pass can select it with the cost
  const keys = allocF64(k);
  const v = vPtr ? vPtr : allocF64(m);
  if (!vPtr) for (let j = 0; j < m; j++) sf(v, j, 0.0);
  if (s.cand) heap.free(s.cand); // a restarted context (nsRestart) prepares again
  s.cand = allocI32(n * k);
  for (let j = 0; j < m; j++) sf(colBest, j, Infinity);
  for (let i = 0; i < n; i++) {
    const ui = uPtr ? gf(uPtr, i) : 0.0;
    const row = s.cand + ((<usize>i * <usize>k) << 2);
    let filled = 0;
    let j = 0;
    if (s.vectorCost) {
      const ui2 = f64x2.splat(ui);
      const iF2 = f64x2.splat(<f64>i);
      const dense = s.mode == 0;
      const crow = s.cost + ((<usize>i * <usize>m) << 3);
      let kth = f64x2.splat(Infinity);
      for (; j + 1 < m; j += 2) {
        const c2 = dense ? v128.load(crow + (<usize>j << 3)) : costPair(s, i, j);
        const cu2 = f64x2.sub(c2, ui2);
        const at = <usize>j << 3;
        const cb = v128.load(colBest + at);
        const better = f64x2.lt(cu2, cb);
        v128.store(colBest + at, v128.bitselect(cu2, cb, better));
        v128.store(colArg + at, v128.bitselect(iF2, v128.load(colArg + at), better));
        // most arcs lose to the current k-th best key: test both lanes at once, insert rarely
        const key2 = f64x2.sub(c2, v128.load(v + at));
        if (v128.any_true(f64x2.lt(key2, kth))) {
          filled = insertTopK(keys, row, k, filled, f64x2.extract_lane(key2, 0), i * m + j);
          filled = insertTopK(keys, row, k, filled, f64x2.extract_lane(key2, 1), i * m + j + 1);
          if (filled == k) kth = f64x2.splat(gf(keys, k - 1));
        }
      }
    }
    for (; j < m; j++) {
      const c = costIJ(s, i, j);
      const cu = c - ui;
      if (cu < gf(colBest, j)) {
        sf(colBest, j, cu);
        sf(colArg, j, <f64>i);
      }
      filled = insertTopK(keys, row, k, filled, c - gf(v, j), i * m + j);
    }
  }
  s.nCand = n * k;
  // a shorter block than full pricing's √arcs: the shortlist holds good arcs, so taking the best of fewer
  // costs fewer reduced-cost evaluations per pivot (measured: −12 % at n = 500 to −15 % at n = 4000)
  s.candBlock = <i32>max(10.0, Math.ceil(Math.sqrt(<f64>s.nCand) * 0.5));
  s.nextCand = 0;
  s.phase = 0;
  for (let j = 0; j < m && s.iterations < budget; j++) tryPivot(s, <i32>gf(colArg, j), j);
  for (let i = 0; i < n && s.iterations < budget; i++) {
    const e = gi(s.cand, i * k);
    tryPivot(s, i, e - i * m);
  }
  heap.free(colBest);
  heap.free(colArg);
  heap.free(keys);
  if (!vPtr) heap.free(v);
}

/**
 * A dense context (mode 0) whose cost matrix the host has overwritten in place: the tolerance from the new costs and
 * the potentials of the current tree under them. The tree stays a feasible basis (the masses did not change), so
 * nsPrepare and nsRun continue from it: a sequence of similar problems (a conditional gradient's linear steps,
 * ts/solvers/inner.ts ExactSequence) pivots from the previous optimum instead of from a fresh staircase.
 */
export function nsRestart(ctx: usize): void {
  const s = changetype<Simplex>(ctx);
  let scale: f64 = 0;
  const total = s.n * s.m;
  for (let e = 0; e < total; e++) scale = max(scale, abs(gf(s.cost, e)));
  s.tol = max(scale, 1e-300) * 1e-13;
  rebuildTree(s);
}

/** Insert arc e with `key` into the ascending top-k list (keys, arcs) holding `filled` entries; returns the new count. */
@inline function insertTopK(keys: usize, arcs: usize, k: i32, filled: i32, key: f64, e: i32): i32 {
  if (filled == k && key >= gf(keys, k - 1)) return filled;
  let t = filled < k ? filled++ : k - 1;
  while (t > 0 && gf(keys, t - 1) > key) {
    sf(keys, t, gf(keys, t - 1));
    si(arcs, t, gi(arcs, t - 1));
    t--;
  }
  sf(keys, t, key);
  si(arcs, t, e);
  return filled;
}

function tryPivot(s: Simplex, i: i32, j: i32): void {
  const e = i * s.m + j;
  const rc = costIJ(s, i, j) + gf(s.pi, i) - gf(s.pi, s.n + j);
  if (rc < -s.tol && !isTreeArc(s, e)) {
    s.inArc = e;
    pivot(s);
  }
}

function findEnteringShortlist(s: Simplex): bool {
  const total = s.nCand;
  const n = s.n;
  const m = s.m;
  let best: f64 = -s.tol;
  let bestArc = -1;
  let cnt = s.candBlock;
  let q = s.nextCand;
  for (let scanned = 0; scanned < total; scanned++) {
    const e = gi(s.cand, q);
    const i = e / m;
    const j = e - i * m;
    const rc = costIJ(s, i, j) + gf(s.pi, i) - gf(s.pi, n + j);
    if (rc < best && !isTreeArc(s, e)) {
      best = rc;
      bestArc = e;
    }
    q++;
    if (q == total) q = 0;
    if (--cnt == 0) {
      if (bestArc >= 0) break;
      cnt = s.candBlock;
    }
  }
  s.nextCand = q;
  if (bestArc < 0) return false;
  s.inArc = bestArc;
  return true;
}

/** Pivot until optimal or until `budget` pivots were made in this call (the host checks for abort between calls). */
export function nsRun(ctx: usize, budget: f64): i32 {
  const s = changetype<Simplex>(ctx);
  let k: f64 = 0;
  while (k < budget) {
    if (s.phase == 2) {
      if (!findEnteringSparse(s)) return NS_OPTIMAL;
    } else if (s.phase == 0 && !findEnteringShortlist(s)) s.phase = 1;
    if (s.phase == 1 && !findEnteringArc(s)) return NS_OPTIMAL;
    if (!pivot(s)) return NS_UNBOUNDED;
    k += 1;
  }
  return NS_RUNNING;
}

export function nsIterations(ctx: usize): f64 {
  return changetype<Simplex>(ctx).iterations;
}

/**
 * Write the plan's non-zeros (row, col, mass) and the duals u (n), v (m) with u_i + v_j = c_ij on tree
 * arcs. Potentials are recomputed from the final tree, so they carry no drift from the pivots. Returns nnz.
 */
export function nsResult(ctx: usize, uOut: usize, vOut: usize, rows: usize, cols: usize, vals: usize): i32 {
  const s = changetype<Simplex>(ctx);
  rebuildTree(s);
  const n = s.n;
  const m = s.m;
  for (let i = 0; i < n; i++) sf(uOut, i, -gf(s.pi, i));
  for (let j = 0; j < m; j++) sf(vOut, j, gf(s.pi, n + j));
  let nnz = 0;
  for (let u = 0; u < n + m; u++) {
    const e = gi(s.pred, u);
    if (e < 0) continue;
    const f = gf(s.flow, u);
    if (f <= 0) continue;
    si(rows, nnz, arcTail(s, e));
    si(cols, nnz, arcHead(s, e));
    sf(vals, nnz, f);
    nnz++;
  }
  return nnz;
}

/** max_ij (u_i + v_j − c_ij), the dual infeasibility of (u, v) (≤ 0 when the duals are feasible). */
export function nsDualViolation(ctx: usize, uPtr: usize, vPtr: usize): f64 {
  const s = changetype<Simplex>(ctx);
  const n = s.cn;
  const m = s.cm;
  let worst = -Infinity;
  let worst2 = f64x2.splat(-Infinity);
  // a partial-OT context's dummy arcs
  if (s.n > n) for (let j = 0; j < s.m; j++) worst = max(worst, gf(uPtr, n) + gf(vPtr, j) - sparseCost(s, n, j));
  if (s.m > m) for (let i = 0; i < n; i++) worst = max(worst, gf(uPtr, i) + gf(vPtr, m) - s.dummyColCost);
  for (let i = 0; i < n; i++) {
    const ui = gf(uPtr, i);
    const ui2 = f64x2.splat(ui);
    let j = 0;
    if (s.vectorCost) {
      for (; j + 1 < m; j += 2) {
        const r2 = f64x2.sub(f64x2.add(ui2, v128.load(vPtr + (<usize>j << 3))), costPair(s, i, j));
        worst2 = f64x2.max(worst2, r2);
      }
    }
    for (; j < m; j++) worst = max(worst, ui + gf(vPtr, j) - costIJ(s, i, j));
  }
  return max(worst, max(f64x2.extract_lane(worst2, 0), f64x2.extract_lane(worst2, 1)));
}

// ---- sparse mode: the simplex on a growing list of candidate arcs (column generation) ------------------
//
// The host (ts/solvers/emd-multiscale.ts) creates the context with dual estimates (u, v) lifted from a coarser
// problem, solves on the listed arcs (nsInitTree, nsPrepare, nsRun), then calls nsScan: one streamed pass over
// all n × m pairs that appends the most violated arcs of each source. When a scan appends nothing, the duals
// are feasible for the full problem (u_i + v_j ≤ c_ij + tol everywhere): the plan is the full problem's
// optimum, with the same certificate as the dense solve, and the context never held more than O((n + m)·k)
// arcs.

/**
 * A sparse-arc context for point clouds X (n × d), Y (m × d) with masses a, b (all > 0). Its candidate arcs come
 * from one pass over all pairs, in row slices (nsCandidates, then nsCandidatesEnd) so that the host can check for
 * abort in between: for each source i its k arcs of smallest c_ij − v_j (the reduced-cost neighbourhood under
 * the dual estimate v; best first), then for each sink j the arc from its source of smallest c_ij − u_i. The
 * estimates uPtr / vPtr (0: zeros) must stay allocated until nsCandidatesEnd. The same pass finds the largest
 * cost, which sets the tolerance exactly as nsCreate does.
 *
 * Partial OT: `dummyRow` (0 or 1) adds a dummy source after the n points, with constant cost `rowCost` to every
 * point sink, and `dummyCol` a dummy sink with cost `colCost` from every point source (`pairCost` between the two
 * dummies). aPtr and bPtr then hold n + dummyRow and m + dummyCol masses, uPtr and vPtr as many estimates. The
 * dummies' arcs are all listed (nsCandidatesEnd), so the candidate pass and the scans see point pairs only.
 */
export function nsCreateSparse(
  n: i32, m: i32, xPtr: usize, yPtr: usize, d: i32, power: f64, aPtr: usize, bPtr: usize, uPtr: usize, vPtr: usize, k: i32,
  dummyRow: i32, dummyCol: i32, rowCost: f64, colCost: f64, pairCost: f64,
): usize {
  const s = createContext(n + dummyRow, m + dummyCol, n, m, 2, 0, xPtr, yPtr, d, power, aPtr, bPtr);
  s.dummyRowCost = rowCost;
  s.dummyColCost = colCost;
  s.dummyPairCost = pairCost;
  if (k > m) k = m;
  if (k < 1) k = 1;
  s.rowK = k;
  const cap = n * k + m + n + m + 16 + 2 * (n + m + 1);
  s.arcI = allocI32(cap);
  s.arcJ = allocI32(cap);
  s.arcC = allocF64(cap);
  s.capArcs = cap;
  s.candU = uPtr;
  s.candV = vPtr;
  s.colBest = allocF64(m);
  s.colArg = allocF64(m);
  for (let j = 0; j < m; j++) sf(s.colBest, j, Infinity);
  s.candScale = 0;
  return changetype<usize>(s);
}

/** The candidate pass over rows [i0, i1) (slices in order, covering 0..n). */
export function nsCandidates(ctx: usize, i0: i32, i1: i32): void {
  const s = changetype<Simplex>(ctx);
  const m = s.cm;
  const k = s.rowK;
  const uPtr = s.candU;
  const vPtr = s.candV;
  const colBest = s.colBest;
  const colArg = s.colArg;
  const keys = allocF64(k);
  const js = allocI32(k);
  let scale: f64 = s.candScale;
  let scale2 = f64x2.splat(0);
  const d2 = s.d == 2;
  const root = s.power == 1.0;
  const y0 = s.Yt;
  const y1 = s.Yt + (<usize>m << 3);
  for (let i = i0; i < i1; i++) {
    const ui = uPtr ? gf(uPtr, i) : 0.0;
    let filled = 0;
    let j = 0;
    if (s.vectorCost) {
      const ui2 = f64x2.splat(ui);
      const iF2 = f64x2.splat(<f64>i);
      let kth = f64x2.splat(Infinity);
      const x0 = splatCoord(s, i, 0);
      const x1 = splatCoord(s, i, 1);
      for (; j + 1 < m; j += 2) {
        const c2 = rowPair(s, d2, root, y0, y1, x0, x1, i, j);
        scale2 = f64x2.max(scale2, c2);
        const at = <usize>j << 3;
        const cu2 = f64x2.sub(c2, ui2);
        const cb = v128.load(colBest + at);
        const better = f64x2.lt(cu2, cb);
        v128.store(colBest + at, v128.bitselect(cu2, cb, better));
        v128.store(colArg + at, v128.bitselect(iF2, v128.load(colArg + at), better));
        const key2 = vPtr ? f64x2.sub(c2, v128.load(vPtr + at)) : c2;
        if (v128.any_true(f64x2.lt(key2, kth))) {
          filled = insertTopK(keys, js, k, filled, f64x2.extract_lane(key2, 0), j);
          filled = insertTopK(keys, js, k, filled, f64x2.extract_lane(key2, 1), j + 1);
          if (filled == k) kth = f64x2.splat(gf(keys, k - 1));
        }
      }
    }
    for (; j < m; j++) {
      const c = pointCost(s, i, j);
      scale = max(scale, c);
      const cu = c - ui;
      if (cu < gf(colBest, j)) {
        sf(colBest, j, cu);
        sf(colArg, j, <f64>i);
      }
      filled = insertTopK(keys, js, k, filled, vPtr ? c - gf(vPtr, j) : c, j);
    }
    for (let t = 0; t < k; t++) appendArc(s, i, gi(js, t));
  }
  s.candScale = max(scale, max(f64x2.extract_lane(scale2, 0), f64x2.extract_lane(scale2, 1)));
  heap.free(keys);
  heap.free(js);
}

/** After the last slice: each sink's best arc, the tolerance from the largest cost; the pass's scratch freed. */
export function nsCandidatesEnd(ctx: usize): void {
  const s = changetype<Simplex>(ctx);
  for (let j = 0; j < s.cm; j++) appendArc(s, <i32>gf(s.colArg, j), j);
  // partial OT: every arc of a dummy, listed once and for all (the scans skip them)
  let scale = s.candScale;
  if (s.n > s.cn) {
    for (let j = 0; j < s.m; j++) appendArc(s, s.cn, j);
    scale = max(scale, max(abs(s.dummyRowCost), abs(s.dummyPairCost)));
  }
  if (s.m > s.cm) {
    for (let i = 0; i < s.cn; i++) appendArc(s, i, s.cm);
    scale = max(scale, abs(s.dummyColCost));
  }
  s.tol = max(scale, 1e-300) * 1e-13;
  setSparseBlock(s);
  heap.free(s.colBest);
  heap.free(s.colArg);
  s.colBest = 0;
  s.colArg = 0;
  s.candU = 0;
  s.candV = 0;
}

/**
 * Block size of the sparse pricing: √arcs / 10. Smaller than the dense shortlist's √arcs / 2 (nsPrepare): the
 * listed arcs are already the good ones, so more, cheaper pivots win (multiscale n = 3·10^4, CPU: /2 6.7 s,
 * /4 5.4 s, /10 4.8 s, /20 4.8 s; ×2 16 s).
 */
function setSparseBlock(s: Simplex): void {
  s.sparseBlock = <i32>max(10.0, Math.ceil(Math.sqrt(<f64>s.nArcs) * 0.1));
}

/** nsPrepare's heuristic pivots on a sparse context: each sink's best arc, then each source's best arc. */
function sparseHeuristicPivots(s: Simplex, budget: f64): void {
  const n = s.cn;
  const m = s.cm;
  const k = s.rowK;
  for (let j = 0; j < m && s.iterations < budget; j++) tryPivotArc(s, n * k + j);
  for (let i = 0; i < n && s.iterations < budget; i++) tryPivotArc(s, i * k);
}

function tryPivotArc(s: Simplex, e: i32): void {
  const rc = gf(s.arcC, e) + gf(s.pi, gi(s.arcI, e)) - gf(s.pi, s.n + gi(s.arcJ, e));
  if (rc < -s.tol && !isTreeArc(s, e)) {
    s.inArc = e;
    pivot(s);
  }
}

/** Block search over the listed arcs (as findEnteringShortlist); false when none has a reduced cost below −tol. */
function findEnteringSparse(s: Simplex): bool {
  const total = s.nArcs;
  const n = s.n;
  const pi = s.pi;
  let best: f64 = -s.tol;
  let bestArc = -1;
  let cnt = s.sparseBlock;
  let q = s.nextSparse;
  if (q >= total) q = 0;
  for (let scanned = 0; scanned < total; scanned++) {
    const rc = gf(s.arcC, q) + gf(pi, gi(s.arcI, q)) - gf(pi, n + gi(s.arcJ, q));
    if (rc < best && !isTreeArc(s, q)) {
      best = rc;
      bestArc = q;
    }
    q++;
    if (q == total) q = 0;
    if (--cnt == 0) {
      if (bestArc >= 0) break;
      cnt = s.sparseBlock;
    }
  }
  s.nextSparse = q;
  if (bestArc < 0) return false;
  s.inArc = bestArc;
  return true;
}

/**
 * The dual-feasibility check of a sparse context over all n × m pairs, streamed (nothing n × m is stored):
 * with the potentials recomputed from the current tree, for each source i the (at most `perRow`) sinks j of
 * most negative reduced cost c_ij − u_i − v_j < −tol are appended to the arc list. Returns the number of arcs
 * appended: 0 over all rows certifies the current basis optimal for the full problem. Rows [i0, i1) only, so
 * that the host can check for abort between slices; the slice starting at row 0 recomputes the potentials and
 * resets the recorded max_ij (u_i + v_j − c_ij) (nsScanViolation), which later slices extend.
 */
export function nsScan(ctx: usize, perRow: i32, i0: i32, i1: i32): i32 {
  const s = changetype<Simplex>(ctx);
  if (i0 == 0) {
    rebuildTree(s);
    s.scanViolation = dummyViolation(s);
  }
  const n = s.n; // sinks' node offset
  const m = s.cm; // point sinks (a dummy's arcs are all listed: dummyViolation covers them)
  const pi = s.pi;
  const tol = s.tol;
  if (perRow < 1) perRow = 1;
  const keys = allocF64(perRow);
  const js = allocI32(perRow);
  let worst: f64 = Infinity; // the most negative reduced cost
  let worst2 = f64x2.splat(Infinity);
  const mtol2 = f64x2.splat(-tol);
  const d2 = s.d == 2;
  const root = s.power == 1.0;
  const y0 = s.Yt;
  const y1 = s.Yt + (<usize>m << 3);
  const piC = pi + (<usize>n << 3);
  const vector = s.vectorCost;
  let added = 0;
  for (let i = i0; i < i1; i++) {
    const piI = gf(pi, i);
    const piI2 = f64x2.splat(piI);
    let filled = 0;
    let j = 0;
    if (vector) {
      let kth = mtol2;
      const x0 = splatCoord(s, i, 0);
      const x1 = splatCoord(s, i, 1);
      for (; j + 1 < m; j += 2) {
        const rc2 = f64x2.sub(f64x2.add(rowPair(s, d2, root, y0, y1, x0, x1, i, j), piI2), v128.load(piC + (<usize>j << 3)));
        worst2 = f64x2.min(worst2, rc2);
        if (v128.any_true(f64x2.lt(rc2, kth))) {
          const r0 = f64x2.extract_lane(rc2, 0);
          const r1 = f64x2.extract_lane(rc2, 1);
          if (r0 < -tol) filled = insertTopK(keys, js, perRow, filled, r0, j);
          if (r1 < -tol) filled = insertTopK(keys, js, perRow, filled, r1, j + 1);
          if (filled == perRow) kth = f64x2.splat(gf(keys, perRow - 1));
        }
      }
    }
    for (; j < m; j++) {
      const rc = pointCost(s, i, j) + piI - gf(pi, n + j);
      worst = min(worst, rc);
      if (rc < -tol) filled = insertTopK(keys, js, perRow, filled, rc, j);
    }
    for (let t = 0; t < filled; t++) appendArc(s, i, gi(js, t));
    added += filled;
  }
  worst = min(worst, min(f64x2.extract_lane(worst2, 0), f64x2.extract_lane(worst2, 1)));
  s.scanViolation = max(s.scanViolation, -worst);
  heap.free(keys);
  heap.free(js);
  setSparseBlock(s);
  return added;
}

/** max (u_i + v_j − c_ij) over the dummies' arcs of a partial-OT context (−∞ without dummies), from the tree's potentials. */
function dummyViolation(s: Simplex): f64 {
  let worst = -Infinity;
  const pi = s.pi;
  const n = s.n;
  if (s.n > s.cn) for (let j = 0; j < s.m; j++) worst = max(worst, gf(pi, n + j) - gf(pi, s.cn) - sparseCost(s, s.cn, j));
  if (s.m > s.cm) for (let i = 0; i < s.cn; i++) worst = max(worst, gf(pi, n + s.cm) - gf(pi, i) - s.dummyColCost);
  return worst;
}

// ---- the same passes, pruned by k-d trees ------------------------------------------------------------
// nsTreeCandidates / nsTreeColumns / nsTreeScan give what nsCandidates / nsScan give (the same arcs up to ties)
// without visiting every pair: for each query point a depth-first walk of the other cloud's tree (kdtree.ts)
// skips every node whose lower bound on the key (the least cost over its box minus the largest dual in it)
// cannot beat the current threshold (the k-th best key, or −tol). The bound is exact, so the scan still
// certifies all n × m pairs; with duals close to optimal only the boxes near each point's partners are opened.

/** Depth of the walk's stack: a tree of 2^31 leaves needs 31 entries per level pushed (two per level). */
const WALK = 128;

/** ‖x − y‖^power for two points (d f64 each), the same sums as pointCost. */
@inline function costXY(x: usize, y: usize, d: i32, power: f64): f64 {
  let acc: f64 = 0;
  for (let k = 0; k < d; k++) {
    const t = load<f64>(x + (<usize>k << 3)) - load<f64>(y + (<usize>k << 3));
    acc += t * t;
  }
  return powerOfSquaredDistance(acc, power);
}

/** Least cost from x over node k's box minus the node's bound (a lower bound on c − dual over its points). */
@inline function boxKey(t: KdTree, k: i32, x: usize, power: f64): f64 {
  return powerOfSquaredDistance(kdBoxSqDist(t, k, x), power) - kdF(t.bound, k);
}

/** Pushes the children of node k nearest first (popped first), each only if its key is below `limit`. */
@inline function pushChildren(t: KdTree, k: i32, x: usize, power: f64, limit: f64, stack: usize, top: i32): i32 {
  const l = k + 1;
  const r = kdI(t.right, k);
  const kl = boxKey(t, l, x, power);
  const kr = boxKey(t, r, x, power);
  const near = kl <= kr ? l : r;
  const far = kl <= kr ? r : l;
  if (max(kl, kr) < limit) si(stack, top++, far);
  if (min(kl, kr) < limit) si(stack, top++, near);
  return top;
}

/**
 * nsCandidates over rows [i0, i1) by the sinks' tree: each source's k arcs of smallest c_ij − v_j, and the
 * largest cost (for the tolerance) by a farthest-box walk. Needs the dual estimate v (candV) to prune well;
 * the column-best arcs come from nsTreeColumns.
 */
export function nsTreeCandidates(ctx: usize, sinkTree: usize, i0: i32, i1: i32): void {
  const s = changetype<Simplex>(ctx);
  const t = changetype<KdTree>(sinkTree);
  const k = s.rowK;
  const d = s.d;
  const power = s.power;
  const vPtr = s.candV;
  if (i0 == 0) kdNodeMax(t, vPtr);
  const keys = allocF64(k);
  const js = allocI32(k);
  const stack = allocI32(WALK);
  let scale = s.candScale;
  for (let i = i0; i < i1; i++) {
    const x = s.X + ((<usize>i * <usize>d) << 3);
    let filled = 0;
    let kth: f64 = Infinity;
    let top = 0;
    si(stack, top++, 0);
    while (top > 0) {
      const node = gi(stack, --top);
      if (boxKey(t, node, x, power) >= kth) continue;
      if (kdI(t.right, node) >= 0) {
        top = pushChildren(t, node, x, power, kth, stack, top);
        continue;
      }
      for (let p = kdI(t.start, node); p < kdI(t.end, node); p++) {
        const j = kdI(t.perm, p);
        const c = costXY(x, t.pts + ((<usize>p * <usize>d) << 3), d, power);
        filled = insertTopK(keys, js, k, filled, vPtr ? c - gf(vPtr, j) : c, j);
        if (filled == k) kth = gf(keys, k - 1);
      }
    }
    for (let e = 0; e < k; e++) appendArc(s, i, gi(js, e));
    // the farthest sink: boxes whose farthest corner cannot beat the largest cost so far are skipped
    top = 0;
    si(stack, top++, 0);
    while (top > 0) {
      const node = gi(stack, --top);
      if (powerOfSquaredDistance(kdBoxMaxSqDist(t, node, x), power) <= scale) continue;
      const r = kdI(t.right, node);
      if (r >= 0) {
        si(stack, top++, r);
        si(stack, top++, node + 1);
        continue;
      }
      for (let p = kdI(t.start, node); p < kdI(t.end, node); p++) scale = max(scale, costXY(x, t.pts + ((<usize>p * <usize>d) << 3), d, power));
    }
  }
  s.candScale = scale;
  heap.free(keys);
  heap.free(js);
  heap.free(stack);
}

/** The column half of nsCandidates for sinks [j0, j1), by the sources' tree: each sink's source of least c_ij − u_i. */
export function nsTreeColumns(ctx: usize, sourceTree: usize, j0: i32, j1: i32): void {
  const s = changetype<Simplex>(ctx);
  const t = changetype<KdTree>(sourceTree);
  const d = s.d;
  const power = s.power;
  const uPtr = s.candU;
  if (j0 == 0) kdNodeMax(t, uPtr);
  const stack = allocI32(WALK);
  for (let j = j0; j < j1; j++) {
    const y = s.Y + ((<usize>j * <usize>d) << 3);
    let best: f64 = Infinity;
    let arg = -1;
    let top = 0;
    si(stack, top++, 0);
    while (top > 0) {
      const node = gi(stack, --top);
      if (boxKey(t, node, y, power) >= best) continue;
      if (kdI(t.right, node) >= 0) {
        top = pushChildren(t, node, y, power, best, stack, top);
        continue;
      }
      for (let p = kdI(t.start, node); p < kdI(t.end, node); p++) {
        const i = kdI(t.perm, p);
        const cu = costXY(t.pts + ((<usize>p * <usize>d) << 3), y, d, power) - (uPtr ? gf(uPtr, i) : 0.0);
        if (cu < best) {
          best = cu;
          arg = i;
        }
      }
    }
    sf(s.colBest, j, best);
    sf(s.colArg, j, <f64>arg);
  }
  heap.free(stack);
}

/**
 * nsScan over rows [i0, i1) by the sinks' tree: the same arcs appended (up to ties) and the same certificate
 * when none is, visiting only boxes whose least reduced cost c − u_i − max v can fall below the threshold.
 * The recorded violation is the largest over the pairs visited; the skipped ones are proven ≤ tol.
 */
export function nsTreeScan(ctx: usize, sinkTree: usize, perRow: i32, i0: i32, i1: i32): i32 {
  const s = changetype<Simplex>(ctx);
  const t = changetype<KdTree>(sinkTree);
  const n = s.n; // sinks' node offset (point sources, then a partial-OT dummy)
  const d = s.d;
  const power = s.power;
  const pi = s.pi;
  const piC = pi + (<usize>n << 3);
  if (i0 == 0) {
    rebuildTree(s);
    s.scanViolation = dummyViolation(s);
    kdNodeMax(t, piC);
  }
  const tol = s.tol;
  if (perRow < 1) perRow = 1;
  const keys = allocF64(perRow);
  const js = allocI32(perRow);
  const stack = allocI32(WALK);
  let worst: f64 = Infinity;
  let added = 0;
  for (let i = i0; i < i1; i++) {
    const x = s.X + ((<usize>i * <usize>d) << 3);
    const piI = gf(pi, i);
    let filled = 0;
    // node keys are c − v: a pair can enter when c − v < limit = (the k-th most negative rc, or −tol) − π_i
    let limit = -tol - piI;
    let top = 0;
    si(stack, top++, 0);
    while (top > 0) {
      const node = gi(stack, --top);
      if (boxKey(t, node, x, power) >= limit) continue;
      if (kdI(t.right, node) >= 0) {
        top = pushChildren(t, node, x, power, limit, stack, top);
        continue;
      }
      for (let p = kdI(t.start, node); p < kdI(t.end, node); p++) {
        const j = kdI(t.perm, p);
        const rc = costXY(x, t.pts + ((<usize>p * <usize>d) << 3), d, power) + piI - gf(piC, j);
        worst = min(worst, rc);
        if (rc < -tol) {
          filled = insertTopK(keys, js, perRow, filled, rc, j);
          if (filled == perRow) limit = gf(keys, perRow - 1) - piI;
        }
      }
    }
    for (let e = 0; e < filled; e++) appendArc(s, i, gi(js, e));
    added += filled;
  }
  s.scanViolation = max(s.scanViolation, -worst);
  heap.free(keys);
  heap.free(js);
  heap.free(stack);
  setSparseBlock(s);
  return added;
}

/** max_ij (u_i + v_j − c_ij) over all pairs at the last nsScan (≤ tol when it appended nothing). */
export function nsScanViolation(ctx: usize): f64 {
  return changetype<Simplex>(ctx).scanViolation;
}

/** Arcs listed by a sparse context (its memory is O(arcs)). */
export function nsArcs(ctx: usize): i32 {
  return changetype<Simplex>(ctx).nArcs;
}

/** Copies a sparse context's arc list (tails, heads: i32 × nsArcs) and returns its length (tests compare passes). */
export function nsArcList(ctx: usize, iOut: usize, jOut: usize): i32 {
  const s = changetype<Simplex>(ctx);
  memory.copy(iOut, s.arcI, <usize>s.nArcs << 2);
  memory.copy(jOut, s.arcJ, <usize>s.nArcs << 2);
  return s.nArcs;
}

/**
 * A sparse context's initial tree from dual estimates (u, v), instead of nsInitTree's staircase: the
 * matrix-minimum rule over the listed arcs by increasing reduced cost c_ij − u_i − v_j (each cell ships
 * min(remaining supply, remaining demand) and retires its row or its column, so the cells form a spanning
 * tree), then the staircase over the lines still open, in the given orders (i32 arrays), on new arcs. With
 * duals lifted from a coarser solution the tight arcs come first and the start is close to optimal: at
 * n = 10^4 it cut the pivots of the finest level several-fold.
 */
export function nsInitGreedy(ctx: usize, uPtr: usize, vPtr: usize, rowOrder: usize, colOrder: usize): void {
  const s = changetype<Simplex>(ctx);
  const n = s.n;
  const m = s.m;
  const E = s.nArcs;
  const keys = allocF64(E);
  const order = allocI32(E);
  const tk = allocF64(E);
  const ti = allocI32(E);
  for (let e = 0; e < E; e++) sf(keys, e, gf(s.arcC, e) - gf(uPtr, gi(s.arcI, e)) - gf(vPtr, gi(s.arcJ, e)));
  argsortF64(keys, E, order, tk, ti);
  heap.free(keys);
  heap.free(tk);
  heap.free(ti);
  const g = new Greedy(s);
  for (let t = 0; t < E && g.aliveR > 0; t++) {
    const e = gi(order, t);
    const i = gi(s.arcI, e);
    const j = gi(s.arcJ, e);
    if (g.alive(i) && g.alive(n + j)) g.place(e, i, j);
  }
  heap.free(order);
  // the staircase over what is left open
  let r = 0;
  let c = 0;
  while (g.aliveR > 0) {
    while (!g.alive(gi(rowOrder, r))) r++;
    while (!g.alive(n + gi(colOrder, c))) c++;
    const i = gi(rowOrder, r);
    const j = gi(colOrder, c);
    g.place(appendArc(s, i, j), i, j);
  }
  g.free();
  heap.free(changetype<usize>(g));
  si(s.parent, s.root, -1);
  si(s.pred, s.root, -1);
  rebuildTree(s);
}

/** The matrix-minimum bookkeeping of nsInitGreedy: remaining masses and open lines (rows 0..n-1, columns n..n+m-1). */
@unmanaged
class Greedy {
  s: Simplex;
  rem: usize; // f64 per node
  open: usize; // i32 per node, 1 while the line is open
  aliveR: i32;
  aliveC: i32;
  constructor(s: Simplex) {
    this.s = s;
    const N = s.n + s.m;
    this.rem = allocF64(N);
    this.open = allocI32(N);
    for (let u = 0; u < s.n; u++) sf(this.rem, u, gf(s.supply, u));
    for (let u = s.n; u < N; u++) sf(this.rem, u, -gf(s.supply, u));
    for (let u = 0; u < N; u++) si(this.open, u, 1);
    this.aliveR = s.n;
    this.aliveC = s.m;
  }
  @inline alive(u: i32): bool {
    return gi(this.open, u) != 0;
  }
  /** Ship along arc e = (i, j) and retire one line (both for the last cell: i then hangs from the root). */
  place(e: i32, i: i32, j: i32): void {
    const s = this.s;
    const n = s.n;
    const ra = gf(this.rem, i);
    const cb = gf(this.rem, n + j);
    if (this.aliveR == 1 && this.aliveC == 1) {
      this.link(n + j, i, e, DOWN, ra);
      this.link(i, s.root, -1, UP, 0);
      si(this.open, i, 0);
      si(this.open, n + j, 0);
      this.aliveR = 0;
      this.aliveC = 0;
      return;
    }
    if ((ra <= cb && this.aliveR > 1) || this.aliveC == 1) {
      // the row retires, hanging from sink j (the last open column takes whatever the row has left)
      const x = this.aliveC == 1 ? ra : min(ra, cb);
      this.link(i, n + j, e, UP, x);
      sf(this.rem, n + j, cb - x);
      si(this.open, i, 0);
      this.aliveR--;
    } else {
      const x = this.aliveR == 1 ? cb : min(ra, cb);
      this.link(n + j, i, e, DOWN, x);
      sf(this.rem, i, ra - x);
      si(this.open, n + j, 0);
      this.aliveC--;
    }
  }
  @inline link(u: i32, p: i32, e: i32, dir: i32, x: f64): void {
    const s = this.s;
    si(s.parent, u, p);
    si(s.pred, u, e);
    si(s.predDir, u, dir);
    sf(s.flow, u, max(x, 0.0));
  }
  free(): void {
    heap.free(this.rem);
    heap.free(this.open);
  }
}
