// Exact OT between large point clouds, coarse to fine (in the spirit of Schmitzer's sparse multiscale
// method and Mérigot's multiscale transport): both clouds are clustered into a hierarchy (k-d tree leaves of
// ≤ 4 points, their weighted centroids and summed masses, repeated), the coarsest problem is solved, and each
// finer level is solved on a sparse set of candidate arcs chosen from the coarser level's duals (each source's
// k arcs of smallest c_ij − v_j, lifted v). Column generation then makes the sparse solution exact: a scan
// over all n × m pairs (never stored) appends violated arcs and the simplex continues from its current basis,
// until the scan finds none. Where duals exist, the candidate pass and the scans walk k-d trees of the clouds
// (kdtree.ts, assembly/kdtree.ts) and skip every box whose exact lower bound on the reduced cost rules it
// out, so they stay exact while touching a small fraction of the pairs. The result is the full problem's optimum with
// the dense solver's certificate; memory is O((n + m)·k).
import type { WasmKernels, WasmScope } from '../backends/wasm.js';
import type { EmdStatus } from './emd.js';
import { type Cost, pointCost } from '../costs.js';
import { buildKdTree, kdTreeInWasm, selectByCoordinate } from './kdtree.js';

/** Points per k-d leaf: each coarser level has about a third of the points of the one below. */
const LEAF = 4;
/** The coarsest level: the hierarchy stops once n·m is at most this (its sparse solve starts from zero duals). */
const COARSEST_PAIRS = 2 ** 16;
/** Violated arcs appended per source by one scan (the most violated first). */
const SCAN_ARCS = 4;
/**
 * Candidate arcs per source. With duals lifted by the local c-transform, 16 leaves a few hundred violated arcs
 * at n = 3·10^4 (3 scans over all pairs), 32 none (1 scan): there, CPU 19 s with 16, 16 s with 32 (10: 22 s, 5
 * scans; 48: 15 s). At n = 10^4 16 and 32 tie. Each scan costs n·m, so larger problems want the larger list.
 */
export const rowArcs = (m: number) => Math.min(m, m <= 15_000 ? 16 : 32);

/** A transport problem between point clouds, as the simplex sees it (coordinates already scaled). */
export interface CloudProblem {
  /** Sources, n × d row-major. */
  X: Float64Array;
  /** Sinks, m × d row-major. */
  Y: Float64Array;
  /** Source masses (n, all > 0). */
  a: Float64Array;
  /** Sink masses (m, all > 0). */
  b: Float64Array;
  d: number;
  /** The cost ‖x − y‖^power. */
  power: number;
  /** Partial OT: a dummy source and a dummy sink with constant costs (the same at every level of the hierarchy). */
  dummy?: Dummies;
}

/**
 * The dummies of partial OT's extended problem (partial.ts): a source of mass `rowMass` after the points (absent
 * when 0), cost `rowCost` to every point sink, and a sink of mass `colMass` (absent when 0), cost `colCost` from
 * every point source; `pairCost` between them. Their n + m + 1 arcs are always listed; the scans skip them.
 */
export interface Dummies {
  rowMass: number;
  colMass: number;
  rowCost: number;
  colCost: number;
  pairCost: number;
}

/** How many dummy sources and sinks (0 or 1 each) a problem has. */
function dummyCounts(p: CloudProblem): [number, number] {
  return [p.dummy && p.dummy.rowMass > 0 ? 1 : 0, p.dummy && p.dummy.colMass > 0 ? 1 : 0];
}

/** The cost from point i of X (or the dummy source: i = −1) to point j of Y (or the dummy sink: j = −1). */
function mixedCost(p: CloudProblem, cost: Cost, X: Float64Array, i: number, Y: Float64Array, j: number): number {
  const dm = p.dummy!;
  if (i < 0) return j < 0 ? dm.pairCost : dm.rowCost;
  if (j < 0) return dm.colCost;
  return pointCost(cost, X, i, Y, j, p.d);
}

