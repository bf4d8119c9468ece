// The Sinkhorn divergence of large point clouds (squared Euclidean cost) coarse to fine, after GeomLoss's
// multiscale scheme (Feydy 2020, ch. 3). Both clouds are clustered twice by k-d trees (ts/solvers/emd-multiscale.ts
// `coarsen`): leaves of ~√n/2.5 points are the fine level's blocks, leaves a quarter that size give the coarse
// level's centroids. On the centroids GeomLoss's symmetric loop — f ← ½(f + softmin_b(g)), g ← ½(g + softmin_a(f))
// for OT_ε(a, b), p ← ½(p + softmin_a(p)) for each self term, all three together — runs with ε decreasing
// geometrically from the squared diameter to reg, then at reg until the coarse marginals are within tol. Each
// fine potential is extrapolated by one softmin against the coarse measure. On the points, the self terms keep
// the symmetric step (with SELF_STEP instead of ½) and the cross term alternates Sinkhorn steps, each after a
// cluster-level correction (clusterScalings: a two-level scheme), until the marginals are within tol.
//
// On the points each pass skips the (target cluster, source cluster) blocks whose plan mass is provably small at
// the current potentials: a block's mass is at most A_k B_l exp((max_k f + max_l g − dmin²(box_k, box_l)) / ε),
// and the smallest such bounds are dropped while their sum stays within the pass's budget (DROP_SHARE·tol on a
// final pass). That sum is reported (droppedMass): the full plan at the returned potentials differs from the
// kept one by at most that much mass, so its marginal error is at most error + droppedMass; a term stops once
// its error ≤ tol − budget on a final pass, so that sum is ≤ tol at convergence.
//
// Every pass is one streamed f32 kernel over the kept blocks (assembly/stream.ts, threads shared as the
// entropic engines do) computing the plan entries a_i b_j exp((f_i + g_j − C_ij)/ε) themselves: row sums give
// the f-update, column sums the g-update. Sums outside (1e-30, 1e36) — where entries clamped to the kernel's
// exponent range could matter — are recomputed by an exact f64 log-sum-exp over all points.
import { OTError } from '../errors.js';
import { abortPoint, checkBudget } from '../validate.js';
import { LogSumExp } from './logsumexp.js';
import { coarsen } from '../solvers/emd-multiscale.js';
import { type BlockList, COLS_FLAG, type PaddedCloud, type PairPasses, allBlocks, padCloud, passEngine, transposeBlocks } from './stream.js';

/** Largest (squared diameter)/ε the f32 kernel serves: past it the rounding of the exponents (~6e-8·D²/ε) nears 1e-3 relative. */
export const MULTISCALE_MAX_SCALE = 1e4;
/** The share of tol that the dropped blocks' mass bound may use (the rest is left to the kept marginals). */
const DROP_SHARE = 0.1;
/**
 * A fine pass before the final ones may drop blocks of mass up to this share of the term's previous error
 * (the mass it leaves out is then small against what the step corrects): fewer pairs while the error is large.
 */
const EARLY_DROP = 0.1;
/** ε_{k+1}/ε_k of the coarse schedule (GeomLoss: scaling² = 0.5² for p = 2). */
const EPS_FACTOR = 0.25;
/** Smallest leaf of the coarse level's clustering. */
const COARSE_LEAF = 16;
/** Coarse points per kernel cluster (the coarse level keeps every block). */
const COARSE_CHUNK = 16;
/** Iterations at the final ε on the coarse level before going fine. */
const COARSE_FINAL_ITER = 20;

/**
 * A pass is taken as likely the last (tight drop budget, ⟨P, C⟩ summed alongside) once the previous error is
 * within this factor of the target: a fine iteration (the cluster correction, then Sinkhorn) cuts the cross
 * term's error ~4–7× (3-D, reg = 0.01·diam²: 2.9e-3 → 7.6e-4 at n = 10^5, 5.6e-3 → 1.0e-3 → 1.2e-4 at
 * 3·10^4) and the self terms' ~5×. A guess that misses costs one more measure, never a wrong result.
 */
const FINAL_REACH = 4;

/**
 * The self terms' fine step p ← p − λε·log(r/a). Linearised, the error's component along an eigenvector of the
 * (positive semi-definite, Gaussian) kernel's normalised plan with eigenvalue μ ∈ [0, 1] scales by 1 − λ(1 + μ):
 * GeomLoss's λ = ½ leaves up to ½ of it (μ = 0), λ = ⅔ at most ⅓ (μ = 0 and μ = 1 balanced). Measured: 7 % fewer
 * kernel pairs at n = 3·10^4, same values.
 */
const SELF_STEP = 2 / 3;

/**
 * Points per fine cluster: ≈ √n / 2.5 within [8, 128] (about 400–1000 clusters at 10^4–10^5 points). Larger
 * leaves run the kernel faster (longer blocks) but keep more pairs: at n = 10^4 leaves of 40, 80, 128 and 256
 * took the same CPU time within the machine's noise (3.2–3.5 s).
 */
export const leafSize = (n: number) => Math.max(8, Math.min(128, Math.round(Math.sqrt(n) / 2.5)), Math.ceil(n / MAX_LEAVES));
/**
 * Past 128 points a leaf, leaves grow with n so that there are at most ~MAX_LEAVES of them (from ~5·10^5 points):
 * the block lists and their masses are O(clusters²) (all kept, at 10^6 points with leaves of 128: 10^8 blocks,
 * ~5 GB). The GPU kernel takes a leaf larger than its workgroup in slices; on wasm, leaves of 128 and 256 ran at
 * the same speed (n = 10^4).
 */
const MAX_LEAVES = 4096;

