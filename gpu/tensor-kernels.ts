// WGSL sources of the webgpu tensor engine (gpu/tensor.ts), f32. The f64 definitions they must match are in
// ts/neural/js-engine.ts; tests/neural-webgpu.test.ts compares the two op by op.
//
// Parameters travel in a small `prm: array<u32>` storage buffer (floats as their bits, read with bitcast), laid out
// as each kernel's comment says; matmul's sizes are a uniform (its tile loop bound must be uniform for the
// barriers). One thread per output entry except where stated; grids spill into y past 65535 workgroups (MAIN).
import type { MapOp } from '../ts/neural/engine.js';
import { F32, type KernelSource, MAIN, declare } from './kernels.js';

/** Threads per workgroup of the entrywise kernels. */
export const WG = 64;
/** Threads per workgroup of a sum reduced by one workgroup per output entry. */
export const REDUCE_WG = 128;
/** Side of the square matmul tile staged in workgroup memory. */
export const TILE = 16;

/** Sources are built once per variant (the pipeline cache is keyed by the source text). */
const built = new Map<string, KernelSource>();
function memo(key: string, make: () => KernelSource): KernelSource {
  let k = built.get(key);
  if (!k) built.set(key, (k = make()));
  return k;
}

/** A kernel with one thread per entry: `body` sees t, the thread's index; `head` holds module-scope helpers. */
function perEntry(key: string, bindings: KernelSource['bindings'], body: string, head = ''): KernelSource {
  return memo(key, () => ({ bindings, workgroupSize: WG, code: `${declare(bindings)}\n${head}\n${MAIN(WG)}\n${body}\n}` }));
}

const META = { name: 'prm', access: 'read', type: 'array<u32>' } as const;
const rd = (name: string) => ({ name, access: 'read', type: F32 }) as const;
const rw = (name: string) => ({ name, access: 'rw', type: F32 }) as const;

/**
 * The f32 expression of each entrywise op in x (first input), y (second) and p (the op's constant). sigmoid and
 * softplus use e = exp(−|x|) ≤ 1, so nothing overflows; tanh's argument is clamped to ±20, where tanh is ±1 in f32.
 */
const EXPR: Record<MapOp, string> = {
  add: 'x + y',
  sub: 'x - y',
  mul: 'x * y',
  div: 'x / y',
  id: 'x',
  neg: '-x',
  scale: 'p * x',
  square: 'x * x',
  sqrt: 'sqrt(x)',
  exp: 'exp(x)',
  log: 'log(x)',
  leakyRelu: 'select(p * x, x, x > 0.0)',
  leakyReluStep: 'select(p, 1.0, x > 0.0)',
  sigmoid: 'select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0)',
  softplus: 'max(x, 0.0) + log(1.0 + e)',
  tanh: 'tanh(clamp(x, -20.0, 20.0))',
};

/**
 * out[t] = op(a[ia], b[ib]) over the broadcast output. prm: [n, rank, bits(p), lenA, lenB, shape[rank],
 * strideA[rank], strideB[rank]]. `trailing`: each input is its own trailing block repeated (same shape, bias rows,
 * scalars), so ia = t mod lenA; otherwise the general strided index (a stride of 0 broadcasts).
 */
export function mapKernel(op: MapOp, arity: 1 | 2, trailing: boolean): KernelSource {
  const bindings: KernelSource['bindings'] = [META, rd('a'), ...(arity === 2 ? [rd('b')] : []), rw('out')];
  const index = trailing
    ? `let ia = t % prm[3];${arity === 2 ? ' let ib = t % prm[4];' : ''}`
    : `let r = prm[1];
  var ia = 0u; var ib = 0u; var rem = t;
  for (var d = i32(r) - 1; d >= 0; d--) {
    let ud = u32(d);
    let c = rem % prm[5u + ud];
    rem = rem / prm[5u + ud];
    ia += c * prm[5u + r + ud];
    ib += c * prm[5u + 2u * r + ud];
  }`;
  return perEntry(
    `map:${op}:${arity}:${trailing}`,
    bindings,
    `  if (t >= prm[0]) { return; }
  let p = bitcast<f32>(prm[2]);
  ${index}
  let x = a[ia];
  let y = ${arity === 2 ? 'b[ib]' : '0.0'};
  let e = exp(-abs(x));
  out[t] = ${EXPR[op]};`,
  );
}

/** Flat index into x of output entry j and reduced entry r; prm: [nOut, R, rank, outDim[rank], redDim[rank], xStride[rank]]. */
const SUM_INDEX = `fn xIndex(j: u32, r: u32) -> u32 {
  let rank = prm[2];
  var jj = j; var rr = r; var idx = 0u;
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let ud = u32(d);
    let od = prm[3u + ud];
    let rd = prm[3u + rank + ud];
    // every dim is kept (rd = 1) or reduced (od = 1), so one of the two coordinates is 0
    idx += ((jj % od) + (rr % rd)) * prm[3u + 2u * rank + ud];
    jj = jj / od;
    rr = rr / rd;
  }
  return idx;
}`;

/** sumTo with one thread per output entry looping over its R terms (for small R). */
export function sumToThreads(): KernelSource {
  return perEntry(
    'sumToThreads',
    [META, rd('x'), rw('out')],
    `  if (t >= prm[0]) { return; }
  var s = 0.0;
  for (var r = 0u; r < prm[1]; r++) { s += x[xIndex(t, r)]; }
  out[t] = s;`,
    SUM_INDEX,
  );
}

