// POT 0.8.2's generic conditional gradient (ot.optim.cg) with its Armijo line search (ot.optim.line_search_armijo over
// scipy's scalar_search_armijo), step for step: MappingTransport's plan update must follow POT's iterates, since it
// stops after a few steps (numInnerItermax = 10), long before the optimum. (weakOT's conditional gradient uses the
// exact line search of its quadratic instead; it runs to convergence.)
import type { DenseMatrix } from '../types.js';
import { exactOT } from '../solvers/inner.js';

/** The objective's smooth part f(G) and its gradient, on dense n × m plans. */
export interface SmoothPart {
  f(G: Float64Array): number;
  df(G: Float64Array): Float64Array;
}

/**
 * scipy.optimize.scalar_search_armijo (c1 = 1e-4, amin = 0): backtracking from alpha0 by quadratic, then cubic
 * interpolation until phi(α) ≤ phi0 + c1·α·derphi0. Returns [α, phi(α)], α undefined when no step qualifies.
 */
export function scalarSearchArmijo(phi: (alpha: number) => number, phi0: number, derphi0: number, alpha0: number, c1 = 1e-4): [number | undefined, number] {
  let phiA0 = phi(alpha0);
  if (phiA0 <= phi0 + c1 * alpha0 * derphi0) return [alpha0, phiA0];
  let alpha1 = (-derphi0 * alpha0 ** 2) / 2 / (phiA0 - phi0 - derphi0 * alpha0);
  let phiA1 = phi(alpha1);
  if (phiA1 <= phi0 + c1 * alpha1 * derphi0) return [alpha1, phiA1];
  while (alpha1 > 0) {
    const factor = alpha0 ** 2 * alpha1 ** 2 * (alpha1 - alpha0);
    let a = alpha0 ** 2 * (phiA1 - phi0 - derphi0 * alpha1) - alpha1 ** 2 * (phiA0 - phi0 - derphi0 * alpha0);
    a /= factor;
    let b = -(alpha0 ** 3) * (phiA1 - phi0 - derphi0 * alpha1) + alpha1 ** 3 * (phiA0 - phi0 - derphi0 * alpha0);
    b /= factor;
    let alpha2 = (-b + Math.sqrt(Math.abs(b ** 2 - 3 * a * derphi0))) / (3 * a);
    const phiA2 = phi(alpha2);
    if (phiA2 <= phi0 + c1 * alpha2 * derphi0) return [alpha2, phiA2];
    if (alpha1 - alpha2 > alpha1 / 2 || 1 - alpha2 / alpha1 < 0.96) alpha2 = alpha1 / 2;
    alpha0 = alpha1;
    alpha1 = alpha2;
    phiA0 = phiA1;
    phiA1 = phiA2;
  }
  return [undefined, phiA1];
}

/**
 * min_G ⟨M, G⟩ + reg·f(G) over the plans with marginals a, b, from G0, by conditional gradient: each step solves the
 * exact OT of the linearisation M + reg·∇f(G) (plus its minimum, as POT), then moves by POT's Armijo step (α0 = 0.99,
 * clipped to [0, 1]). Stops after maxIter steps or when the objective changes by < tol relatively or < 1e-9
 * absolutely. POT: ot.optim.cg(a, b, M, reg, f, df, G0, numItermax, stopThr=tol).
 */
export async function conditionalGradient(
  a: Float64Array, b: Float64Array, M: DenseMatrix, reg: number, smooth: SmoothPart, G0: Float64Array, maxIter: number, tol: number,
): Promise<Float64Array> {
  const n = M.rows;
  const m = M.cols;
  const cost = (G: Float64Array) => {
    let s = 0;
    for (let t = 0; t < G.length; t++) s += M.data[t] * G[t];
    return s + reg * smooth.f(G);
  };
  let G = Float64Array.from(G0);
  let fVal = cost(G);
  const Mi = new Float64Array(n * m);
  const delta = new Float64Array(n * m);
  const trial = new Float64Array(n * m);
  for (let it = 1; ; it++) {
    const old = fVal;
    const grad = smooth.df(G);
    let min = Infinity;
    for (let t = 0; t < Mi.length; t++) min = Math.min(min, (Mi[t] = M.data[t] + reg * grad[t]));
    for (let t = 0; t < Mi.length; t++) Mi[t] += min;
    const Gc = (await exactOT(a, b, { data: Mi, rows: n, cols: m })).plan.toDense();
    let derphi0 = 0;
    for (let t = 0; t < delta.length; t++) derphi0 += (delta[t] = Gc[t] - G[t]) * Mi[t];
    const phi = (alpha: number) => {
      for (let t = 0; t < trial.length; t++) trial[t] = G[t] + alpha * delta[t];
      return cost(trial);
    };
    const [found, phi1] = scalarSearchArmijo(phi, fVal, derphi0, 0.99);
    // POT clips the step to [0, 1] but keeps phi at the unclipped one as the new objective
    const alpha = found === undefined ? 0 : Math.min(1, Math.max(0, found));
    fVal = found === undefined ? fVal : phi1;
    const next = new Float64Array(n * m);
    for (let t = 0; t < next.length; t++) next[t] = G[t] + alpha * delta[t];
    G = next;
    if (it >= maxIter) break;
    const absDelta = Math.abs(fVal - old);
    if (absDelta / Math.abs(fVal) < tol || absDelta < 1e-9) break;
  }
  return G;
}
