// The storage seam of the neural tensor engine: ts/neural/tensor.ts owns the graph, the backward rules, grad() and
// noGrad() once, and sends every numeric kernel to the `TensorEngine` its operands live on:
//   - `jsTensorEngine` (ts/neural/js-engine.ts): f64 Float64Arrays, plain loops; the oracle and the fallback.
//   - `WasmTensorEngine` (ts/neural/wasm-engine.ts): f64 or f32 storages in wasm memory, SIMD kernels
//     (assembly/tensor.ts); the default CPU engine of the trainers.
//   - `WebGpuTensorEngine` (gpu/tensor.ts): f32 GPUBuffers, WGSL kernels (gpu/tensor-kernels.ts); ops enqueue work
//     and return at once, values come back through `read()` (async).
// Names follow DESIGN.md's backends: 'js' (plain TypeScript, f64), 'wasm' (WASM SIMD, f64 or f32) and 'webgpu' (f32).
//
// An engine sees storages and shapes, never Tensors (no import cycle, nothing about graphs). Storages are opaque
// handles the engine made; `retain` / `release` count the tensors that share one (detach() shares storage), and
// the last release frees it (a no-op on the js engine, where the garbage collector does it).
//
// Semantics every engine must reproduce (to its precision): NumPy broadcasting (right-aligned; a dim of 1
// stretches); `map` applies one of MAP_OPS entrywise over the broadcast of its inputs; `sumTo` sums x down to a
// shape that broadcasts to x's; matmul is (m × k)·(k × n), row-major; concat/slice along the last axis.
import { OTError } from '../errors.js';

/** Backend names of the tensor engines (DESIGN.md): 'js' = plain TypeScript f64, 'wasm' = WASM SIMD (f64 or f32), 'webgpu' = WGSL f32. */
export type TensorBackend = 'js' | 'wasm' | 'webgpu';

/**
 * Entrywise ops. Binary: add, sub, mul, div. Unary: id (a copy; with broadcasting it is broadcastTo), neg,
 * scale (p·x), square, sqrt, exp, log, leakyRelu (x > 0 ? x : p·x), leakyReluStep (x > 0 ? 1 : p), sigmoid,
 * softplus (log(1 + eˣ)), tanh. sigmoid and softplus are computed in their stable forms on every engine.
 */
export const BINARY_OPS = ['add', 'sub', 'mul', 'div'] as const;
/** The unary entrywise ops (see {@link BINARY_OPS} for what each computes). */
export const UNARY_OPS = ['id', 'neg', 'scale', 'square', 'sqrt', 'exp', 'log', 'leakyRelu', 'leakyReluStep', 'sigmoid', 'softplus', 'tanh'] as const;
/** One of {@link BINARY_OPS}: 'add' | 'sub' | 'mul' | 'div'. */
export type BinaryOp = (typeof BINARY_OPS)[number];
/** One of {@link UNARY_OPS}: 'id' | 'neg' | 'scale' | … | 'tanh'. */
export type UnaryOp = (typeof UNARY_OPS)[number];
/** Any entrywise op a {@link TensorEngine} maps: binary or unary. */
export type MapOp = BinaryOp | UnaryOp;

/** Adam's update of one parameter (optim.ts states the formula); c1, c2 are the bias corrections 1 − βᵗ. */
export interface AdamHyper {
  /** The step size. */
  lr: number;
  /** The decay of the first moment m. */
  beta1: number;
  /** The decay of the second moment v. */
  beta2: number;
  /** Added to √v̂ in the denominator. */
  eps: number;
  /** Decoupled weight decay (AdamW); 0 for plain Adam. */
  weightDecay: number;
  /** 1 − β₁ᵗ, the bias correction of m at step t. */
  c1: number;
  /** 1 − β₂ᵗ, the bias correction of v at step t. */
  c2: number;
}

/** The flags of {@link TensorEngine.matmul}. */
export interface MatmulFlags<S = unknown> {
  /** a is stored k × m: use aᵀ. */
  transA?: boolean;
  /** b is stored n × k: use bᵀ. */
  transB?: boolean;
  /** A length-n row added to every row of the product (a fused dense layer). */
  bias?: S;
}

/** An operand: a storage and its shape. */
export interface Operand<S = unknown> {
  /** The engine's storage handle. */
  s: S;
  /** Its tensor shape (the storage holds the product of the dims entries, row-major). */
  shape: readonly number[];
}

/**
 * Where a tensor's values live and its kernels run: the storage seam under the one graph of `Tensor`. S is the
 * engine's opaque storage handle (a Float64Array on `jsTensorEngine`, a {@link GpuStorage} on `WebGpuTensorEngine`).
 * An engine sees storages and shapes, never tensors; implement it to add a backend.
 */
export interface TensorEngine<S = unknown> {
  /** The backend name: 'js' (f64) or 'webgpu' (f32). */
  readonly name: TensorBackend;
  /** A new storage holding `values` (converted to the engine's precision). */
  fromArray(values: ArrayLike<number>): S;
  /** A new storage of `size` entries, all `value`. */
  full(size: number, value: number): S;
  /** Entry count of a storage. */
  length(s: S): number;
  /** Values as f64 (waits for queued GPU work). */
  read(s: S): Promise<Float64Array>;
  /** Values as f64 without waiting, or undefined where that is impossible (GPU storage). */
  readSync(s: S): Float64Array | undefined;
  /** Overwrites the storage's values in place (after all work queued so far). */
  write(s: S, values: ArrayLike<number>): void;
  /** One more tensor shares the storage (`detach()`): it is freed only after one more `release`. */
  retain(s: S): void;
  /** One tensor lets go of the storage; the last release frees it (a no-op on the js engine, where the GC does it). */
  release(s: S): void;

  /** Entrywise op over the broadcast of 1 or 2 inputs, into a new storage of `outShape`; p: the op's constant. */
  map(op: MapOp, inputs: Operand<S>[], outShape: readonly number[], p?: number): S;
  /** x summed down to `shape` (which broadcasts to x.shape). */
  sumTo(x: Operand<S>, shape: readonly number[]): S;
  /**
   * op(a)·op(b) (+ bias, a length-n row added to every row): m × n, with op(a) m × k and op(b) k × n, where op
   * transposes when the flag is set (a is stored k × m when transA, b n × k when transB).
   */
  matmul(a: S, b: S, m: number, k: number, n: number, opts?: MatmulFlags<S>): S;
  /** The transpose of an m × n matrix. */
  transpose(x: S, m: number, n: number): S;
  /** A copy (reshape never shares storage, so disposing one tensor never frees another's values). */
  copy(x: S): S;
  /** Row-wise concatenation of [rows × w_k] blocks into [rows × Σw]. */
  concat(parts: { s: S; w: number }[], rows: number): S;
  /** Columns [start, end) of a [rows × total] matrix. */
  slice(x: S, rows: number, total: number, start: number, end: number): S;
  /** In place: Adam's update of p from g with moment storages m, v (all of one size). */
  adam(p: S, g: S, m: S, v: S, h: AdamHyper): void;
  /** In place: x ← max(x, lo). */
  clampMin(x: S, lo: number): void;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
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
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
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

/** Whether `shape` (after dropping leading 1s) equals the trailing dims of `full`: broadcast only repeats it. */
export function isTrailing(shape: readonly number[], full: readonly number[]): boolean {
  let k = 0;
  while (k < shape.length && shape[k] === 1) k++;
  const rest = shape.length - k;
  if (rest > full.length) return false;
  for (let i = 0; i < rest; i++) if (shape[k + i] !== full[full.length - rest + i]) return false;
  return true;
}
