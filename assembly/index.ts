// The single WASM module: each kernel family lives in its own file and is re-exported here.
export { alloc, free } from './memory';
export { sortF64, argsortF64, gatherF64 } from './sort';
export { ot1dCost, ot1dPlan } from './ot1d';
export { slicedCosts, slicedWorkBytes } from './sliced';
export { pairwiseCosts } from './cost';
export * from './simplex';
export * from './sinkhorn';
export { ibpScalingRun, ibpLogRun, convBlur, convRun, convLogBlur, convLogRun } from './barycenter';
