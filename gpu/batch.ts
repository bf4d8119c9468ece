// Sinkhorn for a batch of balanced problems on WebGPU (ts/entropic/batch.ts's EntropicBatch): all problems'
// costs, weights and potentials concatenated in one set of buffers, the problem as a dispatch dimension (a
// thread per row of every problem for the f-update, per column for the g-update), so that an iteration of the
// whole batch is two dispatches, and a round of checks one submit and one read-back. Point clouds' costs are
// computed on the host first, in f64: a batch holds small problems, and the host keeps each C for its plan anyway.
//
// Log domain in f32 (the stable form: the scaling and log methods have the same iterates in exact arithmetic),
// with each problem's cost shifted by its minimum c0 before rounding (as gpu/entropic.ts: balanced OT is blind to
// it; the iterated f is f − c0). Per-problem convergence: `todo[q]` says how many of the round's iterations
// problem q runs (0: its threads return at once). Plan quantities (stats, plan products) come from the potentials
// on the host, as a LazyCoupling, which is cheap next to the iteration for the small problems batches hold.
import { OTError } from '../ts/errors.js';
import { LazyCoupling } from '../ts/coupling.js';
import { CostMatrixGeometry } from '../ts/geometry.js';
import { type EngineProblem, type EntropicEngine, type PairCost, type PlanStats, pairCostMatrix } from '../ts/entropic/engine.js';
import type { EntropicBatch } from '../ts/entropic/batch.js';
import { F32, LSE_INIT, NEG, NEG_T, declare, lit, lseAdd } from './kernels.js';
import { COPY_DST, type Dispatch, GpuRuntime, UNIFORM } from './runtime.js';

const WG = 64;

const COMMON = `const NEG: f32 = ${lit(NEG)};
const NEG_T: f32 = ${lit(NEG_T)};`;

/** Bindings of all three kernels (one layout): meta is 5 u32 per problem: cost offset, row offset, col offset, n, m. */
const BINDINGS = [
  { name: 'it', access: 'uniform' as const, type: 'vec4u' },
  { name: 'pinfo', access: 'read' as const, type: 'array<u32>' },
  { name: 'owner', access: 'read' as const, type: 'array<u32>' },
  { name: 'cost', access: 'read' as const, type: F32 },
  { name: 'logw', access: 'read' as const, type: F32 },
  { name: 'eps', access: 'read' as const, type: F32 },
  { name: 'todo', access: 'read' as const, type: 'array<u32>' },
  { name: 'pin', access: 'read' as const, type: F32 },
  { name: 'pout', access: 'rw' as const, type: F32 },
];

/**
 * One potential update for every live row (cols = false) or column (cols = true) of every problem:
 * out_t = ε·(log w_t − LSE_k((in_k − C)/ε)) over the problem's other side. `owner` maps a global row/column to its
 * problem. The error kernel (err = true) instead writes |Σ_k exp((out_t + in_k − C)/ε) − w_t| per row.
 */
function source(cols: boolean, err: boolean): { code: string; bindings: typeof BINDINGS; workgroupSize: number } {
  const entry = cols ? 'cost[co + k * m + j]' : 'cost[co + i * m + k]';
  return {
    bindings: BINDINGS,
    workgroupSize: WG,
    code: `${COMMON}
${declare(BINDINGS)}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = (wid.y * nwg.x + wid.x) * ${WG}u + lid;
  if (t >= arrayLength(&owner)) { return; }
  let q = owner[t];
  if (it.x >= todo[q]) { return; }
  let co = pinfo[q * 5u];
  let ro = pinfo[q * 5u + 1u];
  let cl = pinfo[q * 5u + 2u];
  let n = pinfo[q * 5u + 3u];
  let m = pinfo[q * 5u + 4u];
  let i = t - ro;
  let j = t - cl;
  let e = eps[q];
  let lw = logw[t];
  let count = ${cols ? 'n' : 'm'};
  let base = ${cols ? 'ro' : 'cl'};
  ${
    err
      ? `let own = pout[t];
  var s = 0.0;
  if (own > NEG_T) {
    for (var k = 0u; k < count; k++) {
      let pk = pin[base + k];
      if (pk > NEG_T) { s += exp((own + pk - ${entry}) / e); }
    }
  }
  let w = select(exp(lw), 0.0, lw <= NEG_T);
  pout[arrayLength(&owner) + t] = abs(s - w);`
      : `if (lw <= NEG_T) { pout[t] = NEG; return; }
  ${LSE_INIT}
  for (var k = 0u; k < count; k++) {
    let pk = pin[base + k];
    if (pk <= NEG_T) { continue; }
    let x = (pk - ${entry}) / e;
    ${lseAdd('x')}
  }
  pout[t] = select(e * (lw - (mx + log(sm))), NEG, mx <= NEG_T);`
  }
}`,
  };
}

