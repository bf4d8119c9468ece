// Neural-OT tensors and their autodiff (issue 5), one graph for every storage engine.
//
// Design
// - A `Tensor` is a dense, row-major array with a `shape` (rank 0 = scalar, shape []) whose values live on a
//   `TensorEngine` (ts/neural/engine.ts): the 'js' engine (f64 Float64Array, `t.data`, the default here and the
//   oracle), the 'wasm' engine (f64 or f32 in wasm memory, ts/neural/wasm-engine.ts; the trainers' default) or the
//   'webgpu' engine (f32 GPU buffers, gpu/tensor.ts); off js, values come via `await t.read()`. Ops check their operands
//   share an engine and send the numeric kernel there; everything below (graph, rules, grad, noGrad) is written
//   once. GPU ops only enqueue work, so a whole training step runs without a read-back.
// - Disposal: `t.dispose()` frees a tensor's storage; `tidy(fn)` disposes every tensor fn created except those it
//   returns (wrap each training step in it so GPU memory stays flat). The js engine ignores both.
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
// Files: tensor.ts (this: Tensor, ops, grad, noGrad, tidy), engine.ts (the engine seam, shape helpers),
// js-engine.ts (the f64 kernels), engines.ts (choosing an engine by backend name), optim.ts (Adam), init.ts (seeded init from ts/rng.ts),
// models.ts (MLP, ICNN with project/save/load/grad), gradcheck.ts (finite-difference checks), index.ts (exports).
//
// Ops (all differentiable, to any order unless noted): add, sub, mul, div (broadcasting; numbers allowed),
// neg, scale, matmul (2-D, with transpose flags), linear (x·W + b, fused), transpose (2-D), reshape, broadcastTo, sumTo, sum / mean (all or
// along an axis, keepdims), concat / sliceLast (along the last axis), relu and leakyRelu (second derivative 0 a.e.)
// with leakyReluStep, softplus, sigmoid, tanh, square, sqrt, exp, log. `makeOp` builds a custom op from a forward
// result and a rule (the rule must use differentiable ops for double backward to be right).
import { OTError } from '../errors.js';
import { type MapOp, type TensorEngine, broadcastShapes, isTrailing, sameShape, sizeOf } from './engine.js';
import { jsTensorEngine } from './js-engine.js';

export { broadcastShapes } from './engine.js';

/**
 * An op's backward rule: maps the output cotangent g (the op's shape) to one cotangent per parent (each of that
 * parent's shape), or null where `needs[k]` is false (nobody asked for parent k). Written with differentiable ops
 * so that `grad(…, { createGraph: true })` can differentiate it again.
 */
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

// ---- scoped disposal ----------------------------------------------------------------------------------------

/** Tensors created inside the innermost open `tidy` (a stack of scopes). */
const scopes: Tensor[][] = [];

/** Every Tensor in a (nested) array or plain object of results. */
function collect(x: unknown, out: Set<Tensor>): void {
  if (x instanceof Tensor) out.add(x);
  else if (Array.isArray(x)) for (const v of x) collect(v, out);
  else if (x && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype) for (const v of Object.values(x)) collect(v, out);
}

/**
 * Runs fn and then disposes every tensor created inside it except those it returns (in an array or plain object
 * too), which move to the enclosing scope. One training step inside `tidy` frees its whole graph, so GPU memory
 * stays flat over training. Tensors created before the call (parameters, optimizer state) are untouched. If fn
 * throws, everything it created is disposed.
 * fn must be synchronous (an await inside would let other code's tensors into this scope).
 */
export function tidy<T>(fn: () => T): T {
  const mine: Tensor[] = [];
  scopes.push(mine);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    for (const t of mine) t.dispose(); // a failed step keeps nothing
    throw e;
  } finally {
    scopes.pop();
  }
  const keep = new Set<Tensor>();
  collect(result, keep);
  const parent = scopes[scopes.length - 1];
  for (const t of mine) {
    if (keep.has(t)) parent?.push(t);
    else t.dispose();
  }
  return result;
}

function checkShape(shape: readonly number[]): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new OTError('shape', `invalid tensor shape [${shape.join(', ')}]: dims must be integers >= 0`);
  }
}

/**
 * A dense row-major tensor on one engine: `js` (f64, the default) or `webgpu` (f32). The js engine's values are
 * `data` (sync); any engine's come from `await t.read()`.
 */
