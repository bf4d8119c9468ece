// Ground costs. The definitions here are the reference; assembly/cost.ts implements the same formulas
// for the wasm backend and gpu/kernels.ts (costOfSquared) for WGSL: one definition of ‖x − y‖^p per
// language (tests/costs.test.ts checks that the three agree).
import { OTError } from './errors.js';

/**
 * 'sqeuclidean': ‖x − y‖²; 'euclidean': ‖x − y‖; { p }: ‖x − y‖^p (Euclidean norm to the power p, the
 * ground cost of W_p; p > 0).
 */
export type CostSpec =
  | 'sqeuclidean'
  | 'euclidean'
  | {
      /** The exponent p > 0 of ‖x − y‖^p. */
      p: number;
    };

/** Normalized cost: the power of the Euclidean distance (2 for sqeuclidean, 1 for euclidean). */
export interface Cost {
  /** 'sqeuclidean', 'euclidean' or 'euclidean^<p>' for `{ p }`. */
  name: string;
  /** The exponent of ‖x − y‖. */
  power: number;
}

export function toCost(spec: CostSpec = 'sqeuclidean'): Cost {
  if (spec === 'sqeuclidean') return { name: 'sqeuclidean', power: 2 };
  if (spec === 'euclidean') return { name: 'euclidean', power: 1 };
  if (typeof spec === 'object' && spec !== null && typeof spec.p === 'number' && Number.isFinite(spec.p) && spec.p > 0) {
    return { name: `euclidean^${spec.p}`, power: spec.p };
  }
  throw new OTError('invalid-option', `cost must be 'sqeuclidean', 'euclidean' or { p } with p > 0 (got ${JSON.stringify(spec)}).`);
}

/** c(x, y) for x = X[i*d .. i*d+d), y = Y[j*d .. j*d+d). */
export function pointCost(cost: Pick<Cost, 'power'>, X: ArrayLike<number>, i: number, Y: ArrayLike<number>, j: number, d: number): number {
  let s = 0;
  const xi = i * d;
  const yj = j * d;
  for (let k = 0; k < d; k++) {
    const t = X[xi + k] - Y[yj + k];
    s += t * t;
  }
  return powerOfSquaredDistance(s, cost.power);
}

/** t^p for a distance t ≥ 0: the single place where the power is applied (1D costs call it directly). */
export function powerOfDistance(t: number, power: number): number {
  if (power === 1) return t;
  if (power === 2) return t * t;
  return Math.pow(t, power);
}

/** ‖x − y‖^p from ‖x − y‖² (exact for p = 2, no square root). */
export function powerOfSquaredDistance(sq: number, power: number): number {
  return power === 2 ? sq : powerOfDistance(Math.sqrt(sq), power);
}
