// Neural-OT tensor engine, CPU part (issue 5): the oracle every other engine (WebGPU, f32) must match.
//
// Design
// - A `Tensor` is a dense, row-major f64 array (`data: Float64Array`) with a `shape` (rank 0 = scalar, shape []).
//   f64 on purpose: this engine is the reference that the f32 GPU engine is compared against, and finite-difference
//   tests of second derivatives need the headroom. Semantics (broadcasting, reductions, op definitions) are the
//   contract a GPU engine must reproduce to f32 tolerance.
// - Reverse-mode autodiff without a tape: every op result that depends on a tensor with `requiresGrad` keeps its
//   `parents` and a `backwardFn(g, needs)` that maps the output cotangent g to one cotangent per parent.
//   The backward rules are written WITH THE SAME DIFFERENTIABLE OPS as the forward pass (mul, matmul, sumTo,
//   sigmoid, ...), never with raw loops. So when `grad(y, xs, { createGraph: true })` runs them with grad
//   recording on, the returned gradients are ordinary graph nodes and can be differentiated again: gradients of
//   gradients (T = ∇ₓg inside a loss, differentiated w.r.t. g's weights; Hessian-vector products).
//   With `createGraph: false` (default) the rules run under `noGrad` and the results are detached constants.
// - Second-order rules: relu / leaky relu multiply g by step(x) = [x > 0] (or α/1), itself an op on x whose rule
//   returns zeros (`leakyReluStep`) — the second derivative is 0 almost everywhere, and the gradient stays
//   connected to x, so the Hessian of a piecewise-linear network is zeros rather than an "unused input" error;
//   softplus' derivative is `sigmoid(x)`, a differentiable op whose own rule uses its output s (g·s·(1−s)), so
//   softplus has its true second (and third, ...) derivative.
//   exp, log, square, sqrt, tanh, sigmoid, div likewise express derivatives through differentiable ops.
// - Broadcasting is NumPy's (align shapes on the right; a dim of 1 stretches). A binary op's rule reduces the
//   parent cotangent back to the parent's shape with `sumTo`, whose rule is `broadcastTo` and vice versa.
// - `grad` walks the graph from y once (iterative DFS post-order = reverse topological order), prunes nodes that do
//   not lead to the requested inputs (the `needs` mask lets a rule skip cotangents nobody wants, e.g. weight
//   gradients while computing ∇ₓg), and sums the cotangents of nodes with several consumers. Inputs may be
//   intermediate nodes, not only leaves.
// - `noGrad(fn)` evaluates without recording (inference, optimizer updates); `enableGrad(fn)` turns recording back on
//   inside it. Parameters are mutated in place by the optimizer (`optim.ts`); graphs built before a step keep
//   references to the same arrays, so build a fresh graph per step (as every training loop does).
//
// Files: tensor.ts (this: Tensor, ops, grad, noGrad), optim.ts (Adam), init.ts (seeded init from ts/rng.ts),
// models.ts (MLP, ICNN with project/save/load/grad), gradcheck.ts (finite-difference checks), index.ts (exports).
//
// Ops (all differentiable, to any order unless noted): add, sub, mul, div (broadcasting; numbers allowed),
// neg, scale, matmul (2-D), linear (x·W + b), transpose (2-D), reshape, broadcastTo, sumTo, sum / mean (all or
// along an axis, keepdims), concat / sliceLast (along the last axis), relu and leakyRelu (second derivative 0 a.e.)
// with leakyReluStep, softplus, sigmoid, tanh, square, sqrt, exp, log. `makeOp` builds a custom op from a forward
// result and a rule (the rule must use differentiable ops for double backward to be right).
import { OTError } from '../errors.js';

export type BackwardFn = (g: Tensor, needs: boolean[]) => (Tensor | null)[];

let recording = true;

/** Whether ops currently record the graph (false inside `noGrad`). */
export function isGradEnabled(): boolean {
  return recording;
}