export class Tensor {
  /** The dims, outermost first ([] for a scalar, [rows, cols] for a matrix); row-major layout. */
  readonly shape: number[];
  /** The number of entries: the product of `shape` (1 for a scalar). */
  readonly size: number;
  /** The engine holding the values and running the kernels (`jsTensorEngine` by default). */
  readonly engine: TensorEngine;
  /** The engine's handle of the values (a Float64Array on the js engine). */
  readonly storage: unknown;
  /** Whether gradients flow to this tensor: set on a leaf by `requireGrad()`, inherited by op results while recording. */
  requiresGrad = false;
  /** The op's inputs in the recorded graph (empty for a leaf, or when nothing required grad). */
  parents: Tensor[] = [];
  /** The op's backward rule (null for a leaf or an unrecorded result). */
  backwardFn: BackwardFn | null = null;
  /** The name of the op that made this tensor ('leaf', 'add', 'matmul', …), for messages and debugging. */
  op = 'leaf';
  private disposed = false;

  /** Wraps a storage the engine made (default: a Float64Array on the js engine); takes ownership of it. */
  constructor(storage: Float64Array | unknown, shape: readonly number[], engine: TensorEngine = jsTensorEngine) {
    checkShape(shape);
    const n = sizeOf(shape);
    const len = engine.length(storage);
    if (len !== n) {
      throw new OTError('shape', `tensor data has ${len} entries but shape [${shape.join(', ')}] needs ${n}`);
    }
    this.storage = storage;
    this.engine = engine;
    this.shape = [...shape];
    this.size = n;
    scopes[scopes.length - 1]?.push(this);
  }

  /** The number of dims: shape.length (0 for a scalar). */
  get rank(): number {
    return this.shape.length;
  }

  /** The values, on the js engine (live: writes go to the tensor). On webgpu use `await read()`. */
  get data(): Float64Array {
    const d = this.engine.readSync(this.live());
    if (!d) throw new OTError('invalid-option', `this tensor lives on the '${this.engine.name}' engine; read its values with await tensor.read()`);
    return d;
  }

  /** A copy of the values as f64, once the work queued so far is done (any engine). */
  read(): Promise<Float64Array> {
    return this.engine.read(this.live());
  }

  /** The storage, or an error if the tensor was disposed. */
  live(): unknown {
    if (this.disposed) throw new OTError('disposed', `tensor [${this.shape.join(', ')}] (${this.op}) was disposed`);
    return this.storage;
  }

  /** Frees the values (GPU memory returns to the engine's pool); later use throws. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.engine.release(this.storage);
  }

  /** Whether `dispose()` was called (any later use of the values throws OTError('disposed')). */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** The single value of a one-element tensor (js engine; elsewhere use itemAsync). */
  item(): number {
    if (this.size !== 1) throw new OTError('shape', `item() needs a one-element tensor, got shape [${this.shape.join(', ')}]`);
    return this.data[0];
  }

  /** The single value of a one-element tensor, on any engine (a GPU read-back). */
  async itemAsync(): Promise<number> {
    if (this.size !== 1) throw new OTError('shape', `item() needs a one-element tensor, got shape [${this.shape.join(', ')}]`);
    return (await this.read())[0];
  }

  /** Marks a leaf as trainable / differentiable (returns this). */
  requireGrad(on = true): this {
    if (this.backwardFn) throw new OTError('invalid-option', 'requireGrad() applies to leaf tensors only; use detach() first');
    this.requiresGrad = on;
    return this;
  }

  /** A leaf sharing this tensor's values, outside any graph (disposing either leaves the other's values alive). */
  detach(): Tensor {
    this.engine.retain(this.live());
    return new Tensor(this.storage, this.shape, this.engine);
  }

  /** A leaf with a copy of the values. */
  clone(): Tensor {
    return new Tensor(this.engine.copy(this.live()), this.shape, this.engine);
  }

  /** The values as numbers (js engine; elsewhere use toArrayAsync). */
  toArray(): number[] {
    return Array.from(this.data);
  }

  /** The values as numbers (row-major), on any engine (a GPU read-back). */
  async toArrayAsync(): Promise<number[]> {
    return Array.from(await this.read());
  }

  /** Overwrites the values in place (after the work queued so far); the graph is not told. */
  assign(values: ArrayLike<number>): void {
    if (values.length !== this.size) throw new OTError('shape', `assign: ${values.length} values for a tensor of ${this.size}`);
    this.engine.write(this.live(), values);
  }

