// Memory discipline of the wasm backends: a wasm memory never shrinks, so an instance (or the threads runtime's
// shared memory) that a large solve grew past WASM_RETAIN_BYTES is retired once the solve freed everything and it
// sat idle for WASM_IDLE_MS — or at once with releaseWasmMemory(), which these tests call — and the next solve gets
// a fresh one; back-to-back solves and small solves keep theirs. Asserted on memory sizes and instance identity,
// never on timing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng, emd, pointCloud, sinkhorn } from 'kantorovich';
import { WASM_RETAIN_BYTES, releaseWasmMemory, wasmKernels } from '../ts/backends/wasm.js';
import { wasmThreadCount, wasmThreadsMemoryBytes } from '../ts/backends/wasm-threads.js';

const IN = { worker: false } as const;

test('small solves keep the instance', async () => {
  const k0 = await wasmKernels();
  await emd(undefined, undefined, [[0, 1], [1, 0]], IN);
  await emd(undefined, undefined, [[0, 2, 1], [1, 0, 3]], IN);
  assert.ok((await wasmKernels()) === k0, 'the same instance serves small solves');
  assert.not.ok(k0.retired);
});

test('a large emd releases its instance: the next solve gets a fresh, small one', async () => {
  const n = 3000; // a 72 MB cost matrix in wasm memory
  const M = new Float64Array(n * n);
  const rng = new Rng(3);
  for (let i = 0; i < M.length; i++) M[i] = rng.uniform();
  const k0 = await wasmKernels();
  const r = await emd(undefined, undefined, { data: M, rows: n, cols: n }, { ...IN, maxIter: 10 });
  assert.is(r.status, 'max-iterations');
  assert.ok(k0.memoryBytes > WASM_RETAIN_BYTES, `the solve grew the instance to ${k0.memoryBytes} bytes`);
  assert.not.ok(k0.retired, 'kept while the next solve may come (idle wait)');
  assert.ok((await wasmKernels()) === k0, 'a solve right after reuses it');
  releaseWasmMemory();
  assert.ok(k0.retired, 'retired once released (or after the idle wait)');
  const k1 = await wasmKernels();
  assert.ok(k1 !== k0, 'a fresh instance');
  assert.ok(k1.memoryBytes < 16 * 2 ** 20, `the fresh instance holds ${k1.memoryBytes} bytes`);
  // and it works
  const small = await emd(undefined, undefined, [[0, 1], [1, 0]], IN);
  assert.is(small.cost, 0);
});

test('a large Sinkhorn releases its memory (threads runtime or instance)', async () => {
  const n = 3000; // the stored 3000 × 3000 kernel: 72 MB
  const rng = new Rng(4);
  const X = Float64Array.from({ length: 2 * n }, () => rng.uniform());
  const Y = Float64Array.from({ length: 2 * n }, () => rng.uniform());
  const k0 = await wasmKernels();
  const r = await sinkhorn(undefined, undefined, pointCloud({ data: X, rows: n, cols: 2 }, { data: Y, rows: n, cols: 2 }), { ...IN, reg: 0.1, maxIter: 3, tol: 0 });
  assert.ok(Number.isFinite(r.value));
  releaseWasmMemory();
  assert.is(wasmThreadsMemoryBytes(), 0, 'no threads runtime keeps a large shared memory');
  const k1 = await wasmKernels();
  assert.ok(k1.memoryBytes <= WASM_RETAIN_BYTES, `the instance now serving holds ${k1.memoryBytes} bytes`);
  if (r.threads > 1) assert.ok(k1 === k0 || k0.retired, 'threads: the single-thread instance was not the one that grew');
  else assert.ok(k0.retired && k1 !== k0, 'single thread: the instance that grew was retired');
  console.log(`  (sinkhorn ran on ${r.threads} thread(s); ${wasmThreadCount()} available)`);
});

test.run();