export interface MultiscaleOptions {
  reg: number;
  tol: number;
  maxIter: number;
  threads: number | 'auto';
  /** Where the passes run (default wasm). */
  backend?: 'wasm' | 'webgpu';
  debias: boolean;
  /** Also the gradients w.r.t. the positions and the weights (the dense strategy's gradX, gradY, gradA, gradB). */
  gradient?: boolean;
  signal?: AbortSignal;
  /** The caller's memory budget (checkBudget), for the padded clouds and the block lists. */
  maxBytes?: number;
  onProgress?: (p: { iterations: number; error: number; eps: number }) => void;
}

export interface MultiscaleResult {
  value: number;
  linearValue: number;
  /** Passes over the points (fine iterations of the loop). */
  iterations: number;
  /** Iterations on the clusters' centroids (the ε schedule and the final-ε polish). */
  coarseIterations: number;
  /** The largest of the terms' marginal L1 errors on the kept blocks. */
  error: number;
  /** The largest of the terms' bounds on the plan mass in the dropped blocks. */
  droppedMass: number;
  /** Kept share of the point pairs in the last pass, over the terms. */
  keptFraction: number;
  converged: boolean;
  threads: number;
  backend: 'wasm' | 'webgpu';
  /** Point pairs the kernel evaluated over the whole solve (coarse and fine, padding included). */
  pairs: number;
  /** With `gradient`: ∂value/∂X (n × d, row-major, the caller's order), ∂value/∂Y, ∂value/∂a, ∂value/∂b. */
  gradX?: Float64Array;
  gradY?: Float64Array;
  gradA?: Float64Array;
  gradB?: Float64Array;
}

/** One OT_ε term: a cross term (xy) or a self term (xx / yy, symmetric, one potential). */
interface Term {
  self: boolean;
  T: PaddedCloud;
  S: PaddedCloud;
  f: Float64Array;
  g: Float64Array; // === f for self terms
  error: number;
  dropped: number;
  kept: number;
  done: boolean;
  /** The last measure's sums per slot and their logs. */
  rows?: Float64Array;
  cols?: Float64Array;
  lr?: Float64Array;
  lc?: Float64Array;
  /** Σ_j E_ij·2x_i·y_j/ε by rows (and mirrored columns) from a mode-2 measure at the current potentials, if the last one was. */
  lin?: { rows: Float64Array; cols: Float64Array };
  blocks?: BlockList;
  /** Σ_j P_ij y_jc ([d][T.np]) from the last measure, when it was a moments pass (final, with gradients). */
  moments?: Float64Array;
  /** A cross term's kept blocks with source clusters as targets (its column passes). */
  transposed?: BlockList;
  pair?: PairPasses;
  /** The last measure's plan mass per kept block (its list's order), when it summed them. */
  sums?: Float64Array;
  /** A cross term's transposed pair (S as targets): the column sums of the alternating g-step as row sums. */
  pairT?: PairPasses;
}

/** Centred copies of X and Y (the common mean removed: costs are unchanged) and the squared diameter of their box. */
function centre(X: Float64Array, Y: Float64Array, d: number): { X: Float64Array; Y: Float64Array; diam2: number } {
  const c = new Float64Array(d);
  const lo = new Float64Array(d).fill(Infinity);
  const hi = new Float64Array(d).fill(-Infinity);
  for (const P of [X, Y])
    for (let k = 0; k < P.length; k++) {
      const t = k % d;
      c[t] += P[k];
      if (P[k] < lo[t]) lo[t] = P[k];
      if (P[k] > hi[t]) hi[t] = P[k];
    }
  const count = (X.length + Y.length) / d;
  for (let t = 0; t < d; t++) c[t] /= count;
  const shift = (P: Float64Array) => P.map((x, k) => x - c[k % d]);
  let diam2 = 0;
  for (let t = 0; t < d; t++) diam2 += (hi[t] - lo[t]) ** 2;
  return { X: shift(X), Y: shift(Y), diam2 };
}

/** The squared diameter of the two clouds' common bounding box (for the applicability check). */
export function squaredDiameter(X: Float64Array, Y: Float64Array, d: number): number {
  return centre(X, Y, d).diam2;
}

/** A cloud at two levels: its points by fine cluster, and the clusters' centroids in chunks. */
interface Levels {
  fine: PaddedCloud;
  coarse: PaddedCloud;
  /** Fine slot → coarse slot of its cluster's centroid (−1 on padding). */
  up: Int32Array;
}

function levels(P: Float64Array, w: Float64Array, d: number): Levels {
  const n = w.length;
  const blocksOf = coarsen(P, w, d, leafSize(n));
  const fine = padCloud(P, w, d, blocksOf.parent, blocksOf.w.length);
  // the coarse level: finer than the blocks (leaves of a quarter, at least COARSE_LEAF): its pairs cost
  // ~1/leaf² of a fine pass each, and a finer start lowers the first fine error (n = 10^4: 3.7e-2 → 8.6e-3)
  const { P: C, w: W, parent } = coarsen(P, w, d, Math.max(COARSE_LEAF, Math.round(leafSize(n) / 4)));
  const k = W.length;
  const chunks = Math.ceil(k / COARSE_CHUNK);
  const chunk = new Int32Array(k).map((_, c) => Math.floor(c / COARSE_CHUNK));
  const coarse = padCloud(C, W, d, chunk, chunks);
  const slotOf = new Int32Array(k);
  coarse.orig.forEach((c, s) => c >= 0 && (slotOf[c] = s));
  const up = new Int32Array(fine.np).fill(-1);
  fine.orig.forEach((i, s) => i >= 0 && (up[s] = slotOf[parent[i]]));
  return { fine, coarse, up };
}

