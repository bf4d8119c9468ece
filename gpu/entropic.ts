// The webgpu EntropicEngine: Sinkhorn in f32 with WGSL kernels (gpu/kernels.ts). Semantics are those of
// ts/entropic/engine.ts; the plain-TS JsEntropicEngine is the oracle in tests/webgpu-engine.test.ts.
//
// State lives on the GPU: potentials f, g (log method, and the plan operations of both methods) or scalings
// u, v (scaling method; converted to f = ε·log u on demand). Nothing is read back inside iterate().
// The dense cost is read with strides, so one buffer serves the row pass (contiguous per thread) and the
// column pass (contiguous across threads); see WebGpuEngineOptions.transposed for the optional copy.
import { OTError } from '../ts/errors.js';
import type { EngineProblem, EntropicEngine, PairCost, PlanStats } from '../ts/entropic/engine.js';
import * as K from './kernels.js';
import { COPY_DST, COPY_SRC, type Dispatch, GpuRuntime, STORAGE, UNIFORM } from './runtime.js';

export interface WebGpuEngineOptions {
  /** Threads per workgroup of the n × m passes (default 64). */
  workgroupSize?: number;
  /**
   * Keep a transposed copy of the dense cost/kernel so that the column pass also reads contiguously per
   * thread (default false). On lavapipe at n = m = 2048 (a shared 2-core machine, noisy) both settings gave
   * 13–36 ms per iteration with no consistent winner, so the copy is off and only costs memory when on. On real
   * GPUs the column pass's read (contiguous across threads) is the coalesced one; untested on hardware.
   */
  transposed?: boolean;
}

/**
 * The largest |C|/ε the scaling method may see in f32: −ln of f32's smallest normal, ln 2^126 ≈ 87.34. Beyond
 * it kernel entries exp(−C/ε) become denormal (which GPUs may flush to zero: WGSL allows it) and the scalings,
 * which grow like exp(|C|/ε), come within a factor e^1.4 of f32's largest value (ln FLT_MAX ≈ 88.72). The
 * f64 engines reach ~708 before they raise 'numerical'; f32 must raise it here, not return a capped plan.
 */
export const F32_SCALING_MAX_EXPONENT = 126 * Math.LN2;

/** f64 → f32 with −∞ (and anything below the sentinel) → NEG. */
function toF32Potential(x: Float64Array): Float32Array<ArrayBuffer> {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] <= K.NEG_T ? K.NEG : Math.min(x[i], 3e38);
  return out;
}

function fromF32Potential(x: Float32Array): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] <= K.NEG_T ? -Infinity : x[i];
  return out;
}

/** The device limits against the problem, before anything is allocated: OTError('too-large') past them. */
function checkLimits(p: EngineProblem<PairCost>, dense: boolean, maxBinding: number): void {
  const { n, m } = p.cost;
  const nm = n * m * 4;
  if (dense && nm > maxBinding) {
    throw new OTError(
      'too-large',
      `webgpu: the ${n} × ${m} ${p.cost.kind === 'dense' ? 'cost matrix' : 'cost matrix of the scaling method'} takes ${nm} bytes, ` +
        `over this device's ${maxBinding}-byte buffer limit. Use the log method on point clouds (online, no n × m storage) or the wasm backend.`,
    );
  }
  if (Math.max(n, m) * 16 > maxBinding) throw new OTError('too-large', `webgpu: ${Math.max(n, m)} points exceed this device's buffer limit.`);
}

/**
 * Both clouds shifted by their common mean (costs are translation invariant) before rounding to f32, so that
 * clouds far from the origin do not lose their distances to cancellation.
 */
function centredClouds(X: Float64Array, Y: Float64Array, d: number): [Float32Array<ArrayBuffer>, Float32Array<ArrayBuffer>] {
  const n = X.length / d;
  const m = Y.length / d;
  const mean = new Float64Array(d);
  for (let i = 0; i < n * d; i++) mean[i % d] += X[i] / (n + m);
  for (let j = 0; j < m * d; j++) mean[j % d] += Y[j] / (n + m);
  return [Float32Array.from(X, (x, i) => x - mean[i % d]), Float32Array.from(Y, (y, j) => y - mean[j % d])];
}