/** f32 of a weight's log, NEG for a zero weight. */
function logF32(w: Float64Array): Float32Array {
  return Float32Array.from(w, (x) => (x > 0 ? Math.log(x) : NEG));
}

export class WebGpuSinkhornBatch implements EntropicBatch {
  readonly backend = 'webgpu' as const;
  readonly threads = 1;
  readonly engines: EntropicEngine[];
  private readonly rt: GpuRuntime;
  private readonly rowOff: number[] = [];
  private readonly colOff: number[] = [];
  private readonly c0: number[] = [];
  /** Each problem's n × m costs in f64 (a dense problem's own array). */
  private readonly costs: Float64Array[] = [];
  private readonly eps: Float32Array<ArrayBuffer>;
  private epsDirty = true;
  private readonly R: number;
  private readonly C: number;
  private readonly bufs: Record<string, GPUBuffer> = {};
  /** Per iteration index of a round: the dispatches of the f- and g-updates and of the error (each with its uniform). */
  private readonly perIt: { f: Dispatch; g: Dispatch; err: Dispatch }[] = [];

  constructor(
    private readonly device: GPUDevice,
    private readonly problems: EngineProblem[],
  ) {
    this.rt = new GpuRuntime(device, 'the webgpu Sinkhorn batch');
    let R = 0;
    let C = 0;
    let entries = 0;
    for (const p of problems) {
      if ((p.cost.kind !== 'dense' && p.cost.kind !== 'points') || p.tauA !== 1 || p.tauB !== 1) {
        throw new OTError('internal', 'WebGpuSinkhornBatch: balanced problems on cost matrices or point clouds only.');
      }
      this.rowOff.push(R);
      this.colOff.push(C);
      R += p.cost.n;
      C += p.cost.m;
      entries += p.cost.n * p.cost.m;
    }
    this.R = R;
    this.C = C;
    const limit = this.rt.maxBinding;
    if (entries * 4 > limit || (R + C) * 8 > limit) {
      throw new OTError('too-large', `webgpu: the batch's ${entries} cost entries exceed this device's ${limit}-byte buffer limit; pass fewer problems per call.`);
    }
    const B = problems.length;
    const meta = new Uint32Array(5 * B);
    const cost = new Float32Array(entries);
    const rowOwner = new Uint32Array(R);
    const colOwner = new Uint32Array(C);
    const f0 = new Float32Array(R);
    let co = 0;
    problems.forEach((p, q) => {
      const { n, m } = p.cost;
      const Cq = pairCostMatrix(p.cost as PairCost);
      this.costs.push(Cq);
      let c0 = Infinity;
      for (const c of Cq) c0 = Math.min(c0, c);
      this.c0.push(c0);
      for (let k = 0; k < n * m; k++) cost[co + k] = Cq[k] - c0;
      meta.set([co, this.rowOff[q], this.colOff[q], n, m], 5 * q);
      rowOwner.fill(q, this.rowOff[q], this.rowOff[q] + n);
      colOwner.fill(q, this.colOff[q], this.colOff[q] + m);
      f0.fill(-c0, this.rowOff[q], this.rowOff[q] + n);
      co += n * m;
    });
    this.eps = new Float32Array(B).fill(1);
    const logA = new Float32Array(R);
    const logB = new Float32Array(C);
    problems.forEach((p, q) => {
      logA.set(logF32(p.a), this.rowOff[q]);
      logB.set(logF32(p.b), this.colOff[q]);
    });
    const make = (name: string, data: Float32Array<ArrayBuffer> | Uint32Array<ArrayBuffer>) => {
      this.bufs[name] = this.rt.upload(data);
    };
    make('meta', meta);
    make('rowOwner', rowOwner);
    make('colOwner', colOwner);
    make('cost', cost);
    make('logA', logA);
    make('logB', logB);
    make('eps', this.eps);
    make('todo', new Uint32Array(B));
    // f then the rows' errors (R + R), g
    const fe = new Float32Array(2 * R);
    fe.set(f0);
    make('f', fe);
    make('g', new Float32Array(C));
    this.engines = problems.map((_, q) => new BatchView(this, q));
  }

