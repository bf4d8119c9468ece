//
// Gromov–Wasserstein between two metric-measure spaces given by structure matrices C1 (n × n) and C2 (m × m):
//   GW(P) = Σ_{i,j,k,l} L(C1_ik, C2_jl) P_ij P_kl,  P ∈ Π(a, b),
// and the fused variant FGW(P) = (1 − α)·⟨M, P⟩ + α·GW(P) (Vayer et al. 2019). Without reg: conditional gradient
// (Frank–Wolfe) with the exact line search of the quadratic objective, each linear step an exact OT on the
// network simplex (POT's ot.gromov.gromov_wasserstein / fused_gromov_wasserstein). With reg: entropic GW
// (Peyré, Cuturi, Solomon 2016; POT's entropic_gromov_wasserstein): P ← Sinkhorn(a, b, ∇GW(P), reg), each
// solve warm-started from the previous potentials on one engine (inner.ts EntropicSequence) and stopped by POT's
// rule (L2 marginal error < 1e-9).
//
// C1 and C2 may be point clouds (gromov-structure.ts): squared Euclidean clouds stay in low rank.
// The tensor product L(C1, C2) ⊗ P uses the decomposition of Peyré et al. for losses L(x, y) = f1(x) + f2(y) −
// h1(x)·h2(y): L ⊗ P = f1(C1)a 1ᵀ + 1 bᵀf2(C2)ᵀ − h1(C1) P h2(C2)ᵀ, O(n²m + nm²) time, O(n² + m² + nm) memory
// (never n²m²). In the conditional gradient, h1(C1)·P·h2(C2)ᵀ is updated incrementally: the new vertex is a
// sparse exact plan (≤ n + m − 1 entries), so each iteration costs at most one dense n × n by n × m product, and
// only the rows of the vertex that changed when they are few (gromov-vertex.ts). From a·bᵀ the first linear step
// starts at its optimum (the comonotone staircase of h1·a and h2·b).
import { OTError } from '../errors.js';
import { DenseCoupling, type SparseCoupling } from '../coupling.js';
import { ExactSequence } from './exact-sequence.js';
import type { OTResult } from '../result.js';
import { defineSolver } from '../registry/define.js';
import { backendOption, maxBytesOption, progressOption, signalOption, workerOption } from '../registry/common.js';
import { anyOf, matrix, num, oneOf, opt, vector } from '../registry/schema.js';
import type { BackendName, BackendOption, DenseMatrix, MatrixLike, VectorLike } from '../types.js';
import { abortPoint, balanceMasses, checkAbort, checkBudget, sum, toMatrix, toWeights } from '../validate.js';
import { EntropicSequence, exactOT, startingPlan } from './inner.js';
import { SolveGemm } from './gromov-gemm.js';
import { GpuProducts } from './gromov-gpu.js';
import { autoPrefersWebgpu } from '../entropic/select.js';
import { Rng } from '../rng.js';
import { VertexProducts } from './gromov-vertex.js';
import { DenseStructure, SqEuclideanStructure, type StructureCloud, type StructureInput, type StructureOp, readStructure, structureSize } from './gromov-structure.js';
export type { StructureCloud, StructureInput };

