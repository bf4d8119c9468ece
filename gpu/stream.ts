// The streamed Gibbs kernel of the multiscale Sinkhorn (ts/entropic/multiscale.ts) on WebGPU: the same passes as
// assembly/stream.ts — for a list of kept (target cluster, source cluster) blocks, the entries
//
//   E_ij = 2^(h_i + w_j + x_i · ỹ_j)        (f32, never stored; the host gives every term in log₂ units)
//
// summed per target slot (rows), per kept block (the cluster correction's masses), weighted by x_i · ỹ_j (for
// ⟨P, C⟩) or by ỹ_j per coordinate (the first moments, for the gradients). One workgroup per target cluster: each
// thread owns one target point (a cluster larger than the workgroup is taken in slices), the workgroup stages a
// tile of the block's sources (ỹ = scale·y, scaled as they are staged) in workgroup memory, as KeOps does.
//
// Column sums are row sums of the transposed problem: a second dispatch with the roles of the clouds exchanged over
// the transpose of the flagged blocks (x·ỹ is symmetric once both sides carry the scale: x_i·(s·y_j) = (s·x_i)·y_j).
// No f32 atomics are needed, and a column is summed by one thread, in order.
//
// Sums: a block's partial sum (≤ one cluster's sources) in f32, then added across blocks with Kahan compensation
// (hundreds of blocks per row at 10^5 points: plain f32 would lose ~√blocks ulps). Exponents clamped to [−125, 127]
// as on the CPU: the host redoes sums below 1e-30 or above 1e36 in f64 (multiscale.ts logSums).
import type { BlockList, PaddedCloud, PairPasses, PassSums } from '../ts/entropic/stream.js';
import { COLS_FLAG, transposeBlocks } from '../ts/entropic/stream.js';
import { OTError } from '../ts/errors.js';
import { F32, type KernelSource, declare } from './kernels.js';
import { COPY_DST, type Dispatch, GpuRuntime, UNIFORM, gridOf } from './runtime.js';

/** −∞ of a potential as the kernel sees it: finite, so that h + w of two padding slots stays finite (→ 2^−125). */
const NEG_EXP = -1e30;

// Four storage bindings (WebGPU's default limit is 8 per stage): each side's coordinates and exponents in one buffer
// ([d][np] then [np]), the cluster offsets, block pointers and list in one index buffer, the sums in one output.
const BINDINGS: KernelSource['bindings'] = [
  { name: 'P', access: 'uniform', type: 'Params' },
  { name: 'tdat', access: 'read', type: F32 },
  { name: 'sdat', access: 'read', type: F32 },
  { name: 'idx', access: 'read', type: 'array<u32>' },
  { name: 'out', access: 'rw', type: F32 },
];

/** The uniform block: counts, the scale of ỹ, and where each array starts in idx and out (in elements). */
const PARAMS = `struct Params { kT: u32, nT: u32, nS: u32, scale: f32, soffAt: u32, rowptrAt: u32, listAt: u32, bsumAt: u32 }`;

/**
 * The pass kernel for dimension d, `mode` (0: Σ E; 1: Σ E·t; 2: both, the second at out[nT + s]; 3: Σ E and
 * Σ E·ỹ_c at out[nT + c·nT + s]), with or without each block's Σ E (at out[bsumAt + q]), and `wg` threads per
 * workgroup (also the tile). Target cluster k's slots are [idx[k], idx[k + 1]) (the target offsets start idx).
 */