/** h_s = log w_s + (f_s − |x_s|²)/ε per slot (−∞ on padding). */
function exponents(c: PaddedCloud, f: Float64Array, eps: number): Float64Array {
  const h = new Float64Array(c.np);
  for (let s = 0; s < c.np; s++) h[s] = c.logw[s] + (f[s] - c.sq[s]) / eps;
  return h;
}

/** Below: a sum of up to 10^7 entries clamped at 2^−125 (≈ 2e-38 each) could be most of it. */
const LOST_BELOW = 1e-30;
/** Above: within a factor 100 of an entry clamped at 2^127. */
const LOST_ABOVE = 1e36;

let fallbacks = 0;
/** Sums recomputed by the exact fallback since the module loaded (tests check that the path runs). */
export const exactFallbacks = () => fallbacks;

/** Exact f64 log Σ_j exp(h + w_j + 2x·y_j/ε) over every source slot: the fallback for a row the f32 sum lost. */
function exactLog(T: PaddedCloud, s: number, h: number, S: PaddedCloud, w: Float64Array, eps: number): number {
  fallbacks++;
  const lse = new LogSumExp();
  for (let j = 0; j < S.np; j++) {
    if (w[j] === -Infinity) continue;
    let dot = 0;
    for (let t = 0; t < T.d; t++) dot += T.coords[t * T.np + s] * S.coords[t * S.np + j];
    lse.add(h + w[j] + (2 * dot) / eps);
  }
  return lse.value();
}

/** log of each real slot's sum, with the exact fallback where the f32 sum is 0, ∞ or NaN. */
function logSums(sums: Float64Array, T: PaddedCloud, h: Float64Array, S: PaddedCloud, w: Float64Array, eps: number): Float64Array {
  const out = new Float64Array(T.np);
  for (let s = 0; s < T.np; s++) {
    if (T.orig[s] < 0) continue;
    const x = sums[s];
    // the kernel clamps each entry's exponent to [−125, 127] (base 2): sums outside (LOST_BELOW, LOST_ABOVE) or NaN
    // may hold clamped entries
    const ok = x > LOST_BELOW && x < LOST_ABOVE;
    out[s] = ok ? Math.log(x) : exactLog(T, s, h[s], S, w, eps);
    if (!ok) sums[s] = Math.exp(out[s]);
  }
  return out;
}

/** Σ |sums_s − w_s| over real slots: a marginal's L1 error. */
function l1(sums: Float64Array, c: PaddedCloud): number {
  let e = 0;
  for (let s = 0; s < c.np; s++) if (c.orig[s] >= 0) e += Math.abs(sums[s] - c.w[s]);
  return e;
}

/**
 * Measures a term on its blocks: the plan's row (and column) sums at the current potentials, kept on the term
 * (with their logs, for the update), and the marginals' L1 error.
 */
async function measure(term: Term, eps: number, mode: 0 | 2 = 0, blockSums = false): Promise<number> {
  const { T, S, f, g } = term;
  const h = exponents(T, f, eps);
  const w = term.self ? h : exponents(S, g, eps);
  const { rows, cols, rows2, cols2, blocks } = await term.pair!.pass(eps, h, w, term.blocks!, mode, blockSums);
  term.sums = blocks;
  term.lin = rows2 && cols2 ? { rows: rows2, cols: cols2 } : undefined;
  if (term.self) {
    // the symmetric list holds each off-diagonal block once: its column sums are the mirrored block's rows
    for (let s = 0; s < rows.length; s++) rows[s] += cols[s];
  }
  term.lr = logSums(rows, T, h, S, w, eps);
  term.lc = term.self ? term.lr : logSums(cols, S, w, T, h, eps);
  term.rows = rows;
  term.cols = term.self ? rows : cols;
  return term.self ? l1(rows, T) : Math.max(l1(rows, T), l1(cols, S));
}

/** The update from the last measure: f ← f − λε·log(r/a), g likewise (λ = ½: GeomLoss's averaged step; 1: a full softmin). */
function update(t: Term, eps: number, lambda: number, sides: 'both' | 'f' | 'g' = 'both'): void {
  const { T, S, f, g } = t;
  t.lin = undefined;
  t.moments = undefined;
  if (sides !== 'g') for (let s = 0; s < T.np; s++) if (T.orig[s] >= 0) f[s] -= lambda * eps * (t.lr![s] - T.logw[s]);
  if (!t.self && sides !== 'f') for (let s = 0; s < S.np; s++) if (S.orig[s] >= 0) g[s] -= lambda * eps * (t.lc![s] - S.logw[s]);
}

/** A cross term's rows at its potentials (columns as kept by updateG): the error of both marginals. */
async function measureRows(term: Term, eps: number, rowsOnly: BlockList, mode: 0 | 2, blockSums = false): Promise<number> {
  const { T, S, f, g } = term;
  const h = exponents(T, f, eps);
  const w = exponents(S, g, eps);
  const { rows, rows2, cols2, blocks } = await term.pair!.pass(eps, h, w, rowsOnly, mode, blockSums);
  term.sums = blocks;
  term.lin = rows2 && cols2 ? { rows: rows2, cols: cols2 } : undefined;
  term.lr = logSums(rows, T, h, S, w, eps);
  term.rows = rows;
  return Math.max(l1(rows, T), l1(term.cols!, S));
}

/**
 * A final measure when gradients are wanted: the rows and the plan's first moments in one pass (the kernel's
 * mode 3), which then serve the error, ⟨P, C⟩ and the gradient on this side. A self term takes its full list
 * (rows over every kept block: the moments have no mirrored column form), a cross term its rows.
 */