/** The options of {@link gromovWasserstein}. */
export interface GromovOptions {
  /** Weights of the first space (n, ≥ 0). Default uniform. POT: p. */
  a?: VectorLike;
  /** Weights of the second space (m, ≥ 0; same total as a). Default uniform. POT: q. */
  b?: VectorLike;
  /** The loss L: 'square' (x − y)² or 'kl' x log(x/y) − x + y (entries > 0). Default 'square'. POT: loss_fun. */
  loss?: 'square' | 'kl';
  /**
   * Entropic regularization ε > 0 (entropic GW); absent: conditional gradient on exact OT. POT: epsilon. Each outer
   * iteration is a Sinkhorn solve warm-started from the previous potentials, stopped as POT's ot.sinkhorn inside
   * entropic_gromov_wasserstein: L2 norm of the marginal error < 1e-9, checked every 10 iterations, at most 1000.
   */
  reg?: number;
  /** Fused GW trade-off α ∈ [0, 1]: (1 − α)⟨M, P⟩ + α·GW. Default 0.5 when M is given. POT: alpha. */
  alpha?: number;
  /** Feature cost n × m for fused GW. POT: M. */
  M?: MatrixLike;
  /** Starting plan n × m with marginals a, b (1e-8). Default the product a·bᵀ. POT: G0. */
  init?: MatrixLike;
  /**
   * Number of starts (GW is non-convex): the first is `init` (or a·bᵀ), the others random vertices of the
   * transport polytope (exact OT plans of seeded uniform random costs); the result is the best. Default 1.
   */
  starts?: number;
  /** Seed of the random starts. Default 0. */
  seed?: number;
  /** Outer iterations at most: conditional gradient steps (default 200, POT's numItermax) or entropic projections (default 1000, POT's max_iter). */
  maxIter?: number;
  /**
   * Conditional gradient: stop when the objective changes by < tol relatively or < tol absolutely (POT's
   * stopThr and stopThr2). Entropic: stop when ‖P_t − P_{t−1}‖_F < tol, checked every 10 iterations (POT's tol).
   * Default 1e-9.
   */
  tol?: number;
  /**
   * wasm threads: how many share each product h1·P·h2ᵀ (split by rows) and, with `reg`, each inner Sinkhorn
   * pass. 'auto' (default): every core for the products from n·m·max(n, m) ≥ 2^21 multiply-adds, for the
   * Sinkhorn passes from n·m ≥ 2^18 entries. A hint: where threads cannot run, one. The result's `threads`
   * says how many ran.
   */
  threads?: number | 'auto';
  /**
   * Entropic GW on wasm: 'f32' runs the products h1·P·h2ᵀ on the GEMM's f32 kernels (~2× the f64 throughput; the
   * products are most of a dense solve), the inner Sinkhorn staying f64: values to ~1e-6 relative instead of POT's
   * f64 agreement. ‖P_t − P_{t−1}‖_F then levels off near 1e-6, so `tol` defaults to 1e-5 × mass (as on webgpu).
   * The conditional gradient (no `reg`) needs f64 for its exact line search: 'f32' there is
   * OTError('invalid-option'). The webgpu products are f32 whatever this says. Default 'f64'.
   */
  precision?: 'f64' | 'f32';
  /**
   * 'wasm' (f64), 'webgpu' (entropic GW only: the inner Sinkhorn and, with dense structure matrices, the products
   * h1·P·h2ᵀ on the GPU in f32 — values to ~1e-5 relative), or 'auto' (default): webgpu where an entropic solve's
   * Sinkhorn would take it (a hardware adapter and n·m ≥ 2^20), else wasm. A forced backend that is unavailable is
   * OTError('backend-unavailable'), as is 'webgpu' without `reg` (the conditional gradient's steps are exact OT).
   */
  backend?: BackendOption;
  /** Abort the call: it rejects with OTError code `aborted`. */
  signal?: AbortSignal;
  /** Called with progress reports as the solve goes; the last one arrives before the promise settles. */
  onProgress?: (p: { iterations: number; value: number; error: number }) => void;
  /** Memory budget in bytes for this call's buffers (default 2 GiB); above it the call fails with `too-large` before any work. */
  maxBytes?: number;
  /** Where the call runs: in a worker of the pool ('auto' for large problems, true, false); see WorkerOptions. */
  worker?: 'auto' | boolean;
}

/** What {@link gromovWasserstein} returns. */
export interface GromovResult extends OTResult {
  /** The objective of the plan without entropy: GW(P), or (1 − α)⟨M, P⟩ + α·GW(P) when fused (POT's gw_dist / fgw_dist). */
  value: number;
  /** GW(P) alone (= value unless fused). */
  gw: number;
  /** ⟨M, P⟩ when fused. */
  cost?: number;
  /** The plan, n × m (dense: a convex combination of vertices, or an entropic plan). */
  plan: DenseCoupling;
  /** Conditional gradient: |Δ objective| / |objective| at the last step. Entropic: ‖P_t − P_{t−1}‖_F at the last check. */
  error: number;
  /**
   * The start the result came from: the product measure a·bᵀ, the given init, or a random vertex (with
   * `starts` > 1; GW is non-convex: the result depends on the start).
   */
  start: 'product' | 'init' | 'random';
  /** Index of that start among the `starts` (0: init or a·bᵀ). */
  startIndex: number;
  /** The objective reached from each start, in order (length `starts`). */
  startValues: number[];
  /** 'conditional-gradient' or 'entropic'. */
  algorithm: 'conditional-gradient' | 'entropic';
}

function dot(x: Float64Array, y: Float64Array): number {
  let s = 0;
  for (let t = 0; t < x.length; t++) s += x[t] * y[t];
  return s;
}

/** The first pair (i < j, row-major) with |S_ij − S_ji| > 1e-10 · max |S|, or undefined when S is symmetric. */
function isSymmetric(S: DenseMatrix): { i: number; j: number } | undefined {
  const n = S.rows;
  const D = S.data;
  // one pass for the scale and the largest asymmetry; the offending pair is searched only when there is one
  let mx = 0;
  let worst = 0;
  for (let i = 0; i < n; i++) {
    mx = Math.max(mx, Math.abs(D[i * n + i]));
    for (let j = i + 1; j < n; j++) {
      const x = D[i * n + j];
      const y = D[j * n + i];
      mx = Math.max(mx, Math.abs(x), Math.abs(y));
      worst = Math.max(worst, Math.abs(x - y));
    }
  }
  const tol = 1e-10 * mx;
  if (!(worst > tol)) return undefined;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (Math.abs(D[i * n + j] - D[j * n + i]) > tol) return { i, j };
  return undefined;
}

