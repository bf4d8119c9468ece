// SolveGemm (ts/solvers/gromov-gemm.ts): GW's products with the structure matrices kept in wasm memory, and the
// chained h1 · P · h2ᵀ, against plain loops on odd sizes (n ≠ m, sizes below and above the wasm threshold), with
// kept and unkept operands, and after release(). The row-split product (tensorMatmulShares) on 1–3 threads of the
// shared-memory build, and a threaded GW solve against a one-thread one.
import { gromovWasserstein, sinkhorn } from 'kantorovich'; // registers the wasm binaries
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from '../ts/rng.js';
import { wasmKernels } from '../ts/backends/wasm.js';
import { wasmThreads, wasmThreadsUnavailableReason } from '../ts/backends/wasm-threads.js';
import { SolveGemm } from '../ts/solvers/gromov-gemm.js';
import { normalDistances } from './helpers.js';

function naive(A: Float64Array, B: Float64Array, r: number, k: number, c: number): Float64Array {
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++)
    for (let j = 0; j < c; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += A[i * k + p] * B[p * c + j];
      out[i * c + j] = s;
    }
  return out;
}

function close(x: Float64Array, y: Float64Array, what: string): void {
  assert.is(x.length, y.length, what);
  let err = 0;
  let top = 0;
  for (let t = 0; t < x.length; t++) {
    err = Math.max(err, Math.abs(x[t] - y[t]));
    top = Math.max(top, Math.abs(y[t]));
  }
  assert.ok(err <= 1e-14 * top, `${what}: ${err} (scale ${top})`);
}

test('gemm and chain = plain loops: kept and unkept operands, wasm and JS sizes, after release', async () => {
  const rng = new Rng(9);
  const w = await wasmKernels();
  for (const [n, m] of [[3, 5], [17, 9], [31, 45], [70, 61]]) {
    const H1 = Float64Array.from({ length: n * n }, () => rng.uniform());
    const H2t = Float64Array.from({ length: m * m }, () => rng.normal());
    const P = Float64Array.from({ length: n * m }, () => rng.uniform());
    const want = naive(naive(H1, P, n, n, m), H2t, n, m, m);
    for (const kernels of [w, undefined]) {
      const g = new SolveGemm(kernels);
      const tag = `${n} × ${m} ${kernels ? 'wasm' : 'js'}`;
      close(g.gemm(H1, P, n, n, m), naive(H1, P, n, n, m), `${tag} gemm`);
      g.keep(H1);
      g.keep(H2t);
      g.keep(H2t); // twice: no second copy, same answer
      close(g.gemm(P, H2t, n, m, m), naive(P, H2t, n, m, m), `${tag} gemm, kept operand`);
      const out = new Float64Array(n * m);
      const chained = g.chain(H1, P, H2t, n, m, out);
      if (kernels && n * m * Math.min(n, m) >= 4096) {
        assert.ok(chained === out, `${tag}: chained into out`);
        close(out, want, `${tag} chain`);
      } else assert.is(chained, undefined, `${tag}: small or JS products are left to the caller`);
      // a longer buffer than the product: only the first r·k entries are the operand
      const Plong = new Float64Array(n * m + 7);
      Plong.set(P);
      close(g.gemm(H1, Plong, n, n, m), naive(H1, P, n, n, m), `${tag} gemm, longer operand`);
      g.release();
      close(g.gemm(H1, P, n, n, m), naive(H1, P, n, n, m), `${tag} gemm after release`);
    }
  }
});

/** Whether wasm threads run here; if not, prints why `what` is not checked. */
function threadsHere(what: string): boolean {
  const why = wasmThreadsUnavailableReason();
  if (why) console.log(`  (${what} not checked: ${why})`);
  return !why;
}

/** B stored transposed (c × k), as flags bit 1 reads it. */
function transposed(B: Float64Array, k: number, c: number): Float64Array {
  const t = new Float64Array(k * c);
  for (let p = 0; p < k; p++) for (let j = 0; j < c; j++) t[j * k + p] = B[p * c + j];
  return t;
}