  /** this + b, broadcasting (the function `add`). */
  add(b: Tensor | number): Tensor {
    return add(this, b);
  }
  /** this − b, broadcasting (the function `sub`). */
  sub(b: Tensor | number): Tensor {
    return sub(this, b);
  }
  /** this ⊙ b entrywise, broadcasting (the function `mul`). */
  mul(b: Tensor | number): Tensor {
    return mul(this, b);
  }
  /** this / b entrywise, broadcasting (the function `div`). */
  div(b: Tensor | number): Tensor {
    return div(this, b);
  }
  /** The matrix product op(this)·op(b) (the function `matmul`). */
  matmul(b: Tensor, opts?: MatmulOptions): Tensor {
    return matmul(this, b, opts);
  }
  /** −this (the function `neg`). */
  neg(): Tensor {
    return neg(this);
  }
  /** s·this for a constant number s (the function `scale`). */
  scale(s: number): Tensor {
    return scale(this, s);
  }
  /** this² entrywise (the function `square`). */
  square(): Tensor {
    return square(this);
  }
  /** The sum of all entries, or along `axis` (the function `sum`). */
  sum(axis?: number, keepdims = false): Tensor {
    return sum(this, axis, keepdims);
  }
  /** The mean of all entries, or along `axis` (the function `mean`). */
  mean(axis?: number, keepdims = false): Tensor {
    return mean(this, axis, keepdims);
  }
  /** The same values with another shape of the same size (the function `reshape`). */
  reshape(shape: readonly number[]): Tensor {
    return reshape(this, shape);
  }
  /** The transpose of a 2-D tensor (the function `transpose`). */
  transpose(): Tensor {
    return transpose(this);
  }
}

// ---- construction -------------------------------------------------------------------------------------------

/** A tensor from numbers (flat with a shape, or nested rows for a matrix), copied onto `engine` (default js). */
export function tensor(values: ArrayLike<number> | number[][] | number, shape?: readonly number[], engine: TensorEngine = jsTensorEngine): Tensor {
  if (typeof values === 'number') return new Tensor(engine.fromArray([values]), shape ?? [], engine);
  if (Array.isArray(values) && values.length > 0 && Array.isArray(values[0])) {
    const rows = values as number[][];
    const cols = rows[0].length;
    const data = new Float64Array(rows.length * cols);
    rows.forEach((r, i) => {
      if (r.length !== cols) throw new OTError('shape', `ragged rows: row ${i} has ${r.length} entries, row 0 has ${cols}`);
      data.set(r, i * cols);
    });
    return new Tensor(engine.fromArray(data), shape ?? [rows.length, cols], engine);
  }
  const flat = values as ArrayLike<number>;
  return new Tensor(engine.fromArray(flat), shape ?? [flat.length], engine);
}

/** A trainable leaf (requiresGrad = true). */
export function parameter(values: ArrayLike<number> | number[][], shape?: readonly number[], engine?: TensorEngine): Tensor {
  return tensor(values, shape, engine).requireGrad();
}

/** A tensor of `shape` with every entry `value`, on `engine` (default js): a leaf. */
export function full(shape: readonly number[], value: number, engine: TensorEngine = jsTensorEngine): Tensor {
  checkShape(shape);
  return new Tensor(engine.full(sizeOf(shape), value), shape, engine);
}
/** A tensor of `shape` filled with 0 (torch.zeros), on `engine` (default js). */
export function zeros(shape: readonly number[], engine?: TensorEngine): Tensor {
  return full(shape, 0, engine);
}
/** A tensor of `shape` filled with 1 (torch.ones), on `engine` (default js). */
export function ones(shape: readonly number[], engine?: TensorEngine): Tensor {
  return full(shape, 1, engine);
}
/** A rank-0 tensor (shape []) holding v, on `engine` (default js). */
export function scalar(v: number, engine?: TensorEngine): Tensor {
  return full([], v, engine);
}

/** A copy of t on `engine` (a leaf; async because leaving the GPU means a read-back). */
export async function toEngine(t: Tensor, engine: TensorEngine): Promise<Tensor> {
  if (t.engine === engine) return t.clone();
  return new Tensor(engine.fromArray(await t.read()), t.shape, engine);
}