/** The decomposition of L ⊗ P: constC_ij = c1_i + c2_j, and the operators h1 = h1(C1), h2 = h2(C2). */
interface Decomposition {
  c1: Float64Array;
  c2: Float64Array;
  h1: StructureOp;
  h2: StructureOp;
  /** The solve's products (the structure matrices kept in wasm). */
  products: SolveGemm;
  /** h1 row-major and h2ᵀ, when both sides are dense matrices (product() chains them in wasm). */
  dense?: { H1: Float64Array; H2t: Float64Array };
  /** The same products on WebGPU (entropic GW on the webgpu backend, dense sides). */
  gpu?: GpuProducts;
}

/** One side read by readStructure: a dense matrix, or a sqeuclidean cloud kept in low rank (square loss). */
type Side = { dense?: DenseMatrix; cloud?: { Z: Float64Array; d: number } };

/**
 * POT's init_matrix (1e-15 inside the logs of the kl loss, as POT): c1 = f1(C1)·a, c2 = f2(C2)·b, h1(C1), h2(C2).
 * A low-rank side (square loss: f = x², h1 = x, h2 = 2y) gets the same quantities without its n × n matrix.
 */
function decompose(S1: Side, S2: Side, a: Float64Array, b: Float64Array, loss: 'square' | 'kl', products: SolveGemm): Decomposition {
  const gemm = () => products.gemm;
  // the square loss's f and h are written out (squaresTimes, scaledTranspose): a call per entry through a
  // closure cost ~5 % of a conditional-gradient GW solve at n = 100
  const klF1 = (x: number) => x * Math.log(x + 1e-15) - x;
  const klH2 = (y: number) => Math.log(y + 1e-15);
  let c1: Float64Array;
  let h1op: StructureOp;
  if (S1.cloud) {
    const op = new SqEuclideanStructure(S1.cloud.Z, S1.cloud.d, 1, gemm);
    for (const F of op.factors) products.keep(F);
    c1 = op.squaredTimes(a);
    h1op = op;
  } else {
    const C1 = S1.dense!;
    c1 = loss === 'square' ? squaresTimes(C1, a) : applyF(C1, klF1, a);
    h1op = new DenseStructure(C1.rows, C1.data, undefined, gemm);
    products.keep(C1.data);
  }
  let c2: Float64Array;
  let h2op: StructureOp;
  let h2t: Float64Array | undefined;
  if (S2.cloud) {
    const op = new SqEuclideanStructure(S2.cloud.Z, S2.cloud.d, 2, gemm);
    for (const F of op.factors) products.keep(F);
    c2 = op.squaredTimes(b);
    h2op = op;
  } else {
    const C2 = S2.dense!;
    const m = C2.rows;
    // kl: f2(y) = y
    c2 = loss === 'square' ? squaresTimes(C2, b) : applyF(C2, (y) => y, b);
    h2t = new Float64Array(m * m);
    if (loss === 'square') scaledTranspose(C2.data, m, 2, h2t);
    else for (let j = 0; j < m; j++) for (let l = 0; l < m; l++) h2t![l * m + j] = klH2(C2.data[j * m + l]);
    h2op = new DenseStructure(m, undefined, h2t, gemm);
    products.keep(h2t);
  }
  const dense = S1.dense && h2t ? { H1: S1.dense.data, H2t: h2t } : undefined;
  return { c1, c2, h1: h1op, h2: h2op, products, dense };
}

/** out_i = Σ_k f(C_ik)·w_k. */
function applyF(C: DenseMatrix, f: (x: number) => number, w: Float64Array): Float64Array {
  const n = C.rows;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (let k = 0; k < n; k++) acc += f(C.data[i * n + k]) * w[k];
    out[i] = acc;
  }
  return out;
}

/** out_i = Σ_k C_ik²·w_k (the square loss's f1(C)·w = f2(C)·w). */
function squaresTimes(C: DenseMatrix, w: Float64Array): Float64Array {
  const n = C.rows;
  const D = C.data;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * n;
    let acc = 0;
    for (let k = 0; k < n; k++) acc += D[o + k] * D[o + k] * w[k];
    out[i] = acc;
  }
  return out;
}

/** out = s·Cᵀ for C (m × m). */
function scaledTranspose(C: Float64Array, m: number, s: number, out: Float64Array): void {
  for (let j = 0; j < m; j++) {
    const o = j * m;
    for (let l = 0; l < m; l++) out[l * m + j] = s * C[o + l];
  }
}

/** R = h1 · P · h2ᵀ for a dense P (n × m); X (n × m) takes P · h2ᵀ, R the result, when given. */
function product(D: Decomposition, P: Float64Array, n: number, m: number, X?: Float64Array, R?: Float64Array): Float64Array {
  const chained = D.dense && D.products.chain(D.dense.H1, P, D.dense.H2t, n, m, R ?? new Float64Array(n * m));
  return chained || D.h1.left(D.h2.rightT(P, n, X), m, R);
}

/** ‖T − U‖_F. */
function distance(T: Float64Array, U: Float64Array): number {
  let acc = 0;
  for (let t = 0; t < T.length; t++) acc += (T[t] - U[t]) ** 2;
  return Math.sqrt(acc);
}

