// The wasm (f64, SIMD) barycenter engine: the iterations of ts/solvers/barycenter.ts run in
// assembly/barycenter.ts on buffers allocated once in wasm memory; the host copies the inputs in, runs the
// iterations in chunks (checking the abort signal between chunks) and copies the barycenter out. Same
// algorithms, same update order and stopping rule as the plain-TS reference there; results agree to rounding
// (tests/barycenter-wasm.test.ts). The log domain runs each histogram on a stabilised kernel (k × n × nb, when
// it fits; exact log-sum-exps otherwise), which makes it about as fast as the scaling form. The convolutional
// barycenter's log form (wasmConvolutionalLog) blurs with exact separable log-sum-exps: hw(h + w)
// exponentials per blur, 10–30× the scaling form's cost per iteration.
import { OTError } from '../errors.js';
import { DEFAULT_MAX_BYTES, checkAbort } from '../validate.js';
import { type WasmKernels, type WasmScope } from './wasm.js';

/** The largest single allocation of AssemblyScript's TLSF allocator (2^30 bytes, less its header). */
const MAX_BLOCK = 2 ** 30 - 64;
/** Entry operations per chunk of iterations between two checks of the abort signal (~10 ms). */
const CHUNK_WORK = 2e7;

/** Where the iterations stopped. `p` is the barycenter as the reference computes it before its final step. */
export interface WasmIterOutcome {
  p: Float64Array;
  iterations: number;
  error: number;
}

export interface IbpProblem {
  /** Normalized histograms (k of length n). */
  hist: Float64Array[];
  lambda: Float64Array;
  /** Cost, n × nb row-major. */
  C: Float64Array;
  n: number;
  nb: number;
  reg: number;
  maxIter: number;
  tol: number;
  signal?: AbortSignal;
}

type Run = (...args: number[]) => number;

function unavailable(what: string, e: unknown): OTError {
  if (e instanceof OTError && e.code !== 'too-large') return e;
  return new OTError('backend-unavailable', `wasm: ${what} does not fit in wasm memory (${(e as Error).message}); use the js backend or a smaller problem.`);
}

function checkBlock(bytes: number, what: string): void {
  if (bytes > MAX_BLOCK) throw new OTError('backend-unavailable', `wasm: ${what} exceeds the wasm allocator's 1 GiB block limit; use the js backend or a smaller problem.`);
}

/** Runs `run(count)` (which returns the iterations it ran) in chunks until maxIter, convergence or a stop. */
function chunked(maxIter: number, perIter: number, signal: AbortSignal | undefined, run: (count: number) => { ran: number; stop: boolean }): number {
  const chunk = Math.max(1, Math.floor(CHUNK_WORK / Math.max(1, perIter)));
  const limit = Math.ceil(maxIter); // the reference's `while (it < maxIter)` runs ⌈maxIter⌉ iterations
  let it = 0;
  while (it < limit) {
    checkAbort(signal);
    const want = Math.min(chunk, limit - it);
    const { ran, stop } = run(want);
    it += ran;
    if (stop || ran < want) break;
  }
  return it;
}

function withScope<T>(k: WasmKernels, what: string, body: (mem: WasmScope) => T): T {
  const mem = k.scope();
  try {
    return body(mem);
  } catch (e) {
    if (e instanceof OTError && e.code === 'too-large') throw unavailable(what, e);
    throw e;
  } finally {
    mem.release();
  }
}

/**
 * Iterative Bregman projections, scaling form. Returns p (unnormalized) and the error of the last iteration;
 * a non-finite error means the iteration overflowed (the caller throws, as the reference does).
 */
export function wasmIbpScaling(k: WasmKernels, pr: IbpProblem): WasmIterOutcome {
  const run = k.fn<Run>('ibpScalingRun');
  const { hist, lambda, C, n, nb, reg } = pr;
  const kk = hist.length;
  const what = `the ${n} × ${nb} kernel`;
  checkBlock(n * nb * 8, what);
  return withScope(k, what, (mem) => {
    const pK = mem.alloc(Math.max(8, n * nb * 8));
    const pHist = mem.f64(kk * n);
    const pLambda = mem.put(lambda);
    const pV = mem.f64(kk * nb);
    const pKtU = mem.f64(kk * nb);
    const pU = mem.f64(kk * n);
    const pP = mem.f64(Math.max(1, nb));
    const pErr = mem.f64(1);
    // views after the last allocation (growth detaches them)
    const K = k.f64(pK, n * nb);
    for (let q = 0; q < n * nb; q++) K[q] = Math.exp(-C[q] / reg);
    const H = k.f64(pHist, kk * n);
    hist.forEach((a, t) => H.set(a, t * n));
    k.f64(pV, kk * nb).fill(1);
    let error = Infinity;
    const iterations = chunked(pr.maxIter, 2 * n * nb * kk, pr.signal, (count) => {
      const ran = run(n, nb, kk, pK, pHist, pLambda, pV, pKtU, pU, pP, count, pr.tol, pErr);
      error = k.f64(pErr, 1)[0];
      return { ran, stop: !Number.isFinite(error) || error < pr.tol };
    });
    return { p: k.f64(pP, nb).slice(), iterations, error };
  });
}

