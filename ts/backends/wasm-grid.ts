// The grid kernel on wasm (f64, SIMD): assembly/grid.ts's gridStep on buffers allocated once in wasm memory;
// only the k × hw potentials cross the boundary per step. Semantics: JsGridKernel (ts/barycenter/grid.ts).
import { GridKernelBase, type GridProblem } from '../barycenter/grid.js';
import { OTError } from '../errors.js';
import { type WasmKernels, type WasmScope, wasmKernels } from './wasm.js';

type GridStep = (h: number, w: number, k: number, log: number, eps: number, k1: number, k2: number, imgs: number, G: number, H: number, scratch: number) => void;

export class WasmGridKernel extends GridKernelBase {
  readonly backend = 'wasm' as const;
  private disposed = false;
  private readonly run: GridStep;

  private constructor(
    private readonly kern: WasmKernels,
    private readonly mem: WasmScope,
    p: GridProblem,
    private readonly ptr: { k1: number; k2: number; imgs: number; G: number; H: number; scratch: number },
  ) {
    super(p);
    this.run = kern.fn('gridStep');
  }

  static async create(p: GridProblem): Promise<WasmGridKernel> {
    const kern = await wasmKernels();
    kern.fn('gridStep'); // a stale binary fails here as backend-unavailable
    const { height: h, width: w } = p;
    const hw = h * w;
    const k = p.imgs.length;
    const mem = kern.scope();
    try {
      const imgs = mem.f64(k * hw);
      const ptr = { k1: mem.f64(h * h), k2: mem.f64(w * w), imgs, G: mem.f64(k * hw), H: mem.f64(k * hw), scratch: mem.f64(4 * hw + Math.max(h, w)) };
      const view = kern.f64(imgs, k * hw); // after the last allocation
      p.imgs.forEach((x, t) => view.set(p.method === 'log' ? x.map(Math.log) : x, t * hw));
      return new WasmGridKernel(kern, mem, p, ptr);
    } catch (e) {
      mem.release();
      if (e instanceof OTError && e.code !== 'too-large') throw e;
      throw new OTError('backend-unavailable', `wasm: the ${h} × ${w} grid does not fit in wasm memory (${(e as Error).message}); use the js backend.`);
    }
  }

  async setEps(eps: number): Promise<void> {
    this.eps = eps;
    const { height: h, width: w } = this.p;
    const lH = this.axisLogKernel('y');
    const lW = this.axisLogKernel('x');
    const log = this.p.method === 'log';
    this.kern.f64(this.ptr.k1, h * h).set(log ? lH : lH.map(Math.exp));
    this.kern.f64(this.ptr.k2, w * w).set(log ? lW : lW.map(Math.exp));
  }

  async step(G: Float64Array, H: Float64Array): Promise<void> {
    if (this.disposed) throw new OTError('disposed', 'wasm grid kernel used after dispose().');
    const { height: h, width: w } = this.p;
    const len = this.k * this.m;
    const q = this.ptr;
    this.kern.f64(q.G, len).set(G);
    this.run(h, w, this.k, this.p.method === 'log' ? 1 : 0, this.eps, q.k1, q.k2, q.imgs, q.G, q.H, q.scratch);
    H.set(this.kern.f64(q.H, len));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.mem.release();
  }
}
