// Composite tensor functions the OT losses and classifiers share, written with the differentiable ops of tensor.ts
// (so they differentiate to any order and run on every engine): log-sum-exp along an axis, (log-)softmax, pairwise
// squared distances.
//
// Stability: log Σ exp(x) = c + log Σ exp(x − c) for any constant c, and the gradient is the same whichever c is
// used, so the shift is a constant outside the graph: the row maximum on engines that read values synchronously
// (js), the row mean elsewhere (webgpu: no read-back inside a graph; exact while the spread of a row stays
// below ~80, f32's exp range).
import { OTError } from '../errors.js';
import { Tensor, add, exp, log, matmul, noGrad, reshape, scale, square, sub, sum, tensor } from './tensor.js';

/** The constant shift of logSumExp along `axis` (0 or 1) of a matrix, shaped to broadcast against it. */
function shiftOf(x: Tensor, axis: 0 | 1): Tensor {
  const [n, m] = x.shape;
  const v = x.engine.readSync(x.live());
  const out = new Float64Array(axis === 1 ? n : m);
  if (v) {
    out.fill(-Infinity);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < m; j++) {
        const k = axis === 1 ? i : j;
        if (v[i * m + j] > out[k]) out[k] = v[i * m + j];
      }
    // a row of −∞ (an empty support) shifts by 0: its LSE is −∞ either way
    for (let k = 0; k < out.length; k++) if (!Number.isFinite(out[k])) out[k] = 0;
    return tensor(out, axis === 1 ? [n, 1] : [1, m], x.engine);
  }
  return noGrad(() => scale(sum(x, axis, true), 1 / x.shape[axis]));
}

/** log Σ exp(x) along `axis` (0 or 1) of a matrix, stably (see the header); keepdims keeps the axis as 1. */
export function logSumExp(x: Tensor, axis: 0 | 1, keepdims = false): Tensor {
  if (x.rank !== 2) throw new OTError('shape', `logSumExp needs a matrix, got shape [${x.shape.join(', ')}]`);
  const c = shiftOf(x, axis);
  const r = add(log(sum(exp(sub(x, c)), axis, true)), c);
  return keepdims ? r : reshape(r, [x.shape[1 - axis]]);
}

/** Row-wise log-softmax of logits Z (n × K): Z − LSE(Z) per row. */
export function logSoftmax(z: Tensor): Tensor {
  return sub(z, logSumExp(z, 1, true));
}

/** Row-wise softmax of logits Z (n × K): predicted histograms, rows summing to 1. */
export function softmax(z: Tensor): Tensor {
  return exp(logSoftmax(z));
}

/** ‖a_i − b_j‖² for the rows of A (n × d) and B (m × d): an n × m tensor, ‖a‖² + ‖b‖² − 2⟨a, b⟩. */
export function pairwiseSqDist(A: Tensor, B: Tensor): Tensor {
  if (A.rank !== 2 || B.rank !== 2 || A.shape[1] !== B.shape[1]) {
    throw new OTError('shape', `pairwiseSqDist needs [n, d] and [m, d] tensors, got [${A.shape.join(', ')}] and [${B.shape.join(', ')}]`);
  }
  const a2 = sum(square(A), 1, true);
  const b2 = reshape(sum(square(B), 1), [1, B.shape[0]]);
  return sub(add(a2, b2), scale(matmul(A, B, { transB: true }), 2));
}