async function measureMoments(term: Term, eps: number, list: BlockList): Promise<number> {
  const { T, S, f, g } = term;
  const h = exponents(T, f, eps);
  const w = term.self ? h : exponents(S, g, eps);
  const { rows, moments, blocks } = await term.pair!.moments(eps, h, w, list, !term.self);
  term.sums = blocks;
  term.moments = moments;
  term.lin = undefined;
  term.lr = logSums(rows, T, h, S, w, eps);
  term.rows = rows;
  if (term.self) {
    term.lc = term.lr;
    term.cols = rows;
    return l1(rows, T);
  }
  return Math.max(l1(rows, T), l1(term.cols!, S));
}

/** A cross term's column sums at its potentials, by the transposed pair (rows only). */
async function measureCols(term: Term, eps: number, transposed: BlockList): Promise<void> {
  const { T, S, f, g } = term;
  const h = exponents(S, g, eps);
  const w = exponents(T, f, eps);
  const { rows } = await term.pairT!.pass(eps, h, w, transposed, 0);
  term.lc = logSums(rows, S, h, T, w, eps);
  term.cols = rows;
}

/**
 * The g-step from the last measureCols. It leaves the columns at b exactly (each scales by exp(Δg_j/ε) = b_j/c_j),
 * so the next measure sums rows only.
 */
function updateG(t: Term, eps: number): void {
  update(t, eps, 1, 'g');
  t.cols = Float64Array.from(t.S.w);
}

/** Over-relaxation of the cluster-level scaling iterations (they have Sinkhorn's slow modes too). */
const CLUSTER_OMEGA = 1.5;
/** Most cluster-level scaling iterations per correction (each is two sweeps over the kept blocks' masses). */
const CLUSTER_MAX_ITER = 300;
/** The cluster problem is solved to this share of the fine error it corrects. */
const CLUSTER_TOL = 0.05;

/**
 * Scalings u (per target cluster) and v (per source cluster) that give the block masses K̃ (CSR `list`, values
 * `sums`) the cluster masses A and B: Σ_l K̃_kl u_k v_l = A_k and Σ_k K̃_kl u_k v_l = B_l, by over-relaxed
 * Sinkhorn on the blocks, until both marginals' L1 errors are ≤ tol. Also returns
 * Σ_l K̃_kl v_l per target cluster (the rows' sums before the u-scaling).
 */
export function clusterScalings(
  list: BlockList,
  sums: Float64Array,
  A: Float64Array,
  B: Float64Array,
  tol: number,
): { u: Float64Array; v: Float64Array; rowSum: Float64Array; iterations: number; error: number } {
  const kT = A.length;
  const u = new Float64Array(kT).fill(1);
  const v = new Float64Array(B.length).fill(1);
  const colSum = new Float64Array(B.length);
  const rowSum = new Float64Array(kT);
  const source = (q: number) => list.list[q] & (COLS_FLAG - 1);
  const rowsAt = () => {
    for (let k = 0; k < kT; k++) {
      let r = 0;
      for (let q = list.rowptr[k]; q < list.rowptr[k + 1]; q++) r += sums[q] * v[source(q)];
      rowSum[k] = r;
    }
  };
  // x·(target/current)^ω (ω = 1: the plain Sinkhorn scaling); a cluster without mass stays as it is. Over-
  // relaxation converges locally only: back to ω = 1 if the error more than doubles
  let omega = CLUSTER_OMEGA;
  const relax = (x: number, target: number, current: number) => (current > 0 && target > 0 ? x * Math.pow(target / current, omega) : x);
  let error = Infinity;
  let iterations = 0;
  rowsAt();
  while (iterations < CLUSTER_MAX_ITER) {
    iterations++;
    for (let k = 0; k < kT; k++) u[k] = relax(u[k], A[k], u[k] * rowSum[k]);
    colSum.fill(0);
    for (let k = 0; k < kT; k++) for (let q = list.rowptr[k]; q < list.rowptr[k + 1]; q++) colSum[source(q)] += sums[q] * u[k];
    for (let l = 0; l < v.length; l++) v[l] = relax(v[l], B[l], v[l] * colSum[l]);
    rowsAt();
    const last = error;
    let er = 0;
    let ec = 0;
    for (let k = 0; k < kT; k++) er += Math.abs(u[k] * rowSum[k] - A[k]);
    for (let l = 0; l < v.length; l++) ec += Math.abs(v[l] * colSum[l] - B[l]);
    error = Math.max(er, ec);
    if (error <= tol) break;
    if (!(error <= 2 * last)) omega = 1;
  }
  return { u, v, rowSum, iterations, error };
}

/**
 * The two-level step of a cross term (aggregation multigrid: Sinkhorn damps the fine error's rough part fast and
 * its smooth part slowly, ~20 % per iteration here, and a constant per cluster captures the smooth part). From
 * the last measure's plan mass per kept block, shifts f by ε log u_k and g by ε log v_l (clusterScalings), which
 * makes every cluster's mass exact. The measured rows move along as if each row spread over the blocks like its
 * cluster (exact for the clusters' totals): the f-step that follows reads them. Measured at n = 3·10^4, 3-D,
 * reg = 0.01·diam²: fine iterations to tol 1e-3 go from 5 (over-relaxed Sinkhorn, ω = 1.5) to 3, kernel pairs
 * from 6.9e9 to 4.8e9.
 */