export function streamKernel(d: number, mode: 0 | 1 | 2 | 3, sums: boolean, wg: number): KernelSource {
  const coords = Array.from({ length: d }, (_, c) => c);
  const dot = coords.map((c) => `x${c} * tile[${c * wg}u + jj]`).join(' + ');
  const extra = mode === 2 ? 1 : mode === 3 ? d : 0;
  // the accumulators: a block's partial sum p<k>, the row's Kahan pair a<k>, c<k>; k = 0 is Σ E (Σ E·t in mode 1)
  const acc = Array.from({ length: 1 + extra }, (_, k) => k);
  const term = (k: number) => (k === 0 ? (mode === 1 ? 'e * t' : 'e') : mode === 2 ? 'e * t' : `e * tile[${(k - 1) * wg}u + jj]`);
  const kahan = (k: number) => `{ let y = p${k} - c${k}; let z = a${k} + y; c${k} = (z - a${k}) - y; a${k} = z; }`;
  const reduce = sums
    ? `red[lid] = select(0.0, p0, live);
      workgroupBarrier();
      for (var st = ${wg / 2}u; st > 0u; st = st >> 1u) {
        if (lid < st) { red[lid] = red[lid] + red[lid + st]; }
        workgroupBarrier();
      }
      if (lid == 0u) { out[P.bsumAt + q] = select(out[P.bsumAt + q], 0.0, base == i0) + red[0]; }
      workgroupBarrier();`
    : '';
  return {
    bindings: BINDINGS,
    workgroupSize: wg,
    code: `${PARAMS}
${declare(BINDINGS)}
var<workgroup> tile: array<f32, ${wg * (d + 1)}>;
${sums ? `var<workgroup> red: array<f32, ${wg}>;` : ''}

@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let k = wid.y * nwg.x + wid.x;
  if (k >= P.kT) { return; }
  let i0 = idx[k];
  let i1 = idx[k + 1u];
  let b0 = idx[P.rowptrAt + k];
  let b1 = idx[P.rowptrAt + k + 1u];
  let th = ${d}u * P.nT;
  let sw = ${d}u * P.nS;
  for (var base = i0; base < i1; base += ${wg}u) {
    let s = base + lid;
    let live = s < i1;
    var h = 0.0;
    ${coords.map((c) => `var x${c} = 0.0;`).join(' ')}
    if (live) {
      h = tdat[th + s];
      ${coords.map((c) => `x${c} = tdat[${c}u * P.nT + s];`).join(' ')}
    }
    ${acc.map((k) => `var a${k} = 0.0; var c${k} = 0.0;`).join(' ')}
    for (var q = b0; q < b1; q++) {
      let l = idx[P.listAt + q] & ${COLS_FLAG - 1}u;
      let j0 = idx[P.soffAt + l];
      let j1 = idx[P.soffAt + l + 1u];
      ${acc.map((k) => `var p${k} = 0.0;`).join(' ')}
      for (var jb = j0; jb < j1; jb += ${wg}u) {
        let cnt = min(${wg}u, j1 - jb);
        workgroupBarrier();
        if (lid < cnt) {
          ${coords.map((c) => `tile[${c * wg}u + lid] = sdat[${c}u * P.nS + jb + lid] * P.scale;`).join('\n          ')}
          tile[${d * wg}u + lid] = sdat[sw + jb + lid];
        }
        workgroupBarrier();
        if (live) {
          for (var jj = 0u; jj < cnt; jj++) {
            let t = ${dot};
            let e = exp2(clamp(h + tile[${d * wg}u + jj] + t, -125.0, 127.0));
            ${acc.map((k) => `p${k} += ${term(k)};`).join(' ')}
          }
        }
      }
      ${acc.map(kahan).join('\n      ')}
      ${reduce}
    }
    if (live) {
      ${acc.map((k) => `out[${k === 0 ? '' : `${k}u * P.nT + `}s] = a${k};`).join(' ')}
    }
  }
}`,
  };
}

/**
 * Threads per workgroup for a cloud's clusters: the smallest power of two in [32, 256] that holds the largest
 * (WebGPU guarantees 256 invocations a workgroup). Coarse clusters (16 centroids) get 32, not a mostly idle 256;
 * a cluster larger than 256 slots is taken in slices.
 */
function workgroupFor(off: Int32Array): number {
  let most = 0;
  for (let c = 0; c + 1 < off.length; c++) most = Math.max(most, off[c + 1] - off[c]);
  let wg = 32;
  while (wg < most && wg < 256) wg *= 2;
  return wg;
}

/** One side of a pair on the GPU: coordinates then the current pass's exponents, one buffer. */
interface Side {
  c: PaddedCloud;
  /** [d][np] coordinates, then [np] exponents (h or w, log₂ units). */
  dat: GPUBuffer;
  wg: number;
}

/** One direction's index buffer: its target offsets, source offsets, then the block pointers and list of a pass. */
interface Direction {
  from: Side;
  to: Side;
  idx: GPUBuffer;
  out: GPUBuffer;
  params: GPUBuffer;
  rowptrAt: number;
  listAt: number;
  /** Where the block sums start in out (after the rows and the second sums or moments). */
  bsumAt: number;
  /** List entries idx (and out's block sums) hold now: grown on demand, not kT·kS (10^8 at 10^6 points). */
  cap: number;
}

/**
 * The passes between one target cloud and one source cloud on the GPU (ts/entropic/stream.ts PairPasses): the
 * same sums as the wasm StreamPair, buffers allocated once per pair. Rows run target → source; column sums, when a
 * pass flags blocks for them, run source → target over the flagged blocks' transpose.
 */