/** Runs fn without recording the graph: results are constants (inference, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = recording;
  recording = false;
  try {
    return fn();
  } finally {
    recording = prev;
  }
}

/** Runs fn with recording on (e.g. inside a `noGrad` block, to compute ∇ₓg of a model). */
export function enableGrad<T>(fn: () => T): T {
  const prev = recording;
  recording = true;
  try {
    return fn();
  } finally {
    recording = prev;
  }
}

function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function checkShape(shape: readonly number[]): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new OTError('shape', `invalid tensor shape [${shape.join(', ')}]: dims must be integers >= 0`);
  }
}

export class Tensor {
  readonly shape: number[];
  readonly data: Float64Array;
  readonly size: number;
  requiresGrad = false;
  parents: Tensor[] = [];
  backwardFn: BackwardFn | null = null;
  op = 'leaf';

  constructor(data: Float64Array, shape: readonly number[]) {
    checkShape(shape);
    const n = sizeOf(shape);
    if (data.length !== n) {
      throw new OTError('shape', `tensor data has ${data.length} entries but shape [${shape.join(', ')}] needs ${n}`);
    }
    this.data = data;
    this.shape = [...shape];
    this.size = n;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new OTError('shape', `item() needs a one-element tensor, got shape [${this.shape.join(', ')}]`);
    return this.data[0];
  }

  /** Marks a leaf as trainable / differentiable (returns this). */
  requireGrad(on = true): this {
    if (this.backwardFn) throw new OTError('invalid-option', 'requireGrad() applies to leaf tensors only; use detach() first');
    this.requiresGrad = on;
    return this;
  }

  /** A leaf sharing this tensor's data, outside any graph. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape);
  }

  /** A leaf with a copy of the data. */
  clone(): Tensor {
    return new Tensor(this.data.slice(), this.shape);
  }

  toArray(): number[] {
    return Array.from(this.data);
  }

  add(b: Tensor | number): Tensor {
    return add(this, b);
  }
  sub(b: Tensor | number): Tensor {
    return sub(this, b);
  }
  mul(b: Tensor | number): Tensor {
    return mul(this, b);
  }
  div(b: Tensor | number): Tensor {
    return div(this, b);
  }
  matmul(b: Tensor): Tensor {
    return matmul(this, b);
  }
  neg(): Tensor {
    return neg(this);
  }
  scale(s: number): Tensor {
    return scale(this, s);
  }
  square(): Tensor {
    return square(this);
  }
  sum(axis?: number, keepdims = false): Tensor {
    return sum(this, axis, keepdims);
  }
  mean(axis?: number, keepdims = false): Tensor {
    return mean(this, axis, keepdims);
  }
  reshape(shape: readonly number[]): Tensor {
    return reshape(this, shape);
  }
  transpose(): Tensor {
    return transpose(this);
  }
}

// ---- construction -------------------------------------------------------------------------------------------

/** A tensor from numbers (flat with a shape, or nested rows for a matrix); a copy is made. */
export function tensor(values: ArrayLike<number> | number[][] | number, shape?: readonly number[]): Tensor {
  if (typeof values === 'number') return new Tensor(Float64Array.of(values), shape ?? []);
  if (Array.isArray(values) && values.length > 0 && Array.isArray(values[0])) {
    const rows = values as number[][];
    const cols = rows[0].length;
    const data = new Float64Array(rows.length * cols);
    rows.forEach((r, i) => {
      if (r.length !== cols) throw new OTError('shape', `ragged rows: row ${i} has ${r.length} entries, row 0 has ${cols}`);
      data.set(r, i * cols);
    });
    return new Tensor(data, shape ?? [rows.length, cols]);
  }
  const flat = Float64Array.from(values as ArrayLike<number>);
  return new Tensor(flat, shape ?? [flat.length]);
}

/** A trainable leaf (requiresGrad = true). */
export function parameter(values: ArrayLike<number> | number[][], shape?: readonly number[]): Tensor {
  return tensor(values, shape).requireGrad();
}

