// The grid geometry's kernel (Solomon et al. 2015): on an h × w grid of [0,1]² with the squared-distance
// cost, K = exp(−C/ε) is separable, K x = ξ_h · x · ξ_w (x as an h × w image, ξ_len[i,r] = exp(−((i−r)/(len−1))²/ε),
// both symmetric), so one application costs hw(h + w) instead of (hw)². Scaling form: blurs of scalings with
// POT's 1e-30 floor; log form: log(ξ_h · e^x · ξ_w) as exact separable log-sum-exps. Backends: js (this file,
// the reference), wasm (assembly/grid.ts), webgpu (gpu/grid.ts); the iteration is ts/barycenter/ibp.ts.
import { OTError } from '../errors.js';
import type { BackendOption } from '../types.js';
import { gridLogBlur, separableLogKernel } from '../geometry.js';
import type { BarycenterKernel } from './kernel.js';

/** Floor against division by underflowed blurs (scaling form), as POT's convolutional_barycenter2d. */
export const GRID_FLOOR = 1e-30;

export interface GridProblem {
  height: number;
  width: number;
  /** k normalized images, h·w pixels each, row-major. */
  imgs: Float64Array[];
  method: 'scaling' | 'log';
  /** [dy, dx], the distances between adjacent pixel centres. Default: the grid spans [0, 1]² (POT's convention). */
  spacing?: [number, number];
}

/** The grid kernel on the requested backend ('auto': webgpu on hardware for large grids, else wasm, else js). */
export async function gridKernel(p: GridProblem, backend: BackendOption): Promise<BarycenterKernel> {
  const fail = (e: unknown) => {
    if (backend !== 'auto' || !(e instanceof OTError) || e.code !== 'backend-unavailable') throw e;
    return undefined;
  };
  if (backend === 'webgpu' || backend === 'auto') {
    const { gpuDevice, gpuIsHardware } = await import('../backends/webgpu.js');
    if (backend === 'webgpu' || (p.height * p.width >= 1 << 16 && (await gpuIsHardware().catch(() => false)))) {
      const kern = await (async () => {
        const { WebGpuGridKernel } = await import('../../gpu/grid.js');
        return WebGpuGridKernel.create(await gpuDevice(), p);
      })().catch(fail);
      if (kern) return kern;
    }
  }
  if (backend === 'wasm' || backend === 'auto') {
    const kern = await (async () => {
      const { WasmGridKernel } = await import('../backends/wasm-grid.js');
      return WasmGridKernel.create(p);
    })().catch(fail);
    if (kern) return kern;
  }
  if (backend === 'js' || backend === 'auto') return new JsGridKernel(p);
  throw new OTError('backend-unavailable', `convolutionalBarycenter has no '${backend}' backend; it runs on: webgpu, wasm, js.`);
}

/** What every backend's grid kernel shares: the sizes, the floor of the scaling form, the current ε. */
export abstract class GridKernelBase implements BarycenterKernel {
  abstract readonly backend: BarycenterKernel['backend'];
  readonly threads: number = 1;
  readonly k: number;
  readonly n: number;
  readonly m: number;
  readonly floor: 'scaling' | 'none';
  protected readonly h: number;
  protected readonly w: number;
  protected eps = 1;

  constructor(protected readonly p: GridProblem) {
    this.h = p.height;
    this.w = p.width;
    this.k = p.imgs.length;
    this.n = this.m = this.h * this.w;
    this.floor = p.method === 'scaling' ? 'scaling' : 'none';
  }

  /** The log-kernel −((i − r)·spacing)²/ε of the rows ('y', h × h) or the columns ('x', w × w) at the current ε. */
  protected axisLogKernel(axis: 'y' | 'x', eps = this.eps): Float64Array {
    const len = axis === 'y' ? this.h : this.w;
    const spacing = this.p.spacing?.[axis === 'y' ? 0 : 1] ?? (len === 1 ? 0 : 1 / (len - 1));
    return separableLogKernel(len, spacing, eps);
  }

