// Entropic partial OT on a geometry whose costs are not stored (point clouds, grids): the log-domain Bregman
// iteration of partial.ts (partialLog), with every row and column log-sum-exp taken from an entropic engine's
// plan statistics (EntropicEngine.stats at potentials f = reg·(α + γ), g = reg·β), so the n × m work runs on the
// engine's backend (wasm threads, webgpu, the grid's separable kernel) and nothing n × m is ever stored.
import { OTError } from '../errors.js';
import { LazyCoupling } from '../coupling.js';
import type { EntropicEngine } from '../entropic/engine.js';
import { LogSumExp } from '../entropic/logsumexp.js';
import { entropicCost } from '../entropic/problem.js';
import { createEngine } from '../entropic/select.js';
import type { GridGeometry, PointCloudGeometry } from '../geometry.js';
import { abortPoint } from '../validate.js';
import type { PartialOptions, PartialResult } from './partial.js';

const logOf = (x: number) => (x > 0 ? Math.log(x) : -Infinity);

export async function entropicPartialOnline(
  a: Float64Array, b: Float64Array, geom: PointCloudGeometry | GridGeometry, mass: number, reg: number, opts: PartialOptions,
): Promise<PartialResult> {
  if (opts.method === 'scaling') {
    throw new OTError('invalid-option', "partialWasserstein: on a geometry without stored costs the iteration runs in the log domain; drop method: 'scaling'.");
  }
  const n = a.length;
  const m = b.length;
  const engine = await createEngine('partialWasserstein', { cost: entropicCost(geom).cost, a, b, method: 'log', tauA: 1, tauB: 1, maxBytes: opts.maxBytes });
  try {
    await engine.setEps(reg);
    return await iterate(engine, a, b, geom, n, m, mass, reg, opts);
  } finally {
    engine.dispose();
  }
}

async function iterate(
  engine: EntropicEngine, a: Float64Array, b: Float64Array, geom: PointCloudGeometry | GridGeometry,
  n: number, m: number, mass: number, reg: number, opts: PartialOptions,
): Promise<PartialResult> {
  const maxIter = opts.maxIter ?? 1000;
  const tol = opts.tol ?? 1e-9;
  const la = Float64Array.from(a, logOf);
  const lb = Float64Array.from(b, logOf);
  const alpha = new Float64Array(n);
  const beta = new Float64Array(m);
  const x = new Float64Array(n);
  const y = new Float64Array(m);
  let z = 0;
  // γ: any finite normalisation of the start K0 gives the same projection; rows' log-sums LSE_j(−C_ij/reg) come
  // from one f-update at g = 0 (f_i = reg·(log a_i − LSE_j)), so no underflow, and γ scales K0 to total `mass`.
  await engine.setPotentials(new Float64Array(n), new Float64Array(m));
  await engine.iterate(1);
  const f0 = (await engine.potentials()).f;
  const total = new LogSumExp();
  for (let i = 0; i < n; i++) if (la[i] > -Infinity) total.add(la[i] - f0[i] / reg);
  let gamma = Math.log(mass) - total.value();
  const stats = async (rowShift: Float64Array | undefined) => {
    const f = alpha.map((v, i) => reg * (v + (rowShift ? rowShift[i] : 0) + gamma));
    await engine.setPotentials(f, beta.map((v) => reg * v));
    return engine.stats();
  };
  let err = Infinity;
  let it = 0;
  while (err > tol && it < maxIter) {
    // 1: rows, from α + x (the Dykstra correction of the row set)
    const { rowSums } = await stats(x);
    for (let i = 0; i < n; i++) {
      if (la[i] === -Infinity) {
        alpha[i] = -Infinity;
        x[i] = 0;
        continue;
      }
      const lr = logOf(rowSums[i]);
      const ld = lr > -Infinity ? Math.min(la[i] - lr, 0) : 0;
      alpha[i] += x[i] + ld;
      x[i] = -ld;
    }
    // 2: columns, from β + y
    for (let j = 0; j < m; j++) beta[j] += y[j];
    const { colSums } = await stats(undefined);
    const lt = new LogSumExp();
    for (let j = 0; j < m; j++) {
      if (lb[j] === -Infinity) {
        beta[j] = -Infinity;
        y[j] = 0;
        continue;
      }
      const l = logOf(colSums[j]);
      const ld = l > -Infinity ? Math.min(lb[j] - l, 0) : 0;
      beta[j] += ld;
      y[j] = -ld;
      lt.add(l + ld);
    }
    // 3: total mass
    const ld3 = Math.log(mass) - (lt.value() + z);
    gamma += z + ld3;
    z = -ld3;
    if (it % 10 === 0) {
      const s = await stats(undefined);
      let viol = 0;
      for (let i = 0; i < n; i++) viol += Math.max(s.rowSums[i] - a[i], 0);
      for (let j = 0; j < m; j++) viol += Math.max(s.colSums[j] - b[j], 0);
      err = viol;
      opts.onProgress?.({ iterations: it + 1, error: err });
      await abortPoint(opts.signal, () => `entropic partial OT, iteration ${it + 1}`);
    }
    it++;
  }
  const f = alpha.map((v) => reg * (v + gamma));
  const g = beta.map((v) => reg * v);
  await engine.setPotentials(f, g);
  const s = await engine.stats();
  let moved = 0;
  for (const r of s.rowSums) moved += r;
  return {
    value: s.transportCost,
    cost: s.transportCost,
    plan: new LazyCoupling(geom, f, g, reg),
    mass: moved,
    status: err < tol ? 'converged' : 'max-iterations',
    iterations: it,
    error: err,
    backend: engine.backend,
    threads: engine.threads ?? 1,
    method: 'log',
  };
}
