// The convex conjugate of an ICNN at a batch of points, by per-row L-BFGS (Amos 2023, "On amortizing convex
// conjugates for optimal transport", ICLR: an amortised prediction fine-tuned by a few L-BFGS steps).
//
//   g*(y) = max_x ⟨x, y⟩ − g(x),   x*(y) = argmax = ∇g*(y).
// Each row i minimises h_i(x) = g(x) − ⟨x, y_i⟩ on its own (the batch objective is separable), so the two-loop
// recursion, the curvature pairs and the backtracking line search are kept per row: a row's quasi-Newton model
// never mixes in another row's curvature, as vmapping a single-point L-BFGS would do. One iteration costs one
// forward + backward of g on the batch (plus one per line-search halving for the rows that need it); the values
// cross to JS (a [n, D] read-back) for the small per-row arithmetic.
import type { TensorEngine } from './engine.js';
import type { ICNN } from './models.js';
import { grad as autograd, enableGrad, sum, tensor, tidy } from './tensor.js';

/** h_i(x_i) = g(x_i) − ⟨x_i, y_i⟩ and its gradient ∇g(x_i) − y_i for every row of X ([n, D] row-major). */
async function evaluate(g: ICNN, engine: TensorEngine, X: Float64Array, Y: Float64Array, n: number, D: number): Promise<{ h: Float64Array; G: Float64Array }> {
  const [v, gr] = tidy(() =>
    enableGrad(() => {
      const x = tensor(X, [n, D], engine).requireGrad();
      const out = g.forward(x);
      return [out, autograd(sum(out), [x])[0]];
    }),
  );
  try {
    const [h, G] = await Promise.all([v.read(), gr.read()]);
    for (let i = 0; i < n; i++) {
      let dot = 0;
      for (let j = 0; j < D; j++) {
        const o = i * D + j;
        dot += X[o] * Y[o];
        G[o] -= Y[o];
      }
      h[i] -= dot;
    }
    return { h, G };
  } finally {
    v.dispose();
    gr.dispose();
  }
}

/** What conjugateLBFGS found. */
export interface ConjugateSolution {
  /** argmax_x ⟨x, y⟩ − g(x) per row ([n, D] row-major). */
  X: Float64Array;
  /** g*(y) = ⟨x, y⟩ − g(x) per row at X. */
  value: Float64Array;
  /** Largest row norm of the gradient ∇g(x) − y at X (0 at the exact conjugate). */
  maxGradNorm: number;
  /** Evaluations of g and ∇g on the batch. */
  evaluations: number;
}

/**
 * x*(y) = argmax_x ⟨x, y⟩ − g(x) for every row y of Y, by at most `steps` per-row L-BFGS iterations (memory
 * `memory`) from X0, each with a backtracking Armijo line search (step 1, then halvings; a row that finds no
 * decrease keeps its point). Stops early when every row's gradient norm is below `tol`. g must be convex (an ICNN).
 */
