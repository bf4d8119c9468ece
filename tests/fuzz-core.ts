// The seeded differential fuzz (issue #15): random small problems, each solved on every backend (in-process and
// in a worker) and checked against an oracle that does not share its code:
// - exact OT (emd): the LP certificate — a feasible plan, feasible duals, complementary slackness and a zero gap
//   — and, for permutation problems (n = m, uniform weights), the cheapest permutation by brute force;
// - 1D OT (emd1d): the network simplex on the same |x − y|^p costs;
// - entropic OT (sinkhorn, balanced and unbalanced): a tight f64 log-domain Sinkhorn written here.
// Every case is a pure function of (seed, index), so a failure is replayed with `npm run fuzz -- --seed S --only K`.
import { type BackendName, Rng, backends, emd, emd1d, sinkhorn, sinkhornUnbalanced } from 'kantorovich';

export interface FuzzOptions {
  seed: number;
  /** Stop after this many cases (default: unbounded, then `minutes` decides). */
  cases?: number;
  minutes?: number;
  /** Run only case #k of the seed (replay). */
  only?: number;
  /** Also run each case in a worker (every `workerEvery`-th case; 0: never). */
  workerEvery?: number;
  log?: (line: string) => void;
}

export interface FuzzFailure {
  seed: number;
  index: number;
  kind: string;
  backend: string;
  message: string;
}

export interface FuzzReport {
  cases: number;
  checks: number;
  failures: FuzzFailure[];
  backends: string[];
}

type Dense = number[][];

function weights(rng: Rng, n: number, zeros: boolean): number[] {
  const w: number[] = Array.from({ length: n }, () => (zeros && rng.uniform() < 0.3 ? 0 : 0.05 + rng.uniform()));
  if (w.every((x) => x <= 0)) w[0] = 1;
  const s = w.reduce((x, y) => x + y, 0);
  return w.map((x) => x / s);
}

/** Costs with the shapes that break solvers: ties (small integers), negatives, a wide range, or a metric. */
function costs(rng: Rng, n: number, m: number): Dense {
  const style = Math.floor(rng.uniform() * 4);
  const X = Array.from({ length: n }, () => [rng.uniform(), rng.uniform()]);
  const Y = Array.from({ length: m }, () => [rng.uniform(), rng.uniform()]);
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: m }, (_, j) => {
      if (style === 0) return Math.floor(rng.uniform() * 4); // many ties
      if (style === 1) return rng.uniform() * 2 - 1; // negative costs
      if (style === 2) return Math.exp(rng.uniform() * 20 - 10); // 1e-4 … 1e4
      return (X[i][0] - Y[j][0]) ** 2 + (X[i][1] - Y[j][1]) ** 2;
    }),
  );
}

function permutations(n: number): number[][] {
  if (n === 1) return [[0]];
  const out: number[][] = [];
  for (const p of permutations(n - 1)) for (let k = 0; k <= p.length; k++) out.push([...p.slice(0, k), n - 1, ...p.slice(k)]);
  return out;
}