/** One coarsening of a cloud: centroids (k × d), summed masses (k) and each fine point's cluster. */
export interface Coarsened {
  P: Float64Array;
  w: Float64Array;
  parent: Int32Array;
}

/** How a multiscale solve went (for tests and the bench). */
export interface MultiscaleStats {
  /** Levels solved, the finest included. */
  levels: number;
  /** Scans of the finest level (the last one appended nothing when the status is optimal). */
  rounds: number;
  /** Arcs the finest level's context listed at the end. */
  arcs: number;
  /** max_ij (u_i + v_j − c_ij) at the finest level's last scan, in the simplex's units. */
  violation: number;
}

/**
 * Cluster a weighted cloud by a k-d tree (split at the median of the widest coordinate, by index, so
 * duplicate points split too) into leaves of at most `leaf` points: their mass-weighted centroids and masses.
 */
export function coarsen(P: Float64Array, w: Float64Array, d: number, leaf = LEAF): Coarsened {
  const n = w.length;
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  const parent = new Int32Array(n);
  const C = new Float64Array(n * d);
  const W = new Float64Array(n);
  let count = 0;
  const stack: number[] = [0, n];
  const lo = new Float64Array(d);
  const hi = new Float64Array(d);
  while (stack.length) {
    const end = stack.pop()!;
    const start = stack.pop()!;
    if (end - start <= leaf) {
      let mass = 0;
      for (let t = start; t < end; t++) {
        const i = idx[t];
        mass += w[i];
        for (let s = 0; s < d; s++) C[count * d + s] += w[i] * P[i * d + s];
        parent[i] = count;
      }
      for (let s = 0; s < d; s++) C[count * d + s] /= mass;
      W[count++] = mass;
      continue;
    }
    lo.fill(Infinity);
    hi.fill(-Infinity);
    for (let t = start; t < end; t++) {
      const i = idx[t];
      for (let s = 0; s < d; s++) {
        const x = P[i * d + s];
        if (x < lo[s]) lo[s] = x;
        if (x > hi[s]) hi[s] = x;
      }
    }
    let dim = 0;
    for (let s = 1; s < d; s++) if (hi[s] - lo[s] > hi[dim] - lo[dim]) dim = s;
    const mid = (start + end) >> 1;
    selectByCoordinate(idx, start, end, mid, P, d, dim);
    stack.push(mid, end, start, mid);
  }
  return { P: C.slice(0, count * d), w: W.slice(0, count), parent };
}

/**
 * Leading eigenvector of the pooled covariance of point sets (each a cloud, optionally restricted to some
 * indices), by power iteration (d is small): the direction of the simplex's initial staircase tree.
 */
