// The kernel of a fixed-support barycenter on a cost matrix or point clouds: one entropic engine per
// histogram (js, wasm or webgpu, ts/entropic/select.ts), each doing the f-update and the column
// log-sum-exp of EntropicEngine.fUpdateColLse on the shared cost.
import type { BackendOption } from '../types.js';
import type { EntropicEngine, PairCost } from '../entropic/engine.js';
import { createEngine } from '../entropic/select.js';
import { dotFinite } from '../entropic/problem.js';
import type { BarycenterKernel } from './kernel.js';
import type { WasmEntropicEngine as WasmEngine } from '../backends/wasm-entropic.js';

export async function fixedSupportKernel(
  cost: PairCost,
  hist: Float64Array[],
  method: 'scaling' | 'log',
  backend: BackendOption,
  threads: number | 'auto',
): Promise<BarycenterKernel> {
  const m = cost.m;
  const b = new Float64Array(m).fill(1 / m); // unused by fUpdateColLse
  const engines: EntropicEngine[] = [];
  try {
    for (const a of hist) {
      const p = { cost, a, b, method, tauA: 1, tauB: 1, threads };
      if (engines[0]?.backend === 'wasm') {
        // one copy of a dense cost for all, and in the scaling form one kernel exp(−C/ε), read once per pass for all k
        const { WasmEntropicEngine } = await import('../backends/wasm-entropic.js');
        engines.push(await WasmEntropicEngine.create(p, { threads, shareKernelWith: engines[0] as WasmEngine }));
        continue;
      }
      // the first engine decides the backend ('auto'); the others follow it
      engines.push(await createEngine('barycenter', p, engines.length ? engines[0].backend : backend));
    }
  } catch (e) {
    for (const en of engines) en.dispose();
    throw e;
  }
  return engineKernel(engines, hist, cost.n, m);
}

/** k engines (one per histogram a_t, same cost) as the barycenter's kernel. */
export function engineKernel(engines: EntropicEngine[], hist: Float64Array[], n: number, m: number): BarycenterKernel {
  return new EngineKernel(engines, hist, n, m);
}

class EngineKernel implements BarycenterKernel {
  readonly floor = 'none' as const;
  readonly backend;
  readonly threads;
  readonly k;

  constructor(
    private readonly engines: EntropicEngine[],
    private readonly hist: Float64Array[],
    readonly n: number,
    readonly m: number,
  ) {
    this.backend = engines[0].backend;
    this.threads = engines[0].threads ?? 1;
    this.k = engines.length;
  }

  async setEps(eps: number): Promise<void> {
    for (const e of this.engines) await e.setEps(eps);
  }

  async step(G: Float64Array, H: Float64Array): Promise<void> {
    const m = this.m;
    if (this.engines[0].fUpdateColLseBatch) return this.engines[0].fUpdateColLseBatch(this.engines, G, H);
    for (let t = 0; t < this.k; t++) H.set(await this.engines[t].fUpdateColLse(G.subarray(t * m, t * m + m)), t * m);
  }

  async histogramsDual(G: Float64Array, lambda: Float64Array): Promise<number> {
    const H = new Float64Array(G.length);
    await this.step(G, H);
    let dual = 0;
    for (let t = 0; t < this.k; t++) dual += lambda[t] * dotFinite(this.hist[t], (await this.engines[t].potentials()).f);
    return dual;
  }

  dispose(): void {
    for (const e of this.engines) e.dispose();
  }
}