/**
 * A dense cost for f32. f32 keeps ~7 digits of C: a large constant in it (C + 1e5) would swamp the differences
 * that matter at small ε. Balanced OT is blind to C − c0 (the shift moves into the potentials), so that is stored;
 * `range` is max |C − c0| when asked (the scaling method's f32 range check).
 */
function shiftedCosts(C: Float64Array, balanced: boolean, withRange: boolean): { data: Float32Array<ArrayBuffer>; offset: number; range: number } {
  let c0 = 0;
  if (balanced) {
    c0 = Infinity;
    for (const c of C) c0 = Math.min(c0, c);
  }
  let range = 0;
  if (withRange) for (const c of C) range = Math.max(range, Math.abs(c - c0));
  return { data: Float32Array.from(C, (c) => c - c0), offset: c0, range };
}

/** max over pairs of ‖x − y‖^power (the largest cost the scaling kernel will see). */
function maxPointCost(X: Float64Array, Y: Float64Array, d: number, power: number): number {
  let best = 0;
  const n = X.length / d;
  const m = Y.length / d;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) {
        const z = X[i * d + t] - Y[j * d + t];
        s += z * z;
      }
      if (s > best) best = s;
    }
  return Math.pow(best, power / 2);
}

/**
 * The problem's buffers (f32). `mat` is the dense cost C − offset (absent for online point clouds), `ker` the
 * kernel K; `u`, `v` the scalings of the scaling method.
 */
interface EngineBuffers {
  /** Params of the row pass, the column pass, and the elementwise passes over all n·m entries. */
  prmRow: GPUBuffer;
  prmCol: GPUBuffer;
  prmAll: GPUBuffer;
  f: GPUBuffer;
  g: GPUBuffer;
  wLogA: GPUBuffer;
  wLogB: GPUBuffer;
  wA: GPUBuffer;
  wB?: GPUBuffer;
  rowSum: GPUBuffer;
  rowCost: GPUBuffer;
  colSum: GPUBuffer;
  colCost: GPUBuffer;
  res: GPUBuffer;
  X?: GPUBuffer;
  Y?: GPUBuffer;
  mat?: GPUBuffer;
  matT?: GPUBuffer;
  ker?: GPUBuffer;
  kerT?: GPUBuffer;
  u?: GPUBuffer;
  v?: GPUBuffer;
}

/** Potentials, weights and the reduction outputs: what every method and geometry needs. */
function stateBuffers(rt: GpuRuntime, p: EngineProblem<PairCost>): EngineBuffers {
  const { n, m } = p.cost;
  const logs = (w: Float64Array) => Float32Array.from(w, (x) => (x > 0 ? Math.log(x) : K.NEG));
  return {
    prmRow: rt.buffer(32, UNIFORM | COPY_DST),
    prmCol: rt.buffer(32, UNIFORM | COPY_DST),
    prmAll: rt.buffer(32, UNIFORM | COPY_DST),
    f: rt.buffer(n * 4),
    g: rt.buffer(m * 4),
    wLogA: rt.upload(logs(p.a)),
    wLogB: rt.upload(logs(p.b)),
    wA: rt.upload(Float32Array.from(p.a)),
    wB: p.method === 'scaling' ? rt.upload(Float32Array.from(p.b)) : undefined,
    rowSum: rt.buffer(n * 4),
    rowCost: rt.buffer(n * 4),
    colSum: rt.buffer(m * 4),
    colCost: rt.buffer(m * 4),
    res: rt.buffer(4),
  };
}