function clusterCorrection(t: Term, eps: number, list: BlockList): void {
  const { T, S, f, g } = t;
  const { u, v, rowSum } = clusterScalings(list, t.sums!, T.mass, S.mass, CLUSTER_TOL * t.error);
  for (let k = 0; k < u.length; k++) {
    let before = 0;
    for (let q = list.rowptr[k]; q < list.rowptr[k + 1]; q++) before += t.sums![q];
    const move = before > 0 ? Math.log((u[k] * rowSum[k]) / before) : 0;
    const [du, scale] = [eps * Math.log(u[k]), Math.exp(move)];
    for (let s = T.off[k]; s < T.off[k + 1]; s++) {
      if (T.orig[s] < 0) continue;
      f[s] += du;
      t.lr![s] += move;
      t.rows![s] *= scale;
    }
  }
  for (let l = 0; l < v.length; l++) {
    const dv = eps * Math.log(v[l]);
    for (let s = S.off[l]; s < S.off[l + 1]; s++) if (S.orig[s] >= 0) g[s] += dv;
  }
}

/** Width (in nats) of the buckets keptBlocks sorts the blocks' log-bounds into, and their number below the budget. */
const BUCKET = 0.05;
const BUCKETS = 1200;

/**
 * The kept blocks of a term at its current potentials: every block whose mass bound is not among the smallest
 * ones that together stay within `budget`; the symmetric (self) list keeps l ≥ k only (columns mirrored), the
 * diagonal always. Returns the list, the dropped blocks' bound and the kept share of the pairs.
 *
 * Two sweeps over the (cluster, cluster) blocks and no per-block storage (10^4 clusters a side at 10^6 points:
 * 10^8 blocks): the first sums the bounds into buckets of log-bound below log(budget) (BUCKET wide; the last
 * bucket takes everything deeper, each counted at its bucket's upper edge), the second keeps every block above the
 * deepest run of buckets whose sum stays within the budget. Against dropping the exact smallest bounds this keeps
 * at most one bucket's worth more (bounds within 5 % of the cut); the reported sum bounds the dropped mass still.
 */
export function keptBlocks(
  term: Pick<Term, 'T' | 'S' | 'f' | 'g' | 'self'>,
  eps: number,
  budget: number,
): { blocks: BlockList; rowsOnly: BlockList; transposed: BlockList; dropped: number; kept: number } {
  const { T, S, f, g, self } = term;
  const d = T.d;
  const kT = T.off.length - 1;
  const kS = S.off.length - 1;
  // per cluster: log mass + max potential/ε, the part of a block's log-bound that is not the boxes' gap
  const head = (c: PaddedCloud, p: Float64Array) => {
    const k = c.off.length - 1;
    const out = new Float64Array(k).fill(-Infinity);
    for (let q = 0; q < k; q++) {
      let mx = -Infinity;
      for (let s = c.off[q]; s < c.off[q + 1]; s++) if (c.orig[s] >= 0 && p[s] > mx) mx = p[s];
      out[q] = Math.log(c.mass[q]) + mx / eps;
    }
    return out;
  };
  const hT = head(T, f);
  const hS = self ? hT : head(S, g);
  const logSelf = self ? Math.LN2 : 0; // a symmetric block stands for two
  const logBudget = Math.log(budget);
  const floorEdge = Math.exp(logBudget - (BUCKETS - 1) * BUCKET);
  /** log of block (k, l)'s bound: A_k B_l exp((max f + max g − dmin²(box_k, box_l))/ε). */
  const logBound = (k: number, l: number) => {
    let dmin = 0;
    for (let t = 0; t < d; t++) {
      const gap = Math.max(0, S.lo[l * d + t] - T.hi[k * d + t], T.lo[k * d + t] - S.hi[l * d + t]);
      dmin += gap * gap;
    }
    return hT[k] + hS[l] + logSelf - dmin / eps;
  };
  const bucketOf = (lb: number) => Math.min(BUCKETS - 1, Math.floor((logBudget - lb) / BUCKET));
  // sweep 1: each candidate's bound into its bucket (the diagonal of a self term is not a candidate)
  const sums = new Float64Array(BUCKETS);
  for (let k = 0; k < kT; k++)
    for (let l = self ? k + 1 : 0; l < kS; l++) {
      const lb = logBound(k, l);
      if (!(lb <= logBudget)) continue;
      const b = bucketOf(lb);
      sums[b] += b === BUCKETS - 1 ? floorEdge : Math.exp(lb);
    }
  // the deepest buckets whose total fits: blocks in bucket ≥ cut are dropped
  let dropped = 0;
  let cut = BUCKETS;
  while (cut > 0 && dropped + sums[cut - 1] <= budget) dropped += sums[--cut];
  // sweep 2: the lists
  const rowptr = new Int32Array(kT + 1);
  let list = new Int32Array(Math.max(16, 2 * (kT + kS)));
  let count = 0;
  let keptPairs = 0;
  let allPairs = 0;
  for (let k = 0; k < kT; k++) {
    const nk = T.off[k + 1] - T.off[k];
    for (let l = self ? k : 0; l < kS; l++) {
      const pairs = nk * (S.off[l + 1] - S.off[l]) * (self && l > k ? 2 : 1);
      allPairs += pairs;
      if (!(self && l === k)) {
        const lb = logBound(k, l);
        if (lb <= logBudget && bucketOf(lb) >= cut) continue;
      }
      keptPairs += pairs;
      if (count === list.length) {
        const grown = new Int32Array(2 * list.length);
        grown.set(list);
        list = grown;
      }
      list[count++] = self && l === k ? l : l | COLS_FLAG;
    }
    rowptr[k + 1] = count;
  }
  const blocks = { rowptr, list: list.slice(0, count) };
  // a cross term's rows-only list and its transpose (source clusters as targets), for the alternating passes
  const rowsOnly = self ? blocks : { rowptr, list: blocks.list.map((l) => l & (COLS_FLAG - 1)) };
  let transposed: BlockList = blocks;
  if (!self) {
    transposed = transposeBlocks(rowsOnly, kS);
  }
  return { blocks, rowsOnly, transposed, dropped, kept: keptPairs / allPairs };
}