/**
 * R = h1 · (a bᵀ) · h2ᵀ = x yᵀ with x = h1 a, y = h2 b, for the product plan, the default start: O(n² + m²)
 * instead of two dense products (at n = 100 those were ~7 % of a whole conditional-gradient solve).
 */
function productOfOuter(D: Decomposition, a: Float64Array, b: Float64Array, n: number, m: number): { R: Float64Array; x: Float64Array; y: Float64Array } {
  const x = D.h1.vec(a);
  const y = D.h2.vec(b);
  const R = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) R[i * m + j] = x[i] * y[j];
  return { R, x, y };
}

/** ⟨constC − R, P⟩ = the loss of P given R = h1 P h2ᵀ. */
function lossOf(D: Decomposition, R: Float64Array, P: Float64Array, n: number, m: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const ci = D.c1[i];
    const o = i * m;
    for (let j = 0; j < m; j++) s += (ci + D.c2[j] - R[o + j]) * P[o + j];
  }
  return s;
}

async function gromovRun(C1in: StructureInput, C2in: StructureInput, opts: GromovOptions = {}): Promise<GromovResult> {
  const loss = opts.loss ?? 'square';
  if (loss !== 'square' && loss !== 'kl') throw new OTError('invalid-option', `gromovWasserstein: loss must be 'square' or 'kl' (got ${String(loss)}).`);
  const S1 = readStructure('C1', C1in, loss, opts.maxBytes);
  const S2 = readStructure('C2', C2in, loss, opts.maxBytes);
  const n = S1.dense?.rows ?? S1.cloud!.Z.length / S1.cloud!.d;
  const m = S2.dense?.rows ?? S2.cloud!.Z.length / S2.cloud!.d;
  const a = toWeights('a', opts.a, n);
  const b = balanceMasses(a, toWeights('b', opts.b, m), {});
  const entropic = opts.reg !== undefined;
  if (opts.precision === 'f32' && !entropic) {
    throw new OTError('invalid-option', "gromovWasserstein: precision 'f32' is for entropic GW (give reg); the conditional gradient's exact line search needs f64 products.");
  }
  const dense = ([['C1', S1.dense], ['C2', S2.dense]] as const).filter((e): e is readonly ['C1' | 'C2', DenseMatrix] => e[1] !== undefined);
  if (!entropic) {
    for (const [name, S] of dense) {
      const bad = isSymmetric(S);
      if (bad) {
        throw new OTError('shape', `${name} is not symmetric ([${bad.i}][${bad.j}] = ${S.data[bad.i * S.rows + bad.j]}, [${bad.j}][${bad.i}] = ${S.data[bad.j * S.rows + bad.i]}): the conditional gradient's exact line search needs symmetric structure matrices (distances). Symmetrize them, or use the entropic solver (reg).`);
      }
    }
  }
  if (loss === 'kl') {
    for (const [name, S] of dense) {
      for (let t = 0; t < S.data.length; t++) {
        if (S.data[t] < 0) throw new OTError('negative', `${name}[${Math.floor(t / S.cols)}][${t % S.cols}] = ${S.data[t]}: the kl loss needs non-negative structure matrices.`);
      }
    }
  }
  let M: DenseMatrix | undefined;
  if (opts.M !== undefined) {
    M = toMatrix('M', opts.M, opts.maxBytes);
    if (M.rows !== n || M.cols !== m) throw new OTError('shape', `M is ${M.rows} × ${M.cols} but C1 is ${n} × ${n} and C2 is ${m} × ${m}: the feature cost must be n × m.`);
  } else if (opts.alpha !== undefined) {
    throw new OTError('invalid-option', 'gromovWasserstein: alpha is the fused GW trade-off and needs a feature cost M (n × m); give M, or drop alpha.');
  }
  const alpha = M ? (opts.alpha ?? 0.5) : 1;
  const G = startingPlan(opts.init, a, b, opts.maxBytes);
  const start = opts.init !== undefined ? 'init' : 'product';
  const squares = (S1.dense ? n * n : 0) + (S2.dense ? m * m : 0);
  checkBudget(8 * (squares + 8 * n * m), `gromovWasserstein (${n} × ${m}: ${squares ? 'structure matrices and ' : ''}~8 n × m work arrays)`, opts.maxBytes);
  checkAbort(opts.signal);
  const webgpu = await chooseGromovBackend(opts.backend, entropic, n, m);
  const products = await SolveGemm.create(opts.threads ?? 'auto', n * m * Math.max(n, m), opts.precision === 'f32');
  let D: Decomposition | undefined;
  try {
    D = decompose(S1, S2, a, b, loss, products);
    if (webgpu && D.dense) D.gpu = await GpuProducts.create(D.dense.H1, D.dense.H2t, n, m);
    // f32 products cannot reach POT's 1e-9 (webgpu, precision 'f32': see F32_OUTER_TOL)
    const tol = opts.tol ?? (webgpu || opts.precision === 'f32' ? F32_OUTER_TOL * sum(a) : 1e-9);
    const Dd = D;
    const solveFrom = (G0: Float64Array, from: 'product' | 'init' | 'random') =>
      entropic
        ? entropicGW(Dd, a, b, M, alpha, G0, n, m, opts.reg!, opts.maxIter ?? 1000, tol, from, webgpu, opts)
        : conditionalGradient(Dd, a, b, M, alpha, G0, n, m, opts.maxIter ?? 200, tol, from, opts);
    let best = await solveFrom(G, start);
    const startValues = [best.value];
    const rng = new Rng(opts.seed ?? 0);
    for (let k = 1; k < (opts.starts ?? 1); k++) {
      const r = await solveFrom(await randomVertex(a, b, n, m, rng, opts.signal), 'random');
      startValues.push(r.value);
      if (r.value < best.value) best = { ...r, startIndex: k };
    }
    return { ...best, startValues };
  } finally {
    products.release();
    D?.gpu?.release();
  }
}