/** The one engine all operands live on (numbers take it too). */
function engineOf(xs: (Tensor | number)[]): TensorEngine {
  let e: TensorEngine | undefined;
  for (const x of xs) {
    if (typeof x === 'number') continue;
    if (!e) e = x.engine;
    else if (x.engine !== e) {
      throw new OTError('invalid-option', `an op mixes tensors of the '${e.name}' and '${x.engine.name}' engines; move one with toEngine()`);
    }
  }
  return e ?? jsTensorEngine;
}

function asTensor(x: Tensor | number, engine: TensorEngine): Tensor {
  return typeof x === 'number' ? scalar(x, engine) : x;
}

/** Builds an op result from an engine storage; records parents and the rule when recording and a parent needs grad. */
function node(op: string, storage: unknown, shape: readonly number[], engine: TensorEngine, parents: Tensor[], backward: BackwardFn): Tensor {
  const t = new Tensor(storage, shape, engine);
  t.op = op;
  if (recording && parents.some((p) => p.requiresGrad)) {
    t.requiresGrad = true;
    t.parents = parents;
    t.backwardFn = backward;
  }
  return t;
}

/**
 * A custom op from its forward values (computed on the host) and a rule (the rule must use differentiable ops for
 * double backward to be right). The result lives on the parents' engine (on the js engine `data` is kept as it is).
 */
export function makeOp(op: string, data: Float64Array, shape: readonly number[], parents: Tensor[], backward: BackwardFn): Tensor {
  const e = engineOf(parents);
  return node(op, e === jsTensorEngine ? data : e.fromArray(data), shape, e, parents, backward);
}

/** An entrywise op on the engine of its operands. */
function mapOp(op: MapOp, xs: Tensor[], shape: readonly number[], p?: number): unknown {
  const e = engineOf(xs);
  return e.map(op, xs.map((x) => ({ s: x.live(), shape: x.shape })), shape, p);
}

// ---- broadcasting -------------------------------------------------------------------------------------------

/** Sums x down to `shape` (which must broadcast to x.shape). Rule: broadcastTo. */
export function sumTo(x: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(x.shape, shape)) return x;
  const target = broadcastShapes(shape, x.shape);
  if (!sameShape(target, x.shape)) {
    throw new OTError('shape', `cannot sum shape [${x.shape.join(', ')}] to [${shape.join(', ')}]`);
  }
  const xs = [...x.shape];
  const out = x.engine.sumTo({ s: x.live(), shape: x.shape }, shape);
  return node('sumTo', out, shape, x.engine, [x], (g) => [broadcastTo(g, xs)]);
}

/** Repeats x to `shape` (NumPy broadcasting). Rule: sumTo. */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(x.shape, shape)) return x;
  const target = broadcastShapes(x.shape, shape);
  if (!sameShape(target, shape)) {
    throw new OTError('shape', `cannot broadcast shape [${x.shape.join(', ')}] to [${shape.join(', ')}]`);
  }
  const xs = [...x.shape];
  return node('broadcastTo', mapOp('id', [x], shape), shape, x.engine, [x], (g) => [sumTo(g, xs)]);
}

// ---- elementwise binary ---------------------------------------------------------------------------------------

/** A binary entrywise op with broadcasting; numbers become scalars on the other operand's engine. */
function binary(op: 'add' | 'sub' | 'mul' | 'div', a: Tensor | number, b: Tensor | number, rule: (A: Tensor, B: Tensor) => BackwardFn): Tensor {
  const e = engineOf([a, b]);
  const A = asTensor(a, e);
  const B = asTensor(b, e);
  const shape = sameShape(A.shape, B.shape) ? [...A.shape] : broadcastShapes(A.shape, B.shape);
  return node(op, mapOp(op, [A, B], shape), shape, e, [A, B], rule(A, B));
}

/** a + b entrywise with NumPy broadcasting (a number is a scalar). Rule: g summed back to each operand's shape. */
export function add(a: Tensor | number, b: Tensor | number): Tensor {
  return binary('add', a, b, (A, B) => (g, needs) => [needs[0] ? sumTo(g, A.shape) : null, needs[1] ? sumTo(g, B.shape) : null]);
}

/** a − b entrywise with NumPy broadcasting (a number is a scalar). Rule: g and −g summed back to the operands' shapes. */
export function sub(a: Tensor | number, b: Tensor | number): Tensor {
  return binary('sub', a, b, (A, B) => (g, needs) => [needs[0] ? sumTo(g, A.shape) : null, needs[1] ? sumTo(neg(g), B.shape) : null]);
}