/**
 * ⟨P, C⟩ of a term at its potentials (the linear part, POT's empirical_sinkhorn_divergence): from the last
 * measure when it summed E·2x·y/ε too (mode 2), else from one mode-1 pass.
 */
async function linearCost(term: Term, eps: number): Promise<number> {
  const { T, S, f, g } = term;
  let quad = 0;
  for (let s = 0; s < T.np; s++) if (T.orig[s] >= 0) quad += term.rows![s] * T.sq[s];
  for (let s = 0; s < S.np; s++) if (S.orig[s] >= 0) quad += term.cols![s] * S.sq[s];
  if (term.moments) {
    // Σ P_ij C_ij = Σ r_i |x_i|² + Σ c_j |y_j|² − 2 Σ_i x_i · Σ_j P_ij y_j
    let cross = 0;
    for (let c = 0; c < T.d; c++) for (let s = 0; s < T.np; s++) if (T.orig[s] >= 0) cross += T.coords[c * T.np + s] * term.moments[c * T.np + s];
    return quad - 2 * cross;
  }
  let lin = term.lin;
  if (!lin) {
    const h = exponents(T, f, eps);
    const w = term.self ? h : exponents(S, g, eps);
    const b = term.blocks!;
    // a cross term needs the rows only (its columns' E·x·ỹ would be the same total)
    const blocks = term.self ? b : { rowptr: b.rowptr, list: b.list.map((l) => l & (COLS_FLAG - 1)) };
    lin = await term.pair!.pass(eps, h, w, blocks, 1);
  }
  // Σ P_ij C_ij = Σ r_i |x_i|² + Σ c_j |y_j|² − ε Σ P_ij (2x_i·y_j/ε)
  let cross = 0;
  for (let s = 0; s < T.np; s++) if (T.orig[s] >= 0) cross += lin.rows[s] + (term.self ? lin.cols[s] : 0);
  return quad - eps * cross;
}

/** Σ_s w_s p_s over real slots (the dual value's halves). */
function dual(c: PaddedCloud, p: Float64Array): number {
  let v = 0;
  for (let s = 0; s < c.np; s++) if (c.orig[s] >= 0) v += c.w[s] * p[s];
  return v;
}

/**
 * The (debiased) Sinkhorn divergence of two weighted clouds (X n × d, Y m × d row-major, weights > 0 summing
 * to the same mass) for the squared Euclidean cost, coarse to fine (see the header). The caller has checked
 * that diam²/reg ≤ MULTISCALE_MAX_SCALE.
 */