  private dispatches(itIndex: number): { f: Dispatch; g: Dispatch; err: Dispatch } {
    while (this.perIt.length <= itIndex) {
      const u = this.rt.buffer(16, UNIFORM | COPY_DST);
      this.device.queue.writeBuffer(u, 0, new Uint32Array([this.perIt.length, 0, 0, 0]));
      const b = this.bufs;
      const common = { it: u, pinfo: b.meta, cost: b.cost, eps: b.eps, todo: b.todo };
      // the f kernel's output is bound as the whole f + error buffer; arrayLength(&owner) bounds it
      this.perIt.push({
        f: this.rt.dispatch(source(false, false), { ...common, owner: b.rowOwner, logw: b.logA, pin: b.g, pout: b.f }, this.R),
        g: this.rt.dispatch(source(true, false), { ...common, owner: b.colOwner, logw: b.logB, pin: b.f, pout: b.g }, this.C),
        err: this.rt.dispatch(source(false, true), { ...common, owner: b.rowOwner, logw: b.logA, pin: b.g, pout: b.f }, this.R),
      });
    }
    return this.perIt[itIndex];
  }

  setEps(q: number, eps: number): void {
    this.eps[q] = eps;
    this.epsDirty = true;
  }

  async step(list: readonly number[], counts: readonly number[]): Promise<Float64Array> {
    this.rt.alive();
    const q = this.device.queue;
    if (this.epsDirty) q.writeBuffer(this.bufs.eps, 0, this.eps);
    this.epsDirty = false;
    const todo = new Uint32Array(this.problems.length);
    let most = 0;
    list.forEach((p, i) => {
      todo[p] = counts[i];
      most = Math.max(most, counts[i]);
    });
    q.writeBuffer(this.bufs.todo, 0, todo);
    const iterations: Dispatch[] = [];
    for (let k = 0; k < most; k++) iterations.push(this.dispatches(k).f, this.dispatches(k).g);
    this.rt.submit(iterations);
    // then the error of every listed problem: todo = 1 for them (iteration index 0 of the error kernel)
    const listed = new Uint32Array(this.problems.length);
    for (const p of list) listed[p] = 1;
    q.writeBuffer(this.bufs.todo, 0, listed);
    const err = await this.rt.readBack(this.R * 4, (staging) =>
      this.rt.submit([this.dispatches(0).err], (enc) => enc.copyBufferToBuffer(this.bufs.f, this.R * 4, staging, 0, this.R * 4)),
    );
    return Float64Array.from(list, (p) => {
      let s = 0;
      for (let i = 0; i < this.problems[p].cost.n; i++) s += err[this.rowOff[p] + i];
      return s;
    });
  }