export class WebGpuEntropicEngine implements EntropicEngine {
  readonly backend = 'webgpu' as const;
  readonly n: number;
  readonly m: number;
  private readonly rt: GpuRuntime;
  private eps = 1;
  /** Scaling method: whether u, v (rather than f, g) hold the current state. */
  private scaled = false;
  private kernelStale = true;
  /** Scaling method: max |C'| over the stored costs (C' = C − offset), for the f32 range check of setEps. */
  private costRange = 0;
  /**
   * The constant c0 subtracted from a balanced dense cost before rounding to f32. The engine iterates f' = f − c0
   * (and g unchanged): the iterates are exactly those of the other engines, and after the first update f'
   * stays at the scale of C − c0, where f32 has its digits.
   */
  private offset = 0;
  private readonly b: EngineBuffers;
  private readonly geom: K.KernelGeometry;
  private readonly wg: number;
  private readonly transposed: boolean;
  private readonly iterRow: Dispatch;
  private readonly iterCol: Dispatch;

  private constructor(
    readonly device: GPUDevice,
    private readonly p: EngineProblem<PairCost>,
    opts: WebGpuEngineOptions,
  ) {
    const { n, m } = p.cost;
    this.n = n;
    this.m = m;
    this.rt = new GpuRuntime(device, `the webgpu engine of a ${n} × ${m} problem`);
    const lim = device.limits;
    this.wg = Math.min(opts.workgroupSize ?? 64, lim.maxComputeWorkgroupSizeX, lim.maxComputeInvocationsPerWorkgroup);
    this.transposed = opts.transposed ?? false;
    const dense = p.cost.kind === 'dense' || p.method === 'scaling'; // scaling needs a stored kernel, so points go dense
    checkLimits(p, dense, this.rt.maxBinding); // before allocating anything
    this.b = stateBuffers(this.rt, p);
    this.writeParams();
    this.geom = this.uploadClouds();
    if (dense) this.uploadCosts();
    // f = 0 in the caller's coordinates until the first update overwrites it (f' is computed from g alone)
    if (this.offset !== 0) device.queue.writeBuffer(this.b.f, 0, new Float32Array(n).fill(-this.offset));
    [this.iterRow, this.iterCol] = this.iterations();
  }

  /** Compile (or reuse) the pipelines and upload the problem. Throws OTError('too-large') past the device limits. */
  static async create(device: GPUDevice, problem: EngineProblem<PairCost>, options: WebGpuEngineOptions = {}): Promise<WebGpuEntropicEngine> {
    const size = `the ${problem.cost.n} × ${problem.cost.m} problem`;
    const engine = await GpuRuntime.build(device, size, () => new WebGpuEntropicEngine(device, problem, options));
    await engine.rt.idle();
    return engine;
  }

  // ---- set-up ---------------------------------------------------------------------------------------

  /** Point clouds: both centred on their common mean (costs are translation invariant) and uploaded. */
  private uploadClouds(): K.KernelGeometry {
    const c = this.p.cost;
    if (c.kind !== 'points') return { kind: 'dense' };
    const [X, Y] = centredClouds(c.X, c.Y, c.d);
    this.b.X = this.rt.upload(X);
    this.b.Y = this.rt.upload(Y);
    // Tile of the other cloud in workgroup memory: d + 1 floats per point (coordinates + potential).
    const fit = Math.floor(this.device.limits.maxComputeWorkgroupStorageSize / (4 * (c.d + 1)));
    return { kind: 'points', d: c.d, power: c.power, tile: fit >= 8 ? Math.min(this.wg, fit) : 0 };
  }

