// The ABI of build/kantorovich.wasm (assembly/index.ts) as one table: each kernel's parameter count, typed for the
// compiler (every parameter a number: pointers are byte offsets into memory, i32/f64 scalars as numbers).
// tests/wasm-abi.test.ts checks the table against the binary's exports (names and arities), so a kernel whose
// signature changes in assembly/ fails a test instead of being called with shifted arguments.

export const KERNEL_ARITY = {
  alloc: 1,
  free: 1,
  sortF64: 3,
  argsortF64: 5,
  gatherF64: 4,
  ot1dCost: 9,
  ot1dPlan: 15,
  slicedCosts: 14,
  slicedWorkBytes: 4,
  pairwiseCosts: 7,
  firstNonFinite: 2,
  maxAbsF64: 2,
  scaleF64: 3,
  entIterate: 2,
  entMarginalError: 1,
  entStats: 3,
  entPlanApply: 6,
  entDensePlan: 2,
  expArrayF64: 3,
  expArrayScalarF64: 3,
  entFColLse: 2,
  entFColLseBatch: 3,
  entBatch: 1,
  gridStep: 11,
  nsCreate: 10,
  nsFree: 1,
  nsInitTree: 3,
  nsPrepare: 5,
  nsRun: 2,
  nsIterations: 1,
  nsResult: 6,
  nsDualViolation: 3,
  nsRestart: 1,
  tensorBinary: 10,
  tensorUnary: 8,
  tensorSumTo: 6,
  symEigQL: 4,
  tensorMatmul: 9,
  tensorMatmulShares: 10,
  tensorTranspose: 5,
  tensorCopyBlock: 9,
  tensorAdam: 13,
  tensorClampMin: 4,
  lpPivotUpdate: 7,
  lpInvert: 3,
  nsCreateSparse: 16,
  nsScan: 4,
  nsScanViolation: 1,
  nsArcs: 1,
  nsArcList: 3,
  nsInitGreedy: 5,
  nsCandidates: 3,
  nsCandidatesEnd: 1,
  nsTreeCandidates: 4,
  nsTreeColumns: 4,
  nsTreeScan: 5,
  kdCreate: 10,
  kdFree: 1,
  streamPass: 1,
} as const;

/** Exported globals (their values, read once). */
export const KERNEL_GLOBALS = ['ENT_SLOTS', 'NS_OPTIMAL', 'NS_RUNNING', 'NS_UNBOUNDED'] as const;

type Numbers<N extends number, A extends number[] = []> = A['length'] extends N ? A : Numbers<N, [...A, number]>;

/** The kernels with their arities as parameter lists; void kernels return undefined at run time. */
export type Kernels = { readonly [K in keyof typeof KERNEL_ARITY]: (...args: Numbers<(typeof KERNEL_ARITY)[K]>) => number };

/** Return codes of nsRun (assembly/simplex.ts NS_*). */
export const NS = { optimal: 0, running: 1, unbounded: 2 } as const;