  /** f and g of problem q, f64, −∞ where the weight is 0 (f with its c0 shift undone). */
  async potentials(p: number): Promise<{ f: Float64Array; g: Float64Array }> {
    const { n, m } = this.problems[p].cost;
    const all = await this.rt.readBack((n + m) * 4, (staging) =>
      this.rt.submit([], (enc) => {
        enc.copyBufferToBuffer(this.bufs.f, this.rowOff[p] * 4, staging, 0, n * 4);
        enc.copyBufferToBuffer(this.bufs.g, this.colOff[p] * 4, staging, n * 4, m * 4);
      }),
    );
    const back = (x: number, shift: number) => (x <= NEG_T ? -Infinity : x + shift);
    return { f: Float64Array.from(all.subarray(0, n), (x) => back(x, this.c0[p])), g: Float64Array.from(all.subarray(n), (x) => back(x, 0)) };
  }

  setPotentials(p: number, f: Float64Array, g: Float64Array): void {
    const to = (x: Float64Array, shift: number): Float32Array<ArrayBuffer> => Float32Array.from(x, (v) => (v <= NEG_T ? NEG : v - shift));
    this.device.queue.writeBuffer(this.bufs.f, this.rowOff[p] * 4, to(f, this.c0[p]));
    this.device.queue.writeBuffer(this.bufs.g, this.colOff[p] * 4, to(g, 0));
  }

  problem(p: number): EngineProblem {
    return this.problems[p];
  }

  costOf(p: number): Float64Array {
    return this.costs[p];
  }

  epsOf(p: number): number {
    return this.eps[p];
  }

  dispose(): void {
    this.rt.dispose();
  }
}

/** One problem of the batch as an EntropicEngine: iteration through the batch, plan quantities on the host. */
class BatchView implements EntropicEngine {
  readonly backend = 'webgpu' as const;
  readonly n: number;
  readonly m: number;
  private eps = 1;
  constructor(
    private readonly batch: WebGpuSinkhornBatch,
    private readonly q: number,
  ) {
    this.n = batch.problem(q).cost.n;
    this.m = batch.problem(q).cost.m;
  }

  async setEps(eps: number): Promise<void> {
    this.eps = eps;
    this.batch.setEps(this.q, eps);
  }

  async iterate(count: number): Promise<void> {
    await this.batch.step([this.q], [count]);
  }

  async marginalError(): Promise<number> {
    return (await this.batch.step([this.q], [0]))[0];
  }

  potentials(): Promise<{ f: Float64Array; g: Float64Array }> {
    return this.batch.potentials(this.q);
  }

  async setPotentials(f: Float64Array, g: Float64Array): Promise<void> {
    this.batch.setPotentials(this.q, f, g);
  }

  /** The plan from the (f32) potentials, entries in f64 (ts/coupling.ts LazyCoupling: P_ij = exp((f_i + g_j − C_ij)/ε)). */
  private async plan(): Promise<{ P: LazyCoupling; C: Float64Array }> {
    const { f, g } = await this.potentials();
    const C = this.batch.costOf(this.q);
    return { P: new LazyCoupling(new CostMatrixGeometry({ data: C, rows: this.n, cols: this.m }), f, g, this.eps), C };
  }

  async stats(): Promise<PlanStats> {
    const { P, C } = await this.plan();
    const { a: rowSums, b: colSums } = P.marginals();
    let transportCost = 0;
    for (const [i, j, p] of P.entries()) transportCost += p * C[i * this.m + j];
    return { transportCost, rowSums, colSums };
  }

  async planApply(V: Float64Array, k: number, transpose: boolean): Promise<Float64Array> {
    const { P } = await this.plan();
    return transpose ? P.applyTranspose(V, k) : P.apply(V, k);
  }

  async densePlan(): Promise<Float64Array> {
    return (await this.plan()).P.toDense();
  }

  async fUpdateColLse(): Promise<Float64Array> {
    throw new OTError('backend-unavailable', 'webgpu: a batch view has no barycenter update.');
  }

  dispose(): void {
    // the batch owns the buffers
  }
}