/**
 * The webgpu inner Sinkhorn's stopping rule, relative to the mass Σa: in f32 a marginal's error stalls near 1e-7,
 * so POT's 1e-9 (f64) would run every Sinkhorn to its maximum; it stops at an L1 marginal error (the webgpu
 * engine's norm) < 1e-6.
 */
const F32_INNER_TOL = 1e-6;
/**
 * The outer default (× Σa) wherever the products are f32 (webgpu, and wasm with precision 'f32', whose Sinkhorn is
 * f64): each step's plan then moves by ~1e-6 (1.5e-6 measured at n = 60 on both), so ‖P_t − P_{t−1}‖_F levels off
 * there instead of falling to POT's 1e-9.
 */
const F32_OUTER_TOL = 1e-5;
/** 'auto': entropic GW's inner Sinkhorn passes share the products' threads from this many entries (n = m = 256). */
const INNER_THREADS_FROM = 1 << 16;

/**
 * Whether a solve runs on WebGPU: forced, or 'auto' where an entropic solve's Sinkhorn would (a hardware adapter
 * and n·m ≥ 2^20). The conditional gradient's steps are exact OT, which has no WebGPU engine: a forced 'webgpu'
 * without `reg` is refused. Dense sides get their products on the GPU too; low-rank clouds keep theirs (O(nm·d)).
 */
async function chooseGromovBackend(backend: BackendOption | undefined, entropic: boolean, n: number, m: number): Promise<boolean> {
  if (backend === 'webgpu') {
    if (!entropic) {
      throw new OTError('backend-unavailable', "gromovWasserstein: the conditional gradient (no reg) runs on wasm: its steps are exact OT, which has no webgpu engine; give reg for entropic GW on webgpu, or drop backend.");
    }
    return true;
  }
  if (backend !== undefined && backend !== 'auto') return false;
  return entropic && (await autoPrefersWebgpu(n, m));
}

/** A random vertex of the transport polytope U(a, b): the exact OT plan of a uniform random cost. */
async function randomVertex(a: Float64Array, b: Float64Array, n: number, m: number, rng: Rng, signal?: AbortSignal): Promise<Float64Array> {
  const C = Float64Array.from({ length: n * m }, () => rng.uniform());
  const P = (await exactOT(a, b, { data: C, rows: n, cols: m }, signal)).plan;
  const G = new Float64Array(n * m);
  for (let t = 0; t < P.values.length; t++) G[P.rowIndex[t] * m + P.colIndex[t]] += P.values[t];
  return G;
}

// The conditional gradient's passes over n × m, as top-level functions: inside the solver's async body, variables
// that closures capture live in a heap context and every access in a hot loop reloads them (measured: the passes
// took ~7 ns per entry there, as long as the linear step itself at n = 100).

/**
 * out = (1 − α)·M + 2α·(c1_i + c2_j − R_ij): the gradient of the (fused) objective at the plan whose product is R.
 * Returns max |out| (the entropic inner solve's method choice reads it).
 */
function linearize(out: Float64Array, Mf: Float64Array | undefined, alpha: number, D: Decomposition, R: Float64Array, n: number, m: number): number {
  const { c1, c2 } = D;
  const beta = 1 - alpha;
  let top = 0;
  let nan = false;
  for (let i = 0; i < n; i++) {
    const o = i * m;
    const ci = c1[i];
    if (Mf) {
      for (let j = 0; j < m; j++) {
        const ax = Math.abs((out[o + j] = beta * Mf[o + j] + alpha * 2 * (ci + c2[j] - R[o + j])));
        if (ax > top) top = ax;
        else if (ax !== ax) nan = true;
      }
    } else {
      for (let j = 0; j < m; j++) {
        const ax = Math.abs((out[o + j] = alpha * 2 * (ci + c2[j] - R[o + j])));
        if (ax > top) top = ax;
        else if (ax !== ax) nan = true;
      }
    }
  }
  return nan ? NaN : top;
}

/**
 * The sums of the line search along dG = Gc − G, dR = Rc − R in one read-only pass: [⟨dR, dG⟩,
 * ⟨dR, G⟩ + ⟨R, dG⟩, ⟨(1 − α)M + α·constC, dG⟩] (the directions are not stored: `step` recomputes them).
 */