/**
 * Iterative Bregman projections, log domain. Returns log p (unnormalized) as `p`. The k stabilised kernels
 * (k × n × nb) are stored when they fit `maxBytes` (default: the library's budget) and one allocator block,
 * unless `storeKernels` is false; otherwise every update is an exact log-sum-exp (slower, same iterates).
 */
export function wasmIbpLog(k: WasmKernels, pr: IbpProblem & { storeKernels?: boolean; maxBytes?: number }): WasmIterOutcome & { rebuilds: number; fallbacks: number } {
  const run = k.fn<Run>('ibpLogRun');
  const { hist, lambda, C, n, nb, reg } = pr;
  const kk = hist.length;
  const what = `the ${n} × ${nb} cost matrix and its transpose`;
  checkBlock(n * nb * 8, what);
  return withScope(k, what, (mem) => {
    const pC = mem.put(C);
    const pCT = mem.alloc(Math.max(8, n * nb * 8));
    const pLogHist = mem.f64(kk * n);
    const pLambda = mem.put(lambda);
    const pG = mem.f64(kk * nb);
    const pH = mem.f64(kk * nb);
    const pF = mem.f64(Math.max(1, kk * n));
    const pBuf = mem.f64(Math.max(n, nb, 1));
    const pLogP = mem.f64(Math.max(1, nb));
    const pErr = mem.f64(1);
    const pCounters = mem.f64(2);
    let pK = 0;
    const kernelBytes = kk * n * nb * 8;
    if ((pr.storeKernels ?? true) && kernelBytes <= Math.min(pr.maxBytes ?? DEFAULT_MAX_BYTES, MAX_BLOCK)) {
      try {
        pK = mem.alloc(Math.max(8, kernelBytes));
      } catch {
        pK = 0; // no room: exact log-sum-exps
      }
    }
    const pAlpha = mem.f64(Math.max(1, kk * n));
    const pBeta = mem.f64(Math.max(1, kk * nb));
    const pValid = mem.f64(Math.max(1, kk));
    const pU = mem.f64(Math.max(1, n));
    const pS = mem.f64(Math.max(1, n));
    const pT = mem.f64(Math.max(1, nb));
    const pV = mem.f64(Math.max(1, nb));
    // views after the last allocation (growth detaches them)
    const CT = k.f64(pCT, n * nb);
    for (let i = 0; i < n; i++) for (let j = 0; j < nb; j++) CT[j * n + i] = C[i * nb + j];
    const LH = k.f64(pLogHist, kk * n);
    hist.forEach((a, t) => {
      for (let i = 0; i < n; i++) LH[t * n + i] = a[i] === 0 ? -Infinity : Math.log(a[i]);
    });
    let error = Infinity;
    const perIter = (pK ? 4 : 12) * n * nb * kk;
    const iterations = chunked(pr.maxIter, perIter, pr.signal, (count) => {
      const ran = run(n, nb, kk, reg, pC, pCT, pLogHist, pLambda, pG, pH, pF, pBuf, pLogP, pK, pAlpha, pBeta, pValid, pU, pS, pT, pV, pCounters, count, pr.tol, pErr);
      error = k.f64(pErr, 1)[0];
      return { ran, stop: error < pr.tol };
    });
    const counters = k.f64(pCounters, 2);
    return { p: k.f64(pLogP, nb).slice(), iterations, error, rebuilds: counters[0], fallbacks: counters[1] };
  });
}

export interface ConvolutionalProblem {
  /** Normalized images (k of length h·w). */
  imgs: Float64Array[];
  lambda: Float64Array;
  h: number;
  w: number;
  /** The 1D Gaussian kernels, h × h and w × w (symmetric). */
  xiH: Float64Array;
  xiW: Float64Array;
  maxIter: number;
  tol: number;
  signal?: AbortSignal;
}

/** The convolutional barycenter's iterations; `p` is the barycenter of the last iteration (as the reference returns it). */
export function wasmConvolutional(k: WasmKernels, pr: ConvolutionalProblem): WasmIterOutcome {
  const run = k.fn<Run>('convRun');
  const { imgs, lambda, h, w } = pr;
  const kk = imgs.length;
  const hw = h * w;
  const what = `the ${kk} images of ${h} × ${w} pixels`;
  checkBlock(kk * hw * 8, what);
  return withScope(k, what, (mem) => {
    const pXiH = mem.put(pr.xiH);
    const pXiW = mem.put(pr.xiW);
    const pImgs = mem.f64(kk * hw);
    const pLambda = mem.put(lambda);
    const pU = mem.f64(kk * hw);
    const pKV = mem.f64(kk * hw);
    const pKU = mem.f64(kk * hw);
    const pRatio = mem.f64(kk * hw);
    const pTmp = mem.f64(hw);
    const pLogP = mem.f64(hw);
    const pP = mem.f64(hw);
    const pErr = mem.f64(1);
    const I = k.f64(pImgs, kk * hw);
    imgs.forEach((x, t) => I.set(x, t * hw));
    k.f64(pU, kk * hw).fill(1);
    let error = Infinity;
    const iterations = chunked(pr.maxIter, 4 * hw * (h + w) * kk, pr.signal, (count) => {
      const ran = run(h, w, kk, pXiH, pXiW, pImgs, pLambda, pU, pKV, pKU, pRatio, pTmp, pLogP, pP, count, pr.tol, pErr);
      error = k.f64(pErr, 1)[0];
      return { ran, stop: error < pr.tol };
    });
    return { p: k.f64(pP, hw).slice(), iterations, error };
  });
}

