// The entropic engine of a grid geometry (both measures on one h × w grid, squared Euclidean cost): every
// kernel application is the separable log-blur of ts/geometry.ts, h·w·(h + w) work and O(h·w) memory instead
// of (h·w)². Log domain only, whatever the requested method (the scalings would underflow on fine grids and
// the result is the same fixed point). Semantics: ts/entropic/engine.ts; the dense JsEntropicEngine on the
// grid's cost matrix is its oracle in tests/grid.test.ts.
import type { EngineProblem, EntropicEngine, GridCost, PlanStats } from '../../entropic/engine.js';
import { GridGeometry, gridLogBlur } from '../../geometry.js';
import { HostPotentials } from './entropic.js';

export class GridEntropicEngine extends HostPotentials implements EntropicEngine {
  readonly backend = 'js' as const;
  readonly n: number;
  readonly m: number;
  private readonly geom: GridGeometry;
  private readonly h: number;
  private readonly w: number;
  private eps = 1;
  private readonly logA: Float64Array;
  private readonly logB: Float64Array;
  private lH: Float64Array = new Float64Array(0);
  private lW: Float64Array = new Float64Array(0);

  constructor(private readonly p: EngineProblem<GridCost>) {
    super(p.cost.n, p.cost.m, p.a);
    const c = p.cost;
    this.geom = new GridGeometry(c.height, c.width, c.dy, c.dx);
    this.h = c.height;
    this.w = c.width;
    this.n = this.m = c.n;
    this.logA = p.a.map(Math.log);
    this.logB = p.b.map(Math.log);
  }

  async setEps(eps: number): Promise<void> {
    this.eps = eps;
    this.lH = this.geom.axisLogKernel('y', eps);
    this.lW = this.geom.axisLogKernel('x', eps);
  }

  /** LSE_j(x_j − C_ij/ε) for every pixel i (K is symmetric: the same for rows and columns). */
  private blur(x: Float64Array, lH = this.lH, lW = this.lW): Float64Array {
    const out = new Float64Array(this.n);
    gridLogBlur(this.h, this.w, lH, lW, x, out);
    return out;
  }

  private scaled(x: Float64Array): Float64Array {
    return x.map((v) => v / this.eps);
  }

  /** out_i = τ·ε·(log w_i − LSE_j((other_j − C_ij)/ε)). */
  private update(out: Float64Array, other: Float64Array, logW: Float64Array, tau: number): void {
    const l = this.blur(this.scaled(other));
    for (let i = 0; i < out.length; i++) out[i] = logW[i] === -Infinity ? -Infinity : tau * this.eps * (logW[i] - l[i]);
  }

  async iterate(count: number): Promise<void> {
    for (let t = 0; t < count; t++) {
      this.update(this.f, this.g, this.logA, this.p.tauA);
      this.update(this.g, this.f, this.logB, this.p.tauB);
    }
  }

  /** (P·1)_i = e^{f_i/ε} Σ_j K_ij e^{g_j/ε}, or Pᵀ·1 with the roles swapped. */
  private sums(own: Float64Array, other: Float64Array): Float64Array {
    const l = this.blur(this.scaled(other));
    return own.map((x, i) => Math.exp(x / this.eps + l[i]));
  }

  async marginalError(): Promise<number> {
    return this.rowError(this.sums(this.f, this.g));
  }

  async stats(): Promise<PlanStats> {
    // ⟨P, C⟩ with C = C_y + C_x: each term is a separable blur whose one axis kernel carries its cost factor.
    const withCost = (lk: Float64Array, len: number, spacing: number) =>
      lk.map((v, q) => {
        const d = (Math.floor(q / len) - (q % len)) * spacing;
        return d === 0 ? -Infinity : v + Math.log(d * d);
      });
    const x = this.scaled(this.g);
    const ly = this.blur(x, withCost(this.lH, this.h, this.geom.dy), this.lW);
    const lx = this.blur(x, this.lH, withCost(this.lW, this.w, this.geom.dx));
    let transportCost = 0;
    for (let i = 0; i < this.n; i++) {
      const fi = this.f[i] / this.eps;
      transportCost += Math.exp(fi + ly[i]) + Math.exp(fi + lx[i]);
    }
    return { transportCost, rowSums: this.sums(this.f, this.g), colSums: this.sums(this.g, this.f) };
  }

  async planApply(V: Float64Array, k: number, transpose: boolean): Promise<Float64Array> {
    const [own, other] = transpose ? [this.g, this.f] : [this.f, this.g];
    const out = new Float64Array(this.n * k);
    const x = new Float64Array(this.n);
    for (let t = 0; t < k; t++) {
      // P·V = e^{f/ε} ∘ K(e^{g/ε} ∘ V), on the positive and negative parts of V separately (logs of both)
      for (const sign of [1, -1]) {
        for (let j = 0; j < this.n; j++) {
          const v = sign * V[j * k + t];
          x[j] = v > 0 ? other[j] / this.eps + Math.log(v) : -Infinity;
        }
        const l = this.blur(x);
        for (let i = 0; i < this.n; i++) if (l[i] !== -Infinity) out[i * k + t] += sign * Math.exp(own[i] / this.eps + l[i]);
      }
    }
    return out;
  }

  async densePlan(): Promise<Float64Array> {
    const n = this.n;
    const P = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) P[i * n + j] = Math.exp((this.f[i] + this.g[j] - this.geom.costAt(i, j)) / this.eps);
    return P;
  }

  dispose(): void {}

  async fUpdateColLse(g: Float64Array): Promise<Float64Array> {
    this.g = g.slice();
    this.update(this.f, this.g, this.logA, this.p.tauA);
    return this.blur(this.scaled(this.f));
  }
}