export async function conjugateLBFGS(
  g: ICNN,
  engine: TensorEngine,
  Y: Float64Array,
  X0: Float64Array,
  n: number,
  D: number,
  opts: { steps: number; memory?: number; tol?: number; maxHalvings?: number },
): Promise<ConjugateSolution> {
  const m = opts.memory ?? 5;
  const tol = opts.tol ?? 1e-6;
  const maxHalvings = opts.maxHalvings ?? 4;
  let X = Float64Array.from(X0);
  let { h, G } = await evaluate(g, engine, X, Y, n, D);
  let evaluations = 1;
  const S: Float64Array[] = [];
  const Yc: Float64Array[] = [];
  const rho: Float64Array[] = [];
  const alpha = new Float64Array(m * n);
  const dir = new Float64Array(n * D);
  const rowDot = (a: Float64Array, b: Float64Array, i: number) => {
    let s = 0;
    for (let j = i * D; j < (i + 1) * D; j++) s += a[j] * b[j];
    return s;
  };
  const gradNorm = () => {
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.sqrt(rowDot(G, G, i)));
    return worst;
  };
  for (let it = 0; it < opts.steps && gradNorm() > tol; it++) {
    // two-loop recursion, row by row: dir = −H_i G_i
    for (let i = 0; i < n; i++) {
      const q = dir.subarray(i * D, (i + 1) * D);
      for (let j = 0; j < D; j++) q[j] = G[i * D + j];
      for (let k = S.length - 1; k >= 0; k--) {
        if (rho[k][i] === 0) continue;
        let a = 0;
        for (let j = 0; j < D; j++) a += S[k][i * D + j] * q[j];
        a *= rho[k][i];
        alpha[k * n + i] = a;
        for (let j = 0; j < D; j++) q[j] -= a * Yc[k][i * D + j];
      }
      let gamma = 1;
      for (let k = S.length - 1; k >= 0; k--) {
        if (rho[k][i] === 0) continue;
        gamma = 1 / (rho[k][i] * rowDot(Yc[k], Yc[k], i)); // ⟨s, y⟩ / ⟨y, y⟩ of the newest usable pair
        break;
      }
      for (let j = 0; j < D; j++) q[j] *= gamma;
      for (let k = 0; k < S.length; k++) {
        if (rho[k][i] === 0) continue;
        let b = 0;
        for (let j = 0; j < D; j++) b += Yc[k][i * D + j] * q[j];
        b *= rho[k][i];
        for (let j = 0; j < D; j++) q[j] += S[k][i * D + j] * (alpha[k * n + i] - b);
      }
      let slope = 0;
      for (let j = 0; j < D; j++) {
        q[j] = -q[j];
        slope += q[j] * G[i * D + j];
      }
      if (!(slope < 0)) for (let j = 0; j < D; j++) q[j] = -G[i * D + j]; // not a descent direction: steepest descent
    }
    // backtracking line search, every row with its own step: rows still searching take the halved step
    const step = new Float64Array(n).fill(1);
    const done = new Uint8Array(n);
    const Xn = Float64Array.from(X);
    const hn = Float64Array.from(h);
    const Gn = Float64Array.from(G);
    for (let tries = 0; tries <= maxHalvings; tries++) {
      const trial = Float64Array.from(Xn);
      for (let i = 0; i < n; i++) if (!done[i]) for (let j = i * D; j < (i + 1) * D; j++) trial[j] = X[j] + step[i] * dir[j];
      const e = await evaluate(g, engine, trial, Y, n, D);
      evaluations++;
      let open = 0;
      for (let i = 0; i < n; i++) {
        if (done[i]) continue;
        if (e.h[i] <= h[i] + 1e-4 * step[i] * rowDot(dir, G, i)) {
          done[i] = 1;
          hn[i] = e.h[i];
          for (let j = i * D; j < (i + 1) * D; j++) {
            Xn[j] = trial[j];
            Gn[j] = e.G[j];
          }
        } else {
          step[i] /= 2;
          open++;
        }
      }
      if (open === 0) break;
    }
    // curvature pairs (s, y) per row; a row without a step or without positive curvature stores ρ = 0 (skipped)
    const s = new Float64Array(n * D);
    const yv = new Float64Array(n * D);
    const r = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      for (let j = i * D; j < (i + 1) * D; j++) {
        s[j] = Xn[j] - X[j];
        yv[j] = Gn[j] - G[j];
      }
      const sy = rowDot(s, yv, i);
      r[i] = sy > 1e-12 ? 1 / sy : 0;
    }
    S.push(s);
    Yc.push(yv);
    rho.push(r);
    if (S.length > m) {
      S.shift();
      Yc.shift();
      rho.shift();
    }
    X = Xn;
    h = hn;
    G = Gn;
  }
  const value = new Float64Array(n);
  for (let i = 0; i < n; i++) value[i] = -h[i];
  return { X, value, maxGradNorm: gradNorm(), evaluations };
}
