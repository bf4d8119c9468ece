// Finite-difference checks of the autodiff (used by the tests; a GPU engine's tests can reuse them on the CPU
// oracle). Central differences in f64: error ~ h²·|f'''| + ε·|f|/h, so h = 1e-5 gives ~1e-10 on smooth functions.
import { Tensor, grad, mul, noGrad, sum, tidy } from './tensor.js';

/** ∂f/∂x by central differences, perturbing x.data in place (restored afterwards). f is evaluated under noGrad. */
export function numericGrad(f: () => number, x: Tensor, h = 1e-5): Float64Array {
  const out = new Float64Array(x.size);
  for (let i = 0; i < x.size; i++) {
    const v = x.data[i];
    x.data[i] = v + h;
    const fp = noGrad(f);
    x.data[i] = v - h;
    const fm = noGrad(f);
    x.data[i] = v;
    out[i] = (fp - fm) / (2 * h);
  }
  return out;
}

/** max over entries of |a − b| / (1 + |b|). */
export function maxScaledError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let e = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i]));
    if (!(d <= e)) e = Number.isNaN(d) ? Infinity : Math.max(e, d);
  }
  return e;
}

/**
 * Checks reverse-mode gradients of L = Σ f(xs) ⊙ R (R a fixed random cotangent, so every output entry matters)
 * against central differences, for every input. Returns the largest scaled error over all inputs.
 */
export function gradCheck(f: (xs: Tensor[]) => Tensor, xs: Tensor[], cotangent: (shape: number[]) => Tensor, h = 1e-5): number {
  const out0 = noGrad(() => f(xs));
  const R = cotangent(out0.shape);
  const loss = () => sum(mul(f(xs), R));
  const analytic = grad(loss(), xs);
  let worst = 0;
  xs.forEach((x, i) => {
    const num = numericGrad(() => loss().item(), x, h);
    worst = Math.max(worst, maxScaledError(analytic[i].data, num));
  });
  return worst;
}

/**
 * Hessian-vector product of a scalar function at x along v by double backward (∇ₓ⟨∇ₓf, v⟩), and by central
 * differences of first-order gradients, (∇f(x + hv) − ∇f(x − hv)) / 2h. Returns both.
 */
export function hvp(
  f: (x: Tensor) => Tensor,
  x: Tensor,
  v: Tensor,
  h = 1e-5,
): {
  /** H·v by double backward (x's size, row-major as x). */
  autodiff: Float64Array;
  /** H·v by central differences of the gradient, step h. */
  numeric: Float64Array;
} {
  const g = grad(f(x), [x], { createGraph: true })[0];
  // allowUnused: a gradient that does not depend on x (e.g. a piecewise-linear f) has a zero Hessian
  const hv = grad(sum(mul(g, v)), [x], { allowUnused: true })[0];
  const base = x.data.slice();
  const gradAt = (s: number) => {
    for (let i = 0; i < x.size; i++) x.data[i] = base[i] + s * v.data[i];
    const r = grad(f(x), [x])[0].data.slice();
    x.data.set(base);
    return r;
  };
  const gp = gradAt(h);
  const gm = gradAt(-h);
  const numeric = new Float64Array(x.size);
  for (let i = 0; i < x.size; i++) numeric[i] = (gp[i] - gm[i]) / (2 * h);
  return { autodiff: hv.data.slice(), numeric };
}

/**
 * ∂f/∂x by central differences on any engine: x's values are overwritten in place (assign) for each entry and
 * restored afterwards, f() builds the scalar on x's engine, and its value is read back (async). Use a step suited
 * to the engine's precision (f32: h ≈ 1e-2 gives errors ~1e-4 on smooth functions of order 1).
 */
export async function numericGradAsync(f: () => Tensor, x: Tensor, h: number): Promise<Float64Array> {
  const base = await x.read();
  const out = new Float64Array(x.size);
  const at = async (i: number, v: number) => {
    const p = base.slice();
    p[i] = v;
    x.assign(p);
    const y = tidy(() => noGrad(f));
    const r = await y.itemAsync();
    y.dispose();
    return r;
  };
  for (let i = 0; i < x.size; i++) out[i] = ((await at(i, base[i] + h)) - (await at(i, base[i] - h))) / (2 * h);
  x.assign(base);
  return out;
}
