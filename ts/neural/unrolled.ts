// Entropic OT losses differentiated by unrolling (the `gradient: 'unrolled'` option of sinkhornLoss and
// entropicOTLoss): a fixed number of log-domain Sinkhorn iterations written with the tensor ops, so autodiff
// goes through every iteration (Adams & Zemel 2011; Genevay et al. 2018), on the tensors' own engine. At
// convergence this is the envelope gradient (losses.ts); before it, it is the exact gradient of the truncated
// loss, which is what bilevel uses and gradient checks want. Costs O(iterations · n · m) memory for the graph:
// meant for small problems (the envelope gradient costs nothing beyond the solve).
//
// Iterations, in the KL(P | a ⊗ b) form whose potentials are the gradients w.r.t. the weights:
//   f_i ← −ε LSE_j((g_j − C_ij)/ε + log b_j),   g_j ← −ε LSE_i((f_i − C_ij)/ε + log a_i)
// from f = g = 0; after a g-update the plan a_i b_j e^{(f_i + g_j − C_ij)/ε} has column sums b exactly, so its mass
// is Σb = 1 and the dual objective is OT_ε = ⟨a, f⟩ + ⟨b, g⟩ (the mass term vanishes).
import { OTError } from '../errors.js';
import { toCost } from '../costs.js';
import { logSumExp, pairwiseSqDist } from './functional.js';
import { Tensor, add, log, mul, reshape, scale, sub, sum, tensor, zeros } from './tensor.js';
import type { EntropicLossOptions } from './losses.js';

/** Iterations when `maxIter` is not given. */
export const DEFAULT_UNROLLED_ITERATIONS = 100;

/** log-weights as a column [n, 1] (axis 'col') or a row [1, m]: from a weight tensor (in the graph) or numbers. */
function logWeights(w: EntropicLossOptions['a'], n: number, like: Tensor, shape: number[]): { w: Tensor; logw: Tensor } {
  if (w === undefined) {
    const t = tensor(new Float64Array(n).fill(1 / n), shape, like.engine);
    return { w: t, logw: tensor(new Float64Array(n).fill(-Math.log(n)), shape, like.engine) };
  }
  const t = w instanceof Tensor ? reshape(w, shape) : tensor(Float64Array.from(w as ArrayLike<number>), shape, like.engine);
  if (t.size !== n) throw new OTError('shape', `${t.size} weights for ${n} points.`);
  return { w: t, logw: log(t) };
}

/** OT_ε(a, b) for the cost C (n × m tensor) after `iters` alternating log-domain updates. */
function otUnrolled(C: Tensor, a: { w: Tensor; logw: Tensor }, b: { w: Tensor; logw: Tensor }, eps: number, iters: number): Tensor {
  const [n, m] = C.shape;
  const Ce = scale(C, 1 / eps);
  let f: Tensor = zeros([n, 1], C.engine);
  let g: Tensor = zeros([1, m], C.engine);
  for (let k = 0; k < iters; k++) {
    f = scale(logSumExp(add(sub(scale(g, 1 / eps), Ce), b.logw), 1, true), -eps);
    g = scale(logSumExp(add(sub(scale(f, 1 / eps), Ce), a.logw), 0, true), -eps);
  }
  return add(sum(mul(a.w, f)), sum(mul(b.w, g)));
}

/** OT_ε(a, b), or S_ε with `debias`, by unrolled iterations (sqeuclidean cost). */
export function unrolledEntropic(X: Tensor, Y: Tensor, opts: EntropicLossOptions, debias: boolean): Tensor {
  if (toCost(opts.cost).power !== 2) {
    throw new OTError('invalid-option', "gradient 'unrolled' supports the 'sqeuclidean' cost (the envelope gradient takes any).");
  }
  if (X.rank !== 2 || Y.rank !== 2 || X.shape[1] !== Y.shape[1]) {
    throw new OTError('shape', `X and Y must be [n, d] and [m, d] tensors (got [${X.shape.join(', ')}] and [${Y.shape.join(', ')}]).`);
  }
  const eps = opts.reg;
  if (!(eps > 0) || !Number.isFinite(eps)) throw new OTError('invalid-option', `reg must be a finite number > 0 (got ${eps}).`);
  const iters = opts.maxIter ?? DEFAULT_UNROLLED_ITERATIONS;
  if (!Number.isInteger(iters) || iters < 1) throw new OTError('invalid-option', `maxIter must be an integer ≥ 1 for unrolled iterations (got ${iters}).`);
  const n = X.shape[0];
  const m = Y.shape[0];
  const aCol = logWeights(opts.a, n, X, [n, 1]);
  const bRow = logWeights(opts.b, m, X, [1, m]);
  const ab = otUnrolled(pairwiseSqDist(X, Y), aCol, bRow, eps, iters);
  if (!debias) return ab;
  const aRow = logWeights(opts.a, n, X, [1, n]);
  const bCol = logWeights(opts.b, m, X, [m, 1]);
  const aa = otUnrolled(pairwiseSqDist(X, X), aCol, aRow, eps, iters);
  const bb = otUnrolled(pairwiseSqDist(Y, Y), bCol, bRow, eps, iters);
  return sub(ab, scale(add(aa, bb), 0.5));
}