/** sumTo with one workgroup per output entry: strided partial sums, then a tree in workgroup memory (large R). */
export function sumToWorkgroups(): KernelSource {
  return memo('sumToWorkgroups', () => {
    const bindings: KernelSource['bindings'] = [META, rd('x'), rw('out')];
    return {
      bindings,
      workgroupSize: REDUCE_WG,
      code: `${declare(bindings)}
${SUM_INDEX}
var<workgroup> part: array<f32, ${REDUCE_WG}>;
@compute @workgroup_size(${REDUCE_WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let j = wid.y * nwg.x + wid.x;
  let live = j < prm[0];
  var s = 0.0;
  if (live) {
    for (var r = lid; r < prm[1]; r += ${REDUCE_WG}u) { s += x[xIndex(j, r)]; }
  }
  part[lid] = s;
  workgroupBarrier();
  for (var h = ${REDUCE_WG / 2}u; h > 0u; h = h >> 1u) {
    if (lid < h) { part[lid] += part[lid + h]; }
    workgroupBarrier();
  }
  if (live && lid == 0u) { out[j] = part[0]; }
}`,
    };
  });
}

/**
 * out (m × n) = op(a)·op(b) (+ bias[col]), TILE × TILE output tiles, both operands staged tile by tile in workgroup
 * memory. op transposes when P.transA / P.transB is 1 (a stored k × m, b n × k), so backward passes need no
 * transposed copies. Without a bias the `bias` binding is a placeholder (P.hasBias = 0).
 */
export function matmulKernel(): KernelSource {
  return memo('matmulKernel', () => {
    const bindings: KernelSource['bindings'] = [{ name: 'P', access: 'uniform', type: 'MM' }, rd('a'), rd('b'), rd('bias'), rw('out')];
    return {
      bindings,
      workgroupSize: TILE * TILE,
      code: `struct MM { m: u32, k: u32, n: u32, transA: u32, transB: u32, hasBias: u32, pad0: u32, pad1: u32 }
${declare(bindings)}
var<workgroup> As: array<array<f32, ${TILE}>, ${TILE}>;
var<workgroup> Bs: array<array<f32, ${TILE}>, ${TILE}>;
@compute @workgroup_size(${TILE}, ${TILE})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row = wid.y * ${TILE}u + lid.y;
  let col = wid.x * ${TILE}u + lid.x;
  var acc = 0.0;
  let tiles = (P.k + ${TILE - 1}u) / ${TILE}u;
  for (var q = 0u; q < tiles; q++) {
    let ka = q * ${TILE}u + lid.x;
    var va = 0.0;
    if (row < P.m && ka < P.k) {
      if (P.transA == 1u) { va = a[ka * P.m + row]; } else { va = a[row * P.k + ka]; }
    }
    As[lid.y][lid.x] = va;
    let kb = q * ${TILE}u + lid.y;
    var vb = 0.0;
    if (kb < P.k && col < P.n) {
      if (P.transB == 1u) { vb = b[col * P.k + kb]; } else { vb = b[kb * P.n + col]; }
    }
    Bs[lid.y][lid.x] = vb;
    workgroupBarrier();
    for (var i = 0u; i < ${TILE}u; i++) { acc += As[lid.y][i] * Bs[i][lid.x]; }
    workgroupBarrier();
  }
  if (row < P.m && col < P.n) {
    if (P.hasBias == 1u) { acc += bias[col]; }
    out[row * P.n + col] = acc;
  }
}`,
    };
  });
}

/** dst[i·dstStride + dstOff + j] = src[i·srcStride + srcOff + j], i < rows, j < w (slices and concat blocks). prm: [rows, w, srcStride, srcOff, dstStride, dstOff]. */
export function copyBlockKernel(): KernelSource {
  return perEntry(
    'copyBlock',
    [META, rd('src'), rw('dst')],
    `  let w = prm[1];
  if (t >= prm[0] * w) { return; }
  let i = t / w;
  let j = t % w;
  dst[i * prm[4] + prm[5] + j] = src[i * prm[2] + prm[3] + j];`,
  );
}

/** Adam, in place (ts/neural/optim.ts states the update). prm: [n, bits(lr), bits(β₁), bits(β₂), bits(ε), bits(wd), bits(c1), bits(c2)]. */
export function adamKernel(): KernelSource {
  return perEntry(
    'adam',
    [META, rw('p'), rd('g'), rw('m'), rw('v')],
    `  if (t >= prm[0]) { return; }
  let lr = bitcast<f32>(prm[1]);
  let b1 = bitcast<f32>(prm[2]);
  let b2 = bitcast<f32>(prm[3]);
  let eps = bitcast<f32>(prm[4]);
  let wd = bitcast<f32>(prm[5]);
  let gj = g[t];
  let mj = b1 * m[t] + (1.0 - b1) * gj;
  let vj = b2 * v[t] + (1.0 - b2) * gj * gj;
  m[t] = mj;
  v[t] = vj;
  var pj = p[t];
  pj -= lr * wd * pj;
  p[t] = pj - (lr * (mj / bitcast<f32>(prm[6]))) / (sqrt(vj / bitcast<f32>(prm[7])) + eps);`,
  );
}

/** x ← max(x, lo), in place. prm: [n, bits(lo)]. */
export function clampMinKernel(): KernelSource {
  return perEntry(
    'clampMin',
    [META, rw('x')],
    `  if (t >= prm[0]) { return; }
  let lo = bitcast<f32>(prm[1]);
  x[t] = select(x[t], lo, x[t] < lo);`,
  );
}