function direction(
  Gc: Float64Array, G: Float64Array, Rc: Float64Array, R: Float64Array,
  Mf: Float64Array | undefined, alpha: number, D: Decomposition, n: number, m: number,
): [number, number, number] {
  const { c1, c2 } = D;
  const beta = 1 - alpha;
  let dRdG = 0;
  let cross = 0;
  let linear = 0;
  // two loops rather than a test of Mf per entry (the JIT does not hoist it: ~1.6× slower)
  for (let i = 0; i < n; i++) {
    const o = i * m;
    const ci = c1[i];
    if (Mf) {
      for (let j = 0; j < m; j++) {
        const t = o + j;
        const g = G[t];
        const r = R[t];
        const dg = Gc[t] - g;
        const dr = Rc[t] - r;
        dRdG += dr * dg;
        cross += dr * g + r * dg;
        linear += (beta * Mf[t] + alpha * (ci + c2[j])) * dg;
      }
    } else {
      for (let j = 0; j < m; j++) {
        const t = o + j;
        const g = G[t];
        const r = R[t];
        const dg = Gc[t] - g;
        const dr = Rc[t] - r;
        dRdG += dr * dg;
        cross += dr * g + r * dg;
        linear += alpha * (ci + c2[j]) * dg;
      }
    }
  }
  return [dRdG, cross, linear];
}

/**
 * G += τ·(Gc − G), R += τ·(Rc − R), and in the same pass the next linearization Mi (as `linearize`); returns the
 * new objective (1 − α)⟨M, G⟩ + α⟨constC − R, G⟩ and max |Mi|.
 */
function step(
  G: Float64Array, R: Float64Array, Gc: Float64Array, Rc: Float64Array, tau: number,
  Mf: Float64Array | undefined, alpha: number, D: Decomposition, n: number, m: number, Mi: Float64Array,
): [number, number] {
  const { c1, c2 } = D;
  const beta = 1 - alpha;
  let lossSum = 0;
  let costSum = 0;
  let top = 0;
  let nan = false;
  // one loop per case, as in direction; max |x| with NaN kept (Math.max per entry cost ~15 % of this pass)
  for (let i = 0; i < n; i++) {
    const o = i * m;
    const ci = c1[i];
    if (Mf) {
      for (let j = 0; j < m; j++) {
        const t = o + j;
        const g0 = G[t];
        const r0 = R[t];
        const g = (G[t] = g0 + tau * (Gc[t] - g0));
        const r = (R[t] = r0 + tau * (Rc[t] - r0));
        lossSum += (ci + c2[j] - r) * g;
        costSum += Mf[t] * g;
        const ax = Math.abs((Mi[t] = beta * Mf[t] + alpha * 2 * (ci + c2[j] - r)));
        if (ax > top) top = ax;
        else if (ax !== ax) nan = true;
      }
    } else {
      for (let j = 0; j < m; j++) {
        const t = o + j;
        const g0 = G[t];
        const r0 = R[t];
        const g = (G[t] = g0 + tau * (Gc[t] - g0));
        const r = (R[t] = r0 + tau * (Rc[t] - r0));
        lossSum += (ci + c2[j] - r) * g;
        const ax = Math.abs((Mi[t] = alpha * 2 * (ci + c2[j] - r)));
        if (ax > top) top = ax;
        else if (ax !== ax) nan = true;
      }
    }
  }
  return [(Mf ? beta * costSum : 0) + alpha * lossSum, nan ? NaN : top];
}