test('tensorMatmulShares: rows split between 1, 2 and 3 threads = plain loops and tensorMatmul bit for bit (f64 and f32, a and b plain or transposed, bias, edge tiles)', async () => {
  if (!threadsHere('threaded products')) return;
  const rng = new Rng(4);
  const rt = await wasmThreads(3);
  const k = rt.kernels;
  // shapes with rows not a multiple of the 4-row tile, fewer tiles than threads, depth past one KC block (128),
  // rows past one MC block (64)
  for (const [r, kk, c] of [[5, 3, 7], [3, 9, 4], [37, 130, 33], [130, 257, 66]]) {
    const A = Float64Array.from({ length: r * kk }, () => rng.normal());
    const B = Float64Array.from({ length: kk * c }, () => rng.normal());
    const bias = Float64Array.from({ length: c }, () => rng.normal());
    for (const [tA, tB, withBias] of [[false, false, false], [false, true, false], [true, false, true], [true, true, true]]) {
      const want = naive(A, B, r, kk, c);
      if (withBias) for (let t = 0; t < r * c; t++) want[t] += bias[t % c];
      const flags = (tA ? 1 : 0) | (tB ? 2 : 0);
      const aStored = tA ? transposed(A, r, kk) : A;
      const bStored = tB ? transposed(B, kk, c) : B;
      const what = `${r} × ${kk} × ${c}${tA ? ', a transposed' : ''}${tB ? ', b transposed' : ''}${withBias ? ', bias' : ''}`;
      for (const f32 of [0, 1]) {
        const mem = k.scope();
        try {
          const S = f32 ? 4 : 8;
          const put = (x: Float64Array): number => {
            const p = mem.alloc(x.length * S);
            (f32 ? new Float32Array(k.exports.memory.buffer, p, x.length) : new Float64Array(k.exports.memory.buffer, p, x.length)).set(x);
            return p;
          };
          const read = (p: number): Float64Array => Float64Array.from(f32 ? new Float32Array(k.exports.memory.buffer, p, r * c) : new Float64Array(k.exports.memory.buffer, p, r * c));
          const a = put(aStored);
          const b = put(bStored);
          const bp = withBias ? put(bias) : 0;
          const whole = mem.alloc(r * c * S);
          k.abi.tensorMatmul(f32, a, b, r, kk, c, flags, bp, whole);
          const ref = read(whole);
          for (const threads of [1, 2, 3].filter((t) => t <= rt.threads)) {
            const o = mem.alloc(r * c * S);
            k.abi.tensorMatmulShares(f32, a, b, r, kk, c, flags, bp, o, threads);
            const got = read(o);
            if (f32) {
              let err = 0;
              for (let t = 0; t < r * c; t++) err = Math.max(err, Math.abs(got[t] - want[t]));
              assert.ok(err <= 1e-5 * Math.sqrt(kk) * 4, `f32 ${what}, ${threads} threads: ${err}`);
            } else {
              close(got, want, `${what}, ${threads} threads`);
            }
            // thin products (a side ≤ 2) take tensorMatmul's unpacked paths: equal to rounding only
            if (Math.min(r, kk, c) > 2) assert.ok(got.every((v, t) => Object.is(v, ref[t])), `${what}, ${threads} threads, f32 ${f32}: not tensorMatmul's bits`);
          }
        } finally {
          mem.release();
        }
      }
    }
  }
});

test('gromovWasserstein with threads: 2 = threads: 1 (CG and entropic); the result says how many ran', async () => {
  if (!threadsHere('threaded GW')) return;
  const rng = new Rng(12);
  const n = 70;
  const m = 61;
  const C1 = normalDistances(rng, n, 2);
  const C2 = normalDistances(rng, m, 3);
  for (const reg of [undefined, 0.05]) {
    const one = await gromovWasserstein(C1, C2, { reg, threads: 1, worker: false });
    const two = await gromovWasserstein(C1, C2, { reg, threads: 2, worker: false });
    assert.is(one.threads, 1);
    assert.is(two.threads, 2, `reg ${reg}: the products ran on 2 threads`);
    assert.ok(Math.abs(one.value - two.value) <= 1e-12 * Math.abs(one.value), `reg ${reg}: ${one.value} vs ${two.value}`);
    assert.is(one.iterations, two.iterations, `reg ${reg}: same iterations`);
  }
});