export class GpuStreamPair implements PairPasses {
  pairs = 0;
  private readonly fwd: Direction;
  private readonly back: Direction;
  private readonly owned: GPUBuffer[] = [];
  /** kT·kS: the most entries a list can have. */
  private readonly blocksMax: number;

  private constructor(
    private readonly rt: GpuRuntime,
    readonly T: PaddedCloud,
    readonly S: PaddedCloud,
  ) {
    const own = (b: GPUBuffer) => (this.owned.push(b), b);
    const side = (c: PaddedCloud): Side => {
      const dat = own(rt.buffer((c.d + 1) * c.np * 4));
      rt.device.queue.writeBuffer(dat, 0, Float32Array.from(c.coords));
      return { c, dat, wg: workgroupFor(c.off) };
    };
    this.blocksMax = (T.off.length - 1) * (S.off.length - 1);
    const t = side(T);
    // (a self pair too keeps two: its passes may be given different h and w)
    const s = side(S);
    const direction = (from: Side, to: Side): Direction => {
      const kF = from.c.off.length;
      const kTo = to.c.off.length;
      const bsumAt = from.c.np * (1 + Math.max(1, from.c.d));
      const dir = { from, to, params: own(rt.buffer(32, UNIFORM | COPY_DST)), rowptrAt: kF + kTo, listAt: kF + kTo + kF, bsumAt, cap: 0 } as Direction;
      this.grow(dir, Math.min(this.blocksMax, 4 * (kF + kTo)));
      return dir;
    };
    this.fwd = direction(t, s);
    this.back = direction(s, t);
  }

  /** (Re)allocates a direction's index and output buffers for `cap` list entries. */
  private grow(dir: Direction, cap: number): void {
    const { rt } = this;
    for (const b of [dir.idx, dir.out]) {
      if (!b) continue;
      rt.release(b);
      this.owned.splice(this.owned.indexOf(b), 1);
    }
    dir.cap = cap;
    dir.idx = rt.buffer((dir.listAt + cap) * 4);
    dir.out = rt.buffer((dir.bsumAt + cap) * 4);
    this.owned.push(dir.idx, dir.out);
    rt.device.queue.writeBuffer(dir.idx, 0, Uint32Array.from([...dir.from.c.off, ...dir.to.c.off]));
  }

  /** Room for `entries` list entries in `dir` (doubling), under an out-of-memory scope: OTError('too-large'). */
  private async reserve(dir: Direction, entries: number): Promise<void> {
    if (entries <= dir.cap) return;
    const device = this.rt.device;
    device.pushErrorScope('out-of-memory');
    this.grow(dir, Math.min(this.blocksMax, Math.max(entries, 2 * dir.cap)));
    const oom = await device.popErrorScope();
    if (oom) throw new OTError('too-large', `webgpu: out of GPU memory for the multiscale kernel's block list (${entries} blocks: ${oom.message}).`);
  }

  /** Frees this pair's buffers (a failed build; the runtime's dispose() frees them all otherwise). */
  dispose(): void {
    for (const b of this.owned) this.rt.release(b);
  }

  /** A pair's buffers, under the runtime's error scopes (out of memory: OTError('too-large')). */
  static async create(rt: GpuRuntime, T: PaddedCloud, S: PaddedCloud): Promise<GpuStreamPair> {
    const kT = T.off.length - 1;
    const kS = S.off.length - 1;
    return GpuRuntime.build(rt.device, `the multiscale kernel's ${T.np} × ${S.np} points in ${kT} × ${kS} clusters`, () => new GpuStreamPair(rt, T, S));
  }

  /** Writes a pass's block pointers and list into `dir` and returns its dispatch. */
  private dispatch(dir: Direction, rowptr: ArrayLike<number>, list: ArrayLike<number>, mode: 0 | 1 | 2 | 3, sums: boolean, eps: number): Dispatch {
    const { from, to } = dir;
    const q = this.rt.device.queue;
    q.writeBuffer(dir.idx, dir.rowptrAt * 4, Uint32Array.from(rowptr));
    if (list.length > 0) q.writeBuffer(dir.idx, dir.listAt * 4, Uint32Array.from(list));
    const k = from.c.off.length - 1;
    const p = new ArrayBuffer(32);
    const u = new Uint32Array(p);
    u.set([k, from.c.np, to.c.np, 0, from.c.off.length, dir.rowptrAt, dir.listAt, dir.bsumAt]);
    new Float32Array(p, 12, 1)[0] = (2 / eps) * Math.LOG2E;
    q.writeBuffer(dir.params, 0, p);
    const src = streamKernel(from.c.d, mode, sums, from.wg);
    const d = this.rt.dispatch(src, { P: dir.params, tdat: from.dat, sdat: to.dat, idx: dir.idx, out: dir.out }, 1);
    // one workgroup per target cluster (dispatch() sized the grid for one thread)
    d.grid = gridOf(this.rt.device, k);
    return d;
  }