  /** The stored cost (given, or computed from the clouds), its transposed copy, and the scaling method's kernel. */
  private uploadCosts(): void {
    const { p, b, rt } = this;
    const nm = this.n * this.m * 4;
    const scaling = p.method === 'scaling';
    if (p.cost.kind === 'dense') {
      const shifted = shiftedCosts(p.cost.C, p.tauA === 1 && p.tauB === 1, scaling);
      this.offset = shifted.offset;
      b.mat = rt.upload(shifted.data);
      if (scaling) this.costRange = shifted.range;
    } else {
      if (scaling) this.costRange = maxPointCost(p.cost.X, p.cost.Y, p.cost.d, p.cost.power);
      b.mat = rt.buffer(nm);
      rt.submit([this.dispatch(K.pairwiseCost(p.cost.d, p.cost.power, this.wg), b.prmRow, { ptsOut: b.X!, ptsIn: b.Y!, dst: b.mat }, this.n * this.m)]);
    }
    if (this.transposed) {
      b.matT = rt.buffer(nm);
      rt.submit([this.dispatch(K.transpose(this.wg), b.prmRow, { src: b.mat, dst: b.matT }, this.n * this.m)]);
    }
    if (scaling) {
      b.ker = rt.buffer(nm);
      if (this.transposed) b.kerT = rt.buffer(nm);
      b.u = rt.buffer(this.n * 4);
      b.v = rt.buffer(this.m * 4);
    }
  }

  /**
   * One Sinkhorn iteration as two dispatches. The row pass reads mat[i*m + j] (contiguous per thread); the column
   * pass reads mat[i*m + j] over i for its j (contiguous across threads), or the transposed copy row-wise.
   */
  private iterations(): [Dispatch, Dispatch] {
    const b = this.b;
    if (this.p.method === 'scaling') {
      const upd = K.scalingUpdate(this.wg);
      return [
        this.dispatch(upd, b.prmRow, { mat: b.ker!, pin: b.v!, w: b.wA, pout: b.u! }, this.n),
        this.dispatch(upd, b.prmCol, { mat: b.kerT ?? b.ker!, pin: b.u!, w: b.wB!, pout: b.v! }, this.m),
      ];
    }
    const upd = K.lseUpdate(this.planGeom, this.wg);
    return [
      this.dispatch(upd, b.prmRow, { ...this.geoBindings(false), pin: b.g, logw: b.wLogA, pout: b.f }, this.n),
      this.dispatch(upd, b.prmCol, { ...this.geoBindings(true), pin: b.f, logw: b.wLogB, pout: b.g }, this.m),
    ];
  }

  // ---- plumbing -------------------------------------------------------------------------------------

  /** Geometry bindings of the row side (out = rows) or the column side. */
  private geoBindings(cols: boolean): Record<string, GPUBuffer> {
    const b = this.b;
    if (this.geom.kind === 'points' && !b.mat) return cols ? { ptsOut: b.Y!, ptsIn: b.X! } : { ptsOut: b.X!, ptsIn: b.Y! };
    return { mat: cols ? (b.matT ?? b.mat!) : b.mat! };
  }

  /** The geometry the plan kernels see: dense whenever a cost is stored. */
  private get planGeom(): K.KernelGeometry {
    return this.b.mat ? { kind: 'dense' } : this.geom;
  }

  private paramBytes(nOut: number, nIn: number, sOut: number, sIn: number, tau: number, kq = 0): ArrayBuffer {
    const ab = new ArrayBuffer(32);
    new Uint32Array(ab, 0, 4).set([nOut, nIn, sOut, sIn]);
    new Float32Array(ab, 16, 3).set([1 / this.eps, this.eps, tau]);
    new Uint32Array(ab, 28, 1)[0] = kq;
    return ab;
  }

  /** Row params: t = i over n, k = j over m; column params: t = j, k = i (strides into C, or into Cᵀ). */
  private writeParams(): void {
    const { n, m } = this;
    const q = this.device.queue;
    q.writeBuffer(this.b.prmRow, 0, this.paramBytes(n, m, m, 1, this.p.tauA));
    q.writeBuffer(this.b.prmCol, 0, this.paramBytes(m, n, this.transposed ? n : 1, this.transposed ? 1 : m, this.p.tauB));
    q.writeBuffer(this.b.prmAll, 0, this.paramBytes(n * m, 0, 0, 0, 1));
  }

