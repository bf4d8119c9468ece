// What the tensor-engine tests share (neural-wasm, neural-webgpu): inputs as { data, shape }, tensors of them on an
// engine, and a closeArrays that also records the worst relative error per kind of op, printed with
// KANTOROVICH_TEST_VERBOSE=1 (to re-derive a file's tolerances).
import type { Test } from 'uvu';
import type { Rng } from '../ts/rng.js';
import * as T from '../ts/neural/tensor.js';
import type { Tensor } from '../ts/neural/tensor.js';
import type { TensorEngine } from '../ts/neural/engine.js';
import { closeArrays, randomArray } from './helpers.js';

/** A test input: values and shape. */
export interface Input {
  data: Float64Array;
  shape: number[];
}

export function randData(rng: Rng, shape: number[], lo = -1, hi = 1, awayFromZero = 0): Input {
  return { data: randomArray(rng, shape, lo, hi, awayFromZero), shape };
}

/** The input as a tensor on engine E (requiring gradients unless told otherwise). */
export function on(E: TensorEngine, x: Input, requiresGrad = true): Tensor {
  const t = T.tensor(x.data, x.shape, E);
  return requiresGrad ? t.requireGrad() : t;
}

/**
 * `close`: closeArrays(got, ref, rel, what) that notes max|got − ref| / max|ref| under `kind`; `note` records any
 * other error measure. The worst per kind are printed after the file's tests.
 */
export function errorTracker(
  test: Test,
  file: string,
): {
  close: (got: ArrayLike<number>, ref: ArrayLike<number>, rel: number, what: string, kind: string) => void;
  note: (kind: string, e: number) => void;
} {
  const worst = new Map<string, number>();
  test.after(() => {
    if (process.env.KANTOROVICH_TEST_VERBOSE === '1') console.log(`${file} worst relative errors:`, Object.fromEntries(worst));
  });
  const note = (kind: string, e: number) => worst.set(kind, Math.max(worst.get(kind) ?? 0, e));
  const close = (got: ArrayLike<number>, ref: ArrayLike<number>, rel: number, what: string, kind: string) => {
    let d = 0;
    let m = 0;
    for (let i = 0; i < ref.length; i++) {
      d = Math.max(d, Math.abs(got[i] - ref[i]));
      m = Math.max(m, Math.abs(ref[i]));
    }
    note(kind, m > 0 ? d / m : d);
    closeArrays(got, ref, rel, what);
  };
  return { close, note };
}