/** Tight f64 log-domain Sinkhorn (the oracle): ⟨P, C⟩ at the fixed point, τ = regM / (regM + reg) for unbalanced. */
export function referenceSinkhorn(a: number[], b: number[], C: Dense, reg: number, regM?: number): number {
  const n = a.length;
  const m = b.length;
  const tau = regM === undefined ? 1 : regM / (regM + reg);
  const f = new Float64Array(n);
  const g = new Float64Array(m);
  const lse = (xs: number[]) => {
    const mx = Math.max(...xs);
    if (mx === -Infinity) return -Infinity;
    return mx + Math.log(xs.reduce((s, x) => s + Math.exp(x - mx), 0));
  };
  for (let it = 0; it < 200000; it++) {
    let change = 0;
    for (let i = 0; i < n; i++) {
      if (a[i] === 0) continue;
      const nf = tau * reg * (Math.log(a[i]) - lse(C[i].map((c, j) => (b[j] > 0 ? (g[j] - c) / reg : -Infinity))));
      change = Math.max(change, Math.abs(nf - f[i]));
      f[i] = nf;
    }
    for (let j = 0; j < m; j++) {
      if (b[j] === 0) continue;
      const ng = tau * reg * (Math.log(b[j]) - lse(C.map((row, i) => (a[i] > 0 ? (f[i] - row[j]) / reg : -Infinity))));
      change = Math.max(change, Math.abs(ng - g[j]));
      g[j] = ng;
    }
    if (change < 1e-14 * (1 + Math.max(...C.flat().map(Math.abs)))) break;
  }
  let cost = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) if (a[i] > 0 && b[j] > 0) cost += Math.exp((f[i] + g[j] - C[i][j]) / reg) * C[i][j];
  return cost;
}