export function full(shape: readonly number[], value: number): Tensor {
  checkShape(shape);
  return new Tensor(new Float64Array(sizeOf(shape)).fill(value), shape);
}
export function zeros(shape: readonly number[]): Tensor {
  return full(shape, 0);
}
export function ones(shape: readonly number[]): Tensor {
  return full(shape, 1);
}
export function scalar(v: number): Tensor {
  return new Tensor(Float64Array.of(v), []);
}

function asTensor(x: Tensor | number): Tensor {
  return typeof x === 'number' ? scalar(x) : x;
}

/** Builds an op result; records parents and the rule only when recording and some parent needs grad. */
export function makeOp(op: string, data: Float64Array, shape: readonly number[], parents: Tensor[], backward: BackwardFn): Tensor {
  const t = new Tensor(data, shape);
  t.op = op;
  if (recording && parents.some((p) => p.requiresGrad)) {
    t.requiresGrad = true;
    t.parents = parents;
    t.backwardFn = backward;
  }
  return t;
}

// ---- broadcasting -------------------------------------------------------------------------------------------

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** NumPy broadcast of two shapes. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out = new Array<number>(r);
  for (let i = 0; i < r; i++) {
    const da = i < r - a.length ? 1 : a[i - (r - a.length)];
    const db = i < r - b.length ? 1 : b[i - (r - b.length)];
    if (da !== db && da !== 1 && db !== 1) {
      throw new OTError('shape', `shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast (dim ${i}: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides of `shape` seen from `outShape` (right-aligned), 0 where `shape` is broadcast. */
function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const r = outShape.length;
  const st = new Array<number>(r).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const j = i + (r - shape.length);
    if (shape[i] !== 1) st[j] = s;
    s *= shape[i];
  }
  return st;
}

/** For every flat index of outShape, the flat index into each of `shapes` broadcast to it. */
function forEachBroadcast(outShape: readonly number[], shapes: readonly (readonly number[])[], fn: (o: number, idx: number[]) => void): void {
  const r = outShape.length;
  const strides = shapes.map((s) => broadcastStrides(s, outShape));
  const n = sizeOf(outShape);
  const counter = new Array<number>(r).fill(0);
  const idx = new Array<number>(shapes.length).fill(0);
  for (let o = 0; o < n; o++) {
    fn(o, idx);
    // increment the multi-index and the input offsets
    for (let d = r - 1; d >= 0; d--) {
      counter[d]++;
      for (let k = 0; k < idx.length; k++) idx[k] += strides[k][d];
      if (counter[d] < outShape[d]) break;
      for (let k = 0; k < idx.length; k++) idx[k] -= strides[k][d] * counter[d];
      counter[d] = 0;
    }
  }
}

function binaryForward(a: Tensor, b: Tensor, f: (x: number, y: number) => number): { data: Float64Array; shape: number[] } {
  if (sameShape(a.shape, b.shape)) {
    const out = new Float64Array(a.size);
    for (let i = 0; i < out.length; i++) out[i] = f(a.data[i], b.data[i]);
    return { data: out, shape: [...a.shape] };
  }
  const shape = broadcastShapes(a.shape, b.shape);
  const out = new Float64Array(sizeOf(shape));
  const ad = a.data;
  const bd = b.data;
  // fast paths: one operand is the other's trailing block repeated over leading dims (bias rows, scalars)
  if (sameShape(a.shape, shape) && isTrailing(b.shape, shape)) {
    const m = b.size;
    for (let i = 0; i < out.length; i++) out[i] = f(ad[i], bd[i % m]);
    return { data: out, shape };
  }
  if (sameShape(b.shape, shape) && isTrailing(a.shape, shape)) {
    const m = a.size;
    for (let i = 0; i < out.length; i++) out[i] = f(ad[i % m], bd[i]);
    return { data: out, shape };
  }
  forEachBroadcast(shape, [a.shape, b.shape], (o, idx) => {
    out[o] = f(ad[idx[0]], bd[idx[1]]);
  });
  return { data: out, shape };
}

/** Whether `shape` (after dropping leading 1s) equals the trailing dims of `full`: broadcast only repeats it. */
function isTrailing(shape: readonly number[], full: readonly number[]): boolean {
  let k = 0;
  while (k < shape.length && shape[k] === 1) k++;
  const rest = shape.length - k;
  if (rest > full.length) return false;
  for (let i = 0; i < rest; i++) if (shape[k + i] !== full[full.length - rest + i]) return false;
  return true;
}

/** Sums x down to `shape` (which must broadcast to x.shape). Rule: broadcastTo. */
export function sumTo(x: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(x.shape, shape)) return x;
  const target = broadcastShapes(shape, x.shape);
  if (!sameShape(target, x.shape)) {
    throw new OTError('shape', `cannot sum shape [${x.shape.join(', ')}] to [${shape.join(', ')}]`);
  }
  const out = new Float64Array(sizeOf(shape));
  const xd = x.data;
  if (isTrailing(shape, x.shape)) {
    const m = out.length;
    for (let i = 0; i < xd.length; i++) out[i % m] += xd[i];
  } else {
    forEachBroadcast(x.shape, [shape], (o, idx) => {
      out[idx[0]] += xd[o];
    });
  }
  const xs = [...x.shape];
  return makeOp('sumTo', out, shape, [x], (g) => [broadcastTo(g, xs)]);
}

/** Repeats x to `shape` (NumPy broadcasting). Rule: sumTo. */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(x.shape, shape)) return x;
  const target = broadcastShapes(x.shape, shape);
  if (!sameShape(target, shape)) {
    throw new OTError('shape', `cannot broadcast shape [${x.shape.join(', ')}] to [${shape.join(', ')}]`);
  }
  const out = new Float64Array(sizeOf(shape));
  const xd = x.data;
  if (isTrailing(x.shape, shape)) {
    const m = xd.length;
    for (let i = 0; i < out.length; i++) out[i] = xd[i % m];
  } else {
    forEachBroadcast(shape, [x.shape], (o, idx) => {
      out[o] = xd[idx[0]];
    });
  }
  const xs = [...x.shape];
  return makeOp('broadcastTo', out, shape, [x], (g) => [sumTo(g, xs)]);
}

// ---- elementwise binary ---------------------------------------------------------------------------------------

export function add(a: Tensor | number, b: Tensor | number): Tensor {
  const A = asTensor(a);
  const B = asTensor(b);
  const r = binaryForward(A, B, (x, y) => x + y);
  return makeOp('add', r.data, r.shape, [A, B], (g, needs) => [needs[0] ? sumTo(g, A.shape) : null, needs[1] ? sumTo(g, B.shape) : null]);
}

export function sub(a: Tensor | number, b: Tensor | number): Tensor {
  const A = asTensor(a);
  const B = asTensor(b);
  const r = binaryForward(A, B, (x, y) => x - y);
  return makeOp('sub', r.data, r.shape, [A, B], (g, needs) => [
    needs[0] ? sumTo(g, A.shape) : null,
    needs[1] ? sumTo(neg(g), B.shape) : null,
  ]);
}

export function mul(a: Tensor | number, b: Tensor | number): Tensor {
  const A = asTensor(a);
  const B = asTensor(b);
  const r = binaryForward(A, B, (x, y) => x * y);
  return makeOp('mul', r.data, r.shape, [A, B], (g, needs) => [
    needs[0] ? sumTo(mul(g, B), A.shape) : null,
    needs[1] ? sumTo(mul(g, A), B.shape) : null,
  ]);
}

export function div(a: Tensor | number, b: Tensor | number): Tensor {
  const A = asTensor(a);
  const B = asTensor(b);
  const r = binaryForward(A, B, (x, y) => x / y);
  return makeOp('div', r.data, r.shape, [A, B], (g, needs) => [
    needs[0] ? sumTo(div(g, B), A.shape) : null,
    needs[1] ? sumTo(neg(div(mul(g, A), square(B))), B.shape) : null,
  ]);
}

// ---- elementwise unary ----------------------------------------------------------------------------------------

function unary(x: Tensor, f: (v: number) => number): Float64Array {
  const out = new Float64Array(x.size);
  const d = x.data;
  for (let i = 0; i < out.length; i++) out[i] = f(d[i]);
  return out;
}

export function neg(x: Tensor): Tensor {
  return makeOp('neg', unary(x, (v) => -v), x.shape, [x], (g) => [neg(g)]);
}

/** s · x for a constant number s. */
export function scale(x: Tensor, s: number): Tensor {
  return makeOp('scale', unary(x, (v) => s * v), x.shape, [x], (g) => [scale(g, s)]);
}

export function square(x: Tensor): Tensor {
  return makeOp('square', unary(x, (v) => v * v), x.shape, [x], (g) => [mul(g, scale(x, 2))]);
}

export function sqrt(x: Tensor): Tensor {
  const y = makeOp('sqrt', unary(x, Math.sqrt), x.shape, [x], (g) => [div(g, scale(y, 2))]);
  return y;
}

export function exp(x: Tensor): Tensor {
  const y = makeOp('exp', unary(x, Math.exp), x.shape, [x], (g) => [mul(g, y)]);
  return y;
}

export function log(x: Tensor): Tensor {
  return makeOp('log', unary(x, Math.log), x.shape, [x], (g) => [div(g, x)]);
}

/** max(x, 0); rule: g · [x > 0] (constant mask: second derivative 0 a.e.). */
export function relu(x: Tensor): Tensor {
  return leakyRelu(x, 0);
}

/**
 * x for x > 0, αx otherwise; rule: g · step(x) with step(x) = (x > 0 ? 1 : α) an op whose own derivative is 0
 * (second derivative 0 a.e.). step is a graph node on x, so a gradient of a leaky-relu network stays connected to x
 * and differentiating it again gives zeros rather than "unused input".
 */
export function leakyRelu(x: Tensor, alpha = 0.01): Tensor {
  const out = unary(x, (v) => (v > 0 ? v : alpha * v));
  return makeOp(alpha === 0 ? 'relu' : 'leakyRelu', out, x.shape, [x], (g) => [mul(g, leakyReluStep(x, alpha))]);
}

/** The derivative of leakyRelu: 1 where x > 0, α elsewhere; its own derivative is 0 (a.e.). */
export function leakyReluStep(x: Tensor, alpha: number): Tensor {
  const xs = [...x.shape];
  return makeOp('leakyReluStep', unary(x, (v) => (v > 0 ? 1 : alpha)), xs, [x], () => [zeros(xs)]);
}

/** 1 / (1 + e^{−x}), computed stably; rule: g · s · (1 − s) with s this op's output. */
export function sigmoid(x: Tensor): Tensor {
  const y = makeOp(
    'sigmoid',
    unary(x, (v) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)))),
    x.shape,
    [x],
    (g) => [mul(g, mul(y, sub(1, y)))],
  );
  return y;
}

/** log(1 + e^x), computed stably; rule: g · sigmoid(x) (so second derivative σ(x)(1 − σ(x))). */
export function softplus(x: Tensor): Tensor {
  return makeOp(
    'softplus',
    unary(x, (v) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)))),
    x.shape,
    [x],
    (g) => [mul(g, sigmoid(x))],
  );
}

export function tanh(x: Tensor): Tensor {
  const y = makeOp('tanh', unary(x, Math.tanh), x.shape, [x], (g) => [mul(g, sub(1, square(y)))]);
  return y;
}

// ---- shape ops -----------------------------------------------------------------------------------------------

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  checkShape(shape);
  if (sizeOf(shape) !== x.size) {
    throw new OTError('shape', `cannot reshape [${x.shape.join(', ')}] (${x.size} entries) to [${shape.join(', ')}]`);
  }
  if (sameShape(x.shape, shape)) return x;
  const xs = [...x.shape];
  return makeOp('reshape', x.data.slice(), shape, [x], (g) => [reshape(g, xs)]);
}

function need2d(x: Tensor, what: string): void {
  if (x.rank !== 2) throw new OTError('shape', `${what} needs a 2-D tensor, got shape [${x.shape.join(', ')}]`);
}

export function transpose(x: Tensor): Tensor {
  need2d(x, 'transpose');
  const [m, n] = x.shape;
  const out = new Float64Array(x.size);
  const d = x.data;
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[j * m + i] = d[i * n + j];
  return makeOp('transpose', out, [n, m], [x], (g) => [transpose(g)]);
}

/** (m × k) · (k × n). Rules: g·Bᵀ and Aᵀ·g. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  need2d(a, 'matmul');
  need2d(b, 'matmul');
  const [m, k] = a.shape;
  const [k2, n] = b.shape;
  if (k !== k2) throw new OTError('shape', `matmul: inner dims differ ([${a.shape.join(', ')}] · [${b.shape.join(', ')}])`);
  const out = new Float64Array(m * n);
  const ad = a.data;
  const bd = b.data;
  for (let i = 0; i < m; i++) {
    const o = i * n;
    for (let p = 0; p < k; p++) {
      const v = ad[i * k + p];
      if (v === 0) continue;
      const bo = p * n;
      for (let j = 0; j < n; j++) out[o + j] += v * bd[bo + j];
    }
  }
  return makeOp('matmul', out, [m, n], [a, b], (g, needs) => [
    needs[0] ? matmul(g, transpose(b)) : null,
    needs[1] ? matmul(transpose(a), g) : null,
  ]);
}

/** x · W + b (b broadcast over rows): a dense layer with W of shape [in, out]. */
export function linear(x: Tensor, w: Tensor, b?: Tensor): Tensor {
  const y = matmul(x, w);
  return b ? add(y, b) : y;
}

function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new OTError('shape', `axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** Sum of all entries (shape []), or along `axis` (dropped unless keepdims). */
export function sum(x: Tensor, axis?: number, keepdims = false): Tensor {
  if (axis === undefined) {
    const s = sumTo(x, keepdims ? x.shape.map(() => 1) : []);
    return s === x && !keepdims ? reshape(x, []) : s;
  }
  const ax = normAxis(axis, x.rank);
  const kept = x.shape.map((d, i) => (i === ax ? 1 : d));
  const s = sumTo(x, kept);
  return keepdims ? s : reshape(s, x.shape.filter((_, i) => i !== ax));
}

export function mean(x: Tensor, axis?: number, keepdims = false): Tensor {
  const count = axis === undefined ? x.size : x.shape[normAxis(axis, x.rank)];
  return scale(sum(x, axis, keepdims), 1 / count);
}

/** Concatenation along the last axis (all other dims equal). Rule: sliceLast per input. */
export function concat(xs: Tensor[]): Tensor {
  if (xs.length === 0) throw new OTError('empty', 'concat needs at least one tensor');
  const r = xs[0].rank;
  if (r === 0) throw new OTError('shape', 'concat needs tensors of rank >= 1');
  const lead = xs[0].shape.slice(0, r - 1);
  for (const t of xs) {
    if (t.rank !== r || !sameShape(t.shape.slice(0, r - 1), lead)) {
      throw new OTError('shape', `concat: shapes [${xs.map((t) => t.shape.join(', ')).join('] [')}] differ outside the last axis`);
    }
  }
  const widths = xs.map((t) => t.shape[r - 1]);
  const total = widths.reduce((a, b) => a + b, 0);
  const rows = sizeOf(lead);
  const out = new Float64Array(rows * total);
  let off = 0;
  for (let k = 0; k < xs.length; k++) {
    const w = widths[k];
    const d = xs[k].data;
    for (let i = 0; i < rows; i++) for (let j = 0; j < w; j++) out[i * total + off + j] = d[i * w + j];
    off += w;
  }
  return makeOp('concat', out, [...lead, total], xs, (g, needs) => {
    let o = 0;
    return widths.map((w, k) => {
      const part = needs[k] ? sliceLast(g, o, o + w) : null;
      o += w;
      return part;
    });
  });
}

/** Columns [start, end) of the last axis. Rule: concat with zero blocks. */
export function sliceLast(x: Tensor, start: number, end: number): Tensor {
  const r = x.rank;
  if (r === 0) throw new OTError('shape', 'sliceLast needs rank >= 1');
  const total = x.shape[r - 1];
  if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= total)) {
    throw new OTError('shape', `sliceLast: range [${start}, ${end}) outside [0, ${total})`);
  }
  const lead = x.shape.slice(0, r - 1);
  const rows = sizeOf(lead);
  const w = end - start;
  const out = new Float64Array(rows * w);
  const d = x.data;
  for (let i = 0; i < rows; i++) for (let j = 0; j < w; j++) out[i * w + j] = d[i * total + start + j];
  return makeOp('sliceLast', out, [...lead, w], [x], (g) => {
    const parts: Tensor[] = [];
    if (start > 0) parts.push(zeros([...lead, start]));
    parts.push(g);
    if (end < total) parts.push(zeros([...lead, total - end]));
    return [parts.length === 1 ? g : concat(parts)];
  });
}

// ---- autodiff -------------------------------------------------------------------------------------------------

export interface GradOptions {
  /** Cotangent of y (default: ones, i.e. the gradient of sum(y)). */
  gradOutput?: Tensor;
  /** Record the backward pass so the results are differentiable (gradients of gradients). Default false. */
  createGraph?: boolean;
  /** Return zeros for inputs y does not depend on instead of throwing. Default false. */
  allowUnused?: boolean;
}

/** Nodes reachable from y through parents that require grad, in post-order (parents before children). */
function topoOrder(y: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, number][] = [[y, 0]];
  seen.add(y);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [node, k] = top;
    if (k < node.parents.length) {
      top[1] = k + 1;
      const p = node.parents[k];
      if (p.requiresGrad && !seen.has(p)) {
        seen.add(p);
        stack.push([p, 0]);
      }
    } else {
      stack.pop();
      order.push(node);
    }
  }
  return order;
}