async function conditionalGradient(
  D: Decomposition, a: Float64Array, b: Float64Array, M: DenseMatrix | undefined, alpha: number, G: Float64Array,
  n: number, m: number, maxIter: number, tol: number, start: 'product' | 'init' | 'random', opts: GromovOptions,
): Promise<GromovResult> {
  const beta = 1 - alpha; // weight of the linear term
  const Mf = M?.data;
  const outer = start === 'product' ? productOfOuter(D, a, b, n, m) : undefined;
  let R = outer?.R ?? product(D, G, n, m);
  // GW from a·bᵀ: the first gradient is c1_i + c2_j − x_i·y_j (times 2α), whose optimal plan is the comonotone
  // coupling of x and y: the simplex starts there (its staircase over x, y sorted) instead of from emd's keys
  // (n = 100: 752 pivots of the solve's ~1800 saved). Not with M, whose term is not of that form.
  let keys: [Float64Array, Float64Array] | undefined = outer && !Mf ? [outer.x, outer.y] : undefined;
  const objective = (P: Float64Array, RP: Float64Array) => (Mf ? beta * dot(Mf, P) : 0) + alpha * lossOf(D, RP, P, n, m);
  let fval = objective(G, R);
  const Mi = new Float64Array(n * m);
  const vertex = new VertexProducts(D.h1, D.h2, n, m, D.products.gemm);
  let it = 0;
  let err = Infinity;
  let converged = false;
  let pivots = 0;
  let warm: { u: Float64Array; v: Float64Array } | undefined;
  let backend: BackendName = 'wasm';
  // the linear steps share one simplex context, each from the previous optimal basis (exact-sequence.ts)
  const wasm = D.products.kernels;
  const seq = wasm ? ExactSequence.create(wasm, a, b) : undefined;
  // the gradient at the start; the steps write the next ones
  let scale = linearize(Mi, Mf, alpha, D, R, n, m);
  try {
    while (true) {
      it++;
      const old = fval;
      let lin: { plan: SparseCoupling; iterations: number };
      if (seq) {
        lin = await seq.solve(Mi, opts.signal, scale, keys);
        keys = undefined;
      }
      else {
        const r = await exactOT(a, b, { data: Mi, rows: n, cols: m }, opts.signal, warm);
        warm = { u: r.u, v: r.v };
        lin = r;
      }
      pivots += lin.iterations;
      backend = 'wasm';
      // the vertex Gc (sparse) and its product Rc = h1 · Gc · h2ᵀ
      vertex.update(lin.plan);
      const { Gc, Rc } = vertex;
      // exact line search on f(G + τΔ) = c + τ·bq + τ²·aq
      const [dRdG, cross, linear] = direction(Gc, G, Rc, R, Mf, alpha, D, n, m);
      const aq = -alpha * dRdG;
      const bq = -alpha * cross + linear;
      let tau: number;
      if (aq > 0) tau = Math.min(1, Math.max(0, -bq / (2 * aq)));
      else tau = fval > aq + fval + bq ? 1 : 0;
      [fval, scale] = step(G, R, Gc, Rc, tau, Mf, alpha, D, n, m, Mi);
      const absDelta = Math.abs(fval - old);
      // relative change, absolute at a zero objective (0/0 would report NaN for an exact match)
      err = fval === 0 ? absDelta : absDelta / Math.abs(fval);
      opts.onProgress?.({ iterations: it, value: fval, error: err });
      if (err < tol || absDelta < tol) {
        converged = true;
        break;
      }
      if (it >= maxIter) break;
      await abortPoint(opts.signal, () => `gromovWasserstein, after ${it} conditional gradient steps`);
    }
  } finally {
    seq?.free();
  }
  void pivots;
  const gw = lossOf(D, R, G, n, m);
  return {
    value: fval,
    gw,
    ...(Mf ? { cost: dot(Mf, G) } : {}),
    plan: new DenseCoupling(n, m, G),
    status: converged ? 'converged' : 'max-iterations',
    iterations: it,
    error: err,
    backend,
    threads: D.products.threadsUsed,
    start,
    startIndex: 0,
    startValues: [fval],
    algorithm: 'conditional-gradient',
  };
}

async function entropicGW(
  D: Decomposition, a: Float64Array, b: Float64Array, M: DenseMatrix | undefined, alpha: number, G: Float64Array,
  n: number, m: number, reg: number, maxIter: number, tol: number, start: 'product' | 'init' | 'random', webgpu: boolean, opts: GromovOptions,
): Promise<GromovResult> {
  const beta = 1 - alpha;
  const Mf = M?.data;
  // work arrays allocated once: the plan and the previous one (swapped), the gradient, the product h1·T·h2ᵀ and
  // its intermediate T·h2ᵀ
  let T: Float64Array = G;
  let Tprev: Float64Array = new Float64Array(n * m);
  const grad = new Float64Array(n * m);
  const X = new Float64Array(n * m);
  // the products on the GPU where the solve has them (gromov-gpu.ts), else on the CPU
  const next = async (P: Float64Array, R?: Float64Array) => (D.gpu ? D.gpu.chain(P, R ?? new Float64Array(n * m)) : product(D, P, n, m, X, R));
  let R = start === 'product' ? productOfOuter(D, a, b, n, m).R : await next(T);
  // the projections share one engine, each warm-started from the previous potentials (inner.ts)
  // where the products run threaded, so do the inner passes from INNER_THREADS_FROM entries: an entropic GW solve
  // is hundreds of short warm-started Sinkhorn runs, whose helpers are awake anyway (sinkhorn's 'auto' waits for 2^18)
  const wanted = opts.threads ?? 'auto';
  const innerThreads = wanted !== 'auto' ? wanted : D.products.threads > 1 && n * m >= INNER_THREADS_FROM ? D.products.threads : 'auto';
  const inner = new EntropicSequence(a, b, reg, 1000, webgpu ? F32_INNER_TOL * sum(a) : 1e-9, opts.maxBytes, webgpu ? 'webgpu' : 'wasm', innerThreads);
  let it = 0;
  let err = Infinity;
  let backend: BackendName = 'wasm';
  let threads = 1;
  try {
    while (err > tol && it < maxIter) {
      const scale = linearize(grad, Mf, alpha, D, R, n, m);
      const s = await inner.solve(grad, scale, opts.signal);
      backend = s.backend;
      threads = Math.max(s.threads, D.products.threadsUsed);
      const spare = Tprev;
      Tprev = T;
      T = spare;
      await inner.planInto(T);
      if (it % 10 === 0) err = distance(T, Tprev);
      R = await next(T, R);
      it++;
      if (opts.onProgress) {
        // the objective of the current plan (O(nm), next to the O(n²m + nm²) product above)
        const g = lossOf(D, R, T, n, m);
        opts.onProgress({ iterations: it, value: Mf ? beta * dot(Mf, T) + alpha * g : g, error: err });
      }
      await abortPoint(opts.signal, () => `gromovWasserstein (entropic), after ${it} iterations`);
    }
  } finally {
    inner.dispose();
  }
  const gw = lossOf(D, R, T, n, m);
  const cost = Mf ? dot(Mf, T) : undefined;
  return {
    value: Mf ? beta * cost! + alpha * gw : gw,
    gw,
    ...(cost !== undefined ? { cost } : {}),
    plan: new DenseCoupling(n, m, T),
    status: err <= tol ? 'converged' : 'max-iterations',
    iterations: it,
    error: err,
    backend,
    threads,
    start,
    startIndex: 0,
    startValues: [Mf ? beta * cost! + alpha * gw : gw],
    algorithm: 'entropic',
  };
}

