// Every OTError code of the exact solvers, triggered by the bad input that causes it, before any work.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OTError, costMatrix, emd, pointCloud, sinkhorn } from 'kantorovich';

async function rejectsWith(code: string, f: () => Promise<unknown> | unknown): Promise<void> {
  try {
    await f();
  } catch (e) {
    assert.instance(e, OTError, `expected OTError(${code}), got ${e}`);
    assert.is((e as OTError).code, code, (e as Error).message);
    assert.ok((e as Error).message.length > 20, 'the message says what to fix');
    return;
  }
  assert.unreachable(`expected OTError(${code})`);
}

const M = [
  [0, 1],
  [1, 0],
];

test('nan: NaN or Infinity in costs, weights or points', async () => {
  await rejectsWith('nan', () => emd([0.5, 0.5], [0.5, 0.5], [[0, NaN], [1, 0]]));
  await rejectsWith('nan', () => emd([0.5, Infinity], [0.5, 0.5], M));
  await rejectsWith('nan', () => pointCloud([[0, 1]], [[NaN, 1]]));
});

test('nan in a typed cost matrix: first, middle, last (the unrolled tail) entry, NaN and ±Infinity, named by index', async () => {
  for (const n of [5, 6]) {
    for (const at of [0, 13, n * n - 1]) {
      for (const bad of [NaN, Infinity, -Infinity]) {
        const data = new Float64Array(n * n).fill(1);
        data[at] = bad;
        try {
          await emd(undefined, undefined, { data, rows: n, cols: n });
          assert.unreachable(`n ${n}: ${bad} at ${at} was accepted`);
        } catch (e) {
          assert.is((e as OTError).code, 'nan');
          assert.match((e as Error).message, `[${at}] is ${bad}`);
        }
      }
    }
  }
});

test('negative weights', async () => {
  await rejectsWith('negative', () => emd([1.5, -0.5], [0.5, 0.5], M));
});

test('shape: weights vs matrix, ragged rows, data length, point dimensions, warm start', async () => {
  await rejectsWith('shape', () => emd([1 / 3, 1 / 3, 1 / 3], [0.5, 0.5], M));
  await rejectsWith('shape', () => emd(undefined, undefined, [[0, 1], [1]]));
  await rejectsWith('shape', () => emd(undefined, undefined, { data: [0, 1, 2], rows: 2, cols: 2 }));
  await rejectsWith('shape', () => pointCloud([[0, 1]], [[0, 1, 2]]));
  await rejectsWith('shape', () => emd(undefined, undefined, M, { warmStart: { u: [0], v: [0, 0] } }));
});

test('empty inputs', async () => {
  await rejectsWith('empty', () => emd([], [], []));
  await rejectsWith('empty', () => emd(undefined, undefined, { data: [], rows: 0, cols: 3 }));
});

test('mass: unequal totals (and normalize fixes it), zero total', async () => {
  await rejectsWith('mass', () => emd([0.5, 0.5], [0.5, 0.6], M));
  await rejectsWith('mass', () => emd([0, 0], [0.5, 0.5], M));
  const r = await emd([1, 1], [0.5, 0.5], M, { normalize: true });
  assert.ok(Math.abs(r.plan.toDense().reduce((s, x) => s + x, 0) - 2) < 1e-12);
});

test('too-large: over the memory budget or the arc limit, before allocating', async () => {
  await rejectsWith('too-large', () => costMatrix({ data: new Float64Array(2000), rows: 1000, cols: 2 }, { data: new Float64Array(2000), rows: 1000, cols: 2 }, { maxBytes: 1e6 }));
  const big = pointCloud({ data: new Float64Array(50000), rows: 50000, cols: 1 }, { data: new Float64Array(50000), rows: 50000, cols: 1 });
  // the dense simplex's arc limit (point clouds under strategy 'auto' go multiscale, which has none)
  await rejectsWith('too-large', () => emd(undefined, undefined, big, { strategy: 'dense' }));
});

test('invalid-option and backend-unavailable', async () => {
  await rejectsWith('invalid-option', () => emd(undefined, undefined, M, { maxIter: -1 }));
  await rejectsWith('invalid-option', () => pointCloud([[0]], [[1]], { cost: { p: -1 } }));
  for (const threads of [0, 1.5, -2, 'all'])
    await rejectsWith('invalid-option', () => sinkhorn(undefined, undefined, M, { reg: 0.1, threads: threads as number }));
  await rejectsWith('backend-unavailable', () => emd(undefined, undefined, M, { backend: 'js' }));
  await rejectsWith('backend-unavailable', () => emd(undefined, undefined, M, { backend: 'webgpu' }));
});

test.run();