export async function runFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const log = opts.log ?? (() => {});
  const avail = (await backends()).filter((r) => r.available).map((r) => r.name as BackendName);
  const entropicBackends = (['wasm', 'js', 'webgpu'] as BackendName[]).filter((b) => avail.includes(b));
  const deadline = opts.minutes !== undefined ? Date.now() + opts.minutes * 60000 : Infinity;
  const report: FuzzReport = { cases: 0, checks: 0, failures: [], backends: entropicBackends };
  const fail = (index: number, kind: string, backend: string, message: string) => {
    report.failures.push({ seed: opts.seed, index, kind, backend, message });
    log(`FAIL seed ${opts.seed} case ${index} ${kind} on ${backend}: ${message}`);
  };
  const check = (ok: boolean, index: number, kind: string, backend: string, message: () => string) => {
    report.checks++;
    if (!ok) fail(index, kind, backend, message());
  };
  for (let index = opts.only ?? 0; ; index++) {
    if (opts.only !== undefined && index > opts.only) break;
    if (opts.cases !== undefined && report.cases >= opts.cases) break;
    if (Date.now() > deadline) break;
    report.cases++;
    // one generator per case: replayable alone
    const rng = new Rng(opts.seed * 1000003 + index);
    const worker = !!opts.workerEvery && index % opts.workerEvery === 0;
    const where = worker ? 'worker' : 'in-process';
    const kind = ['emd', 'emd-perm', 'emd1d', 'sinkhorn', 'unbalanced'][index % 5];
    try {
      if (kind === 'emd' || kind === 'emd-perm') {
        const perm = kind === 'emd-perm';
        const n = 1 + Math.floor(rng.uniform() * (perm ? 6 : 9));
        const m = perm ? n : 1 + Math.floor(rng.uniform() * 9);
        const a = perm ? new Array(n).fill(1 / n) : weights(rng, n, rng.uniform() < 0.5);
        const b = perm ? new Array(m).fill(1 / m) : weights(rng, m, rng.uniform() < 0.5);
        const C = costs(rng, n, m);
        const r = await emd(a, b, C, { worker });
        const scale = Math.max(1, ...C.flat().map(Math.abs));
        const tol = 1e-11 * scale;
        const P = r.plan.toDense();
        const be = `wasm ${where}`;
        check(r.status === 'optimal', index, kind, be, () => `status ${r.status}`);
        for (let i = 0; i < n; i++) {
          let s = 0;
          for (let j = 0; j < m; j++) s += P[i * m + j];
          check(Math.abs(s - a[i]) <= 1e-12, index, kind, be, () => `row ${i} sums to ${s}, want ${a[i]}`);
        }
        for (let j = 0; j < m; j++) {
          let s = 0;
          for (let i = 0; i < n; i++) s += P[i * m + j];
          check(Math.abs(s - b[j]) <= 1e-12, index, kind, be, () => `column ${j} sums to ${s}, want ${b[j]}`);
        }
        for (let i = 0; i < n; i++)
          for (let j = 0; j < m; j++) {
            const rc = C[i][j] - r.potentials.u[i] - r.potentials.v[j];
            check(rc >= -tol, index, kind, be, () => `dual infeasible at (${i}, ${j}): reduced cost ${rc}`);
            check(P[i * m + j] >= 0, index, kind, be, () => `negative plan entry at (${i}, ${j})`);
            check(P[i * m + j] === 0 || Math.abs(rc) <= tol, index, kind, be, () => `mass on a slack arc (${i}, ${j}): reduced cost ${rc}`);
          }
        check(Math.abs(r.dualityGap) <= tol, index, kind, be, () => `duality gap ${r.dualityGap}`);
        if (perm) {
          let best = Infinity;
          for (const p of permutations(n)) best = Math.min(best, p.reduce((s, j, i) => s + C[i][j] / n, 0));
          check(Math.abs(r.cost - best) <= tol, index, kind, be, () => `cost ${r.cost}, cheapest permutation ${best}`);
        }
      } else if (kind === 'emd1d') {
        const n = 1 + Math.floor(rng.uniform() * 12);
        const m = 1 + Math.floor(rng.uniform() * 12);
        const x = Array.from({ length: n }, () => Math.round(rng.uniform() * 20) / 4); // ties
        const y = Array.from({ length: m }, () => Math.round(rng.uniform() * 20) / 4);
        const a = weights(rng, n, true);
        const b = weights(rng, m, true);
        const p = rng.uniform() < 0.5 ? 1 : 2;
        const C = x.map((xi) => y.map((yj) => Math.abs(xi - yj) ** p));
        const exact = await emd(a, b, C, { worker: false });
        for (const backend of ['wasm', 'js'] as const) {
          const r = await emd1d(x, y, { a, b, p, backend, worker });
          check(Math.abs(r.cost - exact.cost) <= 1e-11 * (1 + Math.abs(exact.cost)), index, kind, `${backend} ${where}`, () => `cost ${r.cost}, simplex ${exact.cost}`);
        }
      } else {
        const unbalanced = kind === 'unbalanced';
        const n = 1 + Math.floor(rng.uniform() * 8);
        const m = 1 + Math.floor(rng.uniform() * 8);
        const a = weights(rng, n, rng.uniform() < 0.3);
        const b = weights(rng, m, rng.uniform() < 0.3).map((x) => (unbalanced ? x * (0.5 + rng.uniform()) : x));
        const X = Array.from({ length: n }, () => [rng.uniform(), rng.uniform()]);
        const Y = Array.from({ length: m }, () => [rng.uniform(), rng.uniform()]);
        const C = X.map((x) => Y.map((y) => (x[0] - y[0]) ** 2 + (x[1] - y[1]) ** 2));
        const reg = 0.03 + rng.uniform() * 0.5;
        const regM = unbalanced ? 0.1 + rng.uniform() * 2 : undefined;
        const want = referenceSinkhorn(a, b, C, reg, regM);
        for (const backend of entropicBackends) {
          const f32 = backend === 'webgpu';
          const o = { reg, backend, worker, maxIter: 100000, tol: f32 ? 1e-5 : 1e-12 };
          const r = unbalanced ? await sinkhornUnbalanced(a, b, C, { ...o, regM: regM! }) : await sinkhorn(a, b, C, o);
          const rel = f32 ? 2e-3 : 1e-7;
          check(Number.isFinite(r.cost) && Math.abs(r.cost - want) <= rel * (Math.abs(want) + 1e-3), index, kind, `${backend} ${where}`, () => `cost ${r.cost}, reference ${want} (reg ${reg}${unbalanced ? `, regM ${regM}` : ''})`);
        }
      }
    } catch (e) {
      fail(index, kind, where, `threw ${(e as { code?: string }).code ?? ''} ${(e as Error).message ?? String(e)}`);
    }
  }
  return report;
}