/** a ⊙ b entrywise with NumPy broadcasting (a number is a scalar). Rule: g·b and g·a, summed back to the operands' shapes. */
export function mul(a: Tensor | number, b: Tensor | number): Tensor {
  return binary('mul', a, b, (A, B) => (g, needs) => [needs[0] ? sumTo(mul(g, B), A.shape) : null, needs[1] ? sumTo(mul(g, A), B.shape) : null]);
}

/** a / b entrywise with NumPy broadcasting (a number is a scalar). Rule: g/b and −g·a/b², summed back to the operands' shapes. */
export function div(a: Tensor | number, b: Tensor | number): Tensor {
  return binary('div', a, b, (A, B) => (g, needs) => [
    needs[0] ? sumTo(div(g, B), A.shape) : null,
    needs[1] ? sumTo(neg(div(mul(g, A), square(B))), B.shape) : null,
  ]);
}

// ---- elementwise unary ----------------------------------------------------------------------------------------

/** A unary entrywise op; `rule(y)` gets the op's own output (for rules written with it, like exp's). */
function unary(op: MapOp, x: Tensor, rule: (y: Tensor) => BackwardFn, p?: number, name: string = op): Tensor {
  const y: Tensor = node(name, mapOp(op, [x], x.shape, p), x.shape, x.engine, [x], (g, needs) => rule(y)(g, needs));
  return y;
}

/** −x entrywise. Rule: −g. */
export function neg(x: Tensor): Tensor {
  return unary('neg', x, () => (g) => [neg(g)]);
}

/** s · x for a constant number s. */
export function scale(x: Tensor, s: number): Tensor {
  return unary('scale', x, () => (g) => [scale(g, s)], s);
}

/** x² entrywise. Rule: 2x·g. */
export function square(x: Tensor): Tensor {
  return unary('square', x, () => (g) => [mul(g, scale(x, 2))]);
}

/** √x entrywise, for x ≥ 0. Rule: g / (2√x), through the op's own output. */
export function sqrt(x: Tensor): Tensor {
  return unary('sqrt', x, (y) => (g) => [div(g, scale(y, 2))]);
}

/** eˣ entrywise. Rule: g·eˣ (the op's own output). */
export function exp(x: Tensor): Tensor {
  return unary('exp', x, (y) => (g) => [mul(g, y)]);
}

/** The natural logarithm entrywise, for x > 0. Rule: g / x. */
export function log(x: Tensor): Tensor {
  return unary('log', x, () => (g) => [div(g, x)]);
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
  return unary('leakyRelu', x, () => (g) => [mul(g, leakyReluStep(x, alpha))], alpha, alpha === 0 ? 'relu' : 'leakyRelu');
}

/** The derivative of leakyRelu: 1 where x > 0, α elsewhere; its own derivative is 0 (a.e.). */
export function leakyReluStep(x: Tensor, alpha: number): Tensor {
  const xs = [...x.shape];
  return unary('leakyReluStep', x, () => () => [zeros(xs, x.engine)], alpha);
}

/** 1 / (1 + e^{−x}), computed stably; rule: g · s · (1 − s) with s this op's output. */
export function sigmoid(x: Tensor): Tensor {
  return unary('sigmoid', x, (y) => (g) => [mul(g, mul(y, sub(1, y)))]);
}

/** log(1 + e^x), computed stably; rule: g · sigmoid(x) (so second derivative σ(x)(1 − σ(x))). */
export function softplus(x: Tensor): Tensor {
  return unary('softplus', x, () => (g) => [mul(g, sigmoid(x))]);
}

/** tanh x entrywise. Rule: g·(1 − tanh²x), through the op's own output. */
export function tanh(x: Tensor): Tensor {
  return unary('tanh', x, (y) => (g) => [mul(g, sub(1, square(y)))]);
}

// ---- shape ops -----------------------------------------------------------------------------------------------

