// The plain-TypeScript entropic engine: the readable reference that the wasm and webgpu engines are
// tested against (semantics in ts/entropic/engine.ts).
import { type EngineProblem, type EntropicEngine, type PairCost, type PlanStats, pairCostAt } from '../../entropic/engine.js';
import { LogSumExp } from '../../entropic/logsumexp.js';

/** What the host-side (plain TS) engines share: potentials held as f64 arrays, and the marginal error from row sums. */
export abstract class HostPotentials {
  protected f: Float64Array;
  protected g: Float64Array;

  constructor(
    n: number,
    m: number,
    private readonly weightsA: Float64Array,
  ) {
    this.f = new Float64Array(n);
    this.g = new Float64Array(m);
  }

  async potentials(): Promise<{ f: Float64Array; g: Float64Array }> {
    return { f: this.f.slice(), g: this.g.slice() };
  }

  async setPotentials(f: Float64Array, g: Float64Array): Promise<void> {
    this.f = f.slice();
    this.g = g.slice();
  }

  /** Σ_i |rowSums_i − a_i|. */
  /** The norm of the row errors (EntropicEngine.setErrorNorm): 1 or 2. */
  private errorNorm: 1 | 2 = 1;

  async setErrorNorm(norm: 1 | 2): Promise<void> {
    this.errorNorm = norm === 2 ? 2 : 1;
  }

  protected rowError(rowSums: Float64Array): number {
    let e = 0;
    if (this.errorNorm === 2) {
      for (let i = 0; i < rowSums.length; i++) e += (rowSums[i] - this.weightsA[i]) ** 2;
      return Math.sqrt(e);
    }
    for (let i = 0; i < rowSums.length; i++) e += Math.abs(rowSums[i] - this.weightsA[i]);
    return e;
  }
}

export class JsEntropicEngine extends HostPotentials implements EntropicEngine {
  readonly backend = 'js' as const;
  readonly n: number;
  readonly m: number;
  private eps = 1;
  private K: Float64Array | undefined; // exp(−C/ε), scaling method only
  private readonly logA: Float64Array;
  private readonly logB: Float64Array;

  constructor(private readonly p: EngineProblem<PairCost>) {
    super(p.cost.n, p.cost.m, p.a);
    this.n = p.cost.n;
    this.m = p.cost.m;
    this.logA = p.a.map(Math.log);
    this.logB = p.b.map(Math.log);
  }

  private cost(i: number, j: number): number {
    return pairCostAt(this.p.cost, i, j);
  }

  async setEps(eps: number): Promise<void> {
    this.eps = eps;
    if (this.p.method === 'scaling') {
      const K = (this.K ??= new Float64Array(this.n * this.m));
      for (let i = 0; i < this.n; i++) for (let j = 0; j < this.m; j++) K[i * this.m + j] = Math.exp(-this.cost(i, j) / eps);
    }
  }

  async iterate(count: number): Promise<void> {
    for (let t = 0; t < count; t++) {
      if (this.p.method === 'log') {
        this.updateLog(this.f, this.g, this.logA, this.p.tauA, false);
        this.updateLog(this.g, this.f, this.logB, this.p.tauB, true);
      } else {
        this.updateScaling(this.f, this.g, this.logA, this.p.tauA, false);
        this.updateScaling(this.g, this.f, this.logB, this.p.tauB, true);
      }
    }
  }

  /** out_i = τ·ε·(log w_i − LSE_j((other_j − C_ij)/ε)), over columns (or rows when `cols`). */
  private updateLog(out: Float64Array, other: Float64Array, logW: Float64Array, tau: number, cols: boolean): void {
    const eps = this.eps;
    for (let i = 0; i < out.length; i++) {
      if (logW[i] === -Infinity) {
        out[i] = -Infinity;
        continue;
      }
      const lse = new LogSumExp();
      for (let j = 0; j < other.length; j++) lse.add((other[j] - (cols ? this.cost(j, i) : this.cost(i, j))) / eps);
      out[i] = tau * eps * (logW[i] - lse.value());
    }
  }

  /** The same update in the scaling form: u_i = (w_i / (K v)_i)^τ, stored as ε·log u. */
  private updateScaling(out: Float64Array, other: Float64Array, logW: Float64Array, tau: number, cols: boolean): void {
    const K = this.K!;
    const m = this.m;
    const eps = this.eps;
    const v = other.map((x) => Math.exp(x / eps));
    for (let i = 0; i < out.length; i++) {
      let s = 0;
      for (let j = 0; j < other.length; j++) s += (cols ? K[j * m + i] : K[i * m + j]) * v[j];
      out[i] = tau * eps * (logW[i] - Math.log(s));
    }
  }

  private planEntry(i: number, j: number): number {
    return Math.exp((this.f[i] + this.g[j] - this.cost(i, j)) / this.eps);
  }

  async marginalError(): Promise<number> {
    return this.rowError((await this.stats()).rowSums);
  }

  async stats(): Promise<PlanStats> {
    const rowSums = new Float64Array(this.n);
    const colSums = new Float64Array(this.m);
    let transportCost = 0;
    for (let i = 0; i < this.n; i++)
      for (let j = 0; j < this.m; j++) {
        const c = this.cost(i, j);
        const pij = Math.exp((this.f[i] + this.g[j] - c) / this.eps);
        rowSums[i] += pij;
        colSums[j] += pij;
        transportCost += pij * c;
      }
    return { transportCost, rowSums, colSums };
  }

  async planApply(V: Float64Array, k: number, transpose: boolean): Promise<Float64Array> {
    const rows = transpose ? this.m : this.n;
    const out = new Float64Array(rows * k);
    for (let i = 0; i < this.n; i++)
      for (let j = 0; j < this.m; j++) {
        const pij = this.planEntry(i, j);
        const [r, c] = transpose ? [j, i] : [i, j];
        for (let t = 0; t < k; t++) out[r * k + t] += pij * V[c * k + t];
      }
    return out;
  }

  async densePlan(): Promise<Float64Array> {
    const P = new Float64Array(this.n * this.m);
    for (let i = 0; i < this.n; i++) for (let j = 0; j < this.m; j++) P[i * this.m + j] = this.planEntry(i, j);
    return P;
  }

  dispose(): void {
    this.K = undefined;
  }

  // ---- barycenters ----

  async fUpdateColLse(g: Float64Array): Promise<Float64Array> {
    this.g = g.slice();
    const h = new Float64Array(this.m);
    const eps = this.eps;
    if (this.p.method === 'log') {
      this.updateLog(this.f, this.g, this.logA, this.p.tauA, false);
      for (let j = 0; j < this.m; j++) {
        const lse = new LogSumExp();
        for (let i = 0; i < this.n; i++) lse.add((this.f[i] - this.cost(i, j)) / eps);
        h[j] = lse.value();
      }
    } else {
      this.updateScaling(this.f, this.g, this.logA, this.p.tauA, false);
      const K = this.K!;
      for (let i = 0; i < this.n; i++) {
        const ui = Math.exp(this.f[i] / eps);
        if (ui === 0) continue;
        for (let j = 0; j < this.m; j++) h[j] += K[i * this.m + j] * ui;
      }
      for (let j = 0; j < this.m; j++) h[j] = Math.log(h[j]);
    }
    return h;
  }
}