test("precision 'f32': chain in f32 = plain loops to f32 rounding; entropic GW within 1e-5 of f64 and converged; CG refuses it", async () => {
  const rng = new Rng(13);
  for (const [n, m] of [[31, 45], [70, 61]]) {
    const H1 = Float64Array.from({ length: n * n }, () => rng.uniform());
    const P = Float64Array.from({ length: n * m }, () => rng.uniform());
    const H2t = Float64Array.from({ length: m * m }, () => rng.uniform());
    const g = await SolveGemm.create(1, n * m * Math.max(n, m), true);
    g.keep(H1);
    g.keep(H2t);
    const want = naive(naive(H1, P, n, n, m), H2t, n, m, m);
    // twice: the kept operands' f32 copies are made once, then reused
    for (let r = 0; r < 2; r++) {
      const got = g.chain(H1, P, H2t, n, m, new Float64Array(n * m))!;
      let err = 0;
      let top = 0;
      for (let t = 0; t < want.length; t++) {
        err = Math.max(err, Math.abs(got[t] - want[t]));
        top = Math.max(top, Math.abs(want[t]));
      }
      // f32 inputs and sums over n + m terms of positive entries: a few 1e-7 relative
      assert.ok(err <= 2e-6 * top && err > 0, `${n} × ${m}, call ${r}: ${err} (scale ${top}); exactly 0 would mean f64`);
    }
    g.release();
  }
  const n = 60;
  const C1 = normalDistances(rng, n, 2);
  const C2 = normalDistances(rng, 50, 3);
  const f64 = await gromovWasserstein(C1, C2, { reg: 0.05, worker: false });
  const f32 = await gromovWasserstein(C1, C2, { reg: 0.05, precision: 'f32', worker: false });
  assert.is(f32.status, 'converged', `${f32.iterations} iterations, error ${f32.error}`);
  const rel = Math.abs(f32.value - f64.value) / f64.value;
  assert.ok(rel <= 1e-5 && rel > 0, `f32 ${f32.value} vs f64 ${f64.value}: ${rel.toExponential(2)}`);
  let code = '';
  try {
    await gromovWasserstein(C1, C2, { precision: 'f32', worker: false });
  } catch (e) {
    code = (e as { code: string }).code;
  }
  assert.is(code, 'invalid-option', 'the conditional gradient refuses f32');
});

test('contention: passes run serially on the calling thread give the same bits as parallel ones (GW products, Sinkhorn)', async () => {
  if (!threadsHere('serial passes')) return;
  const rng = new Rng(13);
  const n = 150;
  const C = { data: Float64Array.from({ length: n * n }, () => rng.uniform()), rows: n, cols: n };
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) C.data[i * n + j] = C.data[j * n + i];
  const C2 = { data: C.data.map((x) => x * x), rows: n, cols: n };
  const a = new Float64Array(n).fill(1 / n);
  const rt = await wasmThreads(2);
  const run = async () => ({
    gw: (await gromovWasserstein(C, C2, { reg: 0.05, maxIter: 5, tol: 0, threads: 2, worker: false })).value,
    ot: (await sinkhorn(a, a, C, { reg: 0.02, method: 'log', threads: 2, maxIter: 50, tol: 0, worker: false })).value,
  });
  rt.serializeFor(0);
  const parallel = await run();
  const before = rt.serialPasses;
  rt.serializeFor(60_000);
  try {
    const serial = await run();
    assert.ok(rt.serialPasses > before, 'the passes ran serially');
    assert.is(serial.gw, parallel.gw, 'GW: the same bits');
    assert.is(serial.ot, parallel.ot, 'Sinkhorn: the same bits');
  } finally {
    rt.serializeFor(0);
  }
});

test.run();
