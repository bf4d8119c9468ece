// The dense products h1 · P · h2ᵀ of an entropic Gromov–Wasserstein solve on WebGPU (f32), through the WebGPU
// tensor engine's tiled matmul (gpu/tensor.ts): h1 and h2ᵀ are uploaded once per solve, and each product is one
// upload of P, two dispatches and one read-back of the n × m result. The O(n²m + nm²) products are most of a
// dense solve on the CPU; on a GPU they cost about what the transfers do. f32: the products carry ~1e-7 relative
// rounding per term, so values agree with the f64 solve to ~1e-5 relative, not to the last digits.
import type { GpuStorage, WebGpuTensorEngine } from '../../gpu/tensor.js';

export class GpuProducts {
  private constructor(
    private readonly engine: WebGpuTensorEngine,
    private readonly H1: GpuStorage,
    private readonly H2t: GpuStorage,
    private readonly n: number,
    private readonly m: number,
  ) {}

  /** Uploads h1 (n × n, row-major) and h2ᵀ (m × m); rejects with 'backend-unavailable' where there is no device. */
  static async create(H1: Float64Array, H2t: Float64Array, n: number, m: number): Promise<GpuProducts> {
    const [{ gpuDevice }, { webgpuTensorEngine }] = await Promise.all([import('../backends/webgpu.js'), import('../../gpu/tensor.js')]);
    const engine = webgpuTensorEngine(await gpuDevice());
    return new GpuProducts(engine, engine.fromArray(H1), engine.fromArray(H2t), n, m);
  }

  /** out (n × m) = h1 · P · h2ᵀ. */
  async chain(P: Float64Array, out: Float64Array): Promise<Float64Array> {
    const { engine: e, n, m } = this;
    const p = e.fromArray(P.length === n * m ? P : P.subarray(0, n * m));
    const x = e.matmul(p, this.H2t, n, m, m);
    e.release(p);
    const r = e.matmul(this.H1, x, n, n, m);
    e.release(x);
    try {
      out.set(await e.read(r));
    } finally {
      e.release(r);
    }
    return out;
  }

  /** Returns the structure matrices' buffers to the engine's pool. */
  release(): void {
    this.engine.release(this.H1);
    this.engine.release(this.H2t);
  }
}