export interface ConvolutionalLogProblem {
  /** Log of the normalized images (k of length h·w; −∞ at zero pixels). */
  logImgs: Float64Array[];
  lambda: Float64Array;
  h: number;
  w: number;
  /** The 1D log kernels lH[i,r] = −((i−r)/(h−1))²/ε (h × h) and lW (w × w), symmetric. */
  lH: Float64Array;
  lW: Float64Array;
  maxIter: number;
  tol: number;
  signal?: AbortSignal;
}

/**
 * The convolutional barycenter's iterations in the log domain (convLogRun); `p` is the barycenter of the last
 * iteration, e^{log p} (as the reference returns it).
 */
export function wasmConvolutionalLog(k: WasmKernels, pr: ConvolutionalLogProblem): WasmIterOutcome {
  const run = k.fn<Run>('convLogRun');
  const { logImgs, lambda, h, w } = pr;
  const kk = logImgs.length;
  const hw = h * w;
  const what = `the ${kk} images of ${h} × ${w} pixels`;
  checkBlock(kk * hw * 8, what);
  return withScope(k, what, (mem) => {
    const pLH = mem.put(pr.lH);
    const pLW = mem.put(pr.lW);
    const pLogImgs = mem.f64(kk * hw);
    const pLambda = mem.put(lambda);
    const pLU = mem.f64(kk * hw);
    const pLKV = mem.f64(kk * hw);
    const pLKU = mem.f64(kk * hw);
    const pLR = mem.f64(kk * hw);
    const pXT = mem.f64(hw);
    const pTmp = mem.f64(hw);
    const pBuf = mem.f64(Math.max(h, w, 2));
    const pLogP = mem.f64(hw);
    const pP = mem.f64(hw);
    const pErr = mem.f64(1);
    // views after the last allocation (growth detaches them); LU starts at 0 (U = 1), P at 0
    const I = k.f64(pLogImgs, kk * hw);
    logImgs.forEach((x, t) => I.set(x, t * hw));
    k.f64(pLU, kk * hw).fill(0);
    k.f64(pP, hw).fill(0);
    let error = Infinity;
    // one log-domain blur: hw(h + w) exponentials, each worth several multiply-adds
    const iterations = chunked(pr.maxIter, 16 * hw * (h + w) * kk, pr.signal, (count) => {
      const ran = run(h, w, kk, pLH, pLW, pLogImgs, pLambda, pLU, pLKV, pLKU, pLR, pXT, pTmp, pBuf, pLogP, pP, count, pr.tol, pErr);
      error = k.f64(pErr, 1)[0];
      return { ran, stop: error < pr.tol };
    });
    return { p: k.f64(pP, hw).slice(), iterations, error };
  });
}

/** The 1D log-domain blur alone (for tests): out_t = log(ξ_h · e^{x_t} · ξ_w) for each log-image x_t (k × h·w). */
export function wasmLogBlur(k: WasmKernels, lH: Float64Array, lW: Float64Array, h: number, w: number, X: Float64Array): Float64Array {
  const blur = k.fn<(...args: number[]) => void>('convLogBlur');
  const hw = h * w;
  const kk = X.length / hw;
  return withScope(k, 'the log blur', (mem) => {
    const pLH = mem.put(lH);
    const pLW = mem.put(lW);
    const pX = mem.put(X);
    const pXT = mem.f64(Math.max(1, hw));
    const pTmp = mem.f64(Math.max(1, hw));
    const pBuf = mem.f64(Math.max(h, w, 2));
    const pOut = mem.f64(Math.max(1, X.length));
    blur(h, w, pLH, pLW, kk, pX, pXT, pTmp, pBuf, pOut);
    return k.f64(pOut, X.length).slice();
  });
}

/** The 1D blur alone (for tests): out_t = ξ_h · x_t · ξ_w for each image x_t (k × h·w). */
export function wasmBlur(k: WasmKernels, xiH: Float64Array, xiW: Float64Array, h: number, w: number, X: Float64Array): Float64Array {
  const blur = k.fn<(...args: number[]) => void>('convBlur');
  const hw = h * w;
  const kk = X.length / hw;
  return withScope(k, 'the blur', (mem) => {
    const pXiH = mem.put(xiH);
    const pXiW = mem.put(xiW);
    const pX = mem.put(X);
    const pTmp = mem.f64(Math.max(1, hw));
    const pOut = mem.f64(Math.max(1, X.length));
    blur(h, w, pXiH, pXiW, kk, pX, pTmp, pOut);
    return k.f64(pOut, X.length).slice();
  });
}