  /** A dispatch with the params block `prm` bound as P. */
  private dispatch(src: K.KernelSource, prm: GPUBuffer, bufs: Record<string, GPUBuffer>, threads: number, z = 1): Dispatch {
    return this.rt.dispatch(src, { ...bufs, P: prm }, threads, z);
  }

  /** Scaling method: bring f, g up to date from u, v (f = ε·log u), or u, v from f, g. */
  private toPotentials(): Dispatch[] {
    if (!this.scaled) return [];
    this.scaled = false;
    const f = K.elementwise('toPot', this.wg);
    return [this.dispatch(f, this.b.prmRow, { src: this.b.u!, dst: this.b.f }, this.n), this.dispatch(f, this.b.prmCol, { src: this.b.v!, dst: this.b.g }, this.m)];
  }

  private toScalings(): Dispatch[] {
    const out: Dispatch[] = [];
    if (this.kernelStale) {
      // K = exp(−C/ε) over all n·m entries.
      const e = K.elementwise('kernel', this.wg);
      const nm = this.n * this.m;
      out.push(this.dispatch(e, this.b.prmAll, { src: this.b.mat!, dst: this.b.ker! }, nm));
      if (this.b.kerT) out.push(this.dispatch(e, this.b.prmAll, { src: this.b.matT!, dst: this.b.kerT }, nm));
      this.kernelStale = false;
    }
    if (!this.scaled) {
      const e = K.elementwise('toScal', this.wg);
      out.push(this.dispatch(e, this.b.prmRow, { src: this.b.f, dst: this.b.u! }, this.n), this.dispatch(e, this.b.prmCol, { src: this.b.g, dst: this.b.v! }, this.m));
      this.scaled = true;
    }
    return out;
  }

  /** Row (or column) sums of P and P∘C, as dispatches. */
  private sums(cols: boolean): Dispatch {
    return this.dispatch(
      K.planSums(this.planGeom, this.wg),
      cols ? this.b.prmCol : this.b.prmRow,
      { ...this.geoBindings(cols), pin: cols ? this.b.f : this.b.g, pown: cols ? this.b.g : this.b.f, sums: cols ? this.b.colSum : this.b.rowSum, csums: cols ? this.b.colCost : this.b.rowCost },
      cols ? this.m : this.n,
    );
  }

  // ---- EntropicEngine -------------------------------------------------------------------------------

  async setEps(eps: number): Promise<void> {
    this.rt.alive();
    if (this.p.method === 'scaling' && !(this.costRange / eps <= F32_SCALING_MAX_EXPONENT)) {
      throw new OTError(
        'numerical',
        `webgpu: the scaling method in f32 needs max |C|/reg ≤ ${F32_SCALING_MAX_EXPONENT.toFixed(2)} (ln 2^126: beyond it the kernel ` +
          `underflows and the scalings overflow f32); here it is ${(this.costRange / eps).toPrecision(4)} (reg = ${eps}). ` +
          `Use method: 'log' (or 'auto'), or the wasm backend (f64).`,
      );
    }
    if (this.scaled) this.rt.submit(this.toPotentials()); // u, v were exponentials of the old ε
    this.eps = eps;
    this.writeParams();
    this.kernelStale = true;
  }

  async iterate(count: number): Promise<void> {
    this.rt.alive();
    const pre = this.p.method === 'scaling' ? this.toScalings() : [];
    // A few command buffers rather than one huge one, so a lost device or a long count is noticed early.
    const PER_SUBMIT = 32;
    for (let done = 0; done < count || pre.length; ) {
      const batch = pre.splice(0);
      for (let t = 0; t < PER_SUBMIT && done < count; t++, done++) batch.push(this.iterRow, this.iterCol);
      this.rt.submit(batch);
    }
    await this.rt.idle();
  }

  async marginalError(): Promise<number> {
    const red = this.dispatch(K.absDiffSum(), this.b.prmRow, { x: this.b.rowSum, w: this.b.wA, res: this.b.res }, 256);
    red.grid = [1, 1, 1];
    const [r] = await this.rt.read([...this.toPotentials(), this.sums(false), red], [this.b.res], [1]);
    return r[0];
  }