/**
 * The same values (row-major order) with another shape of the same size; x itself when the shape is unchanged,
 * otherwise a copy (storage is never shared). OTError('shape') when the sizes differ. Rule: reshape back.
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  checkShape(shape);
  if (sizeOf(shape) !== x.size) {
    throw new OTError('shape', `cannot reshape [${x.shape.join(', ')}] (${x.size} entries) to [${shape.join(', ')}]`);
  }
  if (sameShape(x.shape, shape)) return x;
  const xs = [...x.shape];
  return node('reshape', x.engine.copy(x.live()), shape, x.engine, [x], (g) => [reshape(g, xs)]);
}

function need2d(x: Tensor, what: string): void {
  if (x.rank !== 2) throw new OTError('shape', `${what} needs a 2-D tensor, got shape [${x.shape.join(', ')}]`);
}

/** The transpose of a 2-D tensor (m × n → n × m, a copy). Rule: transpose. */
export function transpose(x: Tensor): Tensor {
  need2d(x, 'transpose');
  const [m, n] = x.shape;
  return node('transpose', x.engine.transpose(x.live(), m, n), [n, m], x.engine, [x], (g) => [transpose(g)]);
}

/** Transpose flags of {@link matmul} (the BLAS transA / transB): no transposed copy is made. */
export interface MatmulOptions {
  /** Use aᵀ (a stored k × m). */
  transA?: boolean;
  /** Use bᵀ (b stored n × k). */
  transB?: boolean;
}

/**
 * op(a) · op(b), (m × k)·(k × n), op transposing where the flags say (no transposed copy is made). Rules, with
 * the same op and other flags: ∂op(a) = g·op(b)ᵀ, ∂op(b) = op(a)ᵀ·g.
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  return matmulNode(a, b, opts.transA ?? false, opts.transB ?? false);
}

/** op(a)·op(b) (+ bias, a length-n row: the fused dense layer); see matmul for the rules. */
function matmulNode(a: Tensor, b: Tensor, tA: boolean, tB: boolean, bias?: Tensor): Tensor {
  need2d(a, 'matmul');
  need2d(b, 'matmul');
  const [m, k] = tA ? [a.shape[1], a.shape[0]] : a.shape;
  const [k2, n] = tB ? [b.shape[1], b.shape[0]] : b.shape;
  if (k !== k2) {
    throw new OTError('shape', `matmul: inner dims differ ([${a.shape.join(', ')}]${tA ? 'ᵀ' : ''} · [${b.shape.join(', ')}]${tB ? 'ᵀ' : ''})`);
  }
  const parents = bias ? [a, b, bias] : [a, b];
  const e = engineOf(parents);
  const out = e.matmul(a.live(), b.live(), m, k, n, { transA: tA, transB: tB, bias: bias?.live() });
  return node(bias ? 'linear' : 'matmul', out, [m, n], e, parents, (g, needs) => [
    needs[0] ? (tA ? matmulNode(b, g, tB, true) : matmulNode(g, b, false, !tB)) : null,
    needs[1] ? (tB ? matmulNode(g, a, true, tA) : matmulNode(a, g, !tA, false)) : null,
    bias && needs[2] ? sumTo(g, bias.shape) : null,
  ]);
}

/** x · W + b (b broadcast over rows): a dense layer with W of shape [in, out]; one kernel when b is a row. */
export function linear(x: Tensor, w: Tensor, b?: Tensor): Tensor {
  if (!b) return matmul(x, w);
  const n = w.rank === 2 ? w.shape[1] : -1;
  if (x.rank === 2 && b.size === n && isTrailing(b.shape, [x.shape[0], n])) return matmulNode(x, w, false, false, b);
  return add(matmul(x, w), b);
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

/** The mean of all entries (shape []), or along `axis` (negative counts from the end; dropped unless keepdims): sum / count. */
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
  const e = engineOf(xs);
  const widths = xs.map((t) => t.shape[r - 1]);
  const total = widths.reduce((a, b) => a + b, 0);
  const out = e.concat(
    xs.map((t, k) => ({ s: t.live(), w: widths[k] })),
    sizeOf(lead),
  );
  return node('concat', out, [...lead, total], e, xs, (g, needs) => {
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
  const out = x.engine.slice(x.live(), sizeOf(lead), total, start, end);
  return node('sliceLast', out, [...lead, end - start], x.engine, [x], (g) => {
    const parts: Tensor[] = [];
    if (start > 0) parts.push(zeros([...lead, start], x.engine));
    parts.push(g);
    if (end < total) parts.push(zeros([...lead, total - end], x.engine));
    return [parts.length === 1 ? g : concat(parts)];
  });
}

// ---- autodiff -------------------------------------------------------------------------------------------------

/** Options of {@link grad} (torch.autograd.grad's grad_outputs, create_graph, allow_unused). */
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
  const seed = opts.gradOutput ?? ones(y.shape, y.engine);
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
    return zeros(x.shape, x.engine);
  });
}
