// The 'js' tensor engine: f64 Float64Arrays and plain loops (ts/neural/engine.ts states the contract). It is the
// oracle the f32 WebGPU engine is tested against, and the engine used where there is no GPU.
import { OTError } from '../errors.js';
import { type AdamHyper, type MapOp, type MatmulFlags, type Operand, type TensorEngine, broadcastStrides, isTrailing, sameShape, sizeOf } from './engine.js';

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

/** The f64 definition of every entrywise op (p: the op's constant, e.g. scale's factor or leaky relu's slope). */
function entrywise(op: MapOp, p: number): (x: number, y: number) => number {
  switch (op) {
    case 'add':
      return (x, y) => x + y;
    case 'sub':
      return (x, y) => x - y;
    case 'mul':
      return (x, y) => x * y;
    case 'div':
      return (x, y) => x / y;
    case 'id':
      return (x) => x;
    case 'neg':
      return (x) => -x;
    case 'scale':
      return (x) => p * x;
    case 'square':
      return (x) => x * x;
    case 'sqrt':
      return Math.sqrt;
    case 'exp':
      return Math.exp;
    case 'log':
      return Math.log;
    case 'leakyRelu':
      return (x) => (x > 0 ? x : p * x);
    case 'leakyReluStep':
      return (x) => (x > 0 ? 1 : p);
    case 'sigmoid':
      return (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
    case 'softplus':
      return (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
    case 'tanh':
      return Math.tanh;
    default:
      throw new OTError('invalid-option', `unknown tensor op '${op as string}'`);
  }
}

function map(op: MapOp, inputs: Operand<Float64Array>[], outShape: readonly number[], p = 0): Float64Array {
  const f = entrywise(op, p);
  const out = new Float64Array(sizeOf(outShape));
  const a = inputs[0];
  const ad = a.s;
  if (inputs.length === 1) {
    if (sameShape(a.shape, outShape)) {
      for (let i = 0; i < out.length; i++) out[i] = f(ad[i], 0);
    } else if (isTrailing(a.shape, outShape)) {
      const m = ad.length;
      for (let i = 0; i < out.length; i++) out[i] = f(ad[i % m], 0);
    } else {
      forEachBroadcast(outShape, [a.shape], (o, idx) => {
        out[o] = f(ad[idx[0]], 0);
      });
    }
    return out;
  }
  const b = inputs[1];
  const bd = b.s;
  const aFull = sameShape(a.shape, outShape);
  const bFull = sameShape(b.shape, outShape);
  if (aFull && bFull) {
    for (let i = 0; i < out.length; i++) out[i] = f(ad[i], bd[i]);
  } else if (aFull && isTrailing(b.shape, outShape)) {
    // one operand is the other's trailing block repeated over leading dims (bias rows, scalars)
    const m = bd.length;
    for (let i = 0; i < out.length; i++) out[i] = f(ad[i], bd[i % m]);
  } else if (bFull && isTrailing(a.shape, outShape)) {
    const m = ad.length;
    for (let i = 0; i < out.length; i++) out[i] = f(ad[i % m], bd[i]);
  } else {
    forEachBroadcast(outShape, [a.shape, b.shape], (o, idx) => {
      out[o] = f(ad[idx[0]], bd[idx[1]]);
    });
  }
  return out;
}

function sumTo(x: Operand<Float64Array>, shape: readonly number[]): Float64Array {
  const out = new Float64Array(sizeOf(shape));
  const xd = x.s;
  if (isTrailing(shape, x.shape)) {
    const m = out.length;
    for (let i = 0; i < xd.length; i++) out[i % m] += xd[i];
  } else {
    forEachBroadcast(x.shape, [shape], (o, idx) => {
      out[idx[0]] += xd[o];
    });
  }
  return out;
}

/** x stored rows × cols, transposed (a copy). */
function transposed(d: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = d[i * cols + j];
  return out;
}

function matmul(a: Float64Array, b: Float64Array, m: number, k: number, n: number, opts: MatmulFlags<Float64Array> = {}): Float64Array {
  const ad = opts.transA ? transposed(a, k, m) : a;
  const bd = opts.transB ? transposed(b, n, k) : b;
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    const o = i * n;
    for (let p = 0; p < k; p++) {
      const v = ad[i * k + p];
      if (v === 0) continue;
      const bo = p * n;
      for (let j = 0; j < n; j++) out[o + j] += v * bd[bo + j];
    }
    if (opts.bias) for (let j = 0; j < n; j++) out[o + j] += opts.bias[j];
  }
  return out;
}

function adam(p: Float64Array, g: Float64Array, m: Float64Array, v: Float64Array, h: AdamHyper): void {
  const { beta1: b1, beta2: b2, eps, lr, weightDecay: wd, c1, c2 } = h;
  for (let j = 0; j < p.length; j++) {
    const gj = g[j];
    m[j] = b1 * m[j] + (1 - b1) * gj;
    v[j] = b2 * v[j] + (1 - b2) * gj * gj;
    if (wd !== 0) p[j] -= lr * wd * p[j];
    p[j] -= (lr * (m[j] / c1)) / (Math.sqrt(v[j] / c2) + eps);
  }
}

const kernels: TensorEngine<Float64Array> = {
  name: 'js',
  fromArray: (values) => Float64Array.from(values),
  full: (size, value) => new Float64Array(size).fill(value),
  length: (s) => s.length,
  read: (s) => Promise.resolve(s.slice()),
  readSync: (s) => s,
  write: (s, values) => s.set(values),
  retain: () => {},
  release: () => {},
  map,
  sumTo,
  matmul,
  transpose: transposed,
  copy: (x) => x.slice(),
  concat(parts, rows) {
    const total = parts.reduce((a, p) => a + p.w, 0);
    const out = new Float64Array(rows * total);
    let off = 0;
    for (const { s: d, w } of parts) {
      for (let i = 0; i < rows; i++) for (let j = 0; j < w; j++) out[i * total + off + j] = d[i * w + j];
      off += w;
    }
    return out;
  },
  slice(d, rows, total, start, end) {
    const w = end - start;
    const out = new Float64Array(rows * w);
    for (let i = 0; i < rows; i++) for (let j = 0; j < w; j++) out[i * w + j] = d[i * total + start + j];
    return out;
  },
  adam,
  clampMin(x, lo) {
    for (let i = 0; i < x.length; i++) if (x[i] < lo) x[i] = lo;
  },
};

/** The js engine, as tensors hold it (its storages are Float64Arrays). */
export const jsTensorEngine = kernels as TensorEngine;
