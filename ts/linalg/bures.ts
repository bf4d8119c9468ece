// The Bures–Wasserstein closed form, the one definition shared by ts/solvers/gaussian.ts (gaussianW2, linearMap,
// gaussianBarycenter) and ts/neural/gaussian.ts (buresWasserstein2, buresMap). No registry imports here, so the
// neural code can use it without pulling in the solver machinery.
import { OTError } from '../errors.js';
import type { WasmKernels } from '../backends/wasm.js';
import { checkSymmetric, fromEig, matmulSquare, surelyPSD, symEig, symmetrize } from './symmetric.js';

/** Relative eigenvalue floor under which a covariance counts as singular (λ_min ≤ 1e-12 · λ_max). */
export const SINGULAR = 1e-12;

export interface Eig {
  values: Float64Array;
  vectors: Float64Array;
}

/** Eigen-decomposition of a covariance, checked symmetric and positive semidefinite (OTError 'invalid-option'). */
export function covEig(name: string, S: Float64Array, d: number, w?: WasmKernels): Eig {
  checkSymmetric(name, S, d);
  const e = symEig(S, d, w);
  const top = Math.max(Math.abs(e.values[d - 1]), Number.MIN_VALUE);
  if (e.values[0] < -1e-10 * top) {
    throw new OTError('invalid-option', `${name} is not positive semidefinite (smallest eigenvalue ${e.values[0]}, largest ${e.values[d - 1]}); a covariance must be symmetric positive semidefinite.`);
  }
  return e;
}

/**
 * A covariance checked symmetric and positive semidefinite (OTError 'invalid-option', as covEig) where its
 * eigen-decomposition is not needed: a shifted Cholesky factorization settles the common case (covEig decides
 * the rest, with the same rule and message).
 */
export function checkCov(name: string, S: Float64Array, d: number, w?: WasmKernels): void {
  checkSymmetric(name, S, d);
  if (!surelyPSD(S, d, 1e-10)) covEig(name, S, d, w);
}

/**
 * The Bures–Wasserstein core on checked inputs: W2² = ‖m1 − m2‖² + tr Σ1 + tr Σ2 − 2 tr (Σ1^½ Σ2 Σ1^½)^½ and,
 * when `withMap` (Σ1 must then be non-singular), A = Σ1^{−½} (Σ1^½ Σ2 Σ1^½)^½ Σ1^{−½}, b = m2 − A m1.
 * `e1` is Σ1's eigen-decomposition (from covEig). Shared with ts/neural/gaussian.ts.
 */
export function buresCore(
  m1: Float64Array,
  S1: Float64Array,
  e1: Eig,
  m2: Float64Array,
  S2: Float64Array,
  d: number,
  withMap: boolean,
  what = 'source cov',
  /** The wasm kernels for the eigen-decompositions and products, where the caller has them. */
  w?: WasmKernels,
): { value: number; A?: Float64Array; b?: Float64Array } {
  const r1 = fromEig(e1.values, e1.vectors, d, (l) => Math.sqrt(Math.max(l, 0)), w);
  const cross = symmetrize(matmulSquare(matmulSquare(r1, S2, d, w), r1, d, w), d);
  const ec = symEig(cross, d, w);
  let trRoot = 0;
  for (let k = 0; k < d; k++) trRoot += Math.sqrt(Math.max(ec.values[k], 0));
  let value = -2 * trRoot;
  for (let i = 0; i < d; i++) value += (m1[i] - m2[i]) ** 2 + S1[i * d + i] + S2[i * d + i];
  value = Math.max(value, 0);
  if (!withMap) return { value };
  const top = Math.max(e1.values[d - 1], Number.MIN_VALUE);
  if (!(e1.values[0] > SINGULAR * top)) {
    throw new OTError(
      'invalid-option',
      `${what} is singular (smallest eigenvalue ${e1.values[0]}, largest ${e1.values[d - 1]}): the Monge map from a degenerate Gaussian does not exist. ` +
        `Add a small multiple of the identity to it, or pass { map: false } for W2² only.`,
    );
  }
  // A = Σ1^{−½} W diag(√μ) Wᵀ Σ1^{−½} = B diag(√μ) Bᵀ with B = Σ1^{−½} W (cross = W diag(μ) Wᵀ): one product and
  // one symmetric assembly instead of the root's assembly and two products
  const ir1 = fromEig(e1.values, e1.vectors, d, (l) => 1 / Math.sqrt(l), w);
  const A = fromEig(ec.values, matmulSquare(ir1, ec.vectors, d, w), d, (l) => Math.sqrt(Math.max(l, 0)), w);
  const b = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = m2[i];
    for (let j = 0; j < d; j++) s -= A[i * d + j] * m1[j];
    b[i] = s;
  }
  return { value, A, b };
}