export async function multiscaleDivergence(
  X0: Float64Array,
  Y0: Float64Array,
  d: number,
  a: Float64Array,
  b: Float64Array,
  opts: MultiscaleOptions,
): Promise<MultiscaleResult> {
  const { X, Y, diam2 } = centre(X0, Y0, d);
  const eps = opts.reg;
  if (diam2 / eps > MULTISCALE_MAX_SCALE) {
    throw new OTError('invalid-option', `strategy 'multiscale': diameter²/reg = ${(diam2 / eps).toExponential(2)} is above ${MULTISCALE_MAX_SCALE}, where the f32 kernel's rounding would reach the marginals; use strategy: 'dense'.`);
  }
  const lx = levels(X, a, d);
  const ly = levels(Y, b, d);
  // per slot: f64 coordinates, |x|², weights, potentials, sums (~d + 12 values) on the host, f32 copies in the
  // kernel; per kept (cluster, cluster) block, at worst every block: the cross term's three i32 lists and f64 masses
  // on the host and its two kernel lists and masses (36 bytes), a self term's list on the host and in the kernel
  // (8 bytes for each of its k²/2 blocks, mirrored columns included)
  const kx = lx.fine.mass.length;
  const ky = ly.fine.mass.length;
  const slots = lx.fine.np + ly.fine.np;
  // with gradients, the first moments (d per slot, per side of the cross term and per self term)
  const extra = opts.gradient ? slots * d * 8 * 2 : 0;
  checkBudget(slots * (d + 12) * 8 * 3 + kx * ky * 36 + (opts.debias ? (kx * kx + ky * ky) * 4 : 0) + extra, 'the multiscale divergence (clouds, potentials, block lists)', opts.maxBytes);
  const engine = await passEngine(opts.backend ?? 'wasm', opts.threads);
  try {
    const cloudsCoarse = { x: lx.coarse, y: ly.coarse };
    const term = (self: boolean, T: PaddedCloud, S: PaddedCloud): Term => {
      const f = new Float64Array(T.np);
      return { self, T, S, f, g: self ? f : new Float64Array(S.np), error: Infinity, dropped: 0, kept: 1, done: false };
    };
    // ---- coarse: the ε schedule on the centroids, every block kept
    const coarse = [term(false, cloudsCoarse.x, cloudsCoarse.y)];
    if (opts.debias) coarse.push(term(true, cloudsCoarse.x, cloudsCoarse.x), term(true, cloudsCoarse.y, cloudsCoarse.y));
    for (const t of coarse) {
      t.pair = await engine.pair(t.T, t.S);
      const kT = t.T.off.length - 1;
      const kS = t.S.off.length - 1;
      t.blocks = t.self ? symmetricAll(kT) : allBlocks(kT, kS, COLS_FLAG);
    }
    const schedule: number[] = [];
    for (let e = diam2; e > eps; e *= EPS_FACTOR) schedule.push(e);
    let coarseIterations = 0;
    for (let k = 0; k < schedule.length + COARSE_FINAL_ITER; k++) {
      const e = k < schedule.length ? schedule[k] : eps;
      let worst = 0;
      for (const t of coarse) {
        worst = Math.max(worst, await measure(t, e));
        update(t, e, k === 0 ? 1 : 0.5);
      }
      coarseIterations++;
      await abortPoint(opts.signal, () => 'multiscale Sinkhorn, coarse level');
      if (k >= schedule.length && worst < opts.tol) break;
    }
    // ---- extrapolation: each fine potential is one softmin against the coarse measure
    const fineTerms = [term(false, lx.fine, ly.fine)];
    if (opts.debias) fineTerms.push(term(true, lx.fine, lx.fine), term(true, ly.fine, ly.fine));
    const extrapolate = async (target: Levels, fineP: Float64Array, source: PaddedCloud, coarseTarget: Float64Array, coarseSource: Float64Array) => {
      const T = target.fine;
      const shift = new Float64Array(T.np);
      for (let s = 0; s < T.np; s++) if (target.up[s] >= 0) shift[s] = coarseTarget[target.up[s]];
      const h = exponents(T, shift, eps);
      const w = exponents(source, coarseSource, eps);
      const pair = await engine.pair(T, source);
      pairs.push(pair);
      const { rows } = await pair.pass(eps, h, w, allBlocks(T.off.length - 1, source.off.length - 1, 0), 0);
      const lr = logSums(rows, T, h, source, w, eps);
      for (let s = 0; s < T.np; s++) if (T.orig[s] >= 0) fineP[s] = shift[s] - eps * (lr[s] - T.logw[s]);
      // (a pass at 10^5 points and more takes seconds: an abort is honoured between passes, not only iterations)
      await abortPoint(opts.signal, () => 'multiscale Sinkhorn, extrapolation');
    };
    const pairs: PairPasses[] = coarse.map((t) => t.pair!);
    const [cxy, cxx, cyy] = coarse;
    await extrapolate(lx, fineTerms[0].f, ly.coarse, cxy.f, cxy.g);
    await extrapolate(ly, fineTerms[0].g, lx.coarse, cxy.g, cxy.f);
    if (opts.debias) {
      await extrapolate(lx, fineTerms[1].f, lx.coarse, cxx.f, cxx.f);
      await extrapolate(ly, fineTerms[2].f, ly.coarse, cyy.f, cyy.f);
    }
    // ---- fine: the symmetric loop on the kept blocks until error + dropped mass ≤ tol
    for (const t of fineTerms) {
      t.pair = await engine.pair(t.T, t.S);
      if (!t.self) t.pairT = await engine.pair(t.S, t.T);
    }
    const budget = DROP_SHARE * opts.tol;
    let iterations = 0;
    for (;;) {
      const last = iterations + 1 >= opts.maxIter;
      for (const t of fineTerms) {
        if (t.done) continue;
        await abortPoint(opts.signal, () => `multiscale Sinkhorn, fine iteration ${iterations + 1}`);
        // A pass that is likely the last (the previous error within 2× of the target) drops at most `budget` and
        // also sums E·2x·y/ε for ⟨P, C⟩; earlier passes, whose error is still large, may drop up to a tenth of it.
        const final = last || t.error <= FINAL_REACH * (opts.tol - budget);
        const { blocks, rowsOnly, transposed, dropped, kept } = keptBlocks(t, eps, final || !Number.isFinite(t.error) ? budget : Math.max(budget, Math.min(EARLY_DROP * t.error, 0.01)));
        t.blocks = blocks;
        t.transposed = transposed;
        t.dropped = dropped;
        t.kept = kept;
        // measure at the current potentials; update only if not converged (the result keeps measured potentials).
        // A cross term's column sums after its g-update are known without a pass (see updateG): from the second
        // iteration on, its measure passes sum rows only.
        const mode = final ? 2 : 0;
        if (final && opts.gradient && (t.self || iterations > 0)) t.error = await measureMoments(t, eps, t.self ? fullList(blocks) : rowsOnly);
        else t.error = t.self || iterations === 0 ? await measure(t, eps, mode, !t.self) : await measureRows(t, eps, rowsOnly, mode, true);
        // dropped ≤ budget on a final pass: error ≤ tol − budget in every term keeps (max error) + (max dropped) ≤ tol
        t.done = final && t.error <= opts.tol - budget;
        if (!t.done && !last) {
          if (t.self) update(t, eps, SELF_STEP);
          else {
            // the cross term: the cluster correction from this measure's block masses, then Sinkhorn (f from
            // the rows, g from the columns at the new f)
            clusterCorrection(t, eps, rowsOnly);
            update(t, eps, 1, 'f');
            await measureCols(t, eps, transposed);
            updateG(t, eps);
          }
        }
      }
      iterations++;
      const error = Math.max(...fineTerms.map((t) => t.error));
      opts.onProgress?.({ iterations, error, eps });
      await abortPoint(opts.signal, () => `multiscale Sinkhorn, fine iteration ${iterations}`);
      if (!Number.isFinite(error)) throw new OTError('numerical', 'multiscale Sinkhorn: the marginals left the range of floating point; use strategy: \'dense\'.');
      if (fineTerms.every((t) => t.done) || last) break;
    }
    // each term's value is Sinkhorn's dual objective at its potentials, ⟨a, f⟩ + ⟨b, g⟩ − ε(Σ P − Σ a): its
    // gradient vanishes at the optimum, so it is off by the square of the potentials' error, where ⟨a, f⟩ + ⟨b, g⟩
    // alone is off by ε times the plan's mass error (n = 10^4, tol 1e-3: S_ε 1.1 % off → 0.01 %)
    const ot = (t: Term) => {
      let mass = 0;
      let want = 0;
      for (let s = 0; s < t.T.np; s++) if (t.T.orig[s] >= 0) (mass += t.rows![s]), (want += t.T.w[s]);
      return (t.self ? 2 * dual(t.T, t.f) : dual(t.T, t.f) + dual(t.S, t.g)) - eps * (mass - want);
    };
    const [xy, xx, yy] = fineTerms;
    const value = opts.debias ? Math.max(0, ot(xy) - 0.5 * ot(xx) - 0.5 * ot(yy)) : ot(xy);
    const lin: number[] = [];
    for (const t of fineTerms) lin.push(await linearCost(t, eps));
    const linearValue = opts.debias ? lin[0] - 0.5 * lin[1] - 0.5 * lin[2] : lin[0];
    const grads = opts.gradient ? await gradients(fineTerms, eps, X.length / d, Y.length / d) : {};
    return {
      ...grads,
      value,
      linearValue,
      iterations,
      coarseIterations,
      error: Math.max(...fineTerms.map((t) => t.error)),
      droppedMass: Math.max(...fineTerms.map((t) => t.dropped)),
      keptFraction: fineTerms.reduce((s, t) => s + t.kept, 0) / fineTerms.length,
      converged: fineTerms.every((t) => t.done),
      threads: engine.threads,
      backend: engine.backend,
      pairs: [...pairs, ...fineTerms.flatMap((t) => (t.pairT ? [t.pair!, t.pairT] : [t.pair!]))].reduce((s, p) => s + p.pairs, 0),
    };
  } finally {
    engine.release();
  }
}