  async potentials(): Promise<{ f: Float64Array; g: Float64Array }> {
    const [f, g] = await this.rt.read(this.toPotentials(), [this.b.f, this.b.g], [this.n, this.m]);
    return { f: this.shifted(fromF32Potential(f), this.offset), g: fromF32Potential(g) };
  }

  async setPotentials(f: Float64Array, g: Float64Array): Promise<void> {
    this.rt.alive();
    this.device.queue.writeBuffer(this.b.f, 0, toF32Potential(this.shifted(f, -this.offset)));
    this.device.queue.writeBuffer(this.b.g, 0, toF32Potential(g));
    this.scaled = false;
  }

  /**
   * A new dense cost (same n × m), the potentials kept in the caller's coordinates (EngineProblem's setCost):
   * entropic GW's projections on one engine instead of one per outer iteration. The stored cost's offset c0 is
   * the new cost's, so f' = f − c0 is re-expressed through a read of the potentials (n + m values).
   */
  async setCost(C: Float64Array): Promise<void> {
    this.rt.alive();
    if (this.p.cost.kind !== 'dense' || !this.b.mat || C.length !== this.n * this.m) {
      throw new OTError('internal', 'setCost: the engine has no dense cost, or C has the wrong size.');
    }
    const { f, g } = await this.potentials();
    const scaling = this.p.method === 'scaling';
    const shifted = shiftedCosts(C, this.p.tauA === 1 && this.p.tauB === 1, scaling);
    this.device.queue.writeBuffer(this.b.mat, 0, shifted.data);
    this.offset = shifted.offset;
    if (scaling) this.costRange = shifted.range;
    if (this.b.matT) this.rt.submit([this.dispatch(K.transpose(this.wg), this.b.prmRow, { src: this.b.mat, dst: this.b.matT }, this.n * this.m)]);
    this.kernelStale = true;
    await this.setPotentials(f, g);
  }

  /** x + delta with −∞ kept (zero weights). */
  private shifted(x: Float64Array, delta: number): Float64Array {
    return delta === 0 ? x : x.map((v) => (v === -Infinity ? v : v + delta));
  }

  async stats(): Promise<PlanStats> {
    const [rs, rc, cs] = await this.rt.read(
      [...this.toPotentials(), this.sums(false), this.sums(true)],
      [this.b.rowSum, this.b.rowCost, this.b.colSum],
      [this.n, this.n, this.m],
    );
    let transportCost = 0;
    let mass = 0;
    for (const c of rc) transportCost += c;
    for (const r of rs) mass += r;
    // ⟨P, C⟩ = ⟨P, C − c0⟩ + c0·ΣP
    return { transportCost: transportCost + this.offset * mass, rowSums: Float64Array.from(rs), colSums: Float64Array.from(cs) };
  }