/**
 * Reverse-mode gradients of y (summed against `gradOutput`, default ones) w.r.t. each of xs.
 * With `createGraph`, the results are graph nodes that can be differentiated again.
 */
export function grad(y: Tensor, xs: Tensor[], opts: GradOptions = {}): Tensor[] {
  const { createGraph = false, allowUnused = false } = opts;
  const seed = opts.gradOutput ?? ones(y.shape);
  if (!sameShape(seed.shape, y.shape)) {
    throw new OTError('shape', `gradOutput shape [${seed.shape.join(', ')}] differs from output shape [${y.shape.join(', ')}]`);
  }
  const inputs = new Set(xs);
  const grads = new Map<Tensor, Tensor>();
  if (y.requiresGrad) {
    const order = topoOrder(y);
    const needed = new Set<Tensor>();
    for (const n of order) {
      if (inputs.has(n) || n.parents.some((p) => needed.has(p))) needed.add(n);
    }
    const run = () => {
      if (needed.has(y)) grads.set(y, seed);
      for (let i = order.length - 1; i >= 0; i--) {
        const node = order[i];
        const g = grads.get(node);
        if (!g || !node.backwardFn) continue;
        const needs = node.parents.map((p) => needed.has(p));
        if (!needs.some(Boolean)) continue;
        const pg = node.backwardFn(g, needs);
        for (let k = 0; k < node.parents.length; k++) {
          const c = pg[k];
          if (!needs[k] || !c) continue;
          const p = node.parents[k];
          const prev = grads.get(p);
          grads.set(p, prev ? add(prev, c) : c);
        }
      }
    };
    if (createGraph) enableGrad(run);
    else noGrad(run);
  }
  return xs.map((x, i) => {
    const g = grads.get(x);
    if (g) return createGraph ? g : g.backwardFn ? g.detach() : g;
    if (!allowUnused) {
      throw new OTError('invalid-option', `grad: output does not depend on input ${i} (pass allowUnused: true to get zeros)`);
    }
    return zeros(x.shape);
  });
}