  abstract setEps(eps: number): Promise<void>;
  abstract step(G: Float64Array, H: Float64Array): Promise<void>;
  abstract dispose(): void;

  /** On the host for every backend (one log-domain pass, once per solve): f_t = ε(log a_t − log K e^{g_t/ε}). */
  async histogramsDual(G: Float64Array, lambda: Float64Array): Promise<number> {
    const { h, w, m, eps } = this;
    const lH = this.axisLogKernel('y');
    const lW = this.axisLogKernel('x');
    const x = new Float64Array(m);
    const y = new Float64Array(m);
    let dual = 0;
    for (let t = 0; t < this.k; t++) {
      const a = this.p.imgs[t];
      for (let q = 0; q < m; q++) x[q] = G[t * m + q] / eps;
      gridLogBlur(h, w, lH, lW, x, y);
      let s = 0;
      for (let q = 0; q < m; q++) if (a[q] > 0) s += a[q] * eps * (Math.log(a[q]) - y[q]);
      dual += lambda[t] * s;
    }
    return dual;
  }
}

/** The reference: plain TypeScript, the same steps as the wasm and WGSL kernels. */
export class JsGridKernel extends GridKernelBase {
  readonly backend = 'js' as const;
  private readonly imgs: Float64Array[];
  private readonly logImgs: Float64Array[];
  private lH: Float64Array = new Float64Array(0);
  private lW: Float64Array = new Float64Array(0);
  private xiH: Float64Array = new Float64Array(0);
  private xiW: Float64Array = new Float64Array(0);

  constructor(p: GridProblem) {
    super(p);
    this.imgs = p.imgs;
    this.logImgs = p.imgs.map((x) => x.map(Math.log));
  }

  async setEps(eps: number): Promise<void> {
    this.eps = eps;
    this.lH = this.axisLogKernel('y');
    this.lW = this.axisLogKernel('x');
    this.xiH = this.lH.map(Math.exp);
    this.xiW = this.lW.map(Math.exp);
  }

  async step(G: Float64Array, H: Float64Array): Promise<void> {
    const hw = this.m;
    const eps = this.eps;
    const x = new Float64Array(hw);
    const y = new Float64Array(hw);
    for (let t = 0; t < this.k; t++) {
      const g = G.subarray(t * hw, t * hw + hw);
      const out = H.subarray(t * hw, t * hw + hw);
      if (this.p.method === 'scaling') {
        for (let q = 0; q < hw; q++) x[q] = Math.exp(g[q] / eps);
        this.blur(x, y);
        const a = this.imgs[t];
        for (let q = 0; q < hw; q++) x[q] = a[q] / Math.max(GRID_FLOOR, y[q]);
        this.blur(x, out);
        for (let q = 0; q < hw; q++) out[q] = Math.log(out[q]);
      } else {
        for (let q = 0; q < hw; q++) x[q] = g[q] / eps;
        this.logBlur(x, y);
        const la = this.logImgs[t];
        for (let q = 0; q < hw; q++) x[q] = la[q] - y[q];
        this.logBlur(x, out);
      }
    }
  }

  /** out = ξ_h · x · ξ_w. */
  private blur(x: Float64Array, out: Float64Array): void {
    const { h, w, xiH, xiW } = this;
    const tmp = new Float64Array(h * w);
    for (let i = 0; i < h; i++)
      for (let r = 0; r < h; r++) {
        const c = xiH[i * h + r];
        if (c === 0) continue;
        for (let j = 0; j < w; j++) tmp[i * w + j] += c * x[r * w + j];
      }
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) {
        let s = 0;
        for (let q = 0; q < w; q++) s += tmp[i * w + q] * xiW[q * w + j];
        out[i * w + j] = s;
      }
  }

  /** out = log(ξ_h · e^x · ξ_w); −∞ pixels are skipped. */
  private logBlur(x: Float64Array, out: Float64Array): void {
    gridLogBlur(this.h, this.w, this.lH, this.lW, x, out);
  }

  dispose(): void {}
}