/**
 * Σ_j P_ij ∇ₓ|x_i − y_j|² = 2(r_i x_i − Σ_j P_ij y_j) per target point (n × d, the caller's order), from one
 * moments pass over `blocks` at the term's potentials (`transposed`: the cross term's source side, by its
 * transposed pair).
 */
async function costGradient(t: Term, eps: number, blocks: BlockList, transposed: boolean, count: number): Promise<Float64Array> {
  const [T, S, p, q, pair] = transposed ? [t.S, t.T, t.g, t.f, t.pairT!] : [t.T, t.S, t.f, t.g, t.pair!];
  // the final measure's moments when it was a moments pass (this side), else a pass now
  let { rows, moments } = { rows: t.rows!, moments: t.moments };
  if (transposed || !moments) {
    const h = exponents(T, p, eps);
    ({ rows, moments } = await pair.moments(eps, h, t.self ? h : exponents(S, q, eps), blocks));
  }
  const d = T.d;
  const out = new Float64Array(count * d);
  for (let s = 0; s < T.np; s++) {
    const i = T.orig[s];
    if (i < 0) continue;
    for (let c = 0; c < d; c++) out[i * d + c] = 2 * (rows[s] * T.coords[c * T.np + s] - moments![c * T.np + s]);
  }
  return out;
}

/** A potential per point in the caller's order. */
function byPoint(c: PaddedCloud, p: Float64Array, count: number): Float64Array {
  const out = new Float64Array(count);
  for (let s = 0; s < c.np; s++) if (c.orig[s] >= 0) out[c.orig[s]] = p[s];
  return out;
}

/**
 * The gradients at the returned potentials, as the dense strategy defines them (ts/solvers/divergence.ts
 * `combine`): positions by the envelope theorem over the kept blocks (a self term's both slots: its full list),
 * weights as the potentials f (the KL(P | a ⊗ b) form's, which the kernel's f already is).
 */
async function gradients(terms: Term[], eps: number, n: number, m: number): Promise<Pick<MultiscaleResult, 'gradX' | 'gradY' | 'gradA' | 'gradB'>> {
  const [xy, xx, yy] = terms;
  const kept = xy.blocks!;
  const gX = await costGradient(xy, eps, kept, false, n);
  const gY = await costGradient(xy, eps, xy.transposed!, true, m);
  const fX = byPoint(xy.T, xy.f, n);
  const fY = byPoint(xy.S, xy.g, m);
  if (!xx) return { gradX: gX, gradY: gY, gradA: fX, gradB: fY };
  // a self term enters with ½ but depends on the points through both slots: ½·2 = 1
  const self = (t: Term, count: number) => costGradient(t, eps, fullList(t.blocks!), false, count);
  const sX = await self(xx, n);
  const sY = await self(yy, m);
  const gradA = byPoint(xx.T, xx.f, n);
  const gradB = byPoint(yy.T, yy.f, m);
  return {
    gradX: gX.map((x, k) => x - sX[k]),
    gradY: gY.map((x, k) => x - sY[k]),
    gradA: fX.map((x, i) => x - gradA[i]),
    gradB: fY.map((x, j) => x - gradB[j]),
  };
}

/** A self term's symmetric list (l ≥ k) with the mirrored blocks added: every kept (k, l), rows only. */
function fullList(b: BlockList): BlockList {
  const k = b.rowptr.length - 1;
  const rows: number[][] = Array.from({ length: k }, () => []);
  for (let q = 0; q < k; q++)
    for (let e = b.rowptr[q]; e < b.rowptr[q + 1]; e++) {
      const l = b.list[e] & (COLS_FLAG - 1);
      rows[q].push(l);
      if (l !== q) rows[l].push(q);
    }
  const rowptr = new Int32Array(k + 1);
  rows.forEach((r, q) => (rowptr[q + 1] = rowptr[q] + r.length));
  return { rowptr, list: Int32Array.from(rows.flat()) };
}

/** A self term's list with every block: l ≥ k, the off-diagonal ones with their columns. */
function symmetricAll(k: number): BlockList {
  const rowptr = new Int32Array(k + 1);
  const list: number[] = [];
  for (let q = 0; q < k; q++) {
    for (let l = q; l < k; l++) list.push(l === q ? l : l | COLS_FLAG);
    rowptr[q + 1] = list.length;
  }
  return { rowptr, list: Int32Array.from(list) };
}
