// The webgpu EntropicEngine: Sinkhorn in f32 with WGSL kernels (gpu/kernels.ts). Semantics are those of
// ts/entropic/engine.ts; the plain-TS JsEntropicEngine is the oracle in tests/webgpu-engine.test.ts.
//
// State lives on the GPU: potentials f, g (log method, and the plan operations of both methods) or scalings
// u, v (scaling method; converted to f = ε·log u on demand). Nothing is read back inside iterate().
// The dense cost is read with strides, so one buffer serves the row pass (contiguous per thread) and the
// column pass (contiguous across threads); see WebGpuEngineOptions.transposed for the optional copy.
import { OTError } from '../ts/errors.js';
import type { EngineProblem, EntropicEngine, PlanStats } from '../ts/entropic/engine.js';
import * as K from './kernels.js';
import { COPY_DST, COPY_SRC, type Kernel, MAP_READ, STORAGE, UNIFORM, gridOf, kernel } from './pipelines.js';

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

/** One dispatch: a kernel, its bind group, and the workgroup grid. */
interface Dispatch {
  k: Kernel;
  bg: GPUBindGroup;
  grid: [number, number, number];
}

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

/** max over pairs of ‖x − y‖^power (the largest cost the scaling kernel will see). */
/** The device limits against the problem, before anything is allocated: OTError('too-large') past them. */
function checkLimits(p: EngineProblem, dense: boolean, maxBinding: number): void {
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

export class WebGpuEntropicEngine implements EntropicEngine {
  readonly backend = 'webgpu' as const;
  readonly n: number;
  readonly m: number;
  private eps = 1;
  private lostInfo: GPUDeviceLostInfo | undefined;
  private readonly lost: Promise<void>;
  private disposed = false;
  private buffers: GPUBuffer[] = [];
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

  // Buffers (f32). `mat` is the dense cost C (undefined for online point clouds), `ker` the kernel K.
  private readonly prmRow: GPUBuffer;
  private readonly prmCol: GPUBuffer;
  /** Params of the elementwise passes over all n·m entries. */
  private readonly prmAll: GPUBuffer;
  private readonly f: GPUBuffer;
  private readonly g: GPUBuffer;
  private readonly u?: GPUBuffer;
  private readonly v?: GPUBuffer;
  private readonly mat?: GPUBuffer;
  private readonly matT?: GPUBuffer;
  private readonly ker?: GPUBuffer;
  private readonly kerT?: GPUBuffer;
  private readonly X?: GPUBuffer;
  private readonly Y?: GPUBuffer;
  private readonly wA: GPUBuffer;
  private readonly rowSum: GPUBuffer;
  private readonly rowCost: GPUBuffer;
  private readonly colSum: GPUBuffer;
  private readonly colCost: GPUBuffer;
  private readonly res: GPUBuffer;
  private readonly geom: K.KernelGeometry;
  private readonly wg: number;
  private readonly transposed: boolean;

  private readonly iterRow: Dispatch;
  private readonly iterCol: Dispatch;

  private constructor(
    readonly device: GPUDevice,
    private readonly p: EngineProblem,
    opts: WebGpuEngineOptions,
  ) {
    const { n, m } = p.cost;
    this.n = n;
    this.m = m;
    this.lost = device.lost.then((info) => {
      this.lostInfo = info;
    });
    const lim = device.limits;
    const maxBinding = Math.min(lim.maxStorageBufferBindingSize, lim.maxBufferSize);
    const wg = (this.wg = Math.min(opts.workgroupSize ?? 64, lim.maxComputeWorkgroupSizeX, lim.maxComputeInvocationsPerWorkgroup));
    const transposed = (this.transposed = opts.transposed ?? false);
    const scaling = p.method === 'scaling';
    const dense = p.cost.kind === 'dense' || scaling; // scaling needs a stored kernel, so points go dense

    const nm = n * m * 4;
    checkLimits(p, dense, maxBinding); // before allocating anything

    const buf = (bytes: number, usage = STORAGE | COPY_SRC | COPY_DST) => {
      const b = device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 4) * 4), usage });
      this.buffers.push(b);
      return b;
    };
    const put = (data: Float32Array<ArrayBuffer>) => {
      const b = buf(data.byteLength);
      device.queue.writeBuffer(b, 0, data);
      return b;
    };

    this.prmRow = buf(32, UNIFORM | COPY_DST);
    this.prmCol = buf(32, UNIFORM | COPY_DST);
    this.prmAll = buf(32, UNIFORM | COPY_DST);
    this.writeParams();
    this.f = buf(n * 4);
    this.g = buf(m * 4);
    const logs = (w: Float64Array) => Float32Array.from(w, (x) => (x > 0 ? Math.log(x) : K.NEG));
    const wLogA = put(logs(p.a));
    const wLogB = put(logs(p.b));
    this.wA = put(Float32Array.from(p.a));
    const wB = scaling ? put(Float32Array.from(p.b)) : undefined;
    this.rowSum = buf(n * 4);
    this.rowCost = buf(n * 4);
    this.colSum = buf(m * 4);
    this.colCost = buf(m * 4);
    this.res = buf(4);

    if (p.cost.kind === 'points') {
      // Shift both clouds by their common mean (costs are translation invariant) before rounding to f32,
      // so that clouds far from the origin do not lose their distances to cancellation.
      const { d } = p.cost;
      const [X, Y] = centredClouds(p.cost.X, p.cost.Y, d);
      this.X = put(X);
      this.Y = put(Y);
      // Tile of the other cloud in workgroup memory: d + 1 floats per point (coordinates + potential).
      const fit = Math.floor(lim.maxComputeWorkgroupStorageSize / (4 * (d + 1)));
      this.geom = { kind: 'points', d, power: p.cost.power, tile: fit >= 8 ? Math.min(wg, fit) : 0 };
    } else {
      this.geom = { kind: 'dense' };
    }

    if (dense) {
      if (p.cost.kind === 'dense') {
        const shifted = shiftedCosts(p.cost.C, p.tauA === 1 && p.tauB === 1, scaling);
        this.offset = shifted.offset;
        this.mat = put(shifted.data);
        if (scaling) this.costRange = shifted.range;
      }
      else {
        if (scaling) this.costRange = maxPointCost(p.cost.X, p.cost.Y, p.cost.d, p.cost.power);
        this.mat = buf(nm);
        this.submit([this.dispatch(K.pairwiseCost(p.cost.d, p.cost.power, wg), this.prmRow, { ptsOut: this.X!, ptsIn: this.Y!, dst: this.mat }, n * m)]);
      }
      if (transposed) this.matT = buf(nm);
      if (scaling) {
        this.ker = buf(nm);
        if (transposed) this.kerT = buf(nm);
        this.u = buf(n * 4);
        this.v = buf(m * 4);
      }
    }
    if (this.matT) this.submit([this.dispatch(K.transpose(wg), this.prmRow, { src: this.mat!, dst: this.matT }, n * m)]);
    // f = 0 in the caller's coordinates until the first update overwrites it (f' is computed from g alone)
    if (this.offset !== 0) device.queue.writeBuffer(this.f, 0, new Float32Array(n).fill(-this.offset));

    // Row pass reads mat[i*m + j] (contiguous per thread); column pass reads mat[i*m + j] over i for its j
    // (contiguous across threads), or the transposed copy row-wise.
    const rowGeom = dense ? { kind: 'dense' as const } : this.geom;
    if (scaling) {
      const upd = K.scalingUpdate(wg);
      this.iterRow = this.dispatch(upd, this.prmRow, { mat: this.ker!, pin: this.v!, w: this.wA, pout: this.u! }, n);
      this.iterCol = this.dispatch(upd, this.prmCol, { mat: this.kerT ?? this.ker!, pin: this.u!, w: wB!, pout: this.v! }, m);
    } else {
      const upd = K.lseUpdate(rowGeom, wg);
      this.iterRow = this.dispatch(upd, this.prmRow, { ...this.geoBindings(false), pin: this.g, logw: wLogA, pout: this.f }, n);
      this.iterCol = this.dispatch(upd, this.prmCol, { ...this.geoBindings(true), pin: this.f, logw: wLogB, pout: this.g }, m);
    }
  }

  /** Compile (or reuse) the pipelines and upload the problem. Throws OTError('too-large') past the device limits. */
  static async create(device: GPUDevice, problem: EngineProblem, options: WebGpuEngineOptions = {}): Promise<WebGpuEntropicEngine> {
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    let engine: WebGpuEntropicEngine | undefined;
    try {
      engine = new WebGpuEntropicEngine(device, problem, options);
    } finally {
      const validation = await device.popErrorScope();
      const oom = await device.popErrorScope();
      if (engine && (validation || oom)) engine.dispose();
      if (oom) throw new OTError('too-large', `webgpu: out of GPU memory for the ${problem.cost.n} × ${problem.cost.m} problem (${oom.message}).`);
      // a WGSL or binding validation failure is a bug of ours, never the caller's input
      if (validation) throw new OTError('internal', `webgpu engine: ${validation.message}. This is a bug in kantorovich; please report it.`);
    }
    await engine.settle(device.queue.onSubmittedWorkDone());
    return engine;
  }

  // ---- plumbing -------------------------------------------------------------------------------------

  /** Geometry bindings of the row side (out = rows) or the column side. */
  private geoBindings(cols: boolean): Record<string, GPUBuffer> {
    if (this.geom.kind === 'points' && !this.mat) return cols ? { ptsOut: this.Y!, ptsIn: this.X! } : { ptsOut: this.X!, ptsIn: this.Y! };
    return { mat: cols ? (this.matT ?? this.mat!) : this.mat! };
  }

  private get planGeom(): K.KernelGeometry {
    return this.mat ? { kind: 'dense' } : this.geom;
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
    q.writeBuffer(this.prmRow, 0, this.paramBytes(n, m, m, 1, this.p.tauA));
    q.writeBuffer(this.prmCol, 0, this.paramBytes(m, n, this.transposed ? n : 1, this.transposed ? 1 : m, this.p.tauB));
    q.writeBuffer(this.prmAll, 0, this.paramBytes(n * m, 0, 0, 0, 1));
  }

  private dispatch(src: K.KernelSource, prm: GPUBuffer, bufs: Record<string, GPUBuffer>, threads: number, z = 1): Dispatch {
    const k = kernel(this.device, src);
    const all: Record<string, GPUBuffer> = { ...bufs, P: prm };
    const bg = this.device.createBindGroup({
      layout: k.layout,
      entries: src.bindings.map((b, i) => ({ binding: i, resource: { buffer: all[b.name] } })),
    });
    return { k, bg, grid: gridOf(this.device, Math.ceil(threads / src.workgroupSize), z) };
  }

  private encode(enc: GPUCommandEncoder, ds: Dispatch[]): void {
    const pass = enc.beginComputePass();
    for (const d of ds) {
      pass.setPipeline(d.k.pipeline);
      pass.setBindGroup(0, d.bg);
      pass.dispatchWorkgroups(...d.grid);
    }
    pass.end();
  }

  private submit(ds: Dispatch[], copies?: (enc: GPUCommandEncoder) => void): void {
    const enc = this.device.createCommandEncoder();
    this.encode(enc, ds);
    copies?.(enc);
    this.device.queue.submit([enc.finish()]);
  }

  private alive(): void {
    if (this.lostInfo) throw new OTError('device-lost', `webgpu: the device was lost (${this.lostInfo.reason}: ${this.lostInfo.message}). Create a new engine.`);
    if (this.disposed) throw new OTError('invalid-option', 'webgpu: this engine was disposed.');
  }

  /** Await GPU work, but stop waiting as soon as the device is lost; a loss becomes OTError('device-lost'). */
  private async settle<T>(work: Promise<T>): Promise<void> {
    this.alive();
    try {
      await Promise.race([work, this.lost]);
    } catch (e) {
      // A mapAsync refused because of the loss may settle before `lost` does: give the loss a moment to land.
      await Promise.race([this.lost, new Promise((r) => setTimeout(r, 100))]);
      this.alive();
      throw e;
    }
    this.alive();
  }

  /** Copy buffers into one staging buffer, map it, return f32 copies. */
  private async read(ds: Dispatch[], srcs: GPUBuffer[], counts: number[]): Promise<Float32Array[]> {
    this.alive();
    const total = counts.reduce((s, c) => s + c, 0);
    const staging = this.device.createBuffer({ size: Math.max(16, total * 4), usage: MAP_READ | COPY_DST });
    try {
      this.submit(ds, (enc) => {
        let off = 0;
        srcs.forEach((s, i) => {
          enc.copyBufferToBuffer(s, 0, staging, off * 4, counts[i] * 4);
          off += counts[i];
        });
      });
      await this.settle(staging.mapAsync(1 /* GPUMapMode.READ */));
      const all = new Float32Array(staging.getMappedRange().slice(0));
      staging.unmap();
      let off = 0;
      return counts.map((c) => all.subarray(off, (off += c)));
    } finally {
      staging.destroy();
    }
  }

  /** Scaling method: bring f, g up to date from u, v (f = ε·log u), or u, v from f, g. */
  private toPotentials(): Dispatch[] {
    if (!this.scaled) return [];
    this.scaled = false;
    const f = K.elementwise('toPot', this.wg);
    return [this.dispatch(f, this.prmRow, { src: this.u!, dst: this.f }, this.n), this.dispatch(f, this.prmCol, { src: this.v!, dst: this.g }, this.m)];
  }

  private toScalings(): Dispatch[] {
    const out: Dispatch[] = [];
    if (this.kernelStale) {
      // K = exp(−C/ε) over all n·m entries.
      const e = K.elementwise('kernel', this.wg);
      const nm = this.n * this.m;
      out.push(this.dispatch(e, this.prmAll, { src: this.mat!, dst: this.ker! }, nm));
      if (this.kerT) out.push(this.dispatch(e, this.prmAll, { src: this.matT!, dst: this.kerT }, nm));
      this.kernelStale = false;
    }
    if (!this.scaled) {
      const e = K.elementwise('toScal', this.wg);
      out.push(this.dispatch(e, this.prmRow, { src: this.f, dst: this.u! }, this.n), this.dispatch(e, this.prmCol, { src: this.g, dst: this.v! }, this.m));
      this.scaled = true;
    }
    return out;
  }

  /** Row (or column) sums of P and P∘C, as dispatches. */
  private sums(cols: boolean): Dispatch {
    return this.dispatch(
      K.planSums(this.planGeom, this.wg),
      cols ? this.prmCol : this.prmRow,
      { ...this.geoBindings(cols), pin: cols ? this.f : this.g, pown: cols ? this.g : this.f, sums: cols ? this.colSum : this.rowSum, csums: cols ? this.colCost : this.rowCost },
      cols ? this.m : this.n,
    );
  }

  // ---- EntropicEngine -------------------------------------------------------------------------------

  async setEps(eps: number): Promise<void> {
    this.alive();
    if (this.p.method === 'scaling' && !(this.costRange / eps <= F32_SCALING_MAX_EXPONENT)) {
      throw new OTError(
        'numerical',
        `webgpu: the scaling method in f32 needs max |C|/reg ≤ ${F32_SCALING_MAX_EXPONENT.toFixed(2)} (ln 2^126: beyond it the kernel ` +
          `underflows and the scalings overflow f32); here it is ${(this.costRange / eps).toPrecision(4)} (reg = ${eps}). ` +
          `Use method: 'log' (or 'auto'), or the wasm backend (f64).`,
      );
    }
    if (this.scaled) this.submit(this.toPotentials()); // u, v were exponentials of the old ε
    this.eps = eps;
    this.writeParams();
    this.kernelStale = true;
  }

  async iterate(count: number): Promise<void> {
    this.alive();
    const pre = this.p.method === 'scaling' ? this.toScalings() : [];
    // A few command buffers rather than one huge one, so a lost device or a long count is noticed early.
    const PER_SUBMIT = 32;
    for (let done = 0; done < count || pre.length; ) {
      const batch = pre.splice(0);
      for (let t = 0; t < PER_SUBMIT && done < count; t++, done++) batch.push(this.iterRow, this.iterCol);
      this.submit(batch);
    }
    await this.settle(this.device.queue.onSubmittedWorkDone());
  }

  async marginalError(): Promise<number> {
    const red = this.dispatch(K.absDiffSum(), this.prmRow, { x: this.rowSum, w: this.wA, res: this.res }, 256);
    red.grid = [1, 1, 1];
    const [r] = await this.read([...this.toPotentials(), this.sums(false), red], [this.res], [1]);
    return r[0];
  }

  async potentials(): Promise<{ f: Float64Array; g: Float64Array }> {
    const [f, g] = await this.read(this.toPotentials(), [this.f, this.g], [this.n, this.m]);
    return { f: this.shifted(fromF32Potential(f), this.offset), g: fromF32Potential(g) };
  }

  async setPotentials(f: Float64Array, g: Float64Array): Promise<void> {
    this.alive();
    this.device.queue.writeBuffer(this.f, 0, toF32Potential(this.shifted(f, -this.offset)));
    this.device.queue.writeBuffer(this.g, 0, toF32Potential(g));
    this.scaled = false;
  }

  /** x + delta with −∞ kept (zero weights). */
  private shifted(x: Float64Array, delta: number): Float64Array {
    return delta === 0 ? x : x.map((v) => (v === -Infinity ? v : v + delta));
  }

  async stats(): Promise<PlanStats> {
    const [rs, rc, cs] = await this.read(
      [...this.toPotentials(), this.sums(false), this.sums(true)],
      [this.rowSum, this.rowCost, this.colSum],
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
    this.alive();
    const rows = transpose ? this.m : this.n;
    const other = transpose ? this.n : this.m;
    if (k === 0) return new Float64Array(0); // a z-extent of 0 workgroups is legal but Dawn warns about it
    const kq = Math.ceil(k / 4);
    // V padded to vec4 columns; kq goes into the params (each call gets its own small uniform buffer).
    const vin = new Float32Array(other * kq * 4);
    for (let r = 0; r < other; r++) for (let t = 0; t < k; t++) vin[r * kq * 4 + t] = V[r * k + t];
    const bytes = Math.max(vin.byteLength, rows * kq * 16);
    if (bytes > Math.min(this.device.limits.maxStorageBufferBindingSize, this.device.limits.maxBufferSize)) {
      throw new OTError('too-large', `webgpu: planApply with k = ${k} needs ${bytes}-byte buffers, over this device's limit.`);
    }
    const vb = this.device.createBuffer({ size: Math.max(16, vin.byteLength), usage: STORAGE | COPY_DST });
    const ob = this.device.createBuffer({ size: Math.max(16, rows * kq * 16), usage: STORAGE | COPY_SRC });
    const prm = this.device.createBuffer({ size: 32, usage: UNIFORM | COPY_DST });
    try {
      this.device.queue.writeBuffer(vb, 0, vin);
      const cols = transpose;
      const base = cols ? this.paramBytes(this.m, this.n, this.transposed ? this.n : 1, this.transposed ? 1 : this.m, 1, kq) : this.paramBytes(this.n, this.m, this.m, 1, 1, kq);
      this.device.queue.writeBuffer(prm, 0, base);
      const pre = this.toPotentials();
      const d = this.dispatch(K.planApply(this.planGeom, this.wg), prm, { ...this.geoBindings(cols), pin: cols ? this.f : this.g, pown: cols ? this.g : this.f, vin: vb, vout: ob }, rows, kq);
      const [o] = await this.read([...pre, d], [ob], [rows * kq * 4]);
      const out = new Float64Array(rows * k);
      for (let r = 0; r < rows; r++) for (let t = 0; t < k; t++) out[r * k + t] = o[r * kq * 4 + t];
      return out;
    } finally {
      vb.destroy();
      ob.destroy();
      prm.destroy();
    }
  }

  async densePlan(): Promise<Float64Array> {
    this.alive();
    const bytes = this.n * this.m * 4;
    if (bytes > Math.min(this.device.limits.maxStorageBufferBindingSize, this.device.limits.maxBufferSize)) {
      throw new OTError('too-large', `webgpu: the dense ${this.n} × ${this.m} plan takes ${bytes} bytes, over this device's buffer limit.`);
    }
    const pb = this.device.createBuffer({ size: Math.max(16, bytes), usage: STORAGE | COPY_SRC });
    try {
      const pre = this.toPotentials();
      const d = this.dispatch(K.planDense(this.planGeom, this.wg), this.prmRow, { ...this.geoBindings(false), pin: this.g, pown: this.f, plan: pb }, this.n);
      const [P] = await this.read([...pre, d], [pb], [this.n * this.m]);
      return Float64Array.from(P);
    } finally {
      pb.destroy();
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const b of this.buffers) b.destroy();
    this.buffers = [];
  }

  // ---- barycenters (EntropicEngine.fUpdateColLse) ----------------------------------------------------

  /** Column pass into hOut: log: −ε·LSE_i((f_i − C_ij)/ε) (lseUpdate, log weights 0); scaling: 1/(Kᵀu)_j. */
  private colLse?: { d: Dispatch; hOut: GPUBuffer };

  async fUpdateColLse(g: Float64Array): Promise<Float64Array> {
    this.alive();
    const m = this.m;
    const scaling = this.p.method === 'scaling';
    if (!this.colLse) {
      const mk = (data: Float32Array<ArrayBuffer>) => {
        const b = this.device.createBuffer({ size: Math.max(16, data.byteLength), usage: STORAGE | COPY_SRC | COPY_DST });
        this.buffers.push(b);
        this.device.queue.writeBuffer(b, 0, data);
        return b;
      };
      const hOut = mk(new Float32Array(m));
      const d = scaling
        ? this.dispatch(K.scalingUpdate(this.wg), this.prmCol, { mat: this.kerT ?? this.ker!, pin: this.u!, w: mk(new Float32Array(m).fill(1)), pout: hOut }, m)
        : this.dispatch(K.lseUpdate(this.planGeom, this.wg), this.prmCol, { ...this.geoBindings(true), pin: this.f, logw: mk(new Float32Array(m)), pout: hOut }, m);
      this.colLse = { d, hOut };
    }
    // g as set (the f-update overwrites f, or u, from it)
    this.device.queue.writeBuffer(this.g, 0, toF32Potential(g));
    this.scaled = false;
    const pre = scaling ? this.toScalings() : [];
    const [h] = await this.read([...pre, this.iterRow, this.colLse.d], [this.colLse.hOut], [m]);
    const eps = this.eps;
    return Float64Array.from(h, (x) => (scaling ? -Math.log(x) : -x / eps));
  }
}
