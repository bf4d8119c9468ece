// The single WASM module: each kernel family lives in its own file and is re-exported here.
export { alloc, free } from './memory';
export { sortF64, argsortF64, gatherF64 } from './sort';
export { ot1dCost, ot1dPlan } from './ot1d';
export { slicedCosts, slicedWorkBytes } from './sliced';
export { pairwiseCosts } from './cost';
export { firstNonFinite, maxAbsF64, scaleF64 } from './finite';
export * from './simplex';
export { kdCreate, kdFree } from './kdtree';
// Named, not `export *`: sinkhorn.ts also exports its inner kernels (dot4, axpy4, lseBuf, …) to grid.ts;
// they stay internal so binaryen may inline them into the fused passes; the host uses only these entry points.
export { entIterate, entMarginalError, entStats, entPlanApply, entDensePlan, entFColLse, entFColLseBatch, entBatch, ENT_SLOTS, expArrayF64, expArrayScalarF64 } from './sinkhorn';
export { gridStep } from './grid';
export { streamPass } from './stream';
export { tensorBinary, tensorUnary, tensorSumTo, tensorMatmul, tensorMatmulShares, tensorTranspose, tensorCopyBlock, tensorAdam, tensorClampMin } from './tensor';
export { lpPivotUpdate, lpInvert } from './lp';
export { symEigQL } from './symeig';