export function principalAxis(d: number, sets: [Float64Array, Int32Array | undefined][]): Float64Array {
  const mean = new Float64Array(d);
  const C = new Float64Array(d * d);
  const each = (P: Float64Array, idx: Int32Array | undefined, f: (i: number) => void) => {
    if (idx) for (const i of idx) f(i);
    else for (let i = 0; i < P.length / d; i++) f(i);
  };
  let count = 0;
  for (const [P, idx] of sets)
    each(P, idx, (i) => {
      for (let t = 0; t < d; t++) mean[t] += P[i * d + t];
      count++;
    });
  for (let t = 0; t < d; t++) mean[t] /= count;
  for (const [P, idx] of sets)
    each(P, idx, (i) => {
      for (let s = 0; s < d; s++) for (let t = 0; t < d; t++) C[s * d + t] += (P[i * d + s] - mean[s]) * (P[i * d + t] - mean[t]);
    });
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

/** Bytes the finest level's context needs at its start (arcs of 16 bytes, ~100 bytes per node): for maxBytes. */
export function multiscaleBytes(n: number, m: number, d: number): number {
  // the last 2(n + m + 1): partial OT's dummy arcs (listed twice at worst: once more by the initial tree)
  const arcs = n * (rowArcs(m) + 2 * SCAN_ARCS) + 3 * m + n + 2 * (n + m + 1);
  return arcs * 16 + (n + m) * (100 + 16 * d);
}

/** How the caller drives a level's simplex: `run` pivots a context until optimal (progress, abort, maxIter); `checkpoint` may throw 'aborted'. */
export interface Driver {
  run: (ctx: number) => Promise<EmdStatus>;
  checkpoint: (where: string) => Promise<void>;
}

/**
 * Solve the problem coarse to fine; `owner.ctx` is the finest level's simplex context (optimal, or stopped
 * by `run`), which the caller reads and frees (also when this throws). `warm` duals, when given, replace the
 * hierarchy: the finest level starts from them.
 */
export async function solveMultiscale(
  k: WasmKernels,
  mem: WasmScope,
  p: CloudProblem,
  warm: { u: Float64Array; v: Float64Array } | undefined,
  maxIter: number,
  drive: Driver,
  owner: { ctx: number },
): Promise<{ status: EmdStatus; stats: MultiscaleStats }> {
  const levels: CloudProblem[] = [p];
  const parents: [Int32Array, Int32Array][] = [];
  while (!warm) {
    const top = levels[levels.length - 1];
    const n = top.a.length;
    const m = top.b.length;
    if (n * m <= COARSEST_PAIRS) break;
    const cx = coarsen(top.X, top.a, p.d);
    const cy = coarsen(top.Y, top.b, p.d);
    if (cx.w.length === n && cy.w.length === m) break;
    levels.push({ X: cx.P, Y: cy.P, a: cx.w, b: cy.w, d: p.d, power: p.power, dummy: p.dummy });
    parents.push([cx.parent, cy.parent]);
  }
  let u = warm?.u;
  let v = warm?.v;
  for (let L = levels.length - 1; L > 0; L--) {
    const scope = k.scope();
    const level = { ctx: 0 };
    try {
      await solveLevel(k, scope, levels[L], u, v, maxIter, drive, level);
      ({ u, v } = lift(levels[L], readSolution(k, scope, level.ctx, levels[L]), levels[L - 1], parents[L - 1]));
    } finally {
      if (level.ctx) k.abi.nsFree(level.ctx);
      scope.release();
    }
  }
  const { status, rounds } = await solveLevel(k, mem, p, u, v, maxIter, drive, owner);
  const stats = { levels: levels.length, rounds, arcs: k.abi.nsArcs(owner.ctx), violation: Math.max(0, k.abi.nsScanViolation(owner.ctx)) };
  return { status, stats };
}

/** One level: candidate arcs from (u, v), the simplex on them, then scans and re-solves until no arc is violated. */
async function solveLevel(
  k: WasmKernels,
  mem: WasmScope,
  p: CloudProblem,
  u: Float64Array | undefined,
  v: Float64Array | undefined,
  maxIter: number,
  drive: Driver,
  owner: { ctx: number },
): Promise<{ status: EmdStatus; rounds: number }> {
  const n = p.a.length;
  const m = p.b.length;
  const [dr, dc] = dummyCounts(p);
  const withDummy = (w: Float64Array, extra: number, mass: number) => {
    if (!extra) return w;
    const out = new Float64Array(w.length + 1);
    out.set(w);
    out[w.length] = mass;
    return out;
  };
  const xPtr = mem.put(p.X);
  const yPtr = mem.put(p.Y);
  const aPtr = mem.put(withDummy(p.a, dr, p.dummy?.rowMass ?? 0));
  const bPtr = mem.put(withDummy(p.b, dc, p.dummy?.colMass ?? 0));
  const uPtr = u ? mem.put(u) : 0;
  const vPtr = v ? mem.put(v) : 0;
  // the staircase start along the principal axis, as the dense solve (emd.ts initialKeys); a dummy source
  // last and a dummy sink first, as the dense partial solve orders them (partial.ts)
  const dir = principalAxis(p.d, [[p.X, undefined], [p.Y, undefined]]);
  const order = (P: Float64Array, len: number, extra: number, dummyKey: number): number => {
    const key = new Float64Array(len + extra);
    for (let i = 0; i < len; i++) for (let t = 0; t < p.d; t++) key[i] += P[i * p.d + t] * dir[t];
    if (extra) key[len] = dummyKey;
    return mem.argsort(key);
  };
  const ro = order(p.X, n, dr, Number.MAX_VALUE);
  const co = order(p.Y, m, dc, -Number.MAX_VALUE);
  // without dual estimates (the coarsest level, n·m ≤ COARSEST_PAIRS) all arcs: nearest neighbours make poor
  // candidates when the clouds are apart (10 scans at 256 × 256 for clouds shifted by their radius)
  const perRow = u || v || n * m > COARSEST_PAIRS ? rowArcs(m) : m;
  const dm = p.dummy;
  owner.ctx = k.abi.nsCreateSparse(n, m, xPtr, yPtr, p.d, p.power, aPtr, bPtr, uPtr, vPtr, perRow, dr, dc, dm?.rowCost ?? 0, dm?.colCost ?? 0, dm?.pairCost ?? 0);
  const ctx = owner.ctx;
  const where = (what: string) => drive.checkpoint(`emd multiscale, ${n} × ${m} level, ${what}`);
  // the passes over all pairs in slices of ~2^26 pairs (tens of ms), with abort checks between them
  const slice = Math.max(1, Math.floor(2 ** 26 / m));
  // with dual estimates the passes walk k-d trees of the points and open only the boxes near each point's
  // partners (the passes over all n × m pairs took ~30 % of the CPU at n = 3·10^4); without them nothing prunes
  const trees = uPtr && vPtr ? { sinks: kdTreeInWasm(k, mem, buildKdTree(p.Y, p.d), p.d), sources: kdTreeInWasm(k, mem, buildKdTree(p.X, p.d), p.d) } : undefined;
  try {
    return await candidatesAndRounds(k, p, ctx, slice, trees, uPtr, vPtr, ro, co, maxIter, drive, where);
  } finally {
    if (trees) {
      k.abi.kdFree(trees.sinks);
      k.abi.kdFree(trees.sources);
    }
  }
}

/** Candidate arcs, the initial tree, then simplex runs and scans until no arc is violated. */
async function candidatesAndRounds(
  k: WasmKernels,
  p: CloudProblem,
  ctx: number,
  slice: number,
  trees: { sinks: number; sources: number } | undefined,
  uPtr: number,
  vPtr: number,
  ro: number,
  co: number,
  maxIter: number,
  drive: Driver,
  where: (what: string) => Promise<void>,
): Promise<{ status: EmdStatus; rounds: number }> {
  const n = p.a.length;
  const m = p.b.length;
  for (let i0 = 0; i0 < n; i0 += slice) {
    await where(`candidate arcs, row ${i0}`);
    if (trees) k.abi.nsTreeCandidates(ctx, trees.sinks, i0, Math.min(n, i0 + slice));
    else k.abi.nsCandidates(ctx, i0, Math.min(n, i0 + slice));
  }
  if (trees) {
    for (let j0 = 0; j0 < m; j0 += slice) {
      await where(`candidate arcs, column ${j0}`);
      k.abi.nsTreeColumns(ctx, trees.sources, j0, Math.min(m, j0 + slice));
    }
  }
  k.abi.nsCandidatesEnd(ctx);
  if (uPtr && vPtr) k.abi.nsInitGreedy(ctx, uPtr, vPtr, ro, co);
  else k.abi.nsInitTree(ctx, ro, co);
  k.abi.nsPrepare(ctx, 0, 0, 0, maxIter);
  let rounds = 0;
  while (true) {
    const before = k.abi.nsIterations(ctx);
    const status = await drive.run(ctx);
    if (status !== 'optimal') return { status, rounds };
    // a round that could not pivot after arcs were added has nothing more to gain (rounding-level violations)
    if (rounds > 0 && k.abi.nsIterations(ctx) === before) return { status, rounds };
    rounds++;
    let added = 0;
    for (let i0 = 0; i0 < n; i0 += slice) {
      await where(`scan ${rounds}, row ${i0}`);
      const i1 = Math.min(n, i0 + slice);
      added += trees ? k.abi.nsTreeScan(ctx, trees.sinks, SCAN_ARCS, i0, i1) : k.abi.nsScan(ctx, SCAN_ARCS, i0, i1);
    }
    if (added === 0) return { status, rounds };
  }
}

/** A solved level: duals in the simplex's units and the plan's support (rows[t], cols[t]). */
interface LevelSolution {
  u: Float64Array;
  v: Float64Array;
  rows: Int32Array;
  cols: Int32Array;
}

function readSolution(k: WasmKernels, mem: WasmScope, ctx: number, p: CloudProblem): LevelSolution {
  const [dr, dc] = dummyCounts(p);
  const n = p.a.length + dr;
  const m = p.b.length + dc;
  const uPtr = mem.alloc(n * 8);
  const vPtr = mem.alloc(m * 8);
  const ri = mem.alloc((n + m) * 4);
  const ci = mem.alloc((n + m) * 4);
  const vals = mem.alloc((n + m) * 8);
  const nnz = k.abi.nsResult(ctx, uPtr, vPtr, ri, ci, vals);
  return { u: k.f64(uPtr, n).slice(), v: k.f64(vPtr, m).slice(), rows: k.i32(ri, nnz).slice(), cols: k.i32(ci, nnz).slice() };
}

/**
 * Fine duals from a coarse solution by a local c-transform through the coarse plan: a fine sink j in cluster J
 * gets v_j = min over J's coarse partners I of c(X_I, y_j) − U_I (and sources alike). At a centroid this is the
 * coarse potential; elsewhere it bends with the cost as the true potential does (v = min_x c(x, ·) − u(x)),
 * which a cluster-constant lift does not: that one picked candidate arcs so poorly that column generation
 * needed ~18 rounds at n = 4000 instead of a few.
 */
function lift(coarse: CloudProblem, sol: LevelSolution, fine: CloudProblem, [px, py]: [Int32Array, Int32Array]): { u: Float64Array; v: Float64Array } {
  const [dr, dc] = dummyCounts(fine);
  const cn = coarse.a.length;
  const cm = coarse.b.length;
  const fn = fine.a.length;
  const fm = fine.b.length;
  const cost: Cost = { name: '', power: fine.power };
  // each coarse node's plan partners, as CSR lists (a dummy is node cn, resp. cm)
  const partners = (own: Int32Array, other: Int32Array, count: number) => {
    const start = new Int32Array(count + 1);
    for (const r of own) start[r + 1]++;
    for (let t = 0; t < count; t++) start[t + 1] += start[t];
    const at = start.slice(0, count);
    const list = new Int32Array(own.length);
    for (let t = 0; t < own.length; t++) list[at[own[t]]++] = other[t];
    return { start, list };
  };
  const byRow = partners(sol.rows, sol.cols, cn + dr);
  const byCol = partners(sol.cols, sol.rows, cm + dc);
  // a fine point's cluster; a fine dummy's is the coarse dummy (the dummies are the same at every level)
  const rowParent = (i: number) => (i === fn ? cn : px[i]);
  const colParent = (j: number) => (j === fm ? cm : py[j]);
  const u = new Float64Array(fn + dr);
  for (let i = 0; i < u.length; i++) {
    const I = rowParent(i);
    let best = Infinity;
    for (let t = byRow.start[I]; t < byRow.start[I + 1]; t++) {
      const J = byRow.list[t];
      best = Math.min(best, mixedCost(fine, cost, fine.X, i === fn ? -1 : i, coarse.Y, J === cm ? -1 : J) - sol.v[J]);
    }
    u[i] = best;
  }
  const v = new Float64Array(fm + dc);
  for (let j = 0; j < v.length; j++) {
    const J = colParent(j);
    let best = Infinity;
    for (let t = byCol.start[J]; t < byCol.start[J + 1]; t++) {
      const I = byCol.list[t];
      best = Math.min(best, mixedCost(fine, cost, coarse.X, I === cn ? -1 : I, fine.Y, j === fm ? -1 : j) - sol.u[I]);
    }
    v[j] = best;
  }
  return { u, v };
}
