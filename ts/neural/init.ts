// Seeded initialisation, drawn from the library's one generator (ts/rng.ts: xoshiro128**, 53-bit uniforms), in
// row-major order of the tensor, so a seed gives the same weights in every environment and on every engine.
//   uniformInit(rng, shape, lo, hi): U[lo, hi).
//   linearInit(rng, fanIn, fanOut): PyTorch's nn.Linear default, W and b ~ U(±1/√fanIn) — i.e. Kaiming-uniform with
//     a = √5; W has shape [fanIn, fanOut] (layers compute x·W + b), W drawn first, then b.
//   kaimingUniform(rng, shape, fanIn, gain = √2): U(±gain·√(3/fanIn)) (He et al. 2015; gain √2 for relu).
// Values are drawn in f64 and then copied onto the requested engine (default js), so the webgpu engine starts from
// the js engine's weights rounded to f32.
import { Rng } from '../rng.js';
import type { TensorEngine } from './engine.js';
import { type Tensor, tensor } from './tensor.js';

/**
 * A trainable leaf of `shape` with entries drawn from U[lo, hi) by `rng`, in row-major order (the same values on
 * every engine up to its precision; default engine js).
 */
export function uniformInit(rng: Rng, shape: readonly number[], lo: number, hi: number, engine?: TensorEngine): Tensor {
  let n = 1;
  for (const d of shape) n *= d;
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = lo + (hi - lo) * rng.uniform();
  return tensor(data, shape, engine).requireGrad();
}

/**
 * Kaiming-uniform initialisation (He et al. 2015; torch.nn.init.kaiming_uniform_): U(±gain·√(3/fanIn)), default
 * gain √2 (for relu). A trainable leaf of `shape`.
 */
export function kaimingUniform(rng: Rng, shape: readonly number[], fanIn: number, gain = Math.SQRT2, engine?: TensorEngine): Tensor {
  const bound = gain * Math.sqrt(3 / fanIn);
  return uniformInit(rng, shape, -bound, bound, engine);
}

/**
 * PyTorch's nn.Linear default initialisation: W and b ~ U(±1/√fanIn), W drawn first, then b. Layers compute
 * x·W + b, so W has shape [fanIn, fanOut] (PyTorch stores its transpose).
 */
export function linearInit(
  rng: Rng,
  fanIn: number,
  fanOut: number,
  engine?: TensorEngine,
): {
  /** The weight, [fanIn, fanOut], trainable. */
  w: Tensor;
  /** The bias, [fanOut], trainable. */
  b: Tensor;
} {
  const bound = 1 / Math.sqrt(fanIn);
  const w = uniformInit(rng, [fanIn, fanOut], -bound, bound, engine);
  const b = uniformInit(rng, [fanOut], -bound, bound, engine);
  return { w, b };
}
