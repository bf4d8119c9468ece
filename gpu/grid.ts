// The grid kernel on WebGPU (f32): the separable blurs of ts/barycenter/grid.ts (JsGridKernel is the oracle) as
// WGSL passes over all k images at once, one thread per output pixel — along the columns, then along the rows,
// with the elementwise steps of the Bregman projection fused into them. Scaling form: v = e^x on the way in,
// ratio = a / max(1e-30, Kv) and log Kᵀu on the way out; log form: online log-sum-exps (the scheme of
// gpu/kernels.ts lseUpdate, −∞ as the NEG sentinel). One step = four dispatches and one read-back.
import { OTError } from '../ts/errors.js';
import { GRID_FLOOR, GridKernelBase, type GridProblem } from '../ts/barycenter/grid.js';
import { F32, type KernelSource, LSE_INIT, MAIN, NEG, NEG_T, declare, lit, lseAdd } from './kernels.js';
import { COPY_DST, type Dispatch, GpuRuntime, UNIFORM } from './runtime.js';

const WG = 64;
const HEAD = `struct GP { h: u32, w: u32, k: u32, total: u32 }
const NEG: f32 = ${lit(NEG)};
const NEG_T: f32 = ${lit(NEG_T)};`;

/**
 * An online log-sum-exp over `v` < `count` (the scheme of gpu/kernels.ts lseUpdate) of the terms a + s where s may
 * be NEG (−∞: the term is NEG and vanishes at the first finite one); leaves mx, sm (LSE = mx + log sm).
 */
const lse = (v: string, count: string, a: string, s: string) => `${LSE_INIT}
  for (var ${v} = 0u; ${v} < ${count}; ${v}++) {
    let s = ${s};
    let x = select(${a} + s, NEG, s <= NEG_T);
    ${lseAdd('x')}
  }`;

/** tmp[t,i,j] = Σ_r K1[i,r] · pre(src[t,r,j]) (pre = exp when `preExp`), or LSE_r(K1[i,r] + src[t,r,j]) (log). */
function blurCols(log: boolean, preExp: boolean): KernelSource {
  const bindings: KernelSource['bindings'] = [
    { name: 'P', access: 'uniform', type: 'GP' },
    { name: 'K1', access: 'read', type: F32 },
    { name: 'src', access: 'read', type: F32 },
    { name: 'dst', access: 'rw', type: F32 },
  ];
  const body = log
    ? `${lse('r', 'P.h', 'K1[i * P.h + r]', 'src[base + r * P.w + j]')}
  dst[t] = mx + log(sm);`
    : `var acc = 0.0;
  for (var r = 0u; r < P.h; r++) { acc += K1[i * P.h + r] * ${preExp ? 'exp(src[base + r * P.w + j])' : 'src[base + r * P.w + j]'}; }
  dst[t] = acc;`;
  return source(bindings, `let hw = P.h * P.w;
  let base = (t / hw) * hw;
  let i = (t % hw) / P.w;
  let j = t % P.w;
  ${body}`);
}

/** A kernel of one thread per pixel of the k images (t < P.total), over `bindings` (the first: the GP params). */
function source(bindings: KernelSource['bindings'], body: string): KernelSource {
  return {
    bindings,
    workgroupSize: WG,
    code: `${HEAD}\n${declare(bindings)}
${MAIN(WG)}
  if (t >= P.total) { return; }
  ${body}
}`,
  };
}

/**
 * out = Σ_q tmp[t,i,q] K2[q,j] (or its LSE), then `post`: 'ratio' a / max(floor, out), 'log' log(out), 'sub'
 * la − out (la = log a, NEG at zero pixels), 'none'.
 */