/**
 * Gromov–Wasserstein (and fused GW) between two spaces given by structure matrices C1 (n × n) and C2 (m × m),
 * e.g. pairwise distances, or by point clouds `{ points, metric? }` (see {@link StructureCloud}: squared Euclidean
 * clouds with the square loss are applied in low rank, O(nm·d) per iteration and no n × n memory). Without `reg`: conditional gradient from `init` (default a·bᵀ, as POT) with exact line
 * search, each step an exact OT (POT's gromov_wasserstein / fused_gromov_wasserstein; C1, C2 must be symmetric,
 * OTError 'shape' otherwise). With `reg`: entropic GW (POT's entropic_gromov_wasserstein), our Sinkhorn inside,
 * warm-started. `M` (n × m) and `alpha` give FGW = (1 − α)⟨M, P⟩ + α·GW. GW is non-convex: the result is a
 * stationary point that depends on the start (reported as `start`).
 */
export const gromovWasserstein = defineSolver({
  name: 'gromovWasserstein',
  summary: 'Gromov–Wasserstein and fused GW (conditional gradient on exact OT, or entropic).',
  params: ['C1', 'C2'],
  options: {
    a: opt(vector, 'Weights of the first space (n, ≥ 0). POT: p.', 'uniform'),
    b: opt(vector, 'Weights of the second space (m, ≥ 0; same total as a). POT: q.', 'uniform'),
    loss: opt(oneOf('square', 'kl'), "The loss: 'square' (x − y)², 'kl' x log(x/y) − x + y. POT: loss_fun.", "'square'"),
    reg: opt(num({ gt: 0 }), 'Entropic regularization: entropic GW, each step a warm-started Sinkhorn to an L2 marginal error < 1e-9 (as POT); absent: conditional gradient. POT: epsilon.'),
    alpha: opt(num({ min: 0, max: 1 }), 'Fused GW trade-off: (1 − α)⟨M, P⟩ + α·GW (needs M). POT: alpha.', '0.5 with M'),
    M: opt(matrix, 'Feature cost n × m for fused GW. POT: M.'),
    init: opt(matrix, 'Starting plan n × m with marginals a, b. POT: G0.', 'a·bᵀ'),
    starts: opt(num({ integer: true, min: 1 }), 'Number of starts: init (or a·bᵀ), then random vertices of the transport polytope; the best result is returned.', '1'),
    seed: opt(num({ integer: true, min: 0 }), 'Seed of the random starts.', '0'),
    maxIter: opt(num({ integer: true, min: 1 }), 'Outer iterations at most. POT: numItermax / max_iter.', '200 (CG), 1000 (entropic)'),
    tol: opt(num({ min: 0 }), 'CG: relative or absolute change of the objective; entropic: ‖P_t − P_{t−1}‖_F every 10 iterations. POT: stopThr / tol.', '1e-9'),
    threads: opt(
      anyOf(oneOf('auto'), num({ integer: true, min: 1 })),
      "wasm: threads that share each product h1·P·h2ᵀ and each inner Sinkhorn pass; 'auto' uses every core from n·m·max(n, m) ≥ 2^21 (products) and n·m ≥ 2^18 (Sinkhorn) (a hint, never an error).",
      "'auto'",
    ),
    precision: opt(oneOf('f64', 'f32'), "Entropic GW on wasm: 'f32' products h1·P·h2ᵀ (~2× faster, values to ~1e-6 relative); the conditional gradient needs 'f64'.", "'f64'"),
    backend: backendOption(['wasm', 'webgpu']),
    signal: signalOption,
    onProgress: progressOption('{ iterations, value, error }'),
    maxBytes: maxBytesOption,
    worker: workerOption,
  },
  backends: ['wasm', 'webgpu'],
  workEstimate: (args) => {
    const n = structureSize(args[0]);
    const m = structureSize(args[1]);
    return n * m * Math.max(n, m);
  },
  run: gromovRun,
});