  async planApply(V: Float64Array, k: number, transpose: boolean): Promise<Float64Array> {
    this.rt.alive();
    const rows = transpose ? this.m : this.n;
    const other = transpose ? this.n : this.m;
    if (k === 0) return new Float64Array(0); // a z-extent of 0 workgroups is legal but Dawn warns about it
    const kq = Math.ceil(k / 4);
    // V padded to vec4 columns; kq goes into the params (each call gets its own small uniform buffer).
    const vin = new Float32Array(other * kq * 4);
    for (let r = 0; r < other; r++) for (let t = 0; t < k; t++) vin[r * kq * 4 + t] = V[r * k + t];
    const bytes = Math.max(vin.byteLength, rows * kq * 16);
    if (bytes > this.rt.maxBinding) {
      throw new OTError('too-large', `webgpu: planApply with k = ${k} needs ${bytes}-byte buffers, over this device's limit.`);
    }
    const vb = this.rt.upload(vin);
    const ob = this.rt.buffer(rows * kq * 16, STORAGE | COPY_SRC);
    const prm = this.rt.buffer(32, UNIFORM | COPY_DST);
    try {
      const cols = transpose;
      const base = cols ? this.paramBytes(this.m, this.n, this.transposed ? this.n : 1, this.transposed ? 1 : this.m, 1, kq) : this.paramBytes(this.n, this.m, this.m, 1, 1, kq);
      this.device.queue.writeBuffer(prm, 0, base);
      const pre = this.toPotentials();
      const d = this.dispatch(K.planApply(this.planGeom, this.wg), prm, { ...this.geoBindings(cols), pin: cols ? this.b.f : this.b.g, pown: cols ? this.b.g : this.b.f, vin: vb, vout: ob }, rows, kq);
      const [o] = await this.rt.read([...pre, d], [ob], [rows * kq * 4]);
      const out = new Float64Array(rows * k);
      for (let r = 0; r < rows; r++) for (let t = 0; t < k; t++) out[r * k + t] = o[r * kq * 4 + t];
      return out;
    } finally {
      for (const b of [vb, ob, prm]) this.rt.release(b);
    }
  }

  async densePlan(): Promise<Float64Array> {
    this.rt.alive();
    const bytes = this.n * this.m * 4;
    if (bytes > this.rt.maxBinding) {
      throw new OTError('too-large', `webgpu: the dense ${this.n} × ${this.m} plan takes ${bytes} bytes, over this device's buffer limit.`);
    }
    const pb = this.rt.buffer(bytes, STORAGE | COPY_SRC);
    try {
      const pre = this.toPotentials();
      const d = this.dispatch(K.planDense(this.planGeom, this.wg), this.b.prmRow, { ...this.geoBindings(false), pin: this.b.g, pown: this.b.f, plan: pb }, this.n);
      const [P] = await this.rt.read([...pre, d], [pb], [this.n * this.m]);
      return Float64Array.from(P);
    } finally {
      this.rt.release(pb);
    }
  }

  /** Bytes of GPU buffers this engine holds (the memory tests read it: online clouds must stay O(n + m)). */
  get gpuBytes(): number {
    return this.rt.ownedBytes;
  }

  dispose(): void {
    this.rt.dispose();
  }

  // ---- barycenters (EntropicEngine.fUpdateColLse) ----------------------------------------------------

  /** Column pass into hOut: log: −ε·LSE_i((f_i − C_ij)/ε) (lseUpdate, log weights 0); scaling: 1/(Kᵀu)_j. */
  private colLse?: { d: Dispatch; hOut: GPUBuffer };

  async fUpdateColLse(g: Float64Array): Promise<Float64Array> {
    this.rt.alive();
    const m = this.m;
    const scaling = this.p.method === 'scaling';
    if (!this.colLse) {
      const mk = (data: Float32Array<ArrayBuffer>) => this.rt.upload(data);
      const hOut = mk(new Float32Array(m));
      const d = scaling
        ? this.dispatch(K.scalingUpdate(this.wg), this.b.prmCol, { mat: this.b.kerT ?? this.b.ker!, pin: this.b.u!, w: mk(new Float32Array(m).fill(1)), pout: hOut }, m)
        : this.dispatch(K.lseUpdate(this.planGeom, this.wg), this.b.prmCol, { ...this.geoBindings(true), pin: this.b.f, logw: mk(new Float32Array(m)), pout: hOut }, m);
      this.colLse = { d, hOut };
    }
    // g as set (the f-update overwrites f, or u, from it)
    this.device.queue.writeBuffer(this.b.g, 0, toF32Potential(g));
    this.scaled = false;
    const pre = scaling ? this.toScalings() : [];
    const [h] = await this.rt.read([...pre, this.iterRow, this.colLse.d], [this.colLse.hOut], [m]);
    const eps = this.eps;
    return Float64Array.from(h, (x) => (scaling ? -Math.log(x) : -x / eps));
  }
}