function blurRows(log: boolean, post: 'ratio' | 'log' | 'sub' | 'none'): KernelSource {
  const bindings: KernelSource['bindings'] = [
    { name: 'P', access: 'uniform', type: 'GP' },
    { name: 'K2', access: 'read', type: F32 },
    { name: 'src', access: 'read', type: F32 },
    { name: 'img', access: 'read', type: F32 },
    { name: 'dst', access: 'rw', type: F32 },
  ];
  const reduce = log
    ? `${lse('q', 'P.w', 'K2[q * P.w + j]', 'src[row + q]')}
  let o = select(mx + log(sm), NEG, mx <= NEG_T);`
    : `var o = 0.0;
  for (var q = 0u; q < P.w; q++) { o += src[row + q] * K2[q * P.w + j]; }`;
  const out = {
    ratio: `img[t] / max(${lit(GRID_FLOOR)}, o)`,
    log: 'log(o)',
    sub: 'select(img[t] - o, NEG, img[t] <= NEG_T)',
    none: 'o',
  }[post];
  return source(bindings, `let row = t - t % P.w;
  let j = t % P.w;
  ${reduce}
  dst[t] = ${out};`);
}

export class WebGpuGridKernel extends GridKernelBase {
  readonly backend = 'webgpu' as const;
  private readonly rt: GpuRuntime;
  private readonly k1: GPUBuffer;
  private readonly k2: GPUBuffer;
  private readonly x: GPUBuffer;
  private readonly out: GPUBuffer;
  private readonly passes: Dispatch[];

  private constructor(
    readonly device: GPUDevice,
    p: GridProblem,
  ) {
    super(p);
    const { height: h, width: w } = p;
    const total = this.k * h * w;
    const rt = (this.rt = new GpuRuntime(device, `the webgpu grid kernel of ${this.k} images of ${h} × ${w}`));
    if (total * 4 > rt.maxBinding) {
      throw new OTError('too-large', `webgpu: ${this.k} images of ${h} × ${w} exceed this device's buffer limit.`);
    }
    const prm = rt.buffer(16, UNIFORM | COPY_DST);
    device.queue.writeBuffer(prm, 0, new Uint32Array([h, w, this.k, total]));
    this.k1 = rt.buffer(h * h * 4);
    this.k2 = rt.buffer(w * w * 4);
    const log = p.method === 'log';
    const data = new Float32Array(total);
    p.imgs.forEach((a, t) => data.set(log ? a.map((v) => (v > 0 ? Math.log(v) : NEG)) : a, t * h * w));
    const img = rt.upload(data);
    this.x = rt.buffer(total * 4);
    const y = rt.buffer(total * 4);
    const tmp = rt.buffer(total * 4);
    this.out = rt.buffer(total * 4);
    const pass = (src: KernelSource, bufs: Record<string, GPUBuffer>) => rt.dispatch(src, { ...bufs, P: prm }, total);
    const cols = (preExp: boolean, src: GPUBuffer) => pass(blurCols(log, preExp), { K1: this.k1, src, dst: tmp });
    const rows = (post: 'ratio' | 'log' | 'sub' | 'none', dst: GPUBuffer) => pass(blurRows(log, post), { K2: this.k2, src: tmp, img, dst });
    this.passes = log
      ? [cols(false, this.x), rows('sub', y), cols(false, y), rows('none', this.out)]
      : [cols(true, this.x), rows('ratio', y), cols(false, y), rows('log', this.out)];
  }

  static async create(device: GPUDevice, p: GridProblem): Promise<WebGpuGridKernel> {
    return GpuRuntime.build(device, `the ${p.height} × ${p.width} grid`, () => new WebGpuGridKernel(device, p));
  }

  async setEps(eps: number): Promise<void> {
    this.eps = eps;
    const log = this.p.method === 'log';
    const f32 = (lk: Float64Array) => Float32Array.from(lk, (v) => (log ? v : Math.exp(v)));
    this.device.queue.writeBuffer(this.k1, 0, f32(this.axisLogKernel('y')));
    this.device.queue.writeBuffer(this.k2, 0, f32(this.axisLogKernel('x')));
  }

  async step(G: Float64Array, H: Float64Array): Promise<void> {
    this.rt.alive();
    const eps = this.eps;
    this.device.queue.writeBuffer(this.x, 0, Float32Array.from(G, (g) => (g === -Infinity ? NEG : g / eps)));
    const [h] = await this.rt.read(this.passes, [this.out], [G.length]);
    for (let q = 0; q < G.length; q++) H[q] = h[q] <= NEG_T ? -Infinity : h[q];
  }

  dispose(): void {
    this.rt.dispose();
  }
}