  async pass(eps: number, h: Float64Array, w: Float64Array, blocks: BlockList, mode: 0 | 1 | 2 | 3, blockSums = false): Promise<PassSums> {
    const { T, S, rt, fwd, back } = this;
    rt.alive();
    const q = rt.device.queue;
    const toExp = (x: Float64Array) => Float32Array.from(x, (v) => (v === -Infinity ? NEG_EXP : v * Math.LOG2E));
    q.writeBuffer(fwd.from.dat, T.d * T.np * 4, toExp(h));
    q.writeBuffer(fwd.to.dat, S.d * S.np * 4, toExp(w));
    const kT = T.off.length - 1;
    const kS = S.off.length - 1;
    await this.reserve(fwd, blocks.list.length);
    // block sums are Σ E: modes 0, 2 and 3 (mode 1 sums E·t)
    const ds = [this.dispatch(fwd, blocks.rowptr, blocks.list, mode, blockSums && mode !== 1, eps)];
    // the flagged blocks, transposed: the column pass's rows
    const withCols = mode !== 3 && blocks.list.some((e) => (e & COLS_FLAG) !== 0);
    if (withCols) {
      const t = transposeBlocks(blocks, kS, true);
      await this.reserve(back, t.list.length);
      ds.push(this.dispatch(back, t.rowptr, t.list, mode, false, eps));
    }
    for (let k = 0; k < kT; k++)
      for (let e = blocks.rowptr[k]; e < blocks.rowptr[k + 1]; e++) {
        const l = blocks.list[e] & (COLS_FLAG - 1);
        // a flagged block is evaluated twice: once for its rows, once (transposed) for its columns
        this.pairs += (T.off[k + 1] - T.off[k]) * (S.off[l + 1] - S.off[l]) * (withCols && blocks.list[e] & COLS_FLAG ? 2 : 1);
      }
    const rowCount = T.np * (mode === 2 ? 2 : mode === 3 ? 1 + T.d : 1);
    const colCount = withCols ? S.np * (mode === 2 ? 2 : 1) : 0;
    const sumAt = fwd.bsumAt;
    const sumCount = blockSums ? blocks.list.length : 0;
    const all = await rt.readBack((rowCount + colCount + sumCount) * 4, (staging) =>
      rt.submit(ds, (enc) => {
        enc.copyBufferToBuffer(fwd.out, 0, staging, 0, rowCount * 4);
        if (colCount > 0) enc.copyBufferToBuffer(back.out, 0, staging, rowCount * 4, colCount * 4);
        if (sumCount > 0) enc.copyBufferToBuffer(fwd.out, sumAt * 4, staging, (rowCount + colCount) * 4, sumCount * 4);
      }),
    );
    // E·t sums are in log₂ units (t = 2x·y/ε·log₂e): LN2 brings them back
    const scaled = (from: number, count: number, k: number) => Float64Array.from(all.subarray(from, from + count), (v) => v * k);
    const sumScale = mode === 1 ? Math.LN2 : 1;
    const result: PassSums = {
      rows: scaled(0, T.np, sumScale),
      cols: withCols ? scaled(rowCount, S.np, sumScale) : new Float64Array(S.np),
    };
    if (blockSums) result.blocks = scaled(rowCount + colCount, sumCount, 1);
    if (mode === 2) {
      result.rows2 = scaled(T.np, T.np, Math.LN2);
      result.cols2 = withCols ? scaled(rowCount + S.np, S.np, Math.LN2) : new Float64Array(S.np);
    }
    // the staged sources are ỹ = 2y/ε·log₂e
    if (mode === 3) result.moments = scaled(T.np, T.d * T.np, eps / (2 * Math.LOG2E));
    return result;
  }

  async moments(eps: number, h: Float64Array, w: Float64Array, blocks: BlockList, blockSums = false): Promise<{ rows: Float64Array; moments: Float64Array; blocks?: Float64Array }> {
    const { rows, moments, blocks: sums } = await this.pass(eps, h, w, blocks, 3, blockSums);
    return { rows, moments: moments!, blocks: sums };
  }
}
